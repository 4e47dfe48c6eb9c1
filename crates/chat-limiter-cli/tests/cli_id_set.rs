//! The compact set of custom_ids through the binary: numbered ids (`l7`, a bare line number)
//! and hashed ids (anything else) are deduplicated alike, across kinds, and a rerun over the
//! finished output sends nothing and writes nothing.

mod cli_common;

use chat_limiter_emulator::Emulator;
use cli_common::*;
use serde_json::json;

#[test]
fn repeats_of_every_kind_of_id_are_duplicates_and_a_rerun_sends_nothing() {
    let emu = Emulator::openai().start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let far = "l99999999999"; // a number too sparse for a bitset: hashed
    let ids: Vec<Option<&str>> = vec![
        Some("l1"),
        Some("l2"),
        Some("l01"), // not canonical: hashed, and not "l1"
        Some("x-abc"),
        None, // line 5: its id is "5"
        Some(far),
        Some("l2"),    // 7: repeats line 2
        Some("5"),     // 8: repeats line 5's implicit id
        Some("x-abc"), // 9
        Some(far),     // 10
        Some("l001"),  // another non-canonical id: new
        Some("l01"),   // 12
        Some("12"),    // a number once taken by no line: new (line 12 has an id)
    ];
    let lines: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| match id {
            Some(id) => json!({"id": id, "prompt": format!("q{i}")}).to_string(),
            None => json!({"prompt": format!("q{i}")}).to_string(),
        })
        .collect();
    let input = write_lines(dir.path(), "in.jsonl", &lines);
    let out = dir.path().join("out.jsonl");
    let args =
        ["run", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--model", "gpt-4o-mini"];
    let base = emu.base_url();
    let run = |code: i32| {
        cli().args(args).args(["--base-url", &base]).env("OPENAI_API_KEY", KEY).assert().code(code)
    };
    run(1); // the duplicates are failures of this run
    let recs = records(&out);
    assert_eq!(recs.len(), ids.len(), "one record per line");
    let dup_lines: Vec<u64> = recs
        .iter()
        .filter(|r| r["error"]["code"] == "duplicate_custom_id")
        .map(|r| r["id"].as_str().unwrap().trim_start_matches("line-").parse().unwrap())
        .collect();
    let mut dup_lines = dup_lines;
    dup_lines.sort_unstable();
    assert_eq!(dup_lines, [7, 8, 9, 10, 12]);
    let mut ok: Vec<&str> = recs
        .iter()
        .filter(|r| r["error"].is_null())
        .map(|r| r["custom_id"].as_str().unwrap())
        .collect();
    ok.sort_unstable();
    let mut want = ["l1", "l2", "l01", "x-abc", "5", far, "l001", "12"];
    want.sort_unstable();
    assert_eq!(ok, want);
    assert_eq!(emu.stats().accepted, 8);

    // The rerun reads the output back: every line is done, every duplicate already reported.
    let before = std::fs::read(&out).expect("output");
    run(0); // as for any line done before, a duplicate already reported is skipped
    assert_eq!(std::fs::read(&out).expect("output"), before, "nothing new written");
    assert_eq!(emu.stats().requests, 8, "nothing sent again");
}

#[test]
fn a_changed_line_is_sent_again_and_replaces_its_record_whatever_its_id() {
    let emu = Emulator::openai().start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let ids = ["l1", "user-7f3a", "l2"];
    let write = |changed: &[&str]| {
        let lines: Vec<String> = ids
            .iter()
            .map(|id| {
                let prompt = if changed.contains(id) { "new" } else { "old" };
                json!({"id": id, "prompt": format!("{prompt} {id}")}).to_string()
            })
            .collect();
        write_lines(dir.path(), "in.jsonl", &lines)
    };
    let out = dir.path().join("out.jsonl");
    let base = emu.base_url();
    let rounds: [(&[&str], u64); 4] =
        [(&[], 3), (&["user-7f3a"], 4), (&["user-7f3a", "l2"], 5), (&["user-7f3a", "l2"], 5)];
    for (changed, sent) in rounds {
        let input = write(changed);
        cli()
            .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .args(["--model", "gpt-4o-mini", "--base-url", &base])
            .env("OPENAI_API_KEY", KEY)
            .assert()
            .code(0);
        assert_eq!(emu.stats().requests, sent, "after changing {changed:?}");
        let recs = records(&out);
        assert_eq!(recs.len(), 3, "one record per id: the old one is replaced");
        assert_eq!(by_id(&recs).len(), 3);
    }
}
