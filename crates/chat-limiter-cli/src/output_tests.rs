//! Unit tests of the output file's resume rules.

use super::*;
use crate::record::{failure_record, Failure};
use serde_json::json;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("clr-out-{name}-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("tmp dir");
    dir.join("out.jsonl")
}

#[test]
fn torn_line_is_cut_and_superseded_records_removed() {
    let path = temp("torn");
    let retry = failure_record(
        1,
        "a",
        None,
        &Failure { retryable: true, ..Failure::local("t", "t".into()) },
    );
    let dup = failure_record(3, "a", None, &Failure::local(DUPLICATE, "dup".into()));
    let ok = json!({"id": "line-1", "custom_id": "a", "response": {}, "error": null});
    let text = format!("{retry}\n{dup}\n{ok}\n{{\"custom_id\":\"b\",\"err");
    fs::write(&path, text).expect("write");
    let (w, resume) = open(&path).expect("open");
    drop(w);
    assert_eq!(resume.prior.get(&id_hash("a")).map(|k| k.prior), Some(Prior::Succeeded));
    assert!(resume.duplicate_lines.contains(&3));
    assert!(resume.torn_bytes > 0);
    let after = fs::read_to_string(&path).expect("read");
    assert_eq!(after, format!("{dup}\n{ok}\n"));
    let _ = fs::remove_dir_all(path.parent().expect("dir"));
}

#[test]
fn a_whole_last_record_without_newline_is_kept() {
    let path = temp("nonl");
    let ok = json!({"id": "line-1", "custom_id": "a", "error": null,
                    "request_fingerprint": "00000000000000000000000000000007"});
    fs::write(&path, ok.to_string()).expect("write");
    let (mut w, resume) = open(&path).expect("open");
    assert_eq!(resume.torn_bytes, 0);
    assert!(resume.newline_added);
    let known = resume.prior.get(&id_hash("a"));
    assert_eq!(known, Some(Known { prior: Prior::Succeeded, fingerprint: Some(7) }));
    w.write(&json!({"custom_id": "b", "error": null})).expect("append");
    let text = fs::read_to_string(&path).expect("read");
    assert_eq!(text.lines().count(), 2, "{text}");
    let _ = fs::remove_dir_all(path.parent().expect("dir"));
}
