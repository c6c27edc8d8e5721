//! Sentry's wire formats, as SDKs really send them: DSNs, credentials (`X-Sentry-Auth`, the
//! query string, the envelope header's `dsn`), envelopes, and the rate-limit header that makes
//! SDKs stop sending a category.
//!
//! Envelope grammar (as Relay reads it): a one-line JSON header, then items, each a one-line
//! JSON item header with a `type` and an optional `length`, then exactly `length` payload bytes
//! (which may hold newlines or binary), or without a length the bytes up to the next newline.
//! A newline after a payload, the final newline, and blank lines between items are optional.
//! Unknown item types are kept (the caller skips them). Parsing is lenient per item: a bad item
//! header is reported and skipped, and the items after it are still read.

use std::fmt;

use serde_json::{Map, Value};

use crate::ParseError;

/// A DSN: `{scheme}://{public_key}[:{secret}]@{host}[:{port}]/{path/prefix/}{project_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    pub scheme: String,
    pub public_key: String,
    /// Host and optional port, as written.
    pub host: String,
    /// The path before the project id, without a trailing slash (`""` or `/visibility`).
    pub path_prefix: String,
    pub project_id: u64,
}

impl Dsn {
    pub fn parse(text: &str) -> Result<Dsn, ParseError> {
        let bad = |why: &str| ParseError::Sentry(format!("DSN: {why}"));
        let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("no scheme"))?;
        if scheme != "http" && scheme != "https" {
            return Err(bad("the scheme is http or https"));
        }
        let (credentials, rest) = rest.split_once('@').ok_or_else(|| bad("no public key"))?;
        // The secret after `:` is legacy and ignored.
        let public_key = credentials.split(':').next().unwrap_or_default();
        if public_key.is_empty() {
            return Err(bad("no public key"));
        }
        let (host, path) = rest.split_once('/').ok_or_else(|| bad("no project id"))?;
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let path = path.trim_end_matches('/');
        let (prefix, id) = match path.rsplit_once('/') {
            Some((prefix, id)) => (format!("/{prefix}"), id),
            None => (String::new(), path),
        };
        let project_id = id
            .parse()
            .map_err(|_| bad("the project id is not a number"))?;
        Ok(Dsn {
            scheme: scheme.to_owned(),
            public_key: public_key.to_owned(),
            host: host.to_owned(),
            path_prefix: prefix,
            project_id,
        })
    }

    /// Where SDKs send envelopes for this DSN.
    pub fn envelope_url(&self) -> String {
        format!(
            "{}://{}{}/api/{}/envelope/",
            self.scheme, self.host, self.path_prefix, self.project_id
        )
    }
}

impl fmt::Display for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}@{}{}/{}",
            self.scheme, self.public_key, self.host, self.path_prefix, self.project_id
        )
    }
}

/// Credentials from `X-Sentry-Auth`/`Authorization: Sentry …` or the query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auth {
    pub key: Option<String>,
    pub version: Option<String>,
    pub client: Option<String>,
}

/// `Sentry sentry_key=…, sentry_version=7, sentry_client=…` (the prefix in any case; the
/// secret and timestamp are ignored). `None` if it is not a Sentry header.
pub fn parse_auth_header(value: &str) -> Option<Auth> {
    let value = value.trim();
    let (scheme, rest) = value.split_at(value.find(char::is_whitespace)?);
    if !scheme.eq_ignore_ascii_case("sentry") {
        return None;
    }
    let mut auth = Auth::default();
    for pair in rest.split(',') {
        let Some((k, v)) = pair.split_once('=') else {
            continue;
        };
        let v = v.trim().to_owned();
        match k.trim() {
            "sentry_key" => auth.key = Some(v),
            "sentry_version" => auth.version = Some(v),
            "sentry_client" => auth.client = Some(v),
            _ => {}
        }
    }
    Some(auth)
}

/// The same credentials from a query string (`?sentry_version=7&sentry_key=…`), URL-decoded.
pub fn parse_auth_query(query: &str) -> Auth {
    let mut auth = Auth::default();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        match k {
            "sentry_key" => auth.key = Some(v),
            "sentry_version" => auth.version = Some(v),
            "sentry_client" => auth.client = Some(v),
            _ => {}
        }
    }
    auth
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A `check_in` item (a cron monitor's run): which monitor, which run, how it went.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckIn {
    pub monitor_slug: String,
    pub check_in_id: Option<String>,
    /// `in_progress`, `ok` or `error` as SDKs send it; `ok` when absent.
    pub status: String,
    /// Seconds, when the run reports it.
    pub duration: Option<f64>,
    pub environment: Option<String>,
}

