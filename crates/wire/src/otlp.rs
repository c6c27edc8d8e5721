//! OTLP/HTTP logs: `ExportLogsServiceRequest` as protobuf or JSON, into [`LogEvent`]s.
//!
//! Each log record becomes an event: its time (or the observed time, or the receive time), its
//! body as the message (non-string bodies as JSON text), its severity text or number as the
//! level, `service.name` and `host.name` from the resource. Resource attributes, then the
//! record's own attributes (which win), become fields; so do `trace_id`, `span_id` (hex),
//! `severity_number`, `event_name` and `otel.scope.name`. The protobuf reader is a small
//! hand-written one over the wire format; unknown fields are skipped.

use model::LogEvent;
use model::event::normalize_level;
use serde_json::{Map, Value};

use crate::ParseError;

/// A protobuf reader over one message's bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// One field's value on the wire.
enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32,
    Bytes(&'a [u8]),
}

fn bad(what: &str) -> ParseError {
    ParseError::Json(format!("bad OTLP protobuf: {what}"))
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, ParseError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| bad("truncated varint"))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(bad("varint too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| bad("truncated field"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// The next `(field number, value)`, or `None` at the end.
    fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, ParseError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => Field::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().map_err(|_| bad("fixed64"))?,
            )),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| bad("length"))?;
                Field::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Field::Fixed32
            }
            other => return Err(bad(&format!("wire type {other}"))),
        };
        Ok(Some((key >> 3, field)))
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `AnyValue` as JSON.
fn any_value(buf: &[u8]) -> Result<Value, ParseError> {
    let mut r = Reader::new(buf);
    let mut out = Value::Null;
    while let Some((n, f)) = r.next()? {
        out = match (n, f) {
            (1, Field::Bytes(b)) => Value::from(text(b)),
            (2, Field::Varint(v)) => Value::from(v != 0),
            (3, Field::Varint(v)) => Value::from(v as i64),
            (4, Field::Fixed64(v)) => {
                serde_json::Number::from_f64(f64::from_bits(v)).map_or(Value::Null, Value::Number)
            }
            (5, Field::Bytes(b)) => {
                let mut values = Vec::new();
                let mut arr = Reader::new(b);
                while let Some((n, f)) = arr.next()? {
                    if let (1, Field::Bytes(v)) = (n, f) {
                        values.push(any_value(v)?);
                    }
                }
                Value::Array(values)
            }
            (6, Field::Bytes(b)) => {
                let mut map = Map::new();
                key_values(b, 1, &mut map)?;
                Value::Object(map)
            }
            (7, Field::Bytes(b)) => Value::from(hex(b)),
            _ => out,
        };
    }
    Ok(out)
}

/// The `KeyValue`s at field `field` of `buf`, into `out`.
fn key_values(buf: &[u8], field: u64, out: &mut Map<String, Value>) -> Result<(), ParseError> {
    let mut r = Reader::new(buf);
    while let Some((n, f)) = r.next()? {
        if let (true, Field::Bytes(kv)) = (n == field, f) {
            let (mut key, mut value) = (String::new(), Value::Null);
            let mut k = Reader::new(kv);
            while let Some((n, f)) = k.next()? {
                match (n, f) {
                    (1, Field::Bytes(b)) => key = text(b),
                    (2, Field::Bytes(b)) => value = any_value(b)?,
                    _ => {}
                }
            }
            out.insert(key, value);
        }
    }
    Ok(())
}

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

/// OTLP/JSON's `AnyValue` (`{"stringValue": …}`, 64-bit integers as strings).
fn json_any(v: &Value) -> Value {
    let Some(obj) = v.as_object() else {
        return Value::Null;
    };
    if let Some(s) = obj.get("stringValue") {
        return s.clone();
    }
    if let Some(b) = obj.get("boolValue") {
        return b.clone();
    }
    if let Some(i) = obj.get("intValue") {
        return i
            .as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .map_or_else(|| i.clone(), Value::from);
    }
    if let Some(d) = obj.get("doubleValue") {
        return d.clone();
    }
    if let Some(a) = obj.get("arrayValue") {
        return Value::Array(
            a.get("values")
                .and_then(Value::as_array)
                .map(|vs| vs.iter().map(json_any).collect())
                .unwrap_or_default(),
        );
    }
    if let Some(kv) = obj.get("kvlistValue") {
        let mut map = Map::new();
        json_key_values(kv.get("values"), &mut map);
        return Value::Object(map);
    }
    obj.get("bytesValue").cloned().unwrap_or(Value::Null)
}

fn json_key_values(list: Option<&Value>, out: &mut Map<String, Value>) {
    for kv in list.and_then(Value::as_array).into_iter().flatten() {
        if let Some(key) = kv.get("key").and_then(Value::as_str) {
            out.insert(
                key.to_owned(),
                kv.get("value").map_or(Value::Null, json_any),
            );
        }
    }
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
        json_key_values(rl.pointer("/resource/attributes"), &mut resource);
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
                    body: r.get("body").map_or(Value::Null, json_any),
                    trace_id: r.get("traceId").and_then(Value::as_str).map(str::to_owned),
                    span_id: r.get("spanId").and_then(Value::as_str).map(str::to_owned),
                    event_name: r
                        .get("eventName")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    ..Record::default()
                };
                json_key_values(r.get("attributes"), &mut rec.attributes);
                out.push(event(&resource, scope, rec, received_ns));
            }
        }
    }
    Ok(out)
}

/// An `ExportLogsServiceResponse`: empty when everything was taken, else a `partial_success`
/// with how many records were refused and why.
pub fn encode_response(rejected: u64, message: &str) -> Vec<u8> {
    if rejected == 0 {
        return Vec::new();
    }
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut inner = vec![0x08];
    varint(rejected, &mut inner);
    inner.push(0x12);
    varint(message.len() as u64, &mut inner);
    inner.extend_from_slice(message.as_bytes());
    let mut out = vec![0x0a];
    varint(inner.len() as u64, &mut out);
    out.extend(inner);
    out
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
