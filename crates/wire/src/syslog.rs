//! Syslog: RFC 5424 and RFC 3164 messages as real senders emit them, and RFC 6587's TCP
//! framings.
//!
//! [`Frames`] cuts a TCP stream, deciding per frame: a frame that starts with digits and a
//! space is octet-counted (`143 <165>1 …`); anything else runs to the next LF or NUL (rsyslog's
//! traditional framing, and Python's `SysLogHandler`, which ends every message with NUL and
//! sends nothing else). [`datagram`] does the same for a UDP datagram: one message, or several
//! separated by LF or NUL, trailers stripped.
//!
//! [`parse`] reads one message, leniently, as VictoriaLogs and rsyslog do:
//! - RFC 5424 when the header is `<PRI>1 `: timestamp, host, app, procid, msgid (`-` is
//!   absent), structured data (`[id k="v" …]…`, with `\"`, `\\` and `\]` unescaped), then the
//!   message, without its BOM and one trailing newline;
//! - otherwise RFC 3164: `<PRI>` then an optional `Mmm dd hh:mm:ss` or RFC 3339 timestamp, and
//!   when there is a timestamp, the host and a `tag[pid]:` (colon optional); without one (as
//!   Python's `SysLogHandler` sends), a leading `tag[pid]: ` or `tag: ` (colon required) and
//!   the message (`<14>shop-worker[4242]: hello`), or only the message (`<14>hello`);
//! - without `<PRI>`, the whole text is the message.
//!
//! A 3164 timestamp has no year and no zone: it comes back as [`Timestamp::Local`] for the
//! caller to place with its clock and configured zone. Invalid UTF-8 is replaced, not refused.

use crate::framing::TooLong;

/// Where a frame ended up: its bytes, or an octet count larger than the limit.
#[derive(Debug)]
pub struct Frames<'a> {
    buf: &'a [u8],
    pos: usize,
    max: usize,
    failed: bool,
}

impl<'a> Frames<'a> {
    pub fn new(buf: &'a [u8], max: usize) -> Self {
        Frames {
            buf,
            pos: 0,
            max,
            failed: false,
        }
    }

    /// Bytes consumed by the frames returned so far.
    pub fn consumed(&self) -> usize {
        self.pos
    }

    /// The incomplete last frame, to keep for the next read; an error once it can never fit.
    pub fn rest(&self) -> Result<&'a [u8], TooLong> {
        let rest = &self.buf[self.pos..];
        if rest.len() > self.max.saturating_add(12) {
            Err(TooLong { limit: self.max })
        } else {
            Ok(rest)
        }
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<&'a [u8], TooLong>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        // Delimiters left between frames (a LF after an octet-counted frame, NUL padding).
        while self
            .buf
            .get(self.pos)
            .is_some_and(|b| matches!(b, b'\n' | b'\r' | 0))
        {
            self.pos += 1;
        }
        let rest = &self.buf[self.pos..];
        if rest.is_empty() {
            return None;
        }
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 && digits <= 10 {
            match rest.get(digits) {
                Some(b' ') => {
                    let len: usize = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
                    if len > self.max {
                        self.failed = true;
                        return Some(Err(TooLong { limit: self.max }));
                    }
                    let frame = rest.get(digits + 1..digits + 1 + len)?;
                    self.pos += digits + 1 + len;
                    return Some(Ok(frame));
                }
                // Only digits so far: the count may still be arriving.
                None => return None,
                Some(_) => {}
            }
        }
        let Some(end) = memchr::memchr2(b'\n', 0, rest) else {
            if rest.len() > self.max {
                self.failed = true;
                return Some(Err(TooLong { limit: self.max }));
            }
            return None;
        };
        if end > self.max {
            self.failed = true;
            return Some(Err(TooLong { limit: self.max }));
        }
        self.pos += end + 1;
        Some(Ok(&rest[..end]))
    }
}