/// A `check_in` item's payload: `{check_in_id, monitor_slug, status, duration, environment}`.
pub fn check_in(payload: &[u8]) -> Result<CheckIn, ParseError> {
    let v: Value = serde_json::from_slice(payload)
        .map_err(|e| ParseError::Sentry(format!("a check-in is not JSON: {e}")))?;
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    Ok(CheckIn {
        monitor_slug: text("monitor_slug")
            .ok_or_else(|| ParseError::Sentry("a check-in names no monitor_slug".into()))?,
        check_in_id: text("check_in_id"),
        status: text("status").unwrap_or_else(|| "ok".into()),
        duration: v.get("duration").and_then(Value::as_f64),
        environment: text("environment"),
    })
}

/// What an `attachment` item's header says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentMeta {
    /// `attachment` when the header names none.
    pub filename: String,
    pub content_type: Option<String>,
    pub attachment_type: Option<String>,
}

/// An attachment item's name and types (its payload is the file, as sent).
pub fn attachment(item: &Item<'_>) -> AttachmentMeta {
    let text = |k: &str| {
        item.header
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    AttachmentMeta {
        filename: text("filename").unwrap_or_else(|| "attachment".into()),
        content_type: text("content_type"),
        attachment_type: text("attachment_type"),
    }
}

/// One envelope item: its header (with `type`), and its payload bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Item<'a> {
    pub kind: String,
    pub header: Map<String, Value>,
    pub payload: &'a [u8],
}

/// An item that could not be read, and where (byte offset of its header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    pub offset: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<'a> {
    pub header: Map<String, Value>,
    pub items: Vec<Item<'a>>,
    /// Items skipped as malformed; the others were still read.
    pub errors: Vec<ItemError>,
}

impl Envelope<'_> {
    /// The envelope's event id as 32 lowercase hex digits (SDKs send it with or without
    /// hyphens), if it has a valid one.
    pub fn event_id(&self) -> Option<String> {
        self.header
            .get("event_id")
            .and_then(Value::as_str)
            .and_then(normalize_event_id)
    }

    /// The DSN in the header (the JS SDKs' `tunnel` mode sends it instead of credentials).
    pub fn dsn(&self) -> Option<Dsn> {
        self.header
            .get("dsn")
            .and_then(Value::as_str)
            .and_then(|d| Dsn::parse(d).ok())
    }
}

/// A UUID, hyphenated or not, in any case, as 32 lowercase hex digits.
pub fn normalize_event_id(id: &str) -> Option<String> {
    let hex: String = id
        .chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

/// The end of the line starting at `from` (the index of its `\n`, or the end).
fn line_end(bytes: &[u8], from: usize) -> usize {
    memchr::memchr(b'\n', &bytes[from..]).map_or(bytes.len(), |i| from + i)
}

/// Parses an envelope. Only a bad envelope header fails the whole; bad items are listed in
/// `errors` and skipped.
pub fn parse_envelope(bytes: &[u8]) -> Result<Envelope<'_>, ParseError> {
    let end = line_end(bytes, 0);
    let header = match serde_json::from_slice::<Value>(&bytes[..end]) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return Err(ParseError::Sentry(
                "the envelope header is not a JSON object".into(),
            ));
        }
        Err(e) => {
            return Err(ParseError::Sentry(format!("bad envelope header: {e}")));
        }
    };
    let mut envelope = Envelope {
        header,
        items: Vec::new(),
        errors: Vec::new(),
    };
    let mut pos = (end + 1).min(bytes.len());
    while pos < bytes.len() {
        let end = line_end(bytes, pos);
        let line = &bytes[pos..end];
        if line.iter().all(u8::is_ascii_whitespace) {
            pos = end + 1;
            continue;
        }
        let offset = pos;
        let item_header = match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(map)) => map,
            other => {
                let message = match other {
                    Err(e) => format!("bad item header: {e}"),
                    Ok(_) => "the item header is not a JSON object".to_owned(),
                };
                envelope.errors.push(ItemError { offset, message });
                // Without a header there is no length: the next line is the next chance.
                pos = end + 1;
                continue;
            }
        };
        pos = (end + 1).min(bytes.len());
        let payload_start = pos;
        let payload_end = match item_header.get("length") {
            Some(length) => {
                let Some(length) = length.as_u64().and_then(|l| usize::try_from(l).ok()) else {
                    envelope.errors.push(ItemError {
                        offset,
                        message: "the item length is not a number".into(),
                    });
                    pos = line_end(bytes, pos) + 1;
                    continue;
                };
                let Some(stop) = payload_start
                    .checked_add(length)
                    .filter(|s| *s <= bytes.len())
                else {
                    envelope.errors.push(ItemError {
                        offset,
                        message: format!(
                            "the item claims {length} bytes; {} remain",
                            bytes.len() - payload_start
                        ),
                    });
                    break;
                };
                pos = stop;
                if pos < bytes.len() {
                    if bytes[pos] == b'\n' {
                        pos += 1;
                    } else {
                        envelope.errors.push(ItemError {
                            offset,
                            message: "the payload is not followed by a newline".into(),
                        });
                        pos = line_end(bytes, pos) + 1;
                        continue;
                    }
                }
                stop
            }
            None => {
                let stop = line_end(bytes, payload_start);
                pos = stop + 1;
                stop
            }
        };
        let Some(kind) = item_header
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            envelope.errors.push(ItemError {
                offset,
                message: "the item header has no type".into(),
            });
            continue;
        };
        envelope.items.push(Item {
            kind,
            header: item_header,
            payload: &bytes[payload_start..payload_end],
        });
    }
    Ok(envelope)
}

