//! OTLP/HTTP logs: `ExportLogsServiceRequest` as protobuf or JSON, into [`LogEvent`]s.
//!
//! Each log record becomes an event: its time (or the observed time, or the receive time), its
//! body as the message (non-string bodies as JSON text), its severity text or number as the
//! level, `service.name` and `host.name` from the resource. Resource attributes, then the
//! record's own attributes (which win), become fields; so do `trace_id`, `span_id` (hex),
//! `severity_number`, `event_name` and `otel.scope.name`. The protobuf reader (`protobuf`) and
//! the attribute readers (`otlp_common`) are shared with the metrics decoder; unknown fields
//! are skipped.

use model::LogEvent;
use model::event::normalize_level;
use serde_json::{Map, Value};

use crate::ParseError;
use crate::otlp_common::{
    self, JsonAny, any_value, hex, json_any, json_key_values, key_values, text,
};
use crate::protobuf::{Field, Reader};

/// What a record contributes before it becomes an event.
#[derive(Default)]
struct Record {
    time: u64,
    observed: u64,
    severity_number: Option<u64>,
    severity_text: Option<String>,
    body: Value,
    attributes: Map<String, Value>,
    trace_id: Option<String>,
    span_id: Option<String>,
    event_name: Option<String>,
}

fn event(
    resource: &Map<String, Value>,
    scope: Option<&str>,
    record: Record,
    received_ns: i64,
) -> LogEvent {
    let mut fields = resource.clone();
    for (k, v) in record.attributes {
        fields.insert(k, v);
    }
    if let Some(scope) = scope.filter(|s| !s.is_empty()) {
        fields.insert("otel.scope.name".into(), Value::from(scope));
    }
    for (k, v) in [
        ("trace_id", record.trace_id),
        ("span_id", record.span_id),
        ("event_name", record.event_name),
    ] {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            fields.insert(k.into(), Value::from(v));
        }
    }
    if let Some(n) = record.severity_number {
        fields.insert("severity_number".into(), Value::from(n));
    }
    let level = record
        .severity_text
        .as_deref()
        .filter(|t| !t.is_empty())
        .and_then(|t| normalize_level(&Value::from(t)))
        .or_else(|| {
            record.severity_number.filter(|n| *n > 0).map(|n| {
                match n {
                    1..=4 => "trace",
                    5..=8 => "debug",
                    9..=12 => "info",
                    13..=16 => "warning",
                    17..=20 => "error",
                    _ => "critical",
                }
                .to_owned()
            })
        });
    let time = if record.time > 0 {
        record.time
    } else {
        record.observed
    };
    let str_attr = |key: &str| resource.get(key).and_then(Value::as_str).map(str::to_owned);
    LogEvent {
        timestamp_ns: i64::try_from(time)
            .ok()
            .filter(|t| *t > 0)
            .unwrap_or(received_ns),
        message: match record.body {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        },
        level,
        service: str_attr("service.name"),
        host: str_attr("host.name"),
        fields,
    }
}

/// Every log record of a protobuf `ExportLogsServiceRequest`.
pub fn decode_protobuf(body: &[u8], received_ns: i64) -> Result<Vec<LogEvent>, ParseError> {
    let mut out = Vec::new();
    let mut request = Reader::new(body);
    while let Some((n, f)) = request.next()? {
        let (1, Field::Bytes(resource_logs)) = (n, f) else {
            continue;
        };
        let mut resource = Map::new();
        let mut scopes = Vec::new();
        let mut rl = Reader::new(resource_logs);
        while let Some((n, f)) = rl.next()? {
            match (n, f) {
                (1, Field::Bytes(r)) => key_values(r, 1, &mut resource)?,
                (2, Field::Bytes(s)) => scopes.push(s),
                _ => {}
            }
        }
        for scope_logs in scopes {
            let mut scope_name = None;
            let mut records = Vec::new();
            let mut sl = Reader::new(scope_logs);
            while let Some((n, f)) = sl.next()? {
                match (n, f) {
                    (1, Field::Bytes(scope)) => {
                        let mut s = Reader::new(scope);
                        while let Some((n, f)) = s.next()? {
                            if let (1, Field::Bytes(name)) = (n, f) {
                                scope_name = Some(text(name));
                            }
                        }
                    }
                    (2, Field::Bytes(record)) => records.push(record),
                    _ => {}
                }
            }
            for record in records {
                let mut rec = Record::default();
                let mut r = Reader::new(record);
                while let Some((n, f)) = r.next()? {
                    match (n, f) {
                        (1, Field::Fixed64(t)) => rec.time = t,
                        (11, Field::Fixed64(t)) => rec.observed = t,
                        (2, Field::Varint(s)) => rec.severity_number = Some(s),
                        (3, Field::Bytes(b)) => rec.severity_text = Some(text(b)),
                        (5, Field::Bytes(b)) => rec.body = any_value(b)?,
                        (6, Field::Bytes(_)) => {}
                        (9, Field::Bytes(b)) => rec.trace_id = Some(hex(b)),
                        (10, Field::Bytes(b)) => rec.span_id = Some(hex(b)),
                        (12, Field::Bytes(b)) => rec.event_name = Some(text(b)),
                        _ => {}
                    }
                }
                key_values(record, 6, &mut rec.attributes)?;
                out.push(event(&resource, scope_name.as_deref(), rec, received_ns));
            }
        }
    }
    Ok(out)
}