/// The messages of one UDP datagram: split at LF and NUL, empty pieces dropped.
pub fn datagram(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    buf.split(|b| *b == b'\n' || *b == 0)
        .filter(|m| !m.iter().all(|b| b.is_ascii_whitespace()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rfc5424,
    Rfc3164,
    /// No `<PRI>` header: the text is all message.
    NoHeader,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Rfc5424 => "rfc5424",
            Format::Rfc3164 => "rfc3164",
            Format::NoHeader => "none",
        }
    }
}

/// When a message says it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timestamp {
    /// An instant: nanoseconds since the Unix epoch (RFC 3339 with a zone).
    Unix(i64),
    /// A local time without a zone; `year` is absent in classic RFC 3164.
    Local {
        year: Option<i32>,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        nanos: u32,
    },
}

/// One structured-data element: `[id name="value" …]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdElement {
    pub id: String,
    pub params: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub format: Format,
    /// `facility * 8 + severity`, when a header gave it.
    pub priority: Option<u8>,
    pub timestamp: Option<Timestamp>,
    pub hostname: Option<String>,
    pub app_name: Option<String>,
    pub proc_id: Option<String>,
    pub msg_id: Option<String>,
    pub structured_data: Vec<SdElement>,
    pub message: String,
}

impl Message {
    pub fn facility(&self) -> Option<u8> {
        self.priority.map(|p| p / 8)
    }

    pub fn severity(&self) -> Option<u8> {
        self.priority.map(|p| p % 8)
    }

    /// The severity's keyword (`err`, `warning`, `info`…).
    pub fn level(&self) -> Option<&'static str> {
        self.severity().map(|s| SEVERITIES[usize::from(s)])
    }

    /// The facility's keyword (`kern`, `user`, `local0`…).
    pub fn facility_name(&self) -> Option<&'static str> {
        self.facility()
            .and_then(|f| FACILITIES.get(usize::from(f)).copied())
    }
}

const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];
const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Reads one message. Only an empty frame is an error: anything else is at least a message.
pub fn parse(frame: &[u8]) -> Result<Message, crate::ParseError> {
    let text = String::from_utf8_lossy(frame);
    let text = text.trim_end_matches(['\0']);
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(crate::ParseError::Empty);
    }
    let Some((priority, rest)) = priority(text) else {
        return Ok(Message::plain(Format::NoHeader, None, strip_bom(text)));
    };
    if let Some(after) = rest.strip_prefix("1 ") {
        return Ok(rfc5424(priority, after));
    }
    Ok(rfc3164(priority, rest))
}

impl Message {
    fn plain(format: Format, priority: Option<u8>, text: &str) -> Message {
        Message {
            format,
            priority,
            timestamp: None,
            hostname: None,
            app_name: None,
            proc_id: None,
            msg_id: None,
            structured_data: Vec::new(),
            message: text.to_owned(),
        }
    }
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// `<PRI>` with PRI at most 191, and the text after it.
fn priority(text: &str) -> Option<(u8, &str)> {
    let body = text.strip_prefix('<')?;
    let end = body.find('>')?;
    let digits = &body[..end];
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u16 = digits.parse().ok()?;
    (value <= 191).then(|| (value as u8, &body[end + 1..]))
}

/// Splits off the next space-separated token.
fn token(text: &str) -> (&str, &str) {
    match text.find(' ') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, ""),
    }
}

fn nil(value: &str) -> Option<String> {
    (value != "-" && !value.is_empty()).then(|| value.to_owned())
}

fn rfc5424(priority: u8, text: &str) -> Message {
    let (ts, text) = token(text);
    let (host, text) = token(text);
    let (app, text) = token(text);
    let (pid, text) = token(text);
    let (msgid, text) = token(text);
    let (structured_data, text) = if let Some(rest) = text.strip_prefix('-') {
        (Vec::new(), rest)
    } else {
        structured(text)
    };
    let message = text.strip_prefix(' ').unwrap_or(text);
    Message {
        format: Format::Rfc5424,
        priority: Some(priority),
        timestamp: if ts == "-" { None } else { rfc3339(ts) },
        hostname: nil(host),
        app_name: nil(app),
        proc_id: nil(pid),
        msg_id: nil(msgid),
        structured_data,
        message: strip_bom(message).to_owned(),
    }
}

