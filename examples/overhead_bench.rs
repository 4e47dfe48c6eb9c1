//! What the client costs over a bare `ureq::Agent`, side by side in one run.
//!
//! ```text
//! cargo run --release --example overhead_bench            # 4,000 requests per measurement
//! cargo run --release --example overhead_bench -- 20000   # more requests, steadier figures
//! cargo run --release --example overhead_bench -- 50000 --only 1 --threads 8   # one client, to profile
//! ```
//!
//! `--only I` runs client I alone (0 raw ureq, 1 no limits, 2 limits configured) at the
//! `--threads` given (default 8) and prints its figures: the form to run under `perf record`.
//!
//! The server is the emulator with no limits and no latency, in a child process (this example
//! run with `--serve`), so the process's own CPU time and context switches (`getrusage`) are
//! the client's alone. For 1, 8, 64 and 256 client threads it runs three clients, interleaved,
//! three rounds each, and prints medians: raw ureq posting the same body and parsing the answer
//! with serde_json; `chat_completion` with no limits configured; and with generous limits
//! configured (the buckets are consulted on every request).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chat_limiter::{ChatCompletionRequest, ChatLimiter, Message, Provider};

/// Counts the process's heap allocations, so the table can show them per request.
struct Counting;

static ALLOCS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const MODEL: &str = "gpt-4o-mini";
const THREADS: [usize; 4] = [1, 8, 64, 256];
const ROUNDS: usize = 3;

/// Process CPU time and context switches so far.
fn usage() -> (Duration, u64) {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (tv(ru.ru_utime) + tv(ru.ru_stime), (ru.ru_nvcsw + ru.ru_nivcsw) as u64)
}

/// One measurement: requests per second, CPU µs per request, context switches per request.
#[derive(Clone, Copy)]
struct Sample {
    rate: f64,
    cpu_us: f64,
    switches: f64,
    allocs: f64,
}

fn measure(threads: usize, total: usize, one: &(dyn Fn() + Sync)) -> Sample {
    let per = total.div_ceil(threads);
    let (cpu0, sw0) = usage();
    let a0 = ALLOCS.load(std::sync::atomic::Ordering::Relaxed);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| (0..per).for_each(|_| one()));
        }
    });
    let wall = t0.elapsed().as_secs_f64();
    let (cpu1, sw1) = usage();
    let a1 = ALLOCS.load(std::sync::atomic::Ordering::Relaxed);
    let n = (per * threads) as f64;
    Sample {
        rate: n / wall,
        cpu_us: (cpu1 - cpu0).as_secs_f64() * 1e6 / n,
        switches: (sw1 - sw0) as f64 / n,
        allocs: (a1 - a0) as f64 / n,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn serve() {
    let emu = chat_limiter_emulator::Emulator::openai().unlimited().start().expect("emulator");
    println!("{}", emu.base_url());
    emu.wait();
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        return serve();
    }
    let total: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(4000);
    let flag = |name: &str| -> Option<usize> {
        let at = args.iter().position(|a| a == name)?;
        args.get(at + 1).and_then(|v| v.parse().ok())
    };
    let only = flag("--only");
    let only_threads = flag("--threads").unwrap_or(8);
    let mut child = Command::new(&args[0])
        .arg("--serve")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server process");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("url");
    let _server = Server(child);
    let base = line.trim().to_string();

    let request = ChatCompletionRequest::new(MODEL, vec![Message::user("Say hello")]).max_tokens(8);
    let body = serde_json::json!({"model": MODEL, "messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 8}).to_string();
    let raw_agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .max_idle_connections(1024)
        .max_idle_connections_per_host(1024)
        .build()
        .into();
    let url = format!("{base}/chat/completions");
    let raw = || {
        let mut resp = raw_agent
            .post(&url)
            .header("authorization", "Bearer sk-bench")
            .header("content-type", "application/json")
            .send(body.as_bytes())
            .expect("raw request");
        let mut text = String::new();
        resp.body_mut().as_reader().read_to_string(&mut text).expect("raw body");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert!(v["choices"][0]["message"]["content"].is_string());
    };
    let builder = || {
        ChatLimiter::builder()
            .provider(Provider::OpenAI)
            .api_key("sk-bench")
            .base_url(base.clone())
            .max_in_flight(1024)
    };
    let unconfigured = builder().build().expect("limiter");
    let configured =
        builder().request_limit(100_000_000).token_limit(2_000_000_000).build().expect("limiter");
    let call = |l: &ChatLimiter| {
        let r = l.chat_completion(&request).expect("chat");
        assert!(!r.text().is_empty());
    };
    let clients: [(&str, &(dyn Fn() + Sync)); 3] = [
        ("raw ureq", &raw),
        ("chat_completion, no limits configured", &|| call(&unconfigured)),
        ("chat_completion, limits configured", &|| call(&configured)),
    ];
    if let Some(i) = only {
        let (name, f) = clients.get(i).expect("--only takes 0, 1 or 2");
        measure(only_threads, 200, *f);
        let s = measure(only_threads, total, *f);
        println!(
            "{name}, {only_threads} threads: {:.0} req/s, {:.0} CPU µs/req, {:.1} switches/req, \
             {:.0} allocations/req",
            s.rate, s.cpu_us, s.switches, s.allocs
        );
        return;
    }
    // Warm up connections and caches.
    for (_, f) in &clients {
        measure(8, 200, *f);
    }
    println!("{total} requests per measurement, median of {ROUNDS} interleaved rounds\n");
    println!(
        "| threads | client | req/s | ratio to raw | CPU µs/req | context switches/req | \
         allocations/req |"
    );
    println!("|---|---|---|---|---|---|---|");
    for threads in THREADS {
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); clients.len()];
        for _ in 0..ROUNDS {
            for (i, (_, f)) in clients.iter().enumerate() {
                samples[i].push(measure(threads, total, *f));
            }
        }
        let raw_rate = median(samples[0].iter().map(|s| s.rate).collect());
        for (i, (name, _)) in clients.iter().enumerate() {
            let rate = median(samples[i].iter().map(|s| s.rate).collect());
            let cpu = median(samples[i].iter().map(|s| s.cpu_us).collect());
            let sw = median(samples[i].iter().map(|s| s.switches).collect());
            let allocs = median(samples[i].iter().map(|s| s.allocs).collect());
            println!(
                "| {threads} | {name} | {rate:.0} | {:.2} | {cpu:.0} | {sw:.1} | {allocs:.0} |",
                rate / raw_rate
            );
        }
    }
}