fn json_u64(v: Option<&Value>) -> u64 {
    match v {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

/// Every log record of an OTLP/JSON `ExportLogsServiceRequest`.
pub fn decode_json(body: &[u8], received_ns: i64) -> Result<Vec<LogEvent>, ParseError> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    let mut out = Vec::new();
    for rl in doc
        .get("resourceLogs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut resource = Map::new();
        json_key_values(
            rl.pointer("/resource/attributes"),
            JsonAny::Verbatim,
            &mut resource,
        );
        for sl in rl
            .get("scopeLogs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let scope = sl.pointer("/scope/name").and_then(Value::as_str);
            for r in sl
                .get("logRecords")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let mut rec = Record {
                    time: json_u64(r.get("timeUnixNano")),
                    observed: json_u64(r.get("observedTimeUnixNano")),
                    severity_number: r.get("severityNumber").and_then(Value::as_u64),
                    severity_text: r
                        .get("severityText")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    body: r
                        .get("body")
                        .map_or(Value::Null, |b| json_any(b, JsonAny::Verbatim)),
                    trace_id: r.get("traceId").and_then(Value::as_str).map(str::to_owned),
                    span_id: r.get("spanId").and_then(Value::as_str).map(str::to_owned),
                    event_name: r
                        .get("eventName")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    ..Record::default()
                };
                json_key_values(r.get("attributes"), JsonAny::Verbatim, &mut rec.attributes);
                out.push(event(&resource, scope, rec, received_ns));
            }
        }
    }
    Ok(out)
}

/// An `ExportLogsServiceResponse`: empty when everything was taken, else a `partial_success`
/// with how many records were refused and why.
pub fn encode_response(rejected: u64, message: &str) -> Vec<u8> {
    otlp_common::encode_partial_success(rejected, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_requests() {
        let body = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},
          "scopeLogs":[{"scope":{"name":"checkout"},"logRecords":[{"timeUnixNano":"1714557600000000001","severityNumber":17,
          "body":{"stringValue":"payment failed"},"attributes":[{"key":"amount","value":{"doubleValue":12.5}},
          {"key":"user_id","value":{"intValue":"42"}}],"traceId":"5b8efff798038103d269b633813fc60c"}]}]}]}"#;
        let events = decode_json(body, 7).unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(
            (e.timestamp_ns, e.message.as_str(), e.level.as_deref()),
            (1_714_557_600_000_000_001, "payment failed", Some("error"))
        );
        assert_eq!(e.service.as_deref(), Some("shop"));
        assert_eq!(e.fields["user_id"], 42);
        assert_eq!(e.fields["otel.scope.name"], "checkout");
    }

    #[test]
    fn protobuf_requests() {
        use crate::protobuf::{put_bytes, put_varint};
        // A message of one length-delimited field.
        let one = |field: u64, value: &[u8]| {
            let mut v = Vec::new();
            put_bytes(&mut v, field, value);
            v
        };
        let kv = |key: &str, value: Vec<u8>| {
            let mut kv = Vec::new();
            put_bytes(&mut kv, 1, key.as_bytes());
            put_bytes(&mut kv, 2, &value);
            kv
        };
        let mut int = vec![3 << 3];
        put_varint(&mut int, 42);
        let mut double = vec![(4 << 3) | 1];
        double.extend_from_slice(&12.5f64.to_bits().to_le_bytes());
        let mut array = Vec::new();
        put_bytes(&mut array, 1, &int);
        put_bytes(&mut array, 1, &one(1, b"x"));
        let mut record = vec![(1 << 3) | 1];
        record.extend_from_slice(&1_714_557_600_000_000_001u64.to_le_bytes());
        record.extend_from_slice(&[2 << 3, 17]);
        put_bytes(&mut record, 5, &one(1, b"payment failed"));
        put_bytes(&mut record, 6, &kv("user_id", int));
        put_bytes(&mut record, 6, &kv("amount", double));
        put_bytes(&mut record, 6, &kv("tags", one(5, &array)));
        put_bytes(&mut record, 6, &kv("raw", one(7, &[0xde, 0xad])));
        put_bytes(&mut record, 9, &[0x5b, 0x8e]);
        let mut scope_logs = Vec::new();
        put_bytes(&mut scope_logs, 1, &one(1, b"checkout"));
        put_bytes(&mut scope_logs, 2, &record);
        let mut resource_logs = Vec::new();
        put_bytes(
            &mut resource_logs,
            1,
            &one(1, &kv("service.name", one(1, b"shop"))),
        );
        put_bytes(&mut resource_logs, 2, &scope_logs);
        let mut body = Vec::new();
        put_bytes(&mut body, 1, &resource_logs);
        let events = decode_protobuf(&body, 7).unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(
            (e.timestamp_ns, e.message.as_str(), e.level.as_deref()),
            (1_714_557_600_000_000_001, "payment failed", Some("error"))
        );
        assert_eq!(e.service.as_deref(), Some("shop"));
        assert_eq!(e.fields["user_id"], 42);
        assert_eq!(e.fields["amount"], 12.5);
        assert_eq!(e.fields["tags"], serde_json::json!([42, "x"]));
        assert_eq!(e.fields["raw"], "dead");
        assert_eq!(e.fields["trace_id"], "5b8e");
        assert_eq!(e.fields["otel.scope.name"], "checkout");
    }

    #[test]
    fn protobuf_never_panics_on_garbage() {
        for bytes in [
            &b"\x0a\xff\xff\xff\xff\x0f"[..],
            b"\x0a\x02\x12",
            b"\xff",
            b"\x0b",
            b"",
        ] {
            let _ = decode_protobuf(bytes, 0);
        }
    }
}
