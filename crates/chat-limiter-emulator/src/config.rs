//! Emulator configuration: the plain [`EmulatorConfig`] struct (for a CLI to fill in) and
//! its validation. Defaults live in one place, [`EmulatorConfig::new`].

use std::time::Duration;

/// Which provider an emulator instance pretends to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmulatedProvider {
    /// OpenAI Chat Completions (`POST /v1/chat/completions`).
    OpenAI,
    /// Anthropic Messages (`POST /v1/messages`).
    Anthropic,
    /// OpenRouter (`POST /api/v1/chat/completions`, `GET /api/v1/key`).
    OpenRouter,
}

/// An injectable fault. Each kind fires with its own probability; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FaultKind {
    /// HTTP 500 with the provider's internal-error body.
    Status500,
    /// HTTP 502 (bad gateway).
    Status502,
    /// HTTP 503 with `retry-after: 1`.
    Status503,
    /// HTTP 529 `overloaded_error` (Anthropic; on other providers it is sent as 503).
    Status529,
    /// Close the socket after a partial response head.
    ConnectionDrop,
    /// Sleep for the configured stall time, then close the socket without answering.
    Stall,
    /// HTTP 200 with a truncated, invalid JSON body.
    MalformedBody,
    /// A normal (charged) success whose rate-limit headers hold garbage values.
    GarbageHeaders,
    /// A stream that stops with the provider's error event halfway (streams only).
    MidStreamError,
    /// The provider's terminal billing error: Anthropic 402 `billing_error`, OpenAI 429
    /// `credit_balance_exhausted`, OpenRouter 402 `payment_required`.
    BillingError,
    /// OpenRouter's upstream 429 "Provider returned error" with `metadata.provider_name` and
    /// `raw` (other providers answer 503, their overloaded status).
    UpstreamError,
    /// HTTP 200 whose body is an error object: OpenRouter's upstream failure (`code: 502`);
    /// elsewhere the `model_not_found` (OpenAI shape) or `not_found_error` (Anthropic shape)
    /// that OpenAI-compatible servers and proxies send with a 200.
    ErrorIn200,
}

impl FaultKind {
    /// Every kind, in the order probabilities are laid out on the unit interval.
    pub const ALL: [FaultKind; 12] = [
        FaultKind::Status500,
        FaultKind::Status502,
        FaultKind::Status503,
        FaultKind::Status529,
        FaultKind::ConnectionDrop,
        FaultKind::Stall,
        FaultKind::MalformedBody,
        FaultKind::GarbageHeaders,
        FaultKind::MidStreamError,
        FaultKind::BillingError,
        FaultKind::UpstreamError,
        FaultKind::ErrorIn200,
    ];

    /// Stable snake-case name used as the key in [`EmulatorStats::faults`](super::EmulatorStats).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Status500 => "status_500",
            FaultKind::Status502 => "status_502",
            FaultKind::Status503 => "status_503",
            FaultKind::Status529 => "status_529",
            FaultKind::ConnectionDrop => "connection_drop",
            FaultKind::Stall => "stall",
            FaultKind::MalformedBody => "malformed_body",
            FaultKind::GarbageHeaders => "garbage_headers",
            FaultKind::MidStreamError => "mid_stream_error",
            FaultKind::BillingError => "billing_error",
            FaultKind::UpstreamError => "upstream_error",
            FaultKind::ErrorIn200 => "error_in_200",
        }
    }
}

/// How many output tokens a completion has, given the request's cap `max`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum OutputLen {
    /// Deterministic from the body hash `h`: `max/2 + h % (max - max/2 + 1)`, i.e. in
    /// `[max/2, max]` (integer halves). The default.
    Hash,
    /// Exactly `max` (finish reason `length` / `max_tokens`).
    Max,
    /// `ceil(max × f)` with `f` in [0, 1].
    Fraction(f64),
    /// A fixed count, capped at `max`.
    Fixed(u64),
}

/// How Anthropic output tokens are charged to OTPM (docs/providers.md §2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtpmMode {
    /// Reserve `max_tokens` at admission, correct to the actual output at the end (default).
    ReserveMaxTokens,
    /// Charge only the actual output, when the response is complete.
    ActualOutput,
}

