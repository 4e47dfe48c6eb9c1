//! Lenient readers for provider JSON.
//!
//! Provider bodies gain fields, send `null` where a number was expected, and now and then send a
//! float token count. These helpers read what they can and answer `None` otherwise, so the
//! parsers never index blindly into untrusted JSON.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::provider_id::Provider;
use crate::types::RawJson;

/// A non-negative integer: a JSON integer, or a finite non-negative float (truncated).
pub(crate) fn u64_of(v: Option<&Value>) -> Option<u64> {
    let v = v?;
    if let Some(n) = v.as_u64() {
        return Some(n);
    }
    let f = v.as_f64()?;
    // `as` saturates, and the range check keeps negative and NaN values out.
    (0.0..1.8e19).contains(&f).then_some(f as u64)
}

/// A finite float.
pub(crate) fn f64_of(v: Option<&Value>) -> Option<f64> {
    v?.as_f64().filter(|f| f.is_finite())
}

/// A string field.
pub(crate) fn str_of(v: Option<&Value>) -> Option<&str> {
    v?.as_str()
}

/// A non-empty string field, owned.
pub(crate) fn string_of(v: Option<&Value>) -> Option<String> {
    str_of(v).filter(|s| !s.is_empty()).map(str::to_string)
}

/// An object field.
pub(crate) fn obj_of(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v?.as_object()
}

/// Message text: a string, an array of parts whose `text` fields are joined, or nothing.
pub(crate) fn content_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect()
        }
        _ => String::new(),
    }
}

/// Reads a 2xx body in one pass, or explains (briefly, without echoing it) why it is not JSON: the top-level fields named in `keep` as a (partial) JSON
/// object, every other field checked and skipped without building anything, and the body's
/// text, verbatim, for `raw`. A repeated field keeps its last value, as a `Value` would.
pub(crate) fn parse_ok_fields(
    p: Provider,
    body: &[u8],
    keep: &'static [&'static str],
) -> Result<(Value, RawJson), Error> {
    let (fields, raw) = parse_ok_object(p, body, Fields(keep))?;
    Ok((Value::Object(fields), raw))
}

/// Reads a 2xx body, which must be one JSON object, with `visitor` (given to
/// `deserialize_map`), and keeps its text, verbatim, for `raw`. Errors: the body is not JSON
/// (said briefly, without echoing it), or the visitor refused its shape (a data error: the
/// body is not an object).
pub(crate) fn parse_ok_object<T, V>(
    p: Provider,
    body: &[u8],
    visitor: V,
) -> Result<(T, RawJson), Error>
where
    V: for<'de> Visitor<'de, Value = T>,
{
    let not_json = |e: &dyn std::fmt::Display| Error::InvalidResponse {
        provider: p,
        message: format!("body is not JSON ({e}); {} bytes", body.len()),
    };
    let text = std::str::from_utf8(body).map_err(|e| not_json(&e))?;
    let mut de = serde_json::Deserializer::from_str(text);
    let read = match (&mut de).deserialize_map(visitor) {
        Ok(read) => read,
        Err(e) if e.is_data() => return Err(shape_error(p, "body is not a JSON object")),
        Err(e) => return Err(not_json(&e)),
    };
    de.end().map_err(|e| not_json(&e))?;
    // Whole and valid: only JSON whitespace can surround the value.
    Ok((read, RawJson::from_valid(text.trim())))
}

/// The visitor of [`parse_ok_fields`]: a map of the kept fields.
struct Fields(&'static [&'static str]);