/// The rate-limit category of an item type (the names SDKs match in `X-Sentry-Rate-Limits`).
pub fn category(item_type: &str) -> &str {
    match item_type {
        "event" => "error",
        "client_report" => "internal",
        "session" | "sessions" => "session",
        "check_in" => "monitor",
        "log" => "log_item",
        "replay_event" | "replay_recording" | "replay_video" => "replay",
        "profile_chunk" => "profile",
        "user_report" => "default",
        other => other,
    }
}

/// `X-Sentry-Rate-Limits` for these categories, each for `seconds` (scope `project`); SDKs
/// stop sending them until the time passes. Never name `error` here unless errors are refused.
pub fn rate_limits_header(seconds: u64, categories: &[&str]) -> String {
    format!("{seconds}:{}:project", categories.join(";"))
}

/// The records of a `log` item (`{"version":2,"items":[…]}`; Rust omits `version`) as log
/// events: `body` is the message, the float `timestamp` (seconds) the time, each attribute's
/// `value` a field (plus `trace_id`), `server.address` the host, and `service.name` (or the
/// release's name before `@`) the service. A record without a body is skipped.
pub fn log_items(payload: &[u8], received_ns: i64) -> Result<Vec<model::LogEvent>, ParseError> {
    let v: Value = serde_json::from_slice(payload)
        .map_err(|e| ParseError::Sentry(format!("log item: {e}")))?;
    let items = v
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::Sentry("a log item has no `items` list".into()))?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Some(body) = item.get("body").and_then(Value::as_str) else {
            continue;
        };
        let mut fields = Map::new();
        if let Some(attributes) = item.get("attributes").and_then(Value::as_object) {
            for (k, a) in attributes {
                let value = a.get("value").cloned().unwrap_or_else(|| a.clone());
                fields.insert(k.clone(), value);
            }
        }
        if let Some(t) = item.get("trace_id") {
            fields.insert("trace_id".into(), t.clone());
        }
        let text = |k: &str| fields.get(k).and_then(Value::as_str).map(str::to_owned);
        let host = text("server.address");
        let service = text("service.name").or_else(|| {
            text("sentry.release").map(|r| r.split('@').next().unwrap_or_default().to_owned())
        });
        let timestamp_ns = item
            .get("timestamp")
            .and_then(Value::as_f64)
            .filter(|t| t.is_finite() && *t > 0.0)
            .map_or(received_ns, |t| (t * 1e9) as i64);
        let level = item.get("level").and_then(model::event::normalize_level);
        out.push(model::LogEvent {
            timestamp_ns,
            message: body.to_owned(),
            level,
            service,
            host,
            fields,
        });
    }
    Ok(out)
}

/// A Graphite-safe name segment.
fn segment(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { "_".into() } else { s }
}

