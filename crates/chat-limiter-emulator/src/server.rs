//! The accept loop, one thread per connection, and the per-request pipeline:
//! route → fault draw → provider handler → latency → response → settlement and stats.

use std::collections::HashMap;
use std::io::BufReader;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use parking_lot::Mutex;
use serde_json::Value;

use super::bucket::Limiter;
use super::chat::{Outcome, Reply};
use super::config::{EmulatedProvider, EmulatorConfig, FaultKind};
use super::faults::{self, Pick};
use super::format::Rng;
use super::http::{self, HttpRequest, HttpResponse, ReadError};
use super::openrouter::Credits;
use super::stats::StatsCollector;
use super::{anthropic, dialect, openai, openrouter};

/// State shared by all connection threads.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) cfg: EmulatorConfig,
    pub(crate) limiter: Limiter,
    pub(crate) stats: StatsCollector,
    pub(crate) credits: Mutex<Credits>,
    pub(crate) batches: super::batch_store::Store,
    /// The loaded price table, when one was given.
    pub(crate) prices: Option<super::pricing::Prices>,
    counter: AtomicU64,
    /// Chat requests answered so far by the scripted first faults.
    first_faults_served: AtomicU64,
    pub(crate) stop: AtomicBool,
    /// Clones of live sockets, shut down when the emulator stops.
    pub(crate) conns: Mutex<HashMap<u64, TcpStream>>,
}

impl Shared {
    pub(crate) fn new(cfg: EmulatorConfig, limiter: Limiter) -> Self {
        let credits = Mutex::new(Credits { balance: cfg.credits, spent: 0.0 });
        Shared {
            cfg,
            limiter,
            stats: StatsCollector::new(),
            credits,
            batches: Default::default(),
            prices: None,
            counter: AtomicU64::new(0),
            first_faults_served: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
        }
    }
}

/// What a provider handler sees of one request.
pub(crate) struct Ctx<'a> {
    pub(crate) cfg: &'a EmulatorConfig,
    pub(crate) limiter: &'a Limiter,
    pub(crate) credits: &'a Mutex<Credits>,
    pub(crate) req: &'a HttpRequest,
    /// Seeded per request (seed and arrival number), for ids and jitter.
    pub(crate) rng: Rng,
    pub(crate) now: Instant,
    /// Answer with the terminal quota error.
    pub(crate) quota: bool,
    /// Cut the stream with the provider's error event (streams only).
    pub(crate) mid_stream_error: bool,
}

/// Connections that may wait to be accepted. std listens with 128: thousands of clients
/// connecting at once (a batch's burst) overflow that, and each dropped SYN costs its client a
/// 1 s retransmit. The kernel caps it at `net.core.somaxconn`.
const LISTEN_BACKLOG: i32 = 4096;

/// Accepts connections until `stop` is set (the owner then connects once to wake us).
pub(crate) fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    // Listening again on a listening socket only changes its backlog; if it fails, the
    // default one still works.
    let _ = socket2::SockRef::from(&listener).listen(LISTEN_BACKLOG);
    let mut next_id = 0u64;
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        next_id += 1;
        let id = next_id;
        let shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name("emulator-conn".into())
            .spawn(move || serve_connection(&shared, stream, id));
        // Out of threads: the stream was moved into the failed closure and is closed.
        drop(spawned);
    }
}

fn serve_connection(shared: &Shared, stream: TcpStream, id: u64) {
    let _ = stream.set_nodelay(true);
    let (Ok(mut writer), Ok(registered)) = (stream.try_clone(), stream.try_clone()) else {
        return;
    };
    shared.conns.lock().insert(id, registered);
    let mut reader = BufReader::new(stream);
    while !shared.stop.load(Ordering::SeqCst) {
        match http::read_request(&mut reader, &mut writer) {
            Ok(req) => {
                if !handle(shared, &req, &mut writer) || req.close {
                    break;
                }
            }
            Err(ReadError::Closed) => break,
            Err(ReadError::Bad(status)) => {
                let resp = HttpResponse::json(
                    status,
                    &serde_json::json!({"error": {"message": "malformed HTTP request"}}),
                );
                let _ = http::write_response(&mut writer, &resp, true);
                break;
            }
        }
    }
    shared.conns.lock().remove(&id);
    let _ = writer.shutdown(Shutdown::Both);
}

