//! `chat-limiter emulate`: the provider emulator in the foreground, for scripts and manual
//! testing. The first line of stdout is the base URL; the process serves until killed.

use std::io::Write;
use std::time::Duration;

use chat_limiter::Provider;
use chat_limiter_emulator::{Emulator, EmulatorBuilder, EmulatorError};

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

/// Runs the emulator until the process is killed.
pub fn emulate(args: &EmulateArgs) -> Result<u8, Fatal> {
    if !(0.0..=1.0).contains(&args.fault_rate) {
        return Err(Fatal::usage(format!(
            "--fault-rate must be in [0, 1], got {}",
            args.fault_rate
        )));
    }
    let mut b = builder_for(args.provider)?
        .port(args.port)
        .latency(Duration::from_millis(args.latency_ms), Duration::ZERO);
    if let Some(n) = args.rpm {
        b = b.rpm(n);
    }
    if let Some(n) = args.tpm {
        b = b.tpm(n);
    }
    if let Some(n) = args.input_tpm {
        b = b.input_tpm(n);
    }
    if let Some(n) = args.output_tpm {
        b = b.output_tpm(n);
    }
    if args.fault_rate > 0.0 {
        b = b.fault_rate(args.fault_rate);
    }
    let emu = b.start().map_err(start_error)?;
    let mut out = std::io::stdout().lock();
    // Scripts read the first line: write it and flush before anything else.
    writeln!(out, "{}", emu.base_url())
        .and_then(|()| out.flush())
        .map_err(|e| Fatal::failed(e.to_string()))?;
    drop(out);
    let c = emu.config();
    eprintln!(
        "chat-limiter: emulating {} on {} (rpm {:?}, tpm {:?}, input tpm {:?}, output tpm {:?}); \
         any non-empty key is accepted; statistics at http://{}/_stats; stop with Ctrl-C",
        args.provider,
        emu.base_url(),
        c.rpm,
        c.tpm,
        c.input_tpm,
        c.output_tpm,
        emu.addr()
    );
    emu.wait();
    Ok(0)
}
