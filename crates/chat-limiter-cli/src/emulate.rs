//! `chat-limiter emulate`: the provider emulator in the foreground, for scripts and manual
//! testing. The first line of stdout is the base URL; the next lines say what is emulated,
//! in plain values; the process serves until killed.

use std::io::Write;
use std::time::Duration;

use chat_limiter::Provider;
use chat_limiter_emulator::{
    EmulatedProvider, Emulator, EmulatorBuilder, EmulatorConfig, EmulatorError,
};

use crate::{EmulateArgs, Fatal};

/// A builder for `provider`'s emulator.
pub fn builder_for(provider: Provider) -> Result<EmulatorBuilder, Fatal> {
    match provider {
        Provider::OpenAI => Ok(Emulator::openai()),
        Provider::Anthropic => Ok(Emulator::anthropic()),
        Provider::OpenRouter => Ok(Emulator::openrouter()),
        other => Err(Fatal::usage(format!("no emulator for provider {other}"))),
    }
}

/// Starting failures are configuration errors (bad limits, port in use).
pub fn start_error(e: EmulatorError) -> Fatal {
    Fatal::usage(format!("cannot start the emulator: {e}"))
}

/// The emulator's builder for `args`, checked for flags the provider would ignore.
fn configure(args: &EmulateArgs) -> Result<EmulatorBuilder, Fatal> {
    if !(0.0..=1.0).contains(&args.fault_rate) {
        return Err(Fatal::usage(format!(
            "--fault-rate must be in [0, 1], got {}",
            args.fault_rate
        )));
    }
    let money = [
        ("--credits", args.credits),
        ("--prompt-price", args.prompt_price),
        ("--completion-price", args.completion_price),
    ];
    if args.provider != Provider::OpenRouter {
        if let Some((flag, _)) = money.iter().find(|(_, v)| v.is_some()) {
            return Err(Fatal::usage(format!("{flag} is an OpenRouter setting")));
        }
    }
    let mut b = builder_for(args.provider)?
        .port(args.port)
        .latency(Duration::from_millis(args.latency_ms), Duration::ZERO);
    if let Some(n) = args.rpm {
        let window = Duration::from_secs(args.request_window.unwrap_or(60));
        b = b.requests_per(n, window);
    }
    let optional = [
        (args.rpd, EmulatorBuilder::rpd as fn(EmulatorBuilder, u64) -> EmulatorBuilder),
        (args.tpm, EmulatorBuilder::tpm),
        (args.input_tpm, EmulatorBuilder::input_tpm),
        (args.output_tpm, EmulatorBuilder::output_tpm),
    ];
    for (value, set) in optional {
        if let Some(n) = value {
            b = set(b, n);
        }
    }
    if let Some(usd) = args.credits {
        b = b.credits(usd);
    }
    if args.prompt_price.is_some() || args.completion_price.is_some() {
        let c = b.config();
        let (p, q) = (c.prompt_price, c.completion_price);
        b = b.prices(args.prompt_price.unwrap_or(p), args.completion_price.unwrap_or(q));
    }
    if args.fault_rate > 0.0 {
        b = b.fault_rate(args.fault_rate);
    }
    Ok(b)
}

/// What the emulator enforces, in plain words: `rpm 600, tpm 60000`, `rpm unlimited`.
pub fn describe(c: &EmulatorConfig) -> String {
    let limit = |v: Option<u64>| v.map_or("unlimited".to_string(), |n| n.to_string());
    let window = c.request_window.as_secs();
    let mut parts = Vec::new();
    match (c.rpm, window) {
        (Some(n), w) if w != 60 => parts.push(format!("requests {n} per {w}s")),
        (r, _) => parts.push(format!("rpm {}", limit(r))),
    }
    if c.rpd.is_some() {
        parts.push(format!("rpd {}", limit(c.rpd)));
    }
    match c.provider {
        EmulatedProvider::OpenAI => {
            parts.push(format!("tpm {}", limit(c.tpm)));
            if c.tpd.is_some() {
                parts.push(format!("tpd {}", limit(c.tpd)));
            }
        }
        EmulatedProvider::Anthropic => {
            parts.push(format!("input tpm {}", limit(c.input_tpm)));
            parts.push(format!("output tpm {}", limit(c.output_tpm)));
        }
        _ => {
            let credits = c.credits.map_or("unlimited".to_string(), |v| format!("${v:.4}"));
            parts.push(format!("credits {credits}"));
            parts.push(format!(
                "prices ${} per prompt token, ${} per completion token",
                c.prompt_price, c.completion_price
            ));
        }
    }
    parts.join(", ")
}

/// Runs the emulator until the process is killed.
pub fn emulate(args: &EmulateArgs) -> Result<u8, Fatal> {
    let emu = configure(args)?.start().map_err(start_error)?;
    let mut out = std::io::stdout().lock();
    // Scripts read the first line: write it and flush before anything else. A reader that
    // closes the pipe after it (`| head -1`) must not stop the server, so write errors on
    // stdout are not fatal: the emulator keeps serving until it is killed.
    let written = writeln!(out, "{}", emu.base_url()).and_then(|()| out.flush()).and_then(|()| {
        writeln!(out, "emulating {}: {}", args.provider, describe(emu.config()))?;
        writeln!(
            out,
            "any non-empty API key is accepted; statistics at http://{}/_stats; \
                 stop with Ctrl-C",
            emu.addr()
        )?;
        out.flush()
    });
    drop(out);
    if let Err(e) = written {
        let _ = writeln!(std::io::stderr(), "chat-limiter: stdout closed ({e}); still serving");
    }
    emu.wait();
    Ok(0)
}
