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