/// Serves one request; returns whether the connection may be kept alive.
fn handle(shared: &Shared, req: &HttpRequest, w: &mut TcpStream) -> bool {
    if req.path == "/_stats" || req.path == "/_stats/reset" {
        if req.path.ends_with("reset") {
            shared.stats.reset();
        }
        let body = serde_json::to_value(shared.stats.snapshot()).unwrap_or(Value::Null);
        return http::write_response(w, &HttpResponse::json(200, &body), false).is_ok();
    }
    if let Some(resp) = batch_route(shared, req) {
        return http::write_response(w, &resp, req.close).is_ok();
    }
    shared.stats.begin();
    // `dispatch` ends the in-flight count itself, before the last byte goes out, so a
    // client that reads the stats right after its response sees its request counted.
    dispatch(shared, req, w)
}

fn dispatch(shared: &Shared, req: &HttpRequest, w: &mut TcpStream) -> bool {
    let cfg = &shared.cfg;
    let n = shared.counter.fetch_add(1, Ordering::Relaxed);
    let mut rng = Rng::new(cfg.seed ^ n.wrapping_mul(0xA076_1D64_78BD_642F));
    let route = route(cfg.provider, &req.method, &req.path);
    let mut ctx = Ctx {
        cfg,
        limiter: &shared.limiter,
        credits: &shared.credits,
        req,
        rng: Rng::new(0),
        now: Instant::now(),
        quota: false,
        mid_stream_error: false,
    };
    let outcome = match route {
        Route::Chat | Route::Responses => {
            let is_stream = serde_json::from_slice::<Value>(&req.body)
                .ok()
                .and_then(|v| v.get("stream").and_then(Value::as_bool))
                .unwrap_or(false);
            let scripted = shared.first_faults_served.fetch_add(1, Ordering::SeqCst) as usize;
            let pick = match cfg.first_faults.get(scripted) {
                Some(kind) => Pick::Fault(*kind),
                None => faults::pick(cfg, &mut rng, is_stream),
            };
            match pick {
                Pick::Fault(kind) => shared.stats.fault(kind.name()),
                Pick::Quota => shared.stats.fault("quota"),
                Pick::None => {}
            }
            match pick {
                Pick::Fault(FaultKind::ConnectionDrop) => {
                    shared.stats.end();
                    let _ = http::write_truncated(w);
                    return false;
                }
                Pick::Fault(FaultKind::Stall) => {
                    thread::sleep(cfg.stall);
                    shared.stats.end();
                    return false;
                }
                Pick::Fault(FaultKind::MalformedBody) => {
                    Outcome::now(faults::malformed(cfg.provider))
                }
                Pick::Fault(
                    k @ (FaultKind::Status500
                    | FaultKind::Status502
                    | FaultKind::Status503
                    | FaultKind::Status529),
                ) => Outcome::now(faults::status_response(cfg.provider, k, &mut rng)),
                Pick::Fault(
                    k
                    @ (FaultKind::BillingError | FaultKind::UpstreamError | FaultKind::ErrorIn200),
                ) => Outcome::now(faults::provider_error(cfg.provider, k, &mut rng)),
                _ => {
                    ctx.quota = pick == Pick::Quota;
                    ctx.mid_stream_error = pick == Pick::Fault(FaultKind::MidStreamError);
                    ctx.rng = rng;
                    let mut out = match cfg.provider {
                        _ if route == Route::Responses => super::responses::handle(&mut ctx),
                        EmulatedProvider::OpenAI => openai::handle(&mut ctx),
                        EmulatedProvider::Anthropic => anthropic::handle(&mut ctx),
                        EmulatedProvider::OpenRouter => openrouter::handle(&mut ctx),
                    };
                    if cfg.provider == EmulatedProvider::OpenAI {
                        match &mut out.reply {
                            Reply::Full { resp, .. } => {
                                dialect::apply(cfg.header_dialect, resp.status, &mut resp.headers)
                            }
                            Reply::Stream { headers, .. } => {
                                dialect::apply(cfg.header_dialect, 200, headers)
                            }
                        }
                    }
                    if pick == Pick::Fault(FaultKind::GarbageHeaders) {
                        match &mut out.reply {
                            Reply::Full { resp, .. } => {
                                faults::garble(cfg.provider, &mut resp.headers)
                            }
                            Reply::Stream { headers, .. } => faults::garble(cfg.provider, headers),
                        }
                    }
                    out
                }
            }
        }
        Route::Key => {
            ctx.rng = rng;
            openrouter::key_info(&mut ctx)
        }
        Route::Models => Outcome::now(super::pricing::openrouter_models(cfg)),
        Route::NotFound => {
            Outcome::now(faults::not_found(cfg.provider, &req.method, &req.path, &mut rng))
        }
    };
    let quota = ctx.quota;
    send(shared, outcome, req, w, quota)
}

