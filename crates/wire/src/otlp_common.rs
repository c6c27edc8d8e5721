//! What the OTLP signals share: `AnyValue` and `KeyValue` (opentelemetry-proto `common/v1`),
//! in protobuf and in OTLP/JSON, and the `Export*ServiceResponse` every collector service
//! answers with.
//!
//! Attribute values become JSON values. From protobuf: strings as they are, integers as
//! integers, doubles as numbers (NaN and the infinities as `null`), bytes as hex, arrays and
//! key-value lists as JSON arrays and objects. From OTLP/JSON, [`JsonAny::Verbatim`] passes the
//! values through as they were sent (the logs decoder's long-standing behaviour), while
//! [`JsonAny::LikeProtobuf`] yields exactly what the protobuf reading of the same `AnyValue`
//! yields (base64 bytes as hex, string-encoded numbers parsed), so both encodings of one
//! request decode alike. [`attribute_text`] renders any of them as one string.

use serde_json::{Map, Value};

use crate::ParseError;
use crate::protobuf::{Field, Reader, bad, put_bytes, put_varint};

/// How deep `AnyValue` arrays and lists may nest, so a hostile body cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `AnyValue` as JSON.
pub(crate) fn any_value(buf: &[u8]) -> Result<Value, ParseError> {
    any_value_at(buf, 0)
}

fn any_value_at(buf: &[u8], depth: usize) -> Result<Value, ParseError> {
    if depth > MAX_DEPTH {
        return Err(bad("attribute values nested too deeply"));
    }
    let mut r = Reader::new(buf);
    let mut out = Value::Null;
    while let Some((n, f)) = r.next()? {
        out = match (n, f) {
            (1, Field::Bytes(b)) => Value::from(text(b)),
            (2, Field::Varint(v)) => Value::from(v != 0),
            (3, Field::Varint(v)) => Value::from(v as i64),
            (4, Field::Fixed64(v)) => double(f64::from_bits(v)),
            (5, Field::Bytes(b)) => {
                let mut values = Vec::new();
                let mut arr = Reader::new(b);
                while let Some((n, f)) = arr.next()? {
                    if let (1, Field::Bytes(v)) = (n, f) {
                        values.push(any_value_at(v, depth + 1)?);
                    }
                }
                Value::Array(values)
            }
            (6, Field::Bytes(b)) => {
                let mut map = Map::new();
                let mut list = Reader::new(b);
                while let Some((n, f)) = list.next()? {
                    if let (1, Field::Bytes(kv)) = (n, f) {
                        key_value_at(kv, depth + 1, &mut map)?;
                    }
                }
                Value::Object(map)
            }
            (7, Field::Bytes(b)) => Value::from(hex(b)),
            _ => out,
        };
    }
    Ok(out)
}

fn double(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// One `KeyValue` into `out` (a repeated key keeps its last value).
pub(crate) fn key_value(kv: &[u8], out: &mut Map<String, Value>) -> Result<(), ParseError> {
    key_value_at(kv, 0, out)
}

fn key_value_at(kv: &[u8], depth: usize, out: &mut Map<String, Value>) -> Result<(), ParseError> {
    let (mut key, mut value) = (String::new(), Value::Null);
    let mut k = Reader::new(kv);
    while let Some((n, f)) = k.next()? {
        match (n, f) {
            (1, Field::Bytes(b)) => key = text(b),
            (2, Field::Bytes(b)) => value = any_value_at(b, depth)?,
            _ => {}
        }
    }
    out.insert(key, value);
    Ok(())
}

/// The `KeyValue`s at field `field` of `buf`, into `out`.
pub(crate) fn key_values(
    buf: &[u8],
    field: u64,
    out: &mut Map<String, Value>,
) -> Result<(), ParseError> {
    let mut r = Reader::new(buf);
    while let Some((n, f)) = r.next()? {
        if let (true, Field::Bytes(kv)) = (n == field, f) {
            key_value(kv, out)?;
        }
    }
    Ok(())
}

/// How [`json_any`] reads OTLP/JSON values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonAny {
    /// As sent: `bytesValue` stays base64, `doubleValue` keeps its JSON form.
    Verbatim,
    /// As the protobuf reading of the same value: see the module overview.
    LikeProtobuf,
}

/// OTLP/JSON's `AnyValue` (`{"stringValue": …}`, 64-bit integers as strings).
pub(crate) fn json_any(v: &Value, mode: JsonAny) -> Value {
    let Some(obj) = v.as_object() else {
        return Value::Null;
    };
    let exact = mode == JsonAny::LikeProtobuf;
    if let Some(s) = obj.get("stringValue") {
        return if exact && !s.is_string() {
            Value::Null
        } else {
            s.clone()
        };
    }
    if let Some(b) = obj.get("boolValue") {
        return if exact && !b.is_boolean() {
            Value::Null
        } else {
            b.clone()
        };
    }
    if let Some(i) = obj.get("intValue") {
        let parsed = match i {
            Value::String(s) => s.parse::<i64>().ok(),
            other => other.as_i64(),
        };
        return match parsed {
            Some(i) => Value::from(i),
            None if exact => Value::Null,
            None => i.clone(),
        };
    }
    if let Some(d) = obj.get("doubleValue") {
        return if exact {
            json_double(d).map_or(Value::Null, double)
        } else {
            d.clone()
        };
    }
    if let Some(a) = obj.get("arrayValue") {
        return Value::Array(
            a.get("values")
                .and_then(Value::as_array)
                .map(|vs| vs.iter().map(|v| json_any(v, mode)).collect())
                .unwrap_or_default(),
        );
    }
    if let Some(kv) = obj.get("kvlistValue") {
        let mut map = Map::new();
        json_key_values(kv.get("values"), mode, &mut map);
        return Value::Object(map);
    }
    match obj.get("bytesValue") {
        Some(Value::String(b)) if exact => base64(b).map_or(Value::Null, |b| Value::from(hex(&b))),
        Some(_) if exact => Value::Null,
        other => other.cloned().unwrap_or(Value::Null),
    }
}

