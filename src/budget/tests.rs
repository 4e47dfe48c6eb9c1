//! The budget on its own, and under 64 requests in flight over an in-memory transport that
//! counts what it would have charged (random costs and latencies, a property test).

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use crate::{ChatCompletionRequest, ChatLimiter, Message, ModelPrice, PriceTable, Provider};

#[test]
fn reserve_settle_and_the_exhausted_latch() {
    let b = Budget::new(1.0).unwrap();
    let h1 = b.reserve(0.6).unwrap();
    assert_eq!(b.snapshot().reserved_usd, 0.6);
    h1.settle(0.25);
    let s = b.snapshot();
    assert_eq!((s.spent_usd, s.reserved_usd, s.exhausted), (0.25, 0.0, false));
    b.reserve(0.5).unwrap().release();
    let dropped = b.reserve(0.5).unwrap();
    drop(dropped); // outcome unknown: the worst case stays spent
    assert_eq!(b.snapshot().spent_usd, 0.75);
    let e = b.reserve(0.3).unwrap_err();
    assert!(
        matches!(e, Error::BudgetExhausted { limit_usd, spent_usd, needed_usd }
            if limit_usd == 1.0 && spent_usd == 0.75 && needed_usd == 0.3),
        "{e}"
    );
    // Latched: even a request that would fit is refused now.
    assert!(b.reserve(0.01).is_err());
    assert!(b.snapshot().exhausted);
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(Budget::new(bad), Err(Error::Config(_))));
    }
}

#[test]
fn a_request_that_fits_once_others_settle_waits_for_them() {
    let b = Budget::new(1.0).unwrap();
    let first = b.reserve(0.8).unwrap();
    let b2 = b.clone();
    let waiter = std::thread::spawn(move || b2.reserve(0.5).map(Hold::release).is_ok());
    std::thread::sleep(Duration::from_millis(50));
    assert!(!waiter.is_finished(), "0.5 does not fit beside 0.8 reserved");
    first.settle(0.3);
    assert!(waiter.join().unwrap(), "0.3 spent + 0.5 fits in 1.0");
    // The same wait, but the settle leaves too little: exhausted, not stuck.
    let first = b.reserve(0.6).unwrap();
    let b3 = b.clone();
    let waiter = std::thread::spawn(move || b3.reserve(0.5).map(Hold::release).is_ok());
    std::thread::sleep(Duration::from_millis(50));
    first.settle(0.6);
    assert!(!waiter.join().unwrap());
}

/// Answers every chat request after a random delay with a random usage within the request's
/// worst case, and counts, at its own prices, what it would have charged.
struct Priced {
    seed: AtomicU64,
    max_delay_us: u64,
    charged_nano: AtomicU64,
    in_flight: AtomicU64,
    peak: AtomicU64,
    sent: AtomicU64,
    /// The first `wave` requests wait here until `wave` are in flight at once (or a deadline).
    wave: u64,
    gate: Mutex<Option<Instant>>,
}

const IN_PER_TOKEN_NANO: u64 = 1_000_000; // $1000 per million tokens
const OUT_PER_TOKEN_NANO: u64 = 2_000_000;

impl Priced {
    fn new(seed: u64, max_delay_us: u64, wave: u64) -> Self {
        Priced {
            seed: AtomicU64::new(seed | 1),
            max_delay_us,
            charged_nano: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            wave,
            gate: Mutex::new(None),
        }
    }
    fn rand(&self, n: u64) -> u64 {
        let mut x = self.seed.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (x ^ (x >> 31)) % n.max(1)
    }
}

impl Transport for Arc<Priced> {
    fn send(&self, r: &HttpRequest<'_>) -> Result<HttpResponse, TransportError> {
        let body: Value = serde_json::from_slice(r.body.unwrap_or_default()).unwrap_or_default();
        let max_tokens = body["max_tokens"].as_u64().unwrap_or(1);
        let chars = body["messages"][0]["content"].as_str().unwrap_or("").chars().count() as u64;
        let prompt = 1 + self.rand(chars.div_ceil(4).max(1));
        let completion = self.rand(max_tokens + 1);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let nth = self.sent.fetch_add(1, Ordering::SeqCst);
        let deadline =
            *self.gate.lock().get_or_insert_with(|| Instant::now() + Duration::from_secs(5));
        while nth < self.wave
            && self.peak.load(Ordering::SeqCst) < self.wave
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_micros(self.rand(self.max_delay_us + 1)));
        self.charged_nano.fetch_add(
            prompt * IN_PER_TOKEN_NANO + completion * OUT_PER_TOKEN_NANO,
            Ordering::SeqCst,
        );
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let json = format!(
            r#"{{"id":"c","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{{"index":0,"message":{{"role":"assistant","content":"x"}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":{prompt},"completion_tokens":{completion},"total_tokens":{}}}}}"#,
            prompt + completion
        );
        let mut headers = ureq::http::HeaderMap::new();
        headers.insert("content-type", ureq::http::HeaderValue::from_static("application/json"));
        Ok(HttpResponse {
            status: 200,
            headers,
            body: Box::new(io::Cursor::new(json.into_bytes())),
        })
    }
}