/// The batch APIs and their counts, outside the chat pipeline (no faults, no rate limits).
fn batch_route(shared: &Shared, req: &HttpRequest) -> Option<HttpResponse> {
    if req.path == "/_batches" {
        let stats = shared.batches.inner.lock().stats.clone();
        return Some(HttpResponse::json(200, &serde_json::to_value(stats).unwrap_or(Value::Null)));
    }
    match shared.cfg.provider {
        EmulatedProvider::OpenAI => super::batch_openai::handle(shared, req),
        EmulatedProvider::Anthropic => {
            let base = format!("http://{}", req.header("host").unwrap_or("127.0.0.1"));
            super::batch_anthropic::handle(shared, req, &base)
        }
        EmulatedProvider::OpenRouter => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Chat,
    /// OpenAI's Responses API: the chat pipeline (faults, limits) with its own handler.
    Responses,
    Key,
    Models,
    NotFound,
}

fn route(provider: EmulatedProvider, method: &str, path: &str) -> Route {
    let path = path.trim_end_matches('/');
    match (provider, method, path) {
        (EmulatedProvider::OpenAI, "POST", "/v1/chat/completions") => Route::Chat,
        (EmulatedProvider::OpenAI, "POST", "/v1/responses") => Route::Responses,
        (EmulatedProvider::Anthropic, "POST", "/v1/messages") => Route::Chat,
        (EmulatedProvider::OpenRouter, "POST", "/api/v1/chat/completions") => Route::Chat,
        (EmulatedProvider::OpenRouter, "GET", "/api/v1/key" | "/api/v1/auth/key") => Route::Key,
        (EmulatedProvider::OpenRouter, "GET", "/api/v1/models") => Route::Models,
        _ => Route::NotFound,
    }
}

/// `x-should-retry` for the optional header mode: retry 408/409/429/5xx unless terminal.
fn should_retry(resp: &HttpResponse, quota: bool) -> bool {
    let terminal = quota || resp.body.windows(17).any(|w| w == b"Request too large");
    !terminal && matches!(resp.status, 408 | 409 | 429 | 500..=599)
}

fn send(
    shared: &Shared,
    outcome: Outcome,
    req: &HttpRequest,
    w: &mut TcpStream,
    quota: bool,
) -> bool {
    let cfg = &shared.cfg;
    let after = outcome.after;
    // Settlement and statistics happen just before the final write, so they are visible to
    // the client as soon as it has the complete response.
    let finish = |status: u16| {
        shared.stats.status(status);
        if let Some(after) = after {
            shared.limiter.adjust(&after.key, &after.model, &after.deltas, Instant::now());
            if after.cost > 0.0 {
                shared.credits.lock().deduct(after.cost);
            }
            if after.completed {
                shared.stats.completed(after.body_hash, after.input, after.output, after.cost);
                if let Some(prices) = &shared.prices {
                    shared.stats.priced(prices.cost(&after.model, after.input, after.output));
                }
            }
        }
        shared.stats.end();
    };
    match outcome.reply {
        Reply::Full { mut resp, delay } => {
            if cfg.should_retry_header
                && resp.status >= 400
                && !resp.headers.iter().any(|(n, _)| n == "x-should-retry")
            {
                resp.headers
                    .push(("x-should-retry".into(), should_retry(&resp, quota).to_string()));
            }
            thread::sleep(delay);
            finish(resp.status);
            http::write_response(w, &resp, req.close).is_ok()
        }
        Reply::Stream { headers, mut events } => {
            let last = events.pop();
            let mut ok = http::write_stream_head(w, 200, &headers).is_ok();
            for (delay, event) in events {
                if !ok {
                    break;
                }
                thread::sleep(delay);
                ok = http::write_chunk(w, event.as_bytes()).is_ok();
            }
            if let Some((delay, event)) = last.filter(|_| ok) {
                thread::sleep(delay);
                finish(200);
                ok = http::write_chunk(w, event.as_bytes()).is_ok()
                    && http::finish_chunks(w).is_ok();
            } else {
                // The client went away mid-stream: real providers still bill what was generated.
                finish(200);
            }
            ok
        }
    }
}