/// Structured data elements, and the text after them.
fn structured(mut text: &str) -> (Vec<SdElement>, &str) {
    let mut elements = Vec::new();
    while let Some(body) = text.strip_prefix('[') {
        let Some((element, rest)) = sd_element(body) else {
            break;
        };
        elements.push(element);
        text = rest;
    }
    (elements, text)
}

fn sd_element(body: &str) -> Option<(SdElement, &str)> {
    let id_end = body.find([' ', ']'])?;
    let mut element = SdElement {
        id: body[..id_end].to_owned(),
        params: Vec::new(),
    };
    let mut rest = &body[id_end..];
    loop {
        rest = rest.trim_start_matches(' ');
        if let Some(after) = rest.strip_prefix(']') {
            return Some((element, after));
        }
        let eq = rest.find('=')?;
        let name = rest[..eq].to_owned();
        let mut chars = rest[eq + 1..].char_indices();
        if chars.next()?.1 != '"' {
            return None;
        }
        let mut value = String::new();
        let mut end = None;
        let mut escaped = false;
        for (i, c) in chars {
            if escaped {
                if !matches!(c, '"' | '\\' | ']') {
                    value.push('\\');
                }
                value.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                end = Some(eq + 1 + i + 1);
                break;
            } else {
                value.push(c);
            }
        }
        element.params.push((name, value));
        rest = &rest[end?..];
    }
}

fn rfc3164(priority: u8, text: &str) -> Message {
    let (timestamp, after) = if let Some((ts, rest)) = bsd_timestamp(text) {
        (Some(ts), rest)
    } else {
        let (first, rest) = token(text);
        match rfc3339(first) {
            Some(ts) => (Some(ts), rest),
            None => (None, text),
        }
    };
    if timestamp.is_none() {
        // Python's SysLogHandler sends no time and no host, and a tag only if the formatter
        // writes one (`app[pid]: message`).
        let text = strip_bom(text);
        let Some((app, pid, message)) = bare_tag(text) else {
            return Message::plain(Format::Rfc3164, Some(priority), text);
        };
        let mut m = Message::plain(Format::Rfc3164, Some(priority), message);
        m.app_name = Some(app.to_owned());
        m.proc_id = pid.map(str::to_owned);
        return m;
    }
    let (host, rest) = token(after.trim_start_matches(' '));
    let (app_name, proc_id, message) = tag(rest);
    Message {
        format: Format::Rfc3164,
        priority: Some(priority),
        timestamp,
        hostname: nil(host),
        app_name,
        proc_id,
        msg_id: None,
        structured_data: Vec::new(),
        message: strip_bom(message).to_owned(),
    }
}

/// `Mmm dd hh:mm:ss ` (day space-padded), and the text after it.
fn bsd_timestamp(text: &str) -> Option<(Timestamp, &str)> {
    let head = text.get(..15)?;
    let b = head.as_bytes();
    let month = MONTHS.iter().position(|m| head.starts_with(m))? as u8 + 1;
    if b[3] != b' ' || b[6] != b' ' || b[9] != b':' || b[12] != b':' {
        return None;
    }
    let num = |s: &str| s.trim().parse::<u8>().ok();
    let (day, hour, minute, second) = (
        num(&head[4..6])?,
        num(&head[7..9])?,
        num(&head[10..12])?,
        num(&head[13..15])?,
    );
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let rest = text[15..].strip_prefix(' ').unwrap_or(&text[15..]);
    Some((
        Timestamp::Local {
            year: None,
            month,
            day,
            hour,
            minute,
            second,
            nanos: 0,
        },
        rest,
    ))
}