/// Everything an emulator instance needs. Fill it directly (it is `#[non_exhaustive]`, so
/// start from [`EmulatorConfig::new`]) or through [`EmulatorBuilder`](super::EmulatorBuilder).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EmulatorConfig {
    /// The emulated provider.
    pub provider: EmulatedProvider,
    /// Port to bind on 127.0.0.1; `0` picks a free one.
    pub port: u16,
    /// Accepted API key; `None` accepts any non-empty key.
    pub api_key: Option<String>,
    /// Requests per window (`request_window`, default 60 s); all providers.
    pub rpm: Option<u64>,
    /// Window of `rpm` (OpenRouter's "requests per interval").
    pub request_window: Duration,
    /// Requests per day (window 86400 s); all providers.
    pub rpd: Option<u64>,
    /// OpenAI tokens per minute.
    pub tpm: Option<u64>,
    /// OpenAI tokens per day.
    pub tpd: Option<u64>,
    /// Anthropic input tokens per minute.
    pub input_tpm: Option<u64>,
    /// Anthropic output tokens per minute.
    pub output_tpm: Option<u64>,
    /// Anthropic OTPM accounting.
    pub otpm_mode: OtpmMode,
    /// OpenAI: after completion, refund the TPM charge down to the actual usage.
    pub refund_to_actual: bool,
    /// OpenAI: output cap charged and generated when the request gives none.
    pub default_max_tokens: u64,
    /// OpenRouter credit balance in USD; `None` = unlimited.
    pub credits: Option<f64>,
    /// OpenRouter price per prompt token (USD).
    pub prompt_price: f64,
    /// OpenRouter price per completion token (USD).
    pub completion_price: f64,
    /// Accepted model names; `None` accepts any well-formed name for the provider.
    pub models: Option<Vec<String>>,
    /// Output length rule.
    pub output_len: OutputLen,
    /// Latency before the first byte of a success.
    pub base_latency: Duration,
    /// Extra latency per output token (between stream events).
    pub per_token_latency: Duration,
    /// Uniform random extra latency in `[0, jitter)`, seeded.
    pub jitter: Duration,
    /// Seed of every random choice (faults, jitter, ids).
    pub seed: u64,
    /// Fault probabilities; their sum must not exceed 1.
    pub faults: Vec<(FaultKind, f64)>,
    /// Faults served, in order, to the first chat requests (a cold start that meets a 529,
    /// say), before the probabilities apply.
    pub first_faults: Vec<FaultKind>,
    /// How long a [`FaultKind::Stall`] sleeps before closing the connection.
    pub stall: Duration,
    /// Probability of a terminal quota error: OpenAI `insufficient_quota` 429, Anthropic
    /// spend-cap 429, OpenRouter 402. Never carries `retry-after`.
    pub quota_error_rate: f64,
    /// OpenAI: omit the `x-ratelimit-*` headers on 429s.
    pub omit_headers_on_429: bool,
    /// OpenAI: which rate-limit headers it sends ([`HeaderDialect`]; default `Full`).
    pub header_dialect: super::dialect::HeaderDialect,
    /// OpenAI: a request rejected with a rate-limit 429 still counts against the request
    /// limits ("unsuccessful requests contribute to your per-minute limit"; default off: a
    /// rejected request consumes nothing).
    pub rejected_count_against_rpm: bool,
    /// Send `x-should-retry: true|false` on every error (Anthropic always sends it on 429s).
    pub should_retry_header: bool,
    /// How the batch APIs behave (OpenAI and Anthropic).
    pub batch: super::batch_store::BatchEmulation,
    /// A price table in the client's JSON format (USD per million tokens); when set,
    /// [`EmulatorStats::cost_usd`](super::EmulatorStats::cost_usd) counts what each
    /// completed chat request would have cost under it.
    pub price_table: Option<String>,
}

impl EmulatorConfig {
    /// Defaults: OpenAI 500 RPM / 200,000 TPM; Anthropic 1,000 RPM / 450,000 ITPM /
    /// 90,000 OTPM (the 2025 tier-2 figures); OpenRouter no request limit and unlimited
    /// credits at $1 / $2 per million tokens. No latency, no faults, seed 0.
    pub fn new(provider: EmulatedProvider) -> Self {
        let (rpm, tpm, itpm, otpm) = match provider {
            EmulatedProvider::OpenAI => (Some(500), Some(200_000), None, None),
            EmulatedProvider::Anthropic => (Some(1000), None, Some(450_000), Some(90_000)),
            EmulatedProvider::OpenRouter => (None, None, None, None),
        };
        EmulatorConfig {
            provider,
            port: 0,
            api_key: None,
            rpm,
            request_window: Duration::from_secs(60),
            rpd: None,
            tpm,
            tpd: None,
            input_tpm: itpm,
            output_tpm: otpm,
            otpm_mode: OtpmMode::ReserveMaxTokens,
            refund_to_actual: false,
            default_max_tokens: 1024,
            credits: None,
            prompt_price: 1e-6,
            completion_price: 2e-6,
            models: None,
            output_len: OutputLen::Hash,
            base_latency: Duration::ZERO,
            per_token_latency: Duration::ZERO,
            jitter: Duration::ZERO,
            seed: 0,
            faults: Vec::new(),
            first_faults: Vec::new(),
            stall: Duration::from_secs(30),
            quota_error_rate: 0.0,
            rejected_count_against_rpm: false,
            omit_headers_on_429: false,
            header_dialect: super::dialect::HeaderDialect::Full,
            should_retry_header: false,
            batch: Default::default(),
            price_table: None,
        }
    }

