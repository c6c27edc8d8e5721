//! [`LogEvent`]: one structured log event, whatever it arrived as (syslog, JSON lines, `_bulk`,
//! OTLP).
//!
//! The core fields are the ones every search and facet needs; everything the sender wrote stays
//! in `fields` with its JSON type (so `amount` sums and `user_id` matches), including the keys
//! the core fields were taken from (structlog's `event` stays searchable as `event:`).

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    /// When it happened: nanoseconds since the Unix epoch.
    pub timestamp_ns: i64,
    pub message: String,
    /// Lower-case, one of [`LEVELS`] when the sender's level is recognised, else as sent.
    pub level: Option<String>,
    pub service: Option<String>,
    pub host: Option<String>,
    pub fields: Map<String, Value>,
}

impl LogEvent {
    /// The bytes the event's text takes: the message and every field serialised.
    pub fn size(&self) -> usize {
        self.message.len() + serde_json::to_string(&self.fields).map_or(0, |s| s.len())
    }

    /// Cuts an event larger than `max` bytes down to about `max`, and marks it: the message
    /// keeps at most half of `max` (whole characters), then string fields keep what fits in the
    /// rest, in key order (later ones become empty strings; numbers, booleans and keys are kept);
    /// `_truncated: true` and `_original_size` (bytes) are added. Returns whether it cut.
    pub fn truncate(&mut self, max: usize) -> bool {
        let original = self.size();
        if original <= max {
            return false;
        }
        let keep = floor_char_boundary(&self.message, max / 2);
        self.message.truncate(keep);
        let mut budget = max.saturating_sub(self.message.len());
        fn cut(v: &mut Value, budget: &mut usize) {
            match v {
                Value::String(s) => {
                    let keep = floor_char_boundary(s, *budget);
                    s.truncate(keep);
                    *budget -= keep;
                }
                Value::Array(items) => items.iter_mut().for_each(|i| cut(i, budget)),
                Value::Object(map) => map.values_mut().for_each(|i| cut(i, budget)),
                _ => {}
            }
        }
        for v in self.fields.values_mut() {
            cut(v, &mut budget);
        }
        self.fields.insert("_truncated".into(), Value::Bool(true));
        self.fields
            .insert("_original_size".into(), Value::from(original as u64));
        true
    }
}

/// The largest char boundary of `s` at or below `at`.
fn floor_char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    (0..=at).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0)
}

/// The canonical level names, least to most severe.
pub const LEVELS: [&str; 9] = [
    "trace",
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

/// A sender's level (`WARN`, `err`, `fatal`, `Information`, pino's 50…) as a canonical name;
/// an unknown word comes back lower-cased.
pub fn normalize_level(level: &Value) -> Option<String> {
    if let Some(n) = level.as_f64() {
        // pino and bunyan: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal.
        let name = match n as i64 {
            i64::MIN..=10 => "trace",
            11..=20 => "debug",
            21..=30 => "info",
            31..=40 => "warning",
            41..=50 => "error",
            _ => "critical",
        };
        return Some(name.to_owned());
    }
    let text = level.as_str()?.trim().to_ascii_lowercase();
    if text.is_empty() {
        return None;
    }
    Some(
        match text.as_str() {
            "trace" | "verbose" => "trace",
            "debug" | "dbug" => "debug",
            "info" | "information" | "informational" => "info",
            "notice" => "notice",
            "warn" | "warning" => "warning",
            "err" | "error" | "eror" => "error",
            "crit" | "critical" | "fatal" => "critical",
            "alert" => "alert",
            "emerg" | "emergency" | "panic" => "emergency",
            _ => return Some(text),
        }
        .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn levels() {
        assert_eq!(normalize_level(&json!("WARN")).as_deref(), Some("warning"));
        let mut e = LogEvent {
            timestamp_ns: 0,
            message: "é".repeat(100),
            level: None,
            service: None,
            host: None,
            fields: json!({"a": "x".repeat(500), "n": 5, "b": "y".repeat(10)})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        let before = e.size();
        assert!(e.truncate(300));
        assert_eq!(
            e.message,
            "é".repeat(75),
            "whole characters, half the budget"
        );
        assert_eq!(e.fields["a"], json!("x".repeat(150)));
        assert_eq!(e.fields["b"], json!(""));
        assert_eq!(e.fields["n"], json!(5));
        assert_eq!(e.fields["_truncated"], json!(true));
        assert_eq!(e.fields["_original_size"], json!(before));
        assert!(!e.clone().truncate(10_000));
        assert_eq!(normalize_level(&json!("err")).as_deref(), Some("error"));
        assert_eq!(
            normalize_level(&json!("Fatal")).as_deref(),
            Some("critical")
        );
        assert_eq!(normalize_level(&json!(50)).as_deref(), Some("error"));
        assert_eq!(normalize_level(&json!("audit")).as_deref(), Some("audit"));
        assert_eq!(normalize_level(&json!("")), None);
        assert_eq!(normalize_level(&json!(null)), None);
    }
}