/// A tag at the very start of a message that has no time or host: `app[pid]: ` or `app: `,
/// the colon required so a plain sentence is not read as one. The name is what programs are
/// called (letters, digits, `-_./`, at most 48).
fn bare_tag(text: &str) -> Option<(&str, Option<&str>, &str)> {
    let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
    let word = word.strip_suffix(':')?;
    let (app, pid) = match word.split_once('[') {
        Some((app, pid)) => {
            let pid = pid.strip_suffix(']')?;
            (!pid.is_empty() && pid.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(())?;
            (app, Some(pid))
        }
        None => (word, None),
    };
    let program = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/');
    (!app.is_empty() && app.len() <= 48 && app.bytes().all(program)).then_some(())?;
    Some((app, pid, rest))
}

/// A 3164 tag: `app[pid]:`, `app:`, `app[pid]` or `app`, then the message.
fn tag(text: &str) -> (Option<String>, Option<String>, &str) {
    let (word, rest) = token(text);
    let word_trimmed = word.strip_suffix(':').unwrap_or(word);
    if word_trimmed.is_empty() {
        return (None, None, rest);
    }
    if let Some(open) = word_trimmed.find('[')
        && word_trimmed.ends_with(']')
    {
        let app = &word_trimmed[..open];
        let pid = &word_trimmed[open + 1..word_trimmed.len() - 1];
        return (nil(app), nil(pid), rest);
    }
    (Some(word_trimmed.to_owned()), None, rest)
}

/// RFC 3339: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, or without a zone as a local time.
pub fn rfc3339(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (year, month, day) = (num(0..4)? as i32, num(5..7)? as u8, num(8..10)? as u8);
    let (hour, minute, second) = (num(11..13)? as u8, num(14..16)? as u8, num(17..19)? as u8);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = frac[..digits].parse::<u32>().ok()? * 10u32.pow(9 - digits as u32);
        rest = &frac[digits..];
    }
    let offset = match rest {
        "" => {
            return Some(Timestamp::Local {
                year: Some(year),
                month,
                day,
                hour,
                minute,
                second,
                nanos,
            });
        }
        "Z" | "z" => 0,
        zone => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let z = &zone[1..];
            if z.len() != 5 || z.as_bytes()[2] != b':' {
                return None;
            }
            let (h, m): (i64, i64) = (z[..2].parse().ok()?, z[3..].parse().ok()?);
            sign * (h * 3600 + m * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds =
        days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
            - offset;
    Some(Timestamp::Unix(seconds * 1_000_000_000 + i64::from(nanos)))
}

pub use model::civil::{civil_from_days, days_from_civil};

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<String> {
        Frames::new(input, 8192)
            .map(|f| String::from_utf8_lossy(f.unwrap()).into_owned())
            .collect()
    }

    #[test]
    fn tcp_framings_are_detected_per_frame() {
        let octet = b"<165>1 2024-05-01T12:00:00Z web01 app - - - hi\n";
        let mut input = format!("{} ", octet.len()).into_bytes();
        input.extend_from_slice(octet);
        input.extend_from_slice(
            b"<14>hello tcp\x00<11>second one\x00<165>May  1 12:00:00 web01 myapp[4242] m\n",
        );
        let got = frames(&input);
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].as_bytes(), octet);
        assert_eq!(got[1], "<14>hello tcp");
        assert_eq!(got[3], "<165>May  1 12:00:00 web01 myapp[4242] m");
        let mut f = Frames::new(b"12 <13>1 - - ", 100);
        assert!(
            f.next().is_none(),
            "an incomplete octet-counted frame waits"
        );
        assert_eq!(f.rest().unwrap(), b"12 <13>1 - - ");
        let mut f = Frames::new(b"999999 <13>", 100);
        assert!(
            f.next().unwrap().is_err(),
            "a count beyond the limit is refused"
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339("1970-01-01T00:00:00Z"), Some(Timestamp::Unix(0)));
        assert_eq!(
            rfc3339("2024-05-01T12:00:00.123456+02:00"),
            Some(Timestamp::Unix(1_714_557_600_123_456_000))
        );
        assert!(matches!(
            rfc3339("2026-11-25T02:57:49"),
            Some(Timestamp::Local {
                year: Some(2026),
                month: 11,
                ..
            })
        ));
        assert_eq!(rfc3339("2024-13-01T00:00:00Z"), None);
    }
}
