//! Carbon's plaintext protocol: `path value [timestamp]`, one per line.
//!
//! As carbon does, any run of whitespace separates the fields and the line is trimmed (so CRLF
//! is fine). Values follow Python's `float()`: `1.5e3`, `inf` and `-inf` parse; NaN is refused
//! with [`ParseError::NotANumber`] so listeners can count it apart from garbage. A timestamp of
//! `-1` or `N`, or none at all, means "when received" ([`CarbonLine::timestamp`] is `None`);
//! fractional timestamps are truncated, as carbon does.

use std::borrow::Cow;

use crate::error::{ParseError, snippet};
use crate::graphite_name;

/// One decoded line.
#[derive(Debug, Clone, PartialEq)]
pub struct CarbonLine<'a> {
    /// The canonical series name.
    pub name: Cow<'a, str>,
    pub value: f64,
    /// Seconds since the epoch, or `None` for "now".
    pub timestamp: Option<i64>,
}

/// Decodes one line (without its `\n`).
pub fn decode_line(line: &[u8]) -> Result<CarbonLine<'_>, ParseError> {
    let text = std::str::from_utf8(line).map_err(|_| ParseError::Utf8)?;
    let mut fields = text.split_ascii_whitespace();
    let (Some(path), Some(value)) = (fields.next(), fields.next()) else {
        return Err(if text.trim().is_empty() {
            ParseError::Empty
        } else {
            ParseError::FieldCount(1)
        });
    };
    let timestamp = fields.next();
    let extra = fields.count();
    if extra > 0 {
        return Err(ParseError::FieldCount(3 + extra));
    }
    let value = parse_value(value)?;
    let timestamp = match timestamp {
        None => None,
        Some(ts) => parse_timestamp(ts)?,
    };
    let name = graphite_name::canonical(path)?;
    Ok(CarbonLine {
        name,
        value,
        timestamp,
    })
}

/// A value as Python's `float()` reads it; NaN is an error of its own.
pub fn parse_value(text: &str) -> Result<f64, ParseError> {
    let value: f64 = text
        .parse()
        .map_err(|_| ParseError::BadValue(snippet(text)))?;
    if value.is_nan() {
        return Err(ParseError::NotANumber);
    }
    Ok(value)
}

/// A timestamp: `-1` and `N` mean now; anything else is seconds, truncated.
pub fn parse_timestamp(text: &str) -> Result<Option<i64>, ParseError> {
    if text == "-1" || text == "N" {
        return Ok(None);
    }
    let bad = || ParseError::BadTimestamp(snippet(text));
    let seconds: f64 = text.parse().map_err(|_| bad())?;
    if !seconds.is_finite() {
        return Err(bad());
    }
    Ok(Some(seconds.trunc() as i64))
}

/// Encodes one line, with its `\n`. Non-finite values are written as Python writes them.
pub fn encode_line(out: &mut String, name: &str, value: f64, timestamp: i64) {
    use std::fmt::Write as _;
    let _ = if value.is_infinite() {
        writeln!(
            out,
            "{name} {} {timestamp}",
            if value > 0.0 { "inf" } else { "-inf" }
        )
    } else {
        writeln!(out, "{name} {value} {timestamp}")
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str, expect: Result<(&str, f64, Option<i64>), &str>) {
        let got = decode_line(line.as_bytes())
            .map(|l| (l.name.into_owned(), l.value, l.timestamp))
            .map_err(|e| e.to_string());
        let expect = expect
            .map(|(n, v, t)| (n.to_owned(), v, t))
            .map_err(str::to_owned);
        assert_eq!(got, expect, "line {line:?}");
    }

    #[test]
    fn lines_carbon_accepts() {
        check(
            "a.b.c 1.5 1700000000",
            Ok(("a.b.c", 1.5, Some(1_700_000_000))),
        );
        check(
            "  a.b\t\t2  1700000000.75 \r",
            Ok(("a.b", 2.0, Some(1_700_000_000))),
        );
        check("a 1e3 1700000000", Ok(("a", 1000.0, Some(1_700_000_000))));
        check(
            "a inf 1700000000",
            Ok(("a", f64::INFINITY, Some(1_700_000_000))),
        );
        check("a -inf 1", Ok(("a", f64::NEG_INFINITY, Some(1))));
        check("a 7 -1", Ok(("a", 7.0, None)));
        check("a 7 N", Ok(("a", 7.0, None)));
        check("a 7", Ok(("a", 7.0, None)));
        check(".a..b. 1 2", Ok(("a.b", 1.0, Some(2))));
        check(
            "cpu;host=h1;dc=x 1 2",
            Ok(("cpu;dc=x;host=h1", 1.0, Some(2))),
        );
    }

    #[test]
    fn lines_carbon_refuses() {
        check("", Err("empty line"));
        check("   \r", Err("empty line"));
        check(
            "a.b.c",
            Err("expected `path value [timestamp]`, found 1 fields"),
        );
        check(
            "a 1 2 3",
            Err("expected `path value [timestamp]`, found 4 fields"),
        );
        check("a one 2", Err("value `one` is not a number"));
        check("a nan 2", Err("value is NaN"));
        check(
            "a 1 yesterday",
            Err("timestamp `yesterday` is not a number"),
        );
        check("a 1 inf", Err("timestamp `inf` is not a number"));
        check("a;k= 1 2", Err("bad tag `k=`: empty value"));
        assert_eq!(decode_line(b"a \xff 1"), Err(ParseError::Utf8));
    }

    #[test]
    fn encode_then_decode() {
        let mut out = String::new();
        encode_line(&mut out, "a.b", 0.1, 5);
        encode_line(&mut out, "c", f64::NEG_INFINITY, 6);
        assert_eq!(out, "a.b 0.1 5\nc -inf 6\n");
    }
}
