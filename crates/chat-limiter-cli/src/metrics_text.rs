//! The library's [`MetricsSnapshot`] in the Prometheus text exposition format (version 0.0.4):
//! a `# HELP` and a `# TYPE` line per family, then its samples, names prefixed `chat_limiter_`
//! with their unit in the name, labels `provider`, `model` and `kind` (or `dimension`).
//!
//! Written here rather than through `prometheus-client`: the values come from a snapshot the
//! library takes, not from live metric objects, and that crate's counters can only be
//! incremented (they would have to be rebuilt from the snapshot on every scrape, and its
//! histograms cannot take pre-counted buckets). The rules of the format that matter are few
//! and tested below: escaping of label values, cumulative `le` buckets ending in `+Inf`,
//! `_sum` and `_count`.

use std::fmt::Write;

use chat_limiter::{Histogram, MetricsSnapshot, ModelMetrics, BUCKET_BOUNDS};

/// The content type of the format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A label value with `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

/// The family header: `# HELP` and `# TYPE`.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP chat_limiter_{name} {help}");
    let _ = writeln!(out, "# TYPE chat_limiter_{name} {kind}");
}

/// `provider="openai",model="gpt-4o"` and any extra labels.
fn labels(provider: &str, m: &ModelMetrics, extra: &[(&str, &str)]) -> String {
    let mut s = format!("provider=\"{}\",model=\"{}\"", escape(provider), escape(&m.model));
    for (k, v) in extra {
        let _ = write!(s, ",{k}=\"{}\"", escape(v));
    }
    s
}

/// One value per model.
fn per_model(
    out: &mut String,
    snap: &MetricsSnapshot,
    (name, kind, help): (&str, &str, &str),
    value: impl Fn(&ModelMetrics) -> u64,
) {
    family(out, name, kind, help);
    let p = snap.provider.as_str();
    for m in &snap.models {
        let _ = writeln!(out, "chat_limiter_{name}{{{}}} {}", labels(p, m, &[]), value(m));
    }
}

fn histogram(
    out: &mut String,
    snap: &MetricsSnapshot,
    (name, help): (&str, &str),
    h: impl Fn(&ModelMetrics) -> &Histogram,
) {
    family(out, name, "histogram", help);
    let p = snap.provider.as_str();
    for m in &snap.models {
        let hist = h(m);
        let mut cumulative = 0;
        for (i, bound) in BUCKET_BOUNDS.iter().enumerate() {
            cumulative += hist.counts.get(i).copied().unwrap_or(0);
            let le = bound.to_string();
            let l = labels(p, m, &[("le", &le)]);
            let _ = writeln!(out, "chat_limiter_{name}_bucket{{{l}}} {cumulative}");
        }
        let l = labels(p, m, &[("le", "+Inf")]);
        let _ = writeln!(out, "chat_limiter_{name}_bucket{{{l}}} {}", hist.count());
        let l = labels(p, m, &[]);
        let _ = writeln!(out, "chat_limiter_{name}_sum{{{l}}} {}", hist.sum.as_secs_f64());
        let _ = writeln!(out, "chat_limiter_{name}_count{{{l}}} {}", hist.count());
    }
}

/// The whole exposition.
pub fn encode(snap: &MetricsSnapshot) -> String {
    let mut out = String::new();
    per_model(
        &mut out,
        snap,
        ("requests_sent_total", "counter", "HTTP attempts sent (every retry is one more)."),
        |m| m.requests.sent,
    );
    per_model(
        &mut out,
        snap,
        ("requests_succeeded_total", "counter", "Requests that ended with an answer."),
        |m| m.requests.succeeded,
    );
    family(
        &mut out,
        "requests_failed_total",
        "counter",
        "Requests that ended in an error, by kind.",
    );
    let p = snap.provider.as_str();
    for m in &snap.models {
        for (kind, n) in &m.requests.failed {
            let l = labels(p, m, &[("kind", kind.as_str())]);
            let _ = writeln!(out, "chat_limiter_requests_failed_total{{{l}}} {n}");
        }
    }
    per_model(
        &mut out,
        snap,
        ("rate_limited_total", "counter", "429 answers (rate limits and quota errors)."),
        |m| m.rate_limited,
    );
    per_model(
        &mut out,
        snap,
        ("retries_total", "counter", "Attempts tried again after a failure."),
        |m| m.retries,
    );
    for (name, help, get) in [
        (
            "tokens_charged_total",
            "Tokens charged to the limits at admission (prompt estimate + max_tokens), by dimension.",
            (|m: &ModelMetrics| m.tokens_charged) as fn(&ModelMetrics) -> chat_limiter::TokenCounts,
        ),
        (
            "tokens_reported_total",
            "Tokens the provider reported in its answers' usage, by dimension.",
            |m: &ModelMetrics| m.tokens_reported,
        ),
    ] {
        family(&mut out, name, "counter", help);
        for m in &snap.models {
            let t = get(m);
            for (dim, n) in [("tokens", t.tokens), ("input", t.input), ("output", t.output)] {
                let l = labels(p, m, &[("dimension", dim)]);
                let _ = writeln!(out, "chat_limiter_{name}{{{l}}} {n}");
            }
        }
    }
    per_model(
        &mut out,
        snap,
        ("in_flight_requests", "gauge", "Requests being sent or awaiting an answer."),
        |m| u64::from(m.in_flight),
    );
    per_model(
        &mut out,
        snap,
        ("queued_requests", "gauge", "Requests waiting to be admitted by the limits."),
        |m| m.queued as u64,
    );
    histogram(
        &mut out,
        snap,
        ("admission_wait_seconds", "Time each admission waited for the limits."),
        |m| &m.wait,
    );
    histogram(
        &mut out,
        snap,
        ("request_latency_seconds", "Time each attempt took, from sending to the answer read."),
        |m| &m.latency,
    );
    if let Some(usd) = snap.spend_usd {
        family(&mut out, "spend_usd_total", "counter", "Money spent so far, in US dollars.");
        let _ = writeln!(
            out,
            "chat_limiter_spend_usd_total{{provider=\"{}\"}} {usd}",
            escape(snap.provider.as_str())
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("x\ny"), r"x\ny");
    }

    #[test]
    fn every_family_has_help_and_type_even_with_no_model() {
        let snap = chat_limiter::ChatLimiter::builder()
            .provider(chat_limiter::Provider::OpenAI)
            .api_key("sk-unused")
            .build()
            .expect("limiter")
            .metrics();
        let text = encode(&snap);
        let helps = text.lines().filter(|l| l.starts_with("# HELP chat_limiter_")).count();
        let types = text.lines().filter(|l| l.starts_with("# TYPE chat_limiter_")).count();
        assert_eq!((helps, types), (11, 11), "{text}");
        assert!(text.lines().all(|l| l.starts_with('#')), "no samples without a model: {text}");
    }
}
