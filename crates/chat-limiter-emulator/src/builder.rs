//! The builder with one consuming setter per knob, and the running [`Emulator`] handle.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::bucket::{Dim, LimitSpec, Limiter};
use super::config::{EmulatedProvider, EmulatorConfig, FaultKind, OtpmMode, OutputLen};
use super::pricing::Prices;
use super::server::{self, Shared};
use super::stats::EmulatorStats;

/// Why an emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The configuration is inconsistent (zero limit, probability outside [0, 1], …).
    #[error("invalid emulator configuration: {0}")]
    InvalidConfig(String),
    /// Binding the port or spawning the server thread failed.
    #[error("emulator I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Configures and starts an [`Emulator`]. Obtain one from [`Emulator::openai`],
/// [`Emulator::anthropic`], [`Emulator::openrouter`] or [`EmulatorBuilder::from_config`].
#[derive(Clone, Debug)]
#[must_use]
pub struct EmulatorBuilder {
    config: EmulatorConfig,
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty => |$c:ident, $v:ident| $body:expr) => {
        $(#[$doc])*
        pub fn $name(mut self, $v: $ty) -> Self {
            let $c = &mut self.config;
            $body;
            self
        }
    };
}

impl EmulatorBuilder {
    /// Starts from an explicit configuration (for a CLI that filled in the fields).
    pub fn from_config(config: EmulatorConfig) -> Self {
        EmulatorBuilder { config }
    }

    /// The configuration built so far.
    pub fn config(&self) -> &EmulatorConfig {
        &self.config
    }

    setter!(/// How the batch APIs behave: processing time, caps, expiries.
        batch: super::batch_store::BatchEmulation => |c, v| c.batch = v);
    setter!(/// Port on 127.0.0.1 (`0`, the default, picks a free one).
        port: u16 => |c, v| c.port = v);
    setter!(/// Accept only this API key (default: any non-empty key).
        api_key: impl Into<String> => |c, v| c.api_key = Some(v.into()));
    setter!(/// Requests per minute (per `request_window`).
        rpm: u64 => |c, v| c.rpm = Some(v));
    setter!(/// Requests per day.
        rpd: u64 => |c, v| c.rpd = Some(v));
    setter!(/// OpenAI tokens per minute.
        tpm: u64 => |c, v| c.tpm = Some(v));
    setter!(/// OpenAI tokens per day.
        tpd: u64 => |c, v| c.tpd = Some(v));
    setter!(/// Anthropic input tokens per minute.
        input_tpm: u64 => |c, v| c.input_tpm = Some(v));
    setter!(/// Anthropic output tokens per minute.
        output_tpm: u64 => |c, v| c.output_tpm = Some(v));
    setter!(/// Anthropic OTPM accounting (default [`OtpmMode::ReserveMaxTokens`]).
        otpm_mode: OtpmMode => |c, v| c.otpm_mode = v);
    setter!(/// OpenAI: correct the TPM charge to actual usage at the end (default off).
        refund_to_actual: bool => |c, v| c.refund_to_actual = v);
    setter!(/// OpenAI output cap used when a request sets none (default 1024).
        default_max_tokens: u64 => |c, v| c.default_max_tokens = v);
    setter!(/// OpenRouter credit balance in USD (default unlimited).
        credits: f64 => |c, v| c.credits = Some(v));
    setter!(/// Accept only these model names (default: any well-formed name).
        models: Vec<String> => |c, v| c.models = Some(v));
    setter!(/// Output length rule (default [`OutputLen::Hash`]).
        output_len: OutputLen => |c, v| c.output_len = v);
    setter!(/// Seeded uniform extra latency in `[0, jitter)`.
        jitter: Duration => |c, v| c.jitter = v);
    setter!(/// Seed of every random choice (default 0).
        seed: u64 => |c, v| c.seed = v);
    setter!(/// Spreads `rate` evenly over the 5xx kinds (500, 502, 503, and 529 on Anthropic).
    fault_rate: f64 => |c, v| {
        let kinds: &[FaultKind] = if c.provider == EmulatedProvider::Anthropic {
            &[FaultKind::Status500, FaultKind::Status502, FaultKind::Status503, FaultKind::Status529]
        } else {
            &[FaultKind::Status500, FaultKind::Status502, FaultKind::Status503]
        };
        c.faults.retain(|(k, _)| !kinds.contains(k));
        c.faults.extend(kinds.iter().map(|k| (*k, v / kinds.len() as f64)));
    });
    setter!(/// How long a stall sleeps before closing the connection (default 30 s).
        stall: Duration => |c, v| c.stall = v);
    setter!(/// Probability of the provider's terminal quota error (see [`EmulatorConfig`]).
        quota_error_rate: f64 => |c, v| c.quota_error_rate = v);
    setter!(/// OpenAI: rate-limited requests still count against RPM (see [`EmulatorConfig`]).
        rejected_count_against_rpm: bool => |c, v| c.rejected_count_against_rpm = v);
    setter!(/// OpenAI: omit rate-limit headers on 429s.
        omit_headers_on_429: bool => |c, v| c.omit_headers_on_429 = v);
    setter!(/// Faults served in order to the first chat requests (see [`EmulatorConfig`]).
        first_faults: Vec<FaultKind> => |c, v| c.first_faults = v);
    setter!(/// OpenAI: which rate-limit headers it sends (see [`HeaderDialect`](crate::HeaderDialect)).
        header_dialect: crate::HeaderDialect => |c, v| c.header_dialect = v);
    setter!(/// Send `x-should-retry` on every error response.
        should_retry_header: bool => |c, v| c.should_retry_header = v);