/// OTLP/JSON's `KeyValue` list into `out` (a repeated key keeps its last value).
pub(crate) fn json_key_values(list: Option<&Value>, mode: JsonAny, out: &mut Map<String, Value>) {
    for kv in list.and_then(Value::as_array).into_iter().flatten() {
        if let Some(key) = kv.get("key").and_then(Value::as_str) {
            out.insert(
                key.to_owned(),
                kv.get("value").map_or(Value::Null, |v| json_any(v, mode)),
            );
        }
    }
}

/// A proto3 JSON `double`: a number, or a string holding one, `NaN`, `Infinity` or `-Infinity`.
pub(crate) fn json_double(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            other => other.parse().ok(),
        },
        _ => None,
    }
}

/// Standard or URL-safe base64, padded or not, as the proto3 JSON mapping allows for `bytes`.
fn base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let sextet = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// An attribute value as one string: strings as they are, `true`/`false`, integers in
/// decimal, doubles in their shortest round-trip form (`f64`'s `Display`), bytes as hex, and
/// arrays and key-value lists as compact JSON text. A missing value is the empty string.
pub(crate) fn attribute_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_f64() => n.as_f64().map(|f| f.to_string()).unwrap_or_default(),
        Value::Number(n) => n.to_string(),
        Value::Array(_) | Value::Object(_) => v.to_string(),
    }
}

/// Attributes as `(key, text)` pairs, in key order.
pub(crate) fn attribute_list(map: Map<String, Value>) -> Vec<(String, String)> {
    map.into_iter()
        .map(|(k, v)| (k, attribute_text(&v)))
        .collect()
}

/// An `Export{Logs,Metrics,Trace}ServiceResponse` in protobuf: empty when everything was
/// taken, else `partial_success` (field 1) with how many items were refused (field 1, int64)
/// and why (field 2).
pub(crate) fn encode_partial_success(rejected: u64, message: &str) -> Vec<u8> {
    if rejected == 0 {
        return Vec::new();
    }
    let mut inner = vec![0x08];
    put_varint(&mut inner, rejected);
    put_bytes(&mut inner, 2, message.as_bytes());
    let mut out = Vec::with_capacity(inner.len() + 4);
    put_bytes(&mut out, 1, &inner);
    out
}

/// The same response in OTLP/JSON: `{}`, or `{"partialSuccess":{"<count_key>":"N",
/// "errorMessage":"…"}}` with the int64 count as a decimal string, as the JSON mapping writes
/// 64-bit integers.
pub(crate) fn encode_partial_success_json(count_key: &str, rejected: u64, message: &str) -> String {
    if rejected == 0 {
        return "{}".to_owned();
    }
    let mut partial = Map::new();
    partial.insert(count_key.to_owned(), Value::from(rejected.to_string()));
    partial.insert("errorMessage".to_owned(), Value::from(message));
    let mut doc = Map::new();
    doc.insert("partialSuccess".to_owned(), Value::Object(partial));
    Value::Object(doc).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_variants() {
        assert_eq!(base64("aGk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64("aGk").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(base64("+/8=").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(base64(""), Some(Vec::new()));
        assert_eq!(base64("a b"), None);
    }

    #[test]
    fn json_values_like_protobuf() {
        let exact = |v: Value| attribute_text(&json_any(&v, JsonAny::LikeProtobuf));
        assert_eq!(exact(json!({"stringValue": "x"})), "x");
        assert_eq!(exact(json!({"boolValue": true})), "true");
        assert_eq!(exact(json!({"intValue": "-42"})), "-42");
        assert_eq!(exact(json!({"intValue": 7})), "7");
        assert_eq!(exact(json!({"doubleValue": 2})), "2");
        assert_eq!(exact(json!({"doubleValue": "0.25"})), "0.25");
        assert_eq!(exact(json!({"doubleValue": "NaN"})), "");
        assert_eq!(exact(json!({"bytesValue": "AQL/"})), "0102ff");
        assert_eq!(
            exact(json!({"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "a"}]}})),
            r#"[1,"a"]"#
        );
        assert_eq!(
            exact(
                json!({"kvlistValue": {"values": [{"key": "k", "value": {"doubleValue": 1.5}}]}})
            ),
            r#"{"k":1.5}"#
        );
        assert_eq!(exact(json!({"stringValue": 5})), "");
        // Verbatim keeps what was sent, as the logs decoder always has.
        let verbatim = json_any(&json!({"bytesValue": "AQL/"}), JsonAny::Verbatim);
        assert_eq!(verbatim, json!("AQL/"));
    }

    #[test]
    fn nesting_is_bounded() {
        let mut value = Vec::new();
        for _ in 0..200 {
            let mut array = Vec::new();
            put_bytes(&mut array, 1, &value);
            value.clear();
            put_bytes(&mut value, 5, &array);
        }
        assert!(any_value(&value).is_err());
    }

    #[test]
    fn responses() {
        assert!(encode_partial_success(0, "").is_empty());
        assert_eq!(
            encode_partial_success(2, "no"),
            b"\x0a\x06\x08\x02\x12\x02no"
        );
        assert_eq!(
            encode_partial_success_json("rejectedDataPoints", 0, "x"),
            "{}"
        );
        assert_eq!(
            encode_partial_success_json("rejectedDataPoints", 3, "bad \"x\""),
            r#"{"partialSuccess":{"errorMessage":"bad \"x\"","rejectedDataPoints":"3"}}"#
        );
    }
}
