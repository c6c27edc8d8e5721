//! statsd lines: etsy statsd's rules, plus DogStatsD's extensions.
//!
//! A line is `key:value|type[|@rate][|#tags]`, and one line may carry several values
//! (`key:1|c:5|ms`, etsy style) or pack several values of one type (`key:1:2:3|ms`, DogStatsD
//! style). Types: `c` counter, `ms`, `h` and `d` timers, `g` gauge (a leading `+` or `-` makes a
//! delta), `s` set; any other type with a numeric value is a counter, as in etsy statsd. Values
//! are validated as etsy does: `ms` must be a number `>= 0`, `g` a number, `s` anything, a sample
//! rate `@` a non-negative number (we also refuse `@0`, which etsy turns into an infinite count).
//!
//! Keys are sanitised as etsy does (whitespace runs to `_`, `/` to `-`, then everything outside
//! `[A-Za-z0-9_.-]` dropped). DogStatsD tags `|#k:v,flag` become Graphite tags `;k=v;flag=true`
//! in canonical order. DogStatsD's container (`|c:`), external data (`|e:`), cardinality
//! (`|card:`) and timestamp (`|T`) fields are accepted and ignored. Events (`_e{..}`) and
//! service checks (`_sc|..`) decode to records of their own.

use std::borrow::Cow;

use crate::error::{ParseError, snippet};
use crate::graphite_name;

/// One decoded record of a line.
#[derive(Debug, Clone, PartialEq)]
pub enum StatsdRecord<'a> {
    Metric(StatsdMetric<'a>),
    Event(DogEvent),
    ServiceCheck(ServiceCheck),
}

/// One metric sample.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsdMetric<'a> {
    /// The sanitised key, with tags appended canonically (`a.b;env=prod`).
    pub key: Cow<'a, str>,
    pub value: StatsdValue<'a>,
    /// The `@rate`, 1 when absent.
    pub sample_rate: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StatsdValue<'a> {
    Counter(f64),
    Timer(f64),
    Gauge(f64),
    /// A `+n` or `-n` gauge: add to the current value.
    GaugeDelta(f64),
    Set(Cow<'a, str>),
}

/// A DogStatsD event (`_e{title_len,text_len}:title|text|...`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DogEvent {
    pub title: String,
    pub text: String,
    pub timestamp: Option<i64>,
    pub host: Option<String>,
    pub aggregation_key: Option<String>,
    pub priority: Option<String>,
    pub source_type: Option<String>,
    pub alert_type: Option<String>,
    pub tags: Vec<String>,
}

/// A DogStatsD service check (`_sc|name|status|...`), which we keep as a gauge.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceCheck {
    /// The sanitised check name with its tags, as a metric key.
    pub key: String,
    /// 0 ok, 1 warning, 2 critical, 3 unknown.
    pub status: u8,
    pub timestamp: Option<i64>,
    pub host: Option<String>,
    pub message: Option<String>,
}

fn bad(why: impl Into<String>) -> ParseError {
    ParseError::Statsd(why.into())
}

/// Decodes one line, handing each record (or error) to `out`. Empty lines yield nothing.
pub fn decode_line<'a>(line: &'a [u8], out: &mut impl FnMut(Result<StatsdRecord<'a>, ParseError>)) {
    let Ok(text) = std::str::from_utf8(line) else {
        return out(Err(ParseError::Utf8));
    };
    let text = text.trim_end_matches(['\r', '\n']);
    if text.is_empty() {
        return;
    }
    if text.starts_with("_e{") {
        return out(decode_event(text).map(StatsdRecord::Event));
    }
    if let Some(rest) = text.strip_prefix("_sc|") {
        return out(decode_service_check(rest).map(StatsdRecord::ServiceCheck));
    }
    if let Err(e) = decode_metrics(text, out) {
        out(Err(e));
    }
}

