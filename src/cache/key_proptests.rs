//! Property tests of the cache key: the order of JSON keys and the spelling of numbers never
//! change it; a changed value always does.

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::key::{cache_key, canonical_json, KeyParts};
use crate::provider_id::Provider;

fn key(body: &Value) -> String {
    cache_key(&KeyParts {
        provider: Provider::OpenAI,
        base_url: "http://127.0.0.1:1/v1",
        method: "POST",
        path: "/chat/completions",
        headers: &[],
        body,
    })
}

/// Arbitrary JSON (objects with up to 5 keys, 3 levels deep).
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-z ]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `v` written with every object's keys in the order `rotate` gives, as text.
fn reordered_text(v: &Value, rotate: usize) -> String {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            let n = entries.len().max(1);
            entries.rotate_left(rotate % n);
            entries.reverse();
            let parts: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), reordered_text(v, rotate)))
                .collect();
            format!("{{{}}}", parts.join(" , "))
        }
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(|x| reordered_text(x, rotate)).collect();
            format!("[{}]", parts.join(","))
        }
        other => other.to_string(),
    }
}

proptest! {
    /// The same body with its keys in another order (and other whitespace), parsed from
    /// text, has the same key.
    #[test]
    fn key_order_never_changes_the_key(v in json(), rotate in 0usize..7) {
        let text = reordered_text(&v, rotate);
        let reparsed: Value = serde_json::from_str(&text).expect("valid JSON");
        prop_assert_eq!(key(&v), key(&reparsed));
    }

    /// An integral value spelled `N`, `N.0`, `N.000` or `Ne0` gives one key; so does a
    /// fraction spelled with trailing zeros or as a mantissa and exponent.
    #[test]
    fn number_spelling_never_changes_the_key(
        magnitude in 1i64..1_000_000,
        negative in any::<bool>(),
        frac in 1u32..1000,
    ) {
        let n = if negative { -magnitude } else { magnitude };
        let body = |t: &str| -> Value {
            serde_json::from_str(&format!(r#"{{"model":"m","temperature":{t},"seed":{n}}}"#))
                .expect("valid JSON")
        };
        let k = key(&body(&n.to_string()));
        for t in [format!("{n}.0"), format!("{n}.000"), format!("{n}e0"), format!("{n}0e-1")] {
            prop_assert_eq!(&k, &key(&body(&t)), "{}", t);
        }
        let f = format!("{n}.{frac:03}");
        let kf = key(&body(&f));
        prop_assert_eq!(&kf, &key(&body(&format!("{f}000"))));
        let mantissa = format!("{n}{frac:03}");
        prop_assert_eq!(&kf, &key(&body(&format!("{mantissa}e-3"))));
        prop_assert_ne!(&k, &kf);
    }

    /// Changing one sampling parameter always changes the key.
    #[test]
    fn a_changed_parameter_changes_the_key(t in 0u32..200, seed in 0u32..1000) {
        let body = |t: u32, s: u32| {
            let mut m = Map::new();
            m.insert("model".into(), "m".into());
            m.insert("temperature".into(), Value::from(f64::from(t) / 100.0));
            m.insert("seed".into(), s.into());
            Value::Object(m)
        };
        prop_assert_ne!(key(&body(t, seed)), key(&body(t + 1, seed)));
        prop_assert_ne!(key(&body(t, seed)), key(&body(t, seed + 1)));
    }

    /// The canonical text is itself canonical: it reads back to the same text.
    #[test]
    fn canonical_text_is_a_fixed_point(v in json()) {
        let mut once = String::new();
        canonical_json(&v, &mut once);
        let mut twice = String::new();
        canonical_json(&serde_json::from_str(&once).expect("valid JSON"), &mut twice);
        prop_assert_eq!(once, twice);
    }
}
