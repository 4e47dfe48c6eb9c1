//! Setting a run up from its flags: the input pre-pass, the provider, the limiter and the
//! batch configuration. Every failure here is a usage or configuration error (exit code 2).

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::time::Duration;

use chat_limiter::{BatchConfig, ChatLimiter, Provider};

use crate::input;
use crate::{Fatal, RunArgs};

/// Counts the non-blank lines, and finds the first model named when asked to.
pub fn prepass(args: &RunArgs, need_model: bool) -> Result<(u64, Option<String>), Fatal> {
    let unreadable =
        |e: io::Error| Fatal::usage(format!("cannot read {}: {e}", args.input.display()));
    let file = File::open(&args.input).map_err(unreadable)?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let (mut count, mut model) = (0u64, None);
    let mut buf = Vec::new();
    let mut first = true;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(unreadable)? == 0 {
            return Ok((count, model));
        }
        if std::mem::take(&mut first) && buf.starts_with(input::BOM) {
            buf.drain(..input::BOM.len());
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        count += 1;
        if need_model && model.is_none() {
            model = std::str::from_utf8(&buf).ok().and_then(input::line_model);
        }
    }
}

/// The provider, and whether it was detected from a model name (not given).
pub fn resolve_provider(
    args: &RunArgs,
    first_model: Option<String>,
) -> Result<(Provider, bool), Fatal> {
    if let Some(p) = args.provider {
        return Ok((p, false));
    }
    let Some(model) = args.model.clone().or(first_model) else {
        return Err(Fatal::usage("no model to tell the provider from: pass --model or --provider"));
    };
    match Provider::detect(&model) {
        Some(p) => Ok((p, true)),
        None => Err(Fatal::usage(format!(
            "cannot tell the provider of model {model:?}: pass --provider openai|anthropic|openrouter"
        ))),
    }
}

/// The limiter for the run; the key comes from `key` or the provider's variable.
pub fn build_limiter(
    args: &RunArgs,
    provider: Provider,
    key: Option<String>,
) -> Result<ChatLimiter, Fatal> {
    let mut b = ChatLimiter::builder().provider(provider);
    if let Some(m) = &args.model {
        b = b.model(m);
    }
    if let Some(k) = key {
        b = b.api_key(k);
    }
    if let Some(u) = &args.base_url {
        b = b.base_url(u);
    }
    if let Some(n) = args.request_limit {
        b = b.request_limit(n);
    }
    if let Some(n) = args.token_limit {
        b = b.token_limit(n);
    }
    if let Some(n) = args.input_token_limit {
        b = b.input_token_limit(n);
    }
    if let Some(n) = args.output_token_limit {
        b = b.output_token_limit(n);
    }
    b = b.max_retries(args.max_retries);
    let secs = args.timeout;
    let d = Duration::try_from_secs_f64(secs).map_err(|_| {
        Fatal::usage(format!("--timeout must be a positive number of seconds, got {secs}"))
    })?;
    b = b.timeout(d).long_wait(args.long_wait.into());
    b = b.openai_api(args.openai_api).responses_models(args.responses_models.clone());
    // One flag for both caps: the batch's requests in flight, and the limiter's per model.
    b = b.max_in_flight(u32::try_from(args.max_concurrent_requests).unwrap_or(u32::MAX));
    if let Some(cache) = crate::cache_cmd::open(&args.cache)? {
        b = b.cache(cache);
    }
    if let Some(url) = &args.redis {
        #[cfg(feature = "redis")]
        {
            b = b.redis(url.as_str());
        }
        #[cfg(not(feature = "redis"))]
        {
            let _ = url;
            return Err(Fatal::usage(
                "--redis needs a chat-limiter built with the `redis` feature \
                 (cargo install --path crates/chat-limiter-cli --features redis)",
            ));
        }
    }
    let limiter = crate::spend::configure(args, b)?.build()?;
    crate::spend::after_build(args, &limiter)?;
    Ok(limiter)
}

/// The batch engine's configuration (progress callback added by the caller).
pub fn batch_config(args: &RunArgs) -> Result<BatchConfig, Fatal> {
    let c = BatchConfig::default()
        .max_workers(args.max_workers)
        .max_concurrent_requests(args.max_concurrent_requests);
    // Retries are the limiter's alone (one retry loop): the batch adds none of its own.
    c.validate()?;
    Ok(c)
}