fn decode_metrics<'a>(
    text: &'a str,
    out: &mut impl FnMut(Result<StatsdRecord<'a>, ParseError>),
) -> Result<(), ParseError> {
    let no_colon = || bad(format!("no `:` in {}", snippet(text)));
    let (raw_key, mut rest) = text.split_once(':').ok_or_else(no_colon)?;
    if raw_key.contains('|') {
        return Err(no_colon());
    }
    let key = metric_key(raw_key, find_tags(text))?;
    loop {
        let (values, after_values) = rest
            .split_once('|')
            .ok_or_else(|| bad(format!("no type in {}", snippet(text))))?;
        let type_end = after_values.find(['|', ':']).unwrap_or(after_values.len());
        let kind = after_values[..type_end].trim();
        rest = &after_values[type_end..];
        let mut rate = 1.0;
        while let Some(field_text) = rest.strip_prefix('|') {
            let stop = if field_text.starts_with('@') || field_text.starts_with('T') {
                &['|', ':'][..]
            } else {
                &['|'][..]
            };
            let end = field_text.find(stop).unwrap_or(field_text.len());
            let field = &field_text[..end];
            rest = &field_text[end..];
            if let Some(r) = field.strip_prefix('@') {
                rate = parse_rate(r)?;
            } else if !is_ignored_field(field) {
                return Err(bad(format!("unknown field `{}`", snippet(field))));
            }
        }
        for value in values.split(':') {
            let value = decode_value(value, kind)?;
            out(Ok(StatsdRecord::Metric(StatsdMetric {
                key: key.clone(),
                value,
                sample_rate: rate,
            })));
        }
        match rest.strip_prefix(':') {
            Some(next) => rest = next,
            None if rest.is_empty() => return Ok(()),
            None => return Err(bad(format!("unexpected `{}`", snippet(rest)))),
        }
    }
}

/// Fields decoded elsewhere (`#tags`) or accepted and not used: DogStatsD's container,
/// external data, cardinality and timestamp.
fn is_ignored_field(field: &str) -> bool {
    field.starts_with('#')
        || field.starts_with("c:")
        || field.starts_with("e:")
        || field.starts_with("card:")
        || (field.len() > 1
            && field.starts_with('T')
            && field[1..].bytes().all(|b| b.is_ascii_digit()))
}

/// The text of the first `|#tags` field.
fn find_tags(text: &str) -> Option<&str> {
    let at = memchr::memmem::find(text.as_bytes(), b"|#")?;
    let after = &text[at + 2..];
    Some(&after[..memchr::memchr(b'|', after.as_bytes()).unwrap_or(after.len())])
}

fn decode_value<'a>(value: &'a str, kind: &str) -> Result<StatsdValue<'a>, ParseError> {
    let number = || {
        js_number(value).ok_or_else(|| bad(format!("value `{}` is not a number", snippet(value))))
    };
    Ok(match kind {
        "s" => StatsdValue::Set(Cow::Borrowed(if value.is_empty() { "0" } else { value })),
        "g" => {
            let v = number()?;
            if value.trim_start().starts_with(['+', '-']) {
                StatsdValue::GaugeDelta(v)
            } else {
                StatsdValue::Gauge(v)
            }
        }
        "ms" | "h" | "d" => {
            let v = number()?;
            if v < 0.0 {
                return Err(bad(format!("timer value {v} is negative")));
            }
            StatsdValue::Timer(v)
        }
        "" => return Err(bad("missing type")),
        _ => StatsdValue::Counter(number()?),
    })
}

fn parse_rate(text: &str) -> Result<f64, ParseError> {
    let rate = js_number(text).filter(|r| *r > 0.0 && !text.starts_with('-'));
    rate.ok_or_else(|| {
        bad(format!(
            "sample rate `@{}` is not a positive number",
            snippet(text)
        ))
    })
}

/// A number as JavaScript's `Number()` reads the strings statsd clients send.
fn js_number(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    match t {
        "Infinity" | "+Infinity" => return Some(f64::INFINITY),
        "-Infinity" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok().map(|v| v as f64);
    }
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    t.parse().ok()
}

/// etsy's key sanitiser: whitespace runs to `_`, `/` to `-`, then only `[A-Za-z0-9_.-]` kept.
fn sanitize(text: &str, extra_allowed: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            if !in_space {
                out.push('_');
            }
            in_space = true;
            continue;
        }
        in_space = false;
        match c {
            '/' => out.push('-'),
            c if c.is_ascii_alphanumeric()
                || matches!(c, '_' | '-' | '.')
                || extra_allowed.contains(&c) =>
            {
                out.push(c)
            }
            _ => {}
        }
    }
    out
}

/// The metric key: the sanitised name, then the tags as canonical Graphite tags.
/// Whether a key needs no sanitising and is already a canonical Graphite path, the usual case.
fn is_clean_key(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let allowed = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    !bytes.is_empty()
        && bytes.iter().all(allowed)
        && bytes[0] != b'.'
        && bytes[bytes.len() - 1] != b'.'
        && memchr::memmem::find(bytes, b"..").is_none()
}

