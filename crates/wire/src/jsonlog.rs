//! JSON log events: NDJSON (HTTP bodies, logstash's `json_lines` over TCP) and JSON arrays,
//! normalised into [`LogEvent`]s; and syslog messages turned into the same.
//!
//! Core fields come from the keys senders use ([`MESSAGE_KEYS`], [`TIME_KEYS`], …, dotted
//! names also found nested, as ECS writes `log.level`): the first present wins. Times are
//! RFC 3339 (a time without a zone is read as UTC) or Unix epoch numbers in s, ms, µs or ns by
//! magnitude; a missing, zero or unreadable time is the receive time. Every other key the
//! sender wrote stays in `fields`; the time key that was read, and the message key when its
//! text is prose (it has a space, or is longer than [`NAME_MAX`]), live only in the core
//! fields: indexing a unique string twice would double the cost of every event, while a
//! structlog event name such as `user.signed_up` stays a field too, to count by.

use model::LogEvent;
use model::event::normalize_level;
use serde_json::{Map, Value};

use crate::ParseError;
use crate::syslog::{self, Timestamp};

pub const MESSAGE_KEYS: [&str; 6] = ["message", "msg", "event", "log", "_msg", "body"];
pub const TIME_KEYS: [&str; 6] = ["@timestamp", "timestamp", "time", "ts", "_time", "date"];
pub const LEVEL_KEYS: [&str; 5] = ["level", "log.level", "severity", "levelname", "lvl"];
pub const SERVICE_KEYS: [&str; 4] = ["service", "service.name", "app", "application"];
pub const HOST_KEYS: [&str; 3] = ["host", "hostname", "host.name"];

/// Every event of a body: a JSON array of objects, or one object per line. Each line or
/// element yields its own result, so one bad record never loses the others.
pub fn decode_body(
    body: &[u8],
    received_ns: i64,
    out: &mut dyn FnMut(Result<LogEvent, ParseError>),
) {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        match serde_json::from_slice::<Vec<Value>>(body) {
            Ok(items) => {
                for item in items {
                    out(from_value(item, received_ns));
                }
            }
            Err(e) => out(Err(ParseError::Json(e.to_string()))),
        }
        return;
    }
    for line in body.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        out(decode_line(line, received_ns));
    }
}

/// One NDJSON line.
pub fn decode_line(line: &[u8], received_ns: i64) -> Result<LogEvent, ParseError> {
    let value: Value = serde_json::from_slice(line).map_err(|e| ParseError::Json(e.to_string()))?;
    from_value(value, received_ns)
}