    /// Removes every request and token limit (benchmarks).
    pub fn unlimited(mut self) -> Self {
        let c = &mut self.config;
        (c.rpm, c.rpd, c.tpm, c.tpd, c.input_tpm, c.output_tpm) =
            (None, None, None, None, None, None);
        self
    }

    /// `n` requests per `window` (OpenRouter-style interval limits).
    pub fn requests_per(mut self, n: u64, window: Duration) -> Self {
        self.config.rpm = Some(n);
        self.config.request_window = window;
        self
    }

    /// OpenRouter prices per prompt and per completion token, USD.
    pub fn prices(mut self, prompt: f64, completion: f64) -> Self {
        self.config.prompt_price = prompt;
        self.config.completion_price = completion;
        self
    }

    /// A price table in the client's JSON format (see [`EmulatorConfig::price_table`]):
    /// [`EmulatorStats::cost_usd`](super::EmulatorStats::cost_usd) then counts what the
    /// completed requests would have cost. A table that cannot be read fails `start()`.
    pub fn price_table(mut self, json: impl Into<String>) -> Self {
        self.config.price_table = Some(json.into());
        self
    }

    /// Latency: `base` before the first byte plus `per_token` per output token (between
    /// stream events).
    pub fn latency(mut self, base: Duration, per_token: Duration) -> Self {
        self.config.base_latency = base;
        self.config.per_token_latency = per_token;
        self
    }

    /// Injects `kind` with probability `p` (replaces an earlier setting of that kind).
    pub fn fault(mut self, kind: FaultKind, p: f64) -> Self {
        self.config.faults.retain(|(k, _)| *k != kind);
        self.config.faults.push((kind, p));
        self
    }

    /// Validates the configuration, binds `127.0.0.1:port` and starts serving in
    /// background threads (one accept thread, one thread per connection).
    pub fn start(self) -> Result<Emulator, EmulatorError> {
        let cfg = self.config;
        cfg.validate().map_err(EmulatorError::InvalidConfig)?;
        let minute = |dim, limit: Option<u64>| {
            limit.map(|limit| LimitSpec { dim, limit, window: Duration::from_secs(60) })
        };
        let day = |dim, limit: Option<u64>| {
            limit.map(|limit| LimitSpec { dim, limit, window: Duration::from_secs(86_400) })
        };
        let specs = [
            cfg.rpm.map(|limit| LimitSpec {
                dim: Dim::Requests,
                limit,
                window: cfg.request_window,
            }),
            day(Dim::RequestsDay, cfg.rpd),
            minute(Dim::Tokens, cfg.tpm),
            day(Dim::TokensDay, cfg.tpd),
            minute(Dim::InputTokens, cfg.input_tpm),
            minute(Dim::OutputTokens, cfg.output_tpm),
        ];
        let limiter = Limiter::new(specs.into_iter().flatten().collect());
        let listener = TcpListener::bind(("127.0.0.1", cfg.port))?;
        let addr = listener.local_addr()?;
        let prices = match &cfg.price_table {
            Some(text) => {
                Some(Prices::parse(text, cfg.provider).map_err(EmulatorError::InvalidConfig)?)
            }
            None => None,
        };
        let mut shared = Shared::new(cfg, limiter);
        shared.prices = prices;
        let shared = Arc::new(shared);
        let for_thread = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("emulator-accept".into())
            .spawn(move || server::accept_loop(for_thread, listener))?;
        Ok(Emulator { shared, addr, accept: Some(accept) })
    }
}

/// A running emulator; stops (closing every connection) when dropped.
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl Emulator {
    /// A builder for an OpenAI emulator (defaults in [`EmulatorConfig::new`]).
    pub fn openai() -> EmulatorBuilder {
        EmulatorBuilder::from_config(EmulatorConfig::new(EmulatedProvider::OpenAI))
    }

    /// A builder for an Anthropic emulator.
    pub fn anthropic() -> EmulatorBuilder {
        EmulatorBuilder::from_config(EmulatorConfig::new(EmulatedProvider::Anthropic))
    }

    /// A builder for an OpenRouter emulator.
    pub fn openrouter() -> EmulatorBuilder {
        EmulatorBuilder::from_config(EmulatorConfig::new(EmulatedProvider::OpenRouter))
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL a client appends its paths to: `http://127.0.0.1:PORT/v1` for OpenAI and
    /// Anthropic, `http://127.0.0.1:PORT/api/v1` for OpenRouter.
    pub fn base_url(&self) -> String {
        let prefix = match self.shared.cfg.provider {
            EmulatedProvider::OpenRouter => "/api/v1",
            _ => "/v1",
        };
        format!("http://{}{prefix}", self.addr)
    }

    /// The configuration in effect.
    pub fn config(&self) -> &EmulatorConfig {
        &self.shared.cfg
    }

    /// A snapshot of the server-side statistics.
    pub fn stats(&self) -> EmulatorStats {
        self.shared.stats.snapshot()
    }

    /// What the batch APIs have received.
    pub fn batch_stats(&self) -> super::batch_store::BatchStats {
        self.shared.batches.inner.lock().stats.clone()
    }

    /// Clears the statistics (limits and credits are untouched).
    pub fn reset_stats(&self) {
        self.shared.stats.reset();
    }

    /// Blocks the calling thread while the server runs (for a foreground CLI).
    pub fn wait(mut self) {
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the loop sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
        for (_, conn) in self.shared.conns.lock().drain() {
            let _ = conn.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
    }
}
