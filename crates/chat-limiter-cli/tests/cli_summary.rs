//! The demo's summary, through the binary: read in the provider's accounting, it says the
//! token limit bound the run (at the limit, by the admission charge), the request limit did
//! not (below it, bound by tokens), and the rate above 600/min is the full bucket's burst.

mod cli_common;

use std::time::Duration;

use cli_common::*;

#[test]
fn the_demo_summary_reads_correctly_at_a_glance() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("demo.jsonl");
    let a = cli()
        .args(["demo", "--no-progress", "-o", out.to_str().unwrap()])
        .timeout(Duration::from_secs(120))
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    let line =
        |start: &str| text.lines().find(|l| l.trim_start().starts_with(start)).map(str::to_string);
    let tokens = line("tokens (admission charge: prompt estimate + max_tokens):").expect("tokens");
    assert!(
        tokens.contains("limit 60000/min: used ") && tokens.ends_with(": at the limit"),
        "{text}"
    );
    let requests = line("requests:").expect("requests");
    assert!(
        requests.contains("limit 600/min: ") && requests.contains("% below it, bound by tokens"),
        "{text}"
    );
    // 300 requests in about ten seconds is far above 600/min: said to be the burst.
    assert!(text.contains("(above the 600/min limit because the bucket starts full with 600: that is the provider's burst, not a breach)"), "{text}");
    assert!(!text.contains("achieved RPM"), "the old misleading figure is gone: {text}");
}