impl<'de> Visitor<'de> for Fields {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Map::new();
        while let Some(kept) = map.next_key_seed(Key(self.0))? {
            match kept {
                Some(name) => {
                    fields.insert(name.to_string(), map.next_value()?);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(fields)
    }
}

/// A key: the kept name it matches, if any (read without allocating).
pub(crate) struct Key(pub(crate) &'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<&'static str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Option<&'static str>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().copied().find(|k| *k == key))
    }
}

/// An "invalid response" error for a body that parsed but has the wrong shape.
pub(crate) fn shape_error(p: Provider, what: &str) -> Error {
    Error::InvalidResponse { provider: p, message: what.to_string() }
}

/// A `code` that is an HTTP status (a number, or a string of digits).
pub(crate) fn status_from_code(code: Option<&Value>) -> Option<u16> {
    let n = match code? {
        Value::String(s) => s.trim().parse::<u64>().ok()?,
        other => u64_of(Some(other))?,
    };
    u16::try_from(n).ok().filter(|s| (100..=599).contains(s))
}

/// The HTTP status an error object inside a 2xx answer stands for, read from its own fields:
/// a numeric `status` or `code`, else what its `code` or `type` names (the vocabulary OpenAI,
/// Anthropic and OpenAI-compatible servers share), else 500. So a `model_not_found` sent with
/// HTTP 200 is the final 404 it means, not a retried 500.
pub(crate) fn in_band_status(err: &Value) -> u16 {
    if let Some(s) =
        status_from_code(err.get("status")).or_else(|| status_from_code(err.get("code")))
    {
        return s;
    }
    let named = |v: Option<&Value>| match v.and_then(Value::as_str)? {
        "invalid_request_error"
        | "context_length_exceeded"
        | "invalid_prompt"
        | "bad_request"
        | "invalid_value" => Some(400),
        "authentication_error" | "invalid_api_key" | "unauthorized" => Some(401),
        "billing_error" | "payment_required" => Some(402),
        "permission_error" | "permission_denied" | "forbidden" => Some(403),
        "not_found_error" | "model_not_found" | "not_found" => Some(404),
        "request_too_large" => Some(413),
        "rate_limit_error"
        | "rate_limit_exceeded"
        | "insufficient_quota"
        | "tokens"
        | "requests" => Some(429),
        "overloaded_error" | "service_unavailable" => Some(503),
        "timeout_error" => Some(504),
        "server_error" | "api_error" | "internal_error" => Some(500),
        _ => None,
    };
    named(err.get("code")).or_else(|| named(err.get("type"))).unwrap_or(500)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_numbers() {
        assert_eq!(u64_of(Some(&json!(12))), Some(12));
        assert_eq!(u64_of(Some(&json!(12.9))), Some(12));
        assert_eq!(u64_of(Some(&json!(-1))), None);
        assert_eq!(u64_of(Some(&json!(1e300))), None);
        assert_eq!(u64_of(Some(&json!("12"))), None);
        assert_eq!(u64_of(Some(&Value::Null)), None);
        assert_eq!(u64_of(None), None);
        assert_eq!(f64_of(Some(&json!(0.25))), Some(0.25));
    }

    #[test]
    fn content_forms() {
        assert_eq!(content_text(Some(&json!("hi"))), "hi");
        assert_eq!(
            content_text(Some(&json!([{"type":"text","text":"a"},{"type":"image"},{"text":"b"}]))),
            "ab"
        );
        assert_eq!(content_text(Some(&Value::Null)), "");
        assert_eq!(content_text(Some(&json!(5))), "");
    }

    const KEEP: &[&str] = &["id", "usage"];

    fn fields(body: &str) -> Result<(Value, RawJson), Error> {
        parse_ok_fields(Provider::OpenAI, body.as_bytes(), KEEP)
    }

    #[test]
    fn non_json_body_does_not_echo() {
        for body in
            [&b"<html>sk-secret</html>"[..], b"{\"id\":\"sk-secret\"", b"{\"sk-secret\xff\":1}"]
        {
            let err = parse_ok_fields(Provider::OpenAI, body, KEEP).expect_err("not JSON");
            assert!(err.to_string().contains("body is not JSON"), "{err}");
            assert!(!err.to_string().contains("sk-secret"), "{err}");
        }
    }

    #[test]
    fn only_the_kept_fields_are_read_and_the_text_is_kept_whole() {
        let body = "\n { \"id\" : \"x\", \"skipped\": {\"deep\": [1e400, 1.0, \"\\u00e9\"]},\n\"usage\":{\"n\":1},\"id\":\"last\" } \n";
        let (root, raw) = fields(body).expect("valid");
        assert_eq!(
            root,
            json!({"id": "last", "usage": {"n": 1}}),
            "a repeated key keeps its last value"
        );
        assert_eq!(raw.as_str(), body.trim(), "verbatim, 1e400 included");
    }

    #[test]
    fn a_body_that_is_not_one_object_is_an_invalid_response() {
        for (body, says) in [
            ("[1, 2]", "body is not a JSON object"),
            ("\"id\"", "body is not a JSON object"),
            ("{\"id\": 1} {}", "body is not JSON"),
            ("{\"id\": [1,]}", "body is not JSON"),
            ("{\"skipped\": [1,]}", "body is not JSON"),
            ("{\"usage\": 1e400}", "body is not JSON"),
            ("", "body is not JSON"),
        ] {
            let err = fields(body).expect_err(body);
            assert!(matches!(err, Error::InvalidResponse { .. }), "{body}: {err}");
            assert!(err.to_string().contains(says), "{body}: {err}");
        }
    }
}