fn from_value(value: Value, received_ns: i64) -> Result<LogEvent, ParseError> {
    match value {
        Value::Object(obj) => Ok(from_object(obj, received_ns)),
        other => Err(ParseError::Json(format!(
            "expected a JSON object, found {}",
            kind(&other)
        ))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `key` at the top level, or as a dotted path into nested objects.
pub fn lookup<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if let Some(v) = obj.get(key) {
        return Some(v);
    }
    let (head, tail) = key.split_once('.')?;
    match obj.get(head)? {
        Value::Object(inner) => lookup(inner, tail),
        _ => None,
    }
}

/// The first key holding a plain value (an object, as ECS's `host: {name: …}`, is looked into
/// through the dotted keys instead).
fn first_scalar<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    keys.iter()
        .find_map(|k| lookup(obj, k).filter(|v| !v.is_null() && !v.is_object()))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The longest message that also stays a field when it has no space (an event name).
pub const NAME_MAX: usize = 64;

/// Whether a message is a name (`user.signed_up`) rather than prose.
pub fn is_name(message: &str) -> bool {
    message.len() <= NAME_MAX && !message.contains(char::is_whitespace)
}

/// An event from a JSON object: the core fields from their keys, the rest in `fields`.
pub fn from_object(mut obj: Map<String, Value>, received_ns: i64) -> LogEvent {
    let message_key = MESSAGE_KEYS
        .iter()
        .find(|k| lookup(&obj, k).is_some_and(|v| !v.is_null()));
    let message = message_key
        .and_then(|k| lookup(&obj, k))
        .map(text)
        .unwrap_or_default();
    if let Some(k) = message_key
        && obj.get(*k).is_some_and(Value::is_string)
        && !is_name(&message)
    {
        obj.remove(*k);
    }
    let time_key = TIME_KEYS
        .iter()
        .find(|k| lookup(&obj, k).is_some_and(|v| !v.is_null() && !v.is_object()));
    let parsed = time_key
        .and_then(|k| lookup(&obj, k))
        .and_then(timestamp_ns);
    if let (Some(k), Some(_)) = (time_key, parsed) {
        obj.remove(*k);
    }
    let timestamp_ns = parsed.unwrap_or(received_ns);
    let level = first_scalar(&obj, &LEVEL_KEYS).and_then(normalize_level);
    let service = first_scalar(&obj, &SERVICE_KEYS).map(text);
    let host = first_scalar(&obj, &HOST_KEYS).map(text);
    LogEvent {
        timestamp_ns,
        message,
        level,
        service,
        host,
        fields: obj,
    }
}

/// A time value: RFC 3339 text, or epoch seconds, milliseconds, microseconds or nanoseconds
/// chosen by magnitude (as numbers or digit strings). `None` for zero or anything else.
pub fn timestamp_ns(v: &Value) -> Option<i64> {
    let text;
    let (int, float) = match v {
        Value::Number(n) => (n.as_i64(), n.as_f64()?),
        Value::String(s) => {
            text = s.trim();
            if let Some(ts) = syslog::rfc3339(text) {
                return match ts {
                    Timestamp::Unix(ns) => Some(ns),
                    local @ Timestamp::Local { .. } => local_as_utc(local),
                };
            }
            (text.parse::<i64>().ok(), text.parse::<f64>().ok()?)
        }
        _ => return None,
    };
    if !float.is_finite() || float <= 0.0 {
        return None;
    }
    // Integers are scaled exactly; fractional seconds go through floating point.
    let scale: i64 = if float < 1e11 {
        1_000_000_000
    } else if float < 1e14 {
        1_000_000
    } else if float < 1e17 {
        1_000
    } else {
        1
    };
    match int {
        Some(i) => i.checked_mul(scale),
        None => {
            let ns = (float * scale as f64).round();
            (ns < 9.2e18).then_some(ns as i64)
        }
    }
}

fn local_as_utc(ts: Timestamp) -> Option<i64> {
    let Timestamp::Local {
        year: Some(year),
        month,
        day,
        hour,
        minute,
        second,
        nanos,
    } = ts
    else {
        return None;
    };
    let secs = syslog::days_from_civil(year, month, day) * 86_400
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second);
    secs.checked_mul(1_000_000_000)?
        .checked_add(i64::from(nanos))
}

/// A syslog message as an event. A 3164 time (no year, no zone) is read in the zone
/// `utc_offset_s` east of UTC, in the year that puts it at most a day ahead of `received_ns`
/// (December's lines read in January fall in the year before). The host is the message's, or
/// `peer` (the sender's address) when it names none. One leading space of the message is
/// dropped.
pub fn from_syslog(
    m: syslog::Message,
    received_ns: i64,
    utc_offset_s: i64,
    peer: Option<&str>,
) -> LogEvent {
    let mut fields = Map::new();
    fields.insert("format".into(), Value::from(m.format.as_str()));
    if let Some(p) = m.priority {
        fields.insert("priority".into(), Value::from(p));
        fields.insert(
            "severity".into(),
            Value::from(m.level().unwrap_or_default()),
        );
        if let Some(f) = m.facility_name() {
            fields.insert("facility".into(), Value::from(f));
        }
    }
    // The program is the event's service; its process id is `pid`, a number when it is one.
    if let Some(pid) = &m.proc_id {
        let value = pid
            .parse::<u64>()
            .map_or(Value::from(pid.as_str()), Value::from);
        fields.insert("pid".into(), value);
    }
    if let Some(msgid) = &m.msg_id {
        fields.insert("msgid".into(), Value::from(msgid.as_str()));
    }
    if !m.structured_data.is_empty() {
        let mut sd = Map::new();
        for element in &m.structured_data {
            let params: Map<String, Value> = element
                .params
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect();
            sd.insert(element.id.clone(), Value::Object(params));
        }
        fields.insert("sd".into(), Value::Object(sd));
    }
    let timestamp_ns = match m.timestamp {
        Some(Timestamp::Unix(ns)) => ns,
        Some(Timestamp::Local { year: Some(y), .. }) if y > 0 => {
            local_as_utc(m.timestamp.unwrap_or(Timestamp::Unix(received_ns)))
                .map_or(received_ns, |ns| ns - utc_offset_s * 1_000_000_000)
        }
        Some(Timestamp::Local {
            month,
            day,
            hour,
            minute,
            second,
            nanos,
            ..
        }) => {
            let local_now = received_ns.div_euclid(1_000_000_000) + utc_offset_s;
            let (year, _, _) = syslog::civil_from_days(local_now.div_euclid(86_400));
            let at = |year: i32| {
                local_as_utc(Timestamp::Local {
                    year: Some(year),
                    month,
                    day,
                    hour,
                    minute,
                    second,
                    nanos,
                })
                .map(|ns| ns - utc_offset_s * 1_000_000_000)
            };
            match at(year) {
                Some(ns) if ns > received_ns + 86_400 * 1_000_000_000 => {
                    at(year - 1).unwrap_or(received_ns)
                }
                Some(ns) => ns,
                None => received_ns,
            }
        }
        None => received_ns,
    };
    LogEvent {
        timestamp_ns,
        level: m
            .level()
            .map(|l| normalize_level(&Value::from(l)).unwrap_or_else(|| l.to_owned())),
        service: m.app_name.clone(),
        host: m.hostname.clone().or_else(|| peer.map(str::to_owned)),
        // rsyslog's RFC 5424 template writes `%msg%`, which keeps the space a 3164 tag's colon
        // is followed by: the message starts after it, as its 3164 form does.
        message: match m.message.strip_prefix(' ') {
            Some(rest) => rest.to_owned(),
            None => m.message,
        },
        fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_764_039_328_000_000_000;

    #[test]
    fn structlog_json_renderer_lines() {
        let line = br#"{"user_id": 42, "request_id": "abc123", "plan": "pro", "amount": 49.0, "event": "user.signed_up", "level": "info", "timestamp": "2026-11-25T02:55:28.684388Z"}"#;
        let e = decode_line(line, NOW).unwrap();
        assert_eq!(e.message, "user.signed_up");
        assert_eq!(e.level.as_deref(), Some("info"));
        assert_eq!(e.timestamp_ns, 1_795_575_328_684_388_000);
        assert_eq!(e.fields["amount"], json!(49.0));
        assert_eq!(e.fields["user_id"], json!(42));
        assert_eq!(
            e.fields["event"],
            json!("user.signed_up"),
            "the original key stays searchable"
        );
    }

    #[test]
    fn ecs_and_other_shapes() {
        let e = decode_line(br#"{"@timestamp":"2024-05-01T12:00:00+02:00","log":{"level":"WARN"},"message":"disk","host":{"name":"web1"},"service":{"name":"shop"}}"#, NOW).unwrap();
        assert_eq!(
            (e.level.as_deref(), e.host.as_deref(), e.message.as_str()),
            (Some("warning"), Some("web1"), "disk")
        );
        assert_eq!(e.timestamp_ns, 1_714_557_600_000_000_000);
        assert_eq!(e.service.as_deref(), Some("shop"));
        for (ts, want) in [
            (json!(1_714_557_600), 1_714_557_600_000_000_000),
            (json!(1_714_557_600_123i64), 1_714_557_600_123_000_000),
            (json!("1714557600.5"), 1_714_557_600_500_000_000),
        ] {
            let e = from_object(
                json!({"ts": ts, "msg": "x"}).as_object().unwrap().clone(),
                NOW,
            );
            assert_eq!(e.timestamp_ns, want);
        }
        let e = from_object(
            json!({"time": 0, "msg": {"nested": true}})
                .as_object()
                .unwrap()
                .clone(),
            NOW,
        );
        assert_eq!(
            (e.timestamp_ns, e.message.as_str()),
            (NOW, r#"{"nested":true}"#)
        );
    }

    #[test]
    fn bodies_keep_the_good_records() {
        let mut got = Vec::new();
        decode_body(
            b"{\"msg\":\"a\"}\nnot json\n\n[1]\n{\"msg\":\"b\"}\n",
            NOW,
            &mut |r| got.push(r),
        );
        assert_eq!(got.len(), 4);
        assert!(got[0].is_ok() && got[1].is_err() && got[2].is_err() && got[3].is_ok());
        got.clear();
        decode_body(br#" [{"msg":"a"}, 5, {"msg":"c"}]"#, NOW, &mut |r| {
            got.push(r)
        });
        assert_eq!(got.iter().filter(|r| r.is_ok()).count(), 2);
    }

    #[test]
    fn syslog_events() {
        let m = syslog::parse(
            b"<165>1 2024-05-01T12:00:00.123456+02:00 web01 myapp 4242 ID47 [ex@1 k=\"v\"] hi",
        )
        .unwrap();
        let e = from_syslog(m, NOW, 0, Some("10.0.0.9"));
        assert_eq!(
            (e.host.as_deref(), e.service.as_deref(), e.level.as_deref()),
            (Some("web01"), Some("myapp"), Some("notice"))
        );
        assert_eq!(e.fields["sd"], json!({"ex@1": {"k": "v"}}));
        assert_eq!(e.fields["facility"], json!("local4"));
        // A 3164 time in late December, read on 25 November, is last year's; one in a zone east
        // of UTC is moved back by the offset.
        let m = syslog::parse(b"<13>Dec 31 23:00:00 h app: x").unwrap();
        let e = from_syslog(m, NOW, 0, None);
        assert_eq!(
            e.timestamp_ns,
            1_767_222_000_000_000_000 - 365 * 86_400 * 1_000_000_000
        );
        let m = syslog::parse(b"<13>Nov 25 03:00:00 h app: x").unwrap();
        let e = from_syslog(m, NOW, 3600, None);
        assert_eq!(
            e.timestamp_ns,
            1_764_039_600_000_000_000 - 3_600_000_000_000
        );
        let m = syslog::parse(b"<14>hello tcp").unwrap();
        let e = from_syslog(m, NOW, 0, Some("127.0.0.1"));
        assert_eq!(
            (e.timestamp_ns, e.host.as_deref(), e.message.as_str()),
            (NOW, Some("127.0.0.1"), "hello tcp")
        );
    }
}