fn metric_key<'a>(raw: &'a str, tags: Option<&str>) -> Result<Cow<'a, str>, ParseError> {
    if tags.is_none() && is_clean_key(raw) {
        return Ok(Cow::Borrowed(raw));
    }
    let name = sanitize(raw, &[]);
    if name.trim_matches('.').is_empty() {
        return Err(bad("empty key"));
    }
    let mut full = name;
    for tag in tags.into_iter().flat_map(|t| t.split(',')) {
        let (k, v) = tag.split_once(':').unwrap_or((tag, "true"));
        let (k, v) = (sanitize(k, &[]), sanitize(v, &[':']));
        let v = v.trim_start_matches('~');
        if k.is_empty() || v.is_empty() || k == "name" {
            continue;
        }
        full.push(';');
        full.push_str(&k);
        full.push('=');
        full.push_str(v);
    }
    let canonical = graphite_name::canonical(&full)?.into_owned();
    if canonical == raw {
        Ok(Cow::Borrowed(raw))
    } else {
        Ok(Cow::Owned(canonical))
    }
}

fn decode_event(text: &str) -> Result<DogEvent, ParseError> {
    let header_end = text.find("}:").ok_or_else(|| bad("event without `}:`"))?;
    let (title_len, text_len) = text[3..header_end]
        .split_once(',')
        .ok_or_else(|| bad("event lengths"))?;
    let title_len: usize = title_len
        .trim()
        .parse()
        .map_err(|_| bad("event title length"))?;
    let text_len: usize = text_len
        .trim()
        .parse()
        .map_err(|_| bad("event text length"))?;
    let body = &text[header_end + 2..];
    let title = body
        .get(..title_len)
        .ok_or_else(|| bad("event title shorter than its length"))?;
    let after_title = body[title_len..]
        .strip_prefix('|')
        .ok_or_else(|| bad("event without text"))?;
    let message = after_title
        .get(..text_len)
        .ok_or_else(|| bad("event text shorter than its length"))?;
    let mut event = DogEvent {
        title: title.replace("\\n", "\n"),
        text: message.replace("\\n", "\n"),
        ..DogEvent::default()
    };
    for field in after_title[text_len..].split('|').filter(|f| !f.is_empty()) {
        match field.split_at(field.find(':').map_or(1, |i| i + 1).min(field.len())) {
            ("d:", v) => event.timestamp = v.parse().ok(),
            ("h:", v) => event.host = Some(v.to_owned()),
            ("k:", v) => event.aggregation_key = Some(v.to_owned()),
            ("p:", v) => event.priority = Some(v.to_owned()),
            ("s:", v) => event.source_type = Some(v.to_owned()),
            ("t:", v) => event.alert_type = Some(v.to_owned()),
            _ if field.starts_with('#') => {
                event.tags = field[1..].split(',').map(str::to_owned).collect()
            }
            _ => return Err(bad(format!("unknown event field `{}`", snippet(field)))),
        }
    }
    Ok(event)
}

fn decode_service_check(rest: &str) -> Result<ServiceCheck, ParseError> {
    let mut fields = rest.split('|');
    let name = fields
        .next()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| bad("service check without a name"))?;
    let status: u8 = fields
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s| *s <= 3)
        .ok_or_else(|| bad("service check status must be 0, 1, 2 or 3"))?;
    let mut check = ServiceCheck {
        key: String::new(),
        status,
        timestamp: None,
        host: None,
        message: None,
    };
    let mut tags = None;
    for field in fields {
        if let Some(v) = field.strip_prefix("d:") {
            check.timestamp = v.parse().ok();
        } else if let Some(v) = field.strip_prefix("h:") {
            check.host = Some(v.to_owned());
        } else if let Some(v) = field.strip_prefix("m:") {
            check.message = Some(v.replace("\\n", "\n"));
        } else if let Some(v) = field.strip_prefix('#') {
            tags = Some(v);
        }
    }
    check.key = metric_key(name, tags)?.into_owned();
    Ok(check)
}

/// Encodes one metric as a statsd line (without `\n`), with its tags as DogStatsD tags.
pub fn encode_metric(key: &str, value: &StatsdValue<'_>, sample_rate: f64) -> String {
    let (name, tags) = graphite_name::split_tags(key);
    let (text, kind) = match value {
        StatsdValue::Counter(v) => (v.to_string(), "c"),
        StatsdValue::Timer(v) => (v.to_string(), "ms"),
        StatsdValue::Gauge(v) => (v.to_string(), "g"),
        StatsdValue::GaugeDelta(v) => (format!("{v:+}"), "g"),
        StatsdValue::Set(v) => (v.to_string(), "s"),
    };
    let mut line = format!("{name}:{text}|{kind}");
    if sample_rate != 1.0 {
        line.push_str(&format!("|@{sample_rate}"));
    }
    let tags: Vec<String> = tags.map(|(k, v)| format!("{k}:{v}")).collect();
    if !tags.is_empty() {
        line.push_str("|#");
        line.push_str(&tags.join(","));
    }
    line
}

#[cfg(test)]
mod tests;