    /// Checks the configuration; [`EmulatorBuilder::start`](super::EmulatorBuilder::start)
    /// calls it. Rejects zero limits, probabilities outside [0, 1] or summing above 1,
    /// zero windows, negative prices or credits, and limits of another provider.
    pub fn validate(&self) -> Result<(), String> {
        let limits = [
            ("rpm", self.rpm),
            ("rpd", self.rpd),
            ("tpm", self.tpm),
            ("tpd", self.tpd),
            ("input_tpm", self.input_tpm),
            ("output_tpm", self.output_tpm),
        ];
        for (name, v) in limits {
            if v == Some(0) {
                return Err(format!("{name} must be at least 1"));
            }
        }
        let openai = self.provider == EmulatedProvider::OpenAI;
        if !openai && (self.tpm.is_some() || self.tpd.is_some()) {
            return Err("tpm/tpd are OpenAI limits".into());
        }
        let anthropic = self.provider == EmulatedProvider::Anthropic;
        if !anthropic && (self.input_tpm.is_some() || self.output_tpm.is_some()) {
            return Err("input_tpm/output_tpm are Anthropic limits".into());
        }
        if self.request_window.is_zero() {
            return Err("request_window must be positive".into());
        }
        if self.default_max_tokens == 0 || self.default_max_tokens > super::chat::MAX_OUTPUT_TOKENS
        {
            return Err("default_max_tokens must be in 1..=128000".into());
        }
        let unit = |p: f64| (0.0..=1.0).contains(&p);
        if let Some((k, p)) = self.faults.iter().find(|(_, p)| !unit(*p)) {
            return Err(format!("fault probability {p} for {k:?} is outside [0, 1]"));
        }
        let total: f64 = self.faults.iter().map(|(_, p)| p).sum::<f64>() + self.quota_error_rate;
        if total > 1.0 + 1e-9 || !unit(self.quota_error_rate) {
            return Err(format!("fault and quota probabilities sum to {total}, above 1"));
        }
        if let OutputLen::Fraction(f) = self.output_len {
            if !unit(f) {
                return Err(format!("OutputLen::Fraction({f}) is outside [0, 1]"));
            }
        }
        let bad_money = |v: f64| !(v.is_finite() && v >= 0.0);
        if bad_money(self.prompt_price)
            || bad_money(self.completion_price)
            || self.credits.is_some_and(bad_money)
        {
            return Err("prices and credits must be finite and non-negative".into());
        }
        if self.api_key.as_deref() == Some("") {
            return Err("api_key must not be empty".into());
        }
        Ok(())
    }

    /// The configured probability of `kind` (summed if listed twice).
    pub(crate) fn fault_probability(&self, kind: FaultKind) -> f64 {
        self.faults.iter().filter(|(k, _)| *k == kind).map(|(_, p)| p).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let ok = EmulatorConfig::new(EmulatedProvider::OpenAI);
        assert!(ok.validate().is_ok());
        let mut c = ok.clone();
        c.rpm = Some(0);
        assert!(c.validate().is_err());
        let mut c = ok.clone();
        c.faults = vec![(FaultKind::Status500, 1.5)];
        assert!(c.validate().is_err());
        let mut c = ok.clone();
        c.faults = vec![(FaultKind::Status500, 0.6), (FaultKind::Stall, 0.6)];
        assert!(c.validate().is_err());
        let mut c = ok.clone();
        c.input_tpm = Some(5);
        assert!(c.validate().is_err());
        let mut c = EmulatorConfig::new(EmulatedProvider::OpenRouter);
        c.credits = Some(-1.0);
        assert!(c.validate().is_err());
    }
}
