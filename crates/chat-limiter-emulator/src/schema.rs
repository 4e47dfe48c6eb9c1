//! A JSON value generated from a JSON Schema, for tool-call arguments and structured output.
//!
//! The rule is deterministic and depends on the schema alone (documented in the crate docs):
//! `const` → it; `enum` → its first value; `anyOf`/`oneOf`/`allOf` → the first branch;
//! a local `$ref` (`#/$defs/X`, `#/definitions/X`) → the definition; `string` → the
//! property's name (`"text"` where there is none); `integer` → `minimum` or 1; `number` →
//! `minimum` or 1.5; `boolean` → `true`; `null` → `null`; `array` → `max(minItems, 1)` items;
//! `object` (or a schema with `properties`) → every property, in key order. A type list uses
//! its first non-`null` type. Nesting deeper than 16 levels gives `null`.

use serde_json::{json, Map, Value};

/// The value for `schema`, whose `$ref`s resolve against `root`.
pub(crate) fn generate(schema: &Value, root: &Value) -> Value {
    gen(schema, root, "text", 0)
}

fn gen(s: &Value, root: &Value, name: &str, depth: usize) -> Value {
    if depth > 16 {
        return Value::Null;
    }
    let Some(o) = s.as_object() else { return json!(name) };
    if let Some(c) = o.get("const") {
        return c.clone();
    }
    if let Some(first) = o.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(first) = o.get(key).and_then(Value::as_array).and_then(|e| e.first()) {
            return gen(first, root, name, depth + 1);
        }
    }
    if let Some(r) = o.get("$ref").and_then(Value::as_str) {
        let target = r.strip_prefix('#').map(|p| root.pointer(p)).unwrap_or(None);
        return target.map_or(Value::Null, |t| gen(t, root, name, depth + 1));
    }
    let kind = match o.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => {
            ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null")
        }
        _ if o.contains_key("properties") => "object",
        _ => "string",
    };
    match kind {
        "object" => {
            let mut out = Map::new();
            if let Some(props) = o.get("properties").and_then(Value::as_object) {
                for (k, v) in props {
                    out.insert(k.clone(), gen(v, root, k, depth + 1));
                }
            }
            Value::Object(out)
        }
        "array" => {
            let n = o.get("minItems").and_then(Value::as_u64).unwrap_or(1).clamp(1, 8);
            let item = o.get("items").cloned().unwrap_or(json!({"type": "string"}));
            Value::Array((0..n).map(|_| gen(&item, root, name, depth + 1)).collect())
        }
        "integer" => o.get("minimum").and_then(Value::as_i64).map_or(json!(1), |m| json!(m)),
        "number" => o.get("minimum").and_then(Value::as_f64).map_or(json!(1.5), |m| json!(m)),
        "boolean" => json!(true),
        "null" => Value::Null,
        _ => json!(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_documented_rule() {
        let schema = json!({"type":"object","properties":{
            "city":{"type":"string"},"unit":{"enum":["c","f"]},"days":{"type":"integer","minimum":3},
            "temp":{"type":"number"},"ok":{"type":"boolean"},"tags":{"type":"array","items":{"type":"string"},"minItems":2},
            "maybe":{"type":["null","integer"]},"kind":{"const":"x"},"ref":{"$ref":"#/$defs/P"}},
            "$defs":{"P":{"type":"object","properties":{"n":{"type":"string"}}}}});
        assert_eq!(
            generate(&schema, &schema),
            json!({"city":"city","unit":"c","days":3,"temp":1.5,"ok":true,"tags":["tags","tags"],
                "maybe":1,"kind":"x","ref":{"n":"n"}})
        );
        assert_eq!(generate(&json!({"type":"object"}), &json!({})), json!({}));
        let looped = json!({"$ref":"#"});
        assert_eq!(generate(&looped, &looped), Value::Null);
    }
}
