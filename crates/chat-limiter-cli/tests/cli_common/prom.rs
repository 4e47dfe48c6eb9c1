//! A strict reader of the Prometheus text exposition format (0.0.4), for the tests of
//! `run --metrics`: it fails on anything the format does not allow instead of skipping it.

use std::collections::{BTreeMap, HashMap, HashSet};

/// One sample: metric name, labels (sorted), value.
pub type Sample = (String, BTreeMap<String, String>, f64);

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
}

fn is_label_name(s: &str) -> bool {
    is_name(s) && !s.contains(':')
}

/// `{a="x",b="y\"z"}` → labels; panics on bad syntax.
fn parse_labels(s: &str, line: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s;
    while !rest.is_empty() {
        let eq = rest.find('=').unwrap_or_else(|| panic!("label without '=' in {line:?}"));
        let name = &rest[..eq];
        assert!(is_label_name(name), "bad label name {name:?} in {line:?}");
        let mut chars = rest[eq + 1..].char_indices();
        assert_eq!(chars.next().map(|c| c.1), Some('"'), "unquoted label value in {line:?}");
        let mut value = String::new();
        let mut end = None;
        while let Some((i, ch)) = chars.next() {
            match ch {
                '\\' => match chars.next().map(|c| c.1) {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => panic!("bad escape {other:?} in {line:?}"),
                },
                '"' => {
                    end = Some(eq + 1 + i + 1);
                    break;
                }
                '\n' => panic!("raw newline in a label value: {line:?}"),
                c => value.push(c),
            }
        }
        let end = end.unwrap_or_else(|| panic!("unterminated label value in {line:?}"));
        assert!(out.insert(name.to_string(), value).is_none(), "label twice in {line:?}");
        rest = &rest[end..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else {
            assert!(rest.is_empty(), "junk after a label value in {line:?}");
        }
    }
    out
}

fn parse_value(v: &str, line: &str) -> f64 {
    match v {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        _ => v.parse().unwrap_or_else(|_| panic!("bad value {v:?} in {line:?}")),
    }
}

/// Checks `text` against the format's rules and returns its samples. Rules: every line is a
/// `# HELP`, a `# TYPE` or a sample; each family has one HELP and one TYPE, before its samples,
/// and its samples follow it; counters are named `_total`; histograms have cumulative
/// `_bucket`s with `le`, ending at `+Inf` equal to `_count`, and a `_sum`; no series twice.
pub fn parse(text: &str) -> Vec<Sample> {
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helps: HashSet<String> = HashSet::new();
    let mut current: Option<(String, String)> = None;
    let mut samples = Vec::new();
    let mut seen = HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or_default();
            assert!(is_name(name), "bad HELP name in {line:?}");
            assert!(helps.insert(name.to_string()), "HELP twice for {name}");
            assert!(!types.contains_key(name), "HELP after TYPE for {name}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("bad {line:?}"));
            assert!(is_name(name), "bad TYPE name in {line:?}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "bad type in {line:?}"
            );
            assert!(helps.contains(name), "TYPE without HELP for {name}");
            assert!(types.insert(name.into(), kind.into()).is_none(), "TYPE twice: {name}");
            if kind == "counter" {
                assert!(name.ends_with("_total"), "a counter is named _total: {name}");
            }
            current = Some((name.into(), kind.into()));
            continue;
        }
        assert!(!line.starts_with('#') && !line.trim().is_empty(), "stray line {line:?}");
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad {line:?}"));
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => {
                let l = l.strip_suffix('}').unwrap_or_else(|| panic!("unclosed labels {line:?}"));
                (n, parse_labels(l, line))
            }
            None => (series, BTreeMap::new()),
        };
        assert!(is_name(name), "bad metric name in {line:?}");
        let (family, kind) = current.clone().unwrap_or_else(|| panic!("sample before TYPE"));
        let belongs = if kind == "histogram" {
            ["_bucket", "_sum", "_count"].iter().any(|s| name == format!("{family}{s}"))
        } else {
            name == family
        };
        assert!(belongs, "{name} outside its family {family}");
        assert_eq!(name.ends_with("_bucket"), labels.contains_key("le"), "le on buckets only");
        assert!(seen.insert(series.to_string()), "series twice: {series}");
        samples.push((name.to_string(), labels, parse_value(value, line)));
    }
    check_histograms(&types, &samples);
    samples
}

fn check_histograms(types: &HashMap<String, String>, samples: &[Sample]) {
    for (family, _) in types.iter().filter(|(_, k)| *k == "histogram") {
        let mut buckets: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for (name, labels, v) in samples {
            if *name == format!("{family}_bucket") {
                let mut key = labels.clone();
                let le = parse_value(&key.remove("le").unwrap_or_default(), name);
                buckets.entry(key).or_default().push((le, *v));
            }
        }
        for (key, bs) in buckets {
            assert!(bs.windows(2).all(|w| w[0].0 < w[1].0), "le ascending: {family} {key:?}");
            assert!(bs.windows(2).all(|w| w[0].1 <= w[1].1), "cumulative: {family} {key:?}");
            let last = bs.last().copied().unwrap_or_default();
            assert_eq!(last.0, f64::INFINITY, "{family} ends at +Inf");
            let find = |suffix: &str| {
                samples
                    .iter()
                    .find(|(n, l, _)| *n == format!("{family}{suffix}") && *l == key)
                    .map(|s| s.2)
                    .unwrap_or_else(|| panic!("{family}{suffix} missing for {key:?}"))
            };
            assert_eq!(find("_count"), last.1, "+Inf bucket == _count for {family}");
            assert!(find("_sum") >= 0.0);
        }
    }
}

/// The value of `name` whose labels include every `(k, v)` of `want`.
pub fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name && want.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.2)
}

#[test]
fn the_reader_refuses_what_the_format_does_not_allow() {
    let good = "# HELP x_total a\n# TYPE x_total counter\nx_total{a=\"q\\\"\"} 1\n";
    assert_eq!(parse(good)[0].1["a"], "q\"");
    for bad in [
        "x_total 1\n",                                          // no TYPE
        "# HELP x a\n# TYPE x counter\nx 1\n",                  // counter not _total
        "# HELP x a\n# TYPE x gauge\nx{a=b} 1\n",               // unquoted
        "# HELP x a\n# TYPE x gauge\nx 1\nx 2\n",               // series twice
        "# HELP x a\n# TYPE x gauge\ny 1\n",                    // outside its family
        "# HELP h a\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    ] {
        assert!(std::panic::catch_unwind(|| parse(bad)).is_err(), "accepted {bad:?}");
    }
}