/// The metric points a report item carries, named under `prefix` (`sentry.<project>`), at
/// `now_s` unless the item has its own time:
/// - `client_report`: `<prefix>.client_reports.<category>.<reason>` = quantity dropped;
/// - `session`: `<prefix>.sessions.<status>` = 1 (and `.errored` when it counted errors);
/// - `sessions`: `<prefix>.sessions.<exited|errored|crashed|abnormal>` = each aggregate's count;
/// - `trace_metric`: `<prefix>.metrics.<name>` = value, at the record's time.
pub fn report_points(
    kind: &str,
    payload: &[u8],
    prefix: &str,
    now_s: i64,
    out: &mut model::PointBatch,
) -> Result<usize, ParseError> {
    let v: Value = serde_json::from_slice(payload)
        .map_err(|e| ParseError::Sentry(format!("{kind} item: {e}")))?;
    let before = out.len();
    let time = |v: &Value| {
        v.get("timestamp")
            .and_then(Value::as_f64)
            .filter(|t| t.is_finite() && *t > 0.0)
            .map_or(now_s, |t| t as i64)
    };
    match kind {
        "client_report" => {
            for d in v
                .get("discarded_events")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let category = d
                    .get("category")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown");
                let reason = d.get("reason").and_then(Value::as_str).unwrap_or("unknown");
                let quantity = d.get("quantity").and_then(Value::as_f64).unwrap_or(0.0);
                out.push(
                    &format!(
                        "{prefix}.client_reports.{}.{}",
                        segment(category),
                        segment(reason)
                    ),
                    now_s,
                    quantity,
                );
            }
        }
        "session" => {
            let status = v.get("status").and_then(Value::as_str).unwrap_or("ok");
            out.push(
                &format!("{prefix}.sessions.{}", segment(status)),
                now_s,
                1.0,
            );
            if v.get("errors").and_then(Value::as_u64).unwrap_or(0) > 0 && status != "errored" {
                out.push(&format!("{prefix}.sessions.errored"), now_s, 1.0);
            }
        }
        "sessions" => {
            for a in v
                .get("aggregates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for status in ["exited", "errored", "crashed", "abnormal"] {
                    if let Some(n) = a.get(status).and_then(Value::as_f64).filter(|n| *n > 0.0) {
                        out.push(&format!("{prefix}.sessions.{status}"), now_s, n);
                    }
                }
            }
        }
        "trace_metric" => {
            for m in v
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let (Some(name), Some(value)) = (
                    m.get("name").and_then(Value::as_str),
                    m.get("value").and_then(Value::as_f64),
                ) else {
                    continue;
                };
                let name: Vec<String> = name.split('.').map(segment).collect();
                out.push(
                    &format!("{prefix}.metrics.{}", name.join(".")),
                    time(m),
                    value,
                );
            }
        }
        _ => {}
    }
    Ok(out.len() - before)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsns_parse_as_the_sdks_do() {
        let d =
            Dsn::parse("https://0123456789abcdef0123456789abcdef@errors.example.com/42").unwrap();
        assert_eq!(d.project_id, 42);
        assert_eq!(d.path_prefix, "");
        assert_eq!(
            d.envelope_url(),
            "https://errors.example.com/api/42/envelope/"
        );
        let d = Dsn::parse("http://key:secret@example.com:9000/visibility/sub/7/").unwrap();
        assert_eq!(
            (d.public_key.as_str(), d.host.as_str()),
            ("key", "example.com:9000")
        );
        assert_eq!(d.path_prefix, "/visibility/sub");
        assert_eq!(
            d.to_string(),
            "http://key@example.com:9000/visibility/sub/7"
        );
        assert_eq!(
            d.envelope_url(),
            "http://example.com:9000/visibility/sub/api/7/envelope/"
        );
        for bad in [
            "ftp://k@h/1",
            "https://h/1",
            "https://k@h/x",
            "https://k@h",
            "https://@h/1",
        ] {
            assert!(Dsn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_from_headers_and_queries() {
        let a = parse_auth_header(
            "Sentry sentry_key=abc123publickey, sentry_version=7, sentry_client=sentry.python/2.75.0",
        )
        .unwrap();
        assert_eq!(a.key.as_deref(), Some("abc123publickey"));
        assert_eq!(a.version.as_deref(), Some("7"));
        let a =
            parse_auth_header("sentry sentry_key=k,sentry_secret=s, sentry_timestamp=1.5").unwrap();
        assert_eq!(a.key.as_deref(), Some("k"));
        assert_eq!(parse_auth_header("Bearer abc"), None);
        let q = parse_auth_query(
            "sentry_version=7&sentry_key=nodepublickey&sentry_client=sentry.javascript.node%2F11.12.0",
        );
        assert_eq!(q.key.as_deref(), Some("nodepublickey"));
        assert_eq!(q.client.as_deref(), Some("sentry.javascript.node/11.12.0"));
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }

    #[test]
    fn event_ids_with_or_without_hyphens() {
        assert_eq!(
            normalize_event_id("D9128593-BCCB-4835-895D-664B55B28B9D").as_deref(),
            Some("d9128593bccb4835895d664b55b28b9d")
        );
        assert_eq!(normalize_event_id("xyz"), None);
    }

    #[test]
    fn rate_limit_headers_name_categories() {
        assert_eq!(
            rate_limits_header(3600, &["transaction", "span", "log_item"]),
            "3600:transaction;span;log_item:project"
        );
        assert_eq!(category("event"), "error");
        assert_eq!(category("sessions"), "session");
        assert_eq!(category("attachment"), "attachment");
    }
}