/// 64 threads, each sending requests until the budget refuses one; returns the limiter, the
/// transport and how many requests were refused.
fn run_64(
    limit_usd: f64,
    lens: &[(usize, u32)],
    seed: u64,
    delay_us: u64,
    wave: u64,
) -> (ChatLimiter, Arc<Priced>, u64) {
    let mut table = PriceTable::empty();
    table.insert(Provider::OpenAI, "gpt-4o", ModelPrice::new(1000.0, 2000.0));
    let fake = Arc::new(Priced::new(seed, delay_us, wave));
    let limiter = ChatLimiter::builder()
        .model("gpt-4o")
        .api_key("sk-test")
        .base_url("https://api.example.test/v1")
        .request_limit(1_000_000)
        .token_limit(u32::MAX)
        .price_table(table)
        .max_cost(limit_usd)
        .transport(Box::new(Arc::clone(&fake)))
        .build()
        .unwrap();
    let refused = AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..64 {
            let (limiter, refused) = (&limiter, &refused);
            s.spawn(move || {
                for i in 0.. {
                    let (len, max_tokens) = lens[(t * 7 + i) % lens.len()];
                    let req =
                        ChatCompletionRequest::new("gpt-4o", vec![Message::user("a".repeat(len))])
                            .max_tokens(max_tokens);
                    match limiter.chat_completion(&req) {
                        Ok(_) => {}
                        Err(Error::BudgetExhausted { .. }) => {
                            refused.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        Err(e) => panic!("unexpected error: {e}"),
                    }
                }
            });
        }
    });
    (limiter, fake, refused.into_inner())
}

#[test]
fn sixty_four_in_flight_reach_the_transport_at_once_within_the_budget() {
    // 64 worst cases of (100 + 50) × $0.001–0.002 = $0.2 each fit in $20 at once.
    let (limiter, fake, refused) = run_64(20.0, &[(400, 50)], 7, 500, 64);
    assert_eq!(fake.peak.load(Ordering::SeqCst), 64);
    assert_eq!(refused, 64, "every thread ends on a refusal");
    let charged = fake.charged_nano.load(Ordering::SeqCst);
    assert!(charged <= 20_000_000_000, "charged {charged} nUSD over a $20 budget");
    let spend = limiter.spend();
    let budget = spend.budget.unwrap();
    assert!(budget.exhausted && budget.reserved_usd == 0.0);
    assert!((spend.spent_usd - charged as f64 / 1e9).abs() < 1e-6, "{spend:?} vs {charged}");
    assert_eq!(spend.priced, fake.sent.load(Ordering::SeqCst));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn a_budget_stop_never_overshoots(
        limit_cents in 1u32..20_000,
        lens in proptest::collection::vec((1usize..2_000, 1u32..400), 1..8),
        seed in any::<u64>(),
        delay_us in 0u64..2_000,
    ) {
        let limit = f64::from(limit_cents) / 100.0;
        // As many requests as the budget can hold at once (up to 64) are held in flight
        // together before any answers, then answers come at random times.
        let worst = lens
            .iter()
            .map(|&(len, max)| (len as f64 / 4.0).ceil() * 0.001 + f64::from(max) * 0.002)
            .fold(0.0, f64::max);
        let wave = ((limit / worst).floor() as u64).min(64);
        let (limiter, fake, refused) = run_64(limit, &lens, seed, delay_us, wave);
        prop_assert!(fake.peak.load(Ordering::SeqCst) >= wave, "peak in flight below {}", wave);
        let charged = fake.charged_nano.load(Ordering::SeqCst);
        prop_assert!(charged as f64 <= limit * 1e9, "charged {} nUSD over {} USD", charged, limit);
        prop_assert_eq!(refused, 64);
        let spend = limiter.spend();
        prop_assert!(spend.budget.unwrap().spent_usd <= limit + 1e-9);
        prop_assert!((spend.spent_usd - charged as f64 / 1e9).abs() < 1e-6);
    }
}
