//! Prompt-token estimate vs exact count, and the cost of each counter per call.
//!
//! ```text
//! cargo run --release --example token_count_bench --features tiktoken
//! ```
//!
//! Prints a Markdown table (the one in BENCHMARKS.md, "Token counting"): for each sample, the default
//! `CharEstimator` (ceil(chars / 4)) against `TiktokenCounter`'s exact count for gpt-4o
//! (o200k_base) and gpt-4 (cl100k_base), each for a one-message request (so the exact counts
//! include the 7 tokens of chat framing), then the mean time of one `count_prompt` call.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chat_limiter::{
    CharEstimator, ChatCompletionRequest, Message, TiktokenCounter, TiktokenEncoding, TokenCounter,
};

const CODE: &str = r#"fn fibonacci(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a.wrapping_add(b));
    }
    a
}

#[test]
fn first_values() {
    assert_eq!((0..8).map(fibonacci).collect::<Vec<_>>(), vec![0, 1, 1, 2, 3, 5, 8, 13]);
}
"#;

const ENGLISH: &str = "Rate limits are restrictions that an API imposes on the number of times a \
user or client can access the server within a specified period of time. They protect against \
abuse, make sure everyone gets fair access, and help the provider manage the load on its \
infrastructure. A well-behaved client reads the limit headers, waits before it is rejected, and \
backs off when it is. ";

fn samples() -> Vec<(&'static str, String)> {
    vec![
        ("short English", "What is the capital of France?".to_string()),
        ("English paragraph", ENGLISH.to_string()),
        ("long English (20 paragraphs)", ENGLISH.repeat(20)),
        ("Rust code", CODE.to_string()),
        ("JSON", r#"{"id": 42, "name": "Ada Lovelace", "tags": ["math", "poetry"], "active": true, "score": 98.6}"#.to_string()),
        ("German", "Die Würde des Menschen ist unantastbar. Sie zu achten und zu schützen ist Verpflichtung aller staatlichen Gewalt.".to_string()),
        ("Chinese", "人工智能正在改变我们的工作方式，但速率限制仍然是每个开发者都必须面对的问题。".to_string()),
        ("Japanese", "お誕生日おめでとうございます。素敵な一年になりますように。".to_string()),
        ("Russian", "Ограничения скорости защищают сервис от перегрузки и злоупотреблений.".to_string()),
        ("emoji", "🎉🚀✨ Launch day! 👩‍💻👨‍💻 Ship it 🛳️ 🔥🔥🔥".to_string()),
    ]
}

/// Mean time of one call over enough iterations to take about 200 ms.
fn time_per_call(mut f: impl FnMut() -> u64) -> Duration {
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < Duration::from_millis(200) || n < 10 {
        black_box(f());
        n += 1;
    }
    start.elapsed() / n
}

fn fmt(d: Duration) -> String {
    if d < Duration::from_micros(1) {
        format!("{:.0} ns", d.as_nanos())
    } else {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    }
}

fn main() {
    let chars = CharEstimator::default();
    let tiktoken = TiktokenCounter::new();
    for enc in [TiktokenEncoding::O200kBase, TiktokenEncoding::Cl100kBase] {
        let t = Instant::now();
        enc.count("warm up");
        println!(
            "first use of {enc:?} (parses the embedded table): {:.0} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    println!();
    println!("| sample | chars | estimate (chars/4) | exact gpt-4o (o200k) | exact gpt-4 (cl100k) | estimate / o200k | estimate per call | o200k per call | cl100k per call |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, text) in samples() {
        let o200k = ChatCompletionRequest::new("gpt-4o", vec![Message::user(text.clone())]);
        let cl100k = ChatCompletionRequest::new("gpt-4", vec![Message::user(text.clone())]);
        let est = chars.count_prompt(&o200k);
        let (exact_o, exact_c) = (tiktoken.count_prompt(&o200k), tiktoken.count_prompt(&cl100k));
        println!(
            "| {name} | {} | {est} | {exact_o} | {exact_c} | {:.2} | {} | {} | {} |",
            text.chars().count(),
            est as f64 / exact_o as f64,
            fmt(time_per_call(|| chars.count_prompt(&o200k))),
            fmt(time_per_call(|| tiktoken.count_prompt(&o200k))),
            fmt(time_per_call(|| tiktoken.count_prompt(&cl100k))),
        );
    }
}
