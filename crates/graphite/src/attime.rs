//! Graphite's time expressions: `from`, `until` and `now` of a render, and the interval strings
//! functions take (`'5min'`, `'-1d'`).
//!
//! The rules are graphite-web's `parseATTime`: the text is lower-cased and stripped of `_`, `,`
//! and spaces; all digits is epoch seconds (unless it reads as `YYYYMMDD`); otherwise it is a
//! reference (`now`, `HH:MM`, `Xam`/`Xpm`, `noon`, `midnight`, `teatime`, then `today`,
//! `yesterday`, `tomorrow`, `MM/DD/YY[YY]`, `YYYYMMDD`, a month name and day, or a weekday)
//! followed by an offset such as `-1h30min`. Offset units go by prefix: `s`, `min`, `h`, `d`,
//! `w`, `mon` (30 days), `y` (365 days); a bare `m` is an error, as in graphite-web. References
//! are read in the request's time zone.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, ZonedDateTime};

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Parses a time expression into epoch seconds, relative to `now` (epoch seconds) in `tz`.
pub fn parse_at_time(text: &str, tz: &TimeZone, now: i64) -> Result<i64, String> {
    let s: String = text
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, '_' | ',' | ' '))
        .collect();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && !looks_like_yyyymmdd(&s) {
        return s
            .parse::<i64>()
            .map_err(|_| format!("`{text}` is too large for a timestamp"));
    }
    let (reference, offset) = match s.find(['+', '-']) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s.as_str(), ""),
    };
    let base = parse_reference(reference, tz, now).map_err(|e| format!("`{text}`: {e}"))?;
    let delta = parse_offset(offset).map_err(|e| format!("`{text}`: {e}"))?;
    base.checked_add(delta)
        .ok_or_else(|| format!("`{text}` is out of range"))
}

fn looks_like_yyyymmdd(s: &str) -> bool {
    if s.len() != 8 {
        return false;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
    n(0..4) > 1900 && n(4..6) < 13 && n(6..8) < 32
}

/// An offset such as `-1h30min`, `+2d` or `5min` (positive), in seconds.
pub fn parse_offset(offset: &str) -> Result<i64, String> {
    if offset.is_empty() {
        return Ok(0);
    }
    let (sign, mut rest) = match offset.as_bytes()[0] {
        b'+' => (1, &offset[1..]),
        b'-' => (-1, &offset[1..]),
        b if b.is_ascii_digit() => (1, offset),
        _ => return Err(format!("invalid offset `{offset}`")),
    };
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let num: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid offset `{offset}`: expected a number"))?;
        rest = &rest[digits..];
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = unit_seconds(&rest[..letters])?;
        rest = &rest[letters..];
        total = num
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("offset `{offset}` is too large"))?;
    }
    Ok(sign * total)
}

/// Seconds in one offset unit, by graphite-web's prefixes.
pub fn unit_seconds(unit: &str) -> Result<i64, String> {
    Ok(if unit.starts_with('s') {
        1
    } else if unit.starts_with("min") {
        60
    } else if unit.starts_with('h') {
        3_600
    } else if unit.starts_with('d') {
        86_400
    } else if unit.starts_with('w') {
        604_800
    } else if unit.starts_with("mon") {
        30 * 86_400
    } else if unit.starts_with('y') {
        365 * 86_400
    } else {
        return Err(format!(
            "invalid offset unit `{unit}` (use s, min, h, d, w, mon or y)"
        ));
    })
}

fn parse_reference(reference: &str, tz: &TimeZone, now: i64) -> Result<i64, String> {
    if reference.is_empty() || reference == "now" {
        return Ok(now);
    }
    let now_local = Timestamp::from_second(now)
        .map_err(|e| e.to_string())?
        .to_zoned_datetime(tz.clone());
    let (hour, minute, rest) = time_of_day(reference)?;
    let mut date = now_local.date();
    match rest {
        "" | "today" => {}
        "yesterday" => date = date.yesterday().map_err(|e| e.to_string())?,
        "tomorrow" => date = date.tomorrow().map_err(|e| e.to_string())?,
        r if r.matches('/').count() == 2 => date = slash_date(r)?,
        r if r.len() == 8 && r.bytes().all(|b| b.is_ascii_digit()) => {
            let n = |range: std::ops::Range<usize>| r[range].parse::<i32>().unwrap_or(0);
            date = civil_date(n(0..4), n(4..6), n(6..8))?;
        }
        r if r.get(..3).is_some_and(|m| MONTHS.contains(&m)) => {
            date = month_day(r, date.year())?;
        }
        r if r.get(..3).is_some_and(|d| WEEKDAYS.contains(&d)) => {
            date = last_weekday(&now_local, &r[..3])?;
        }
        _ => return Err(format!("unknown day reference `{reference}`")),
    }
    let local = DateTime::from_parts(date, jiff::civil::time(hour as i8, minute as i8, 0, 0));
    let zoned: ZonedDateTime = local
        .to_zoned_datetime(tz.clone())
        .map_err(|e| e.to_string())?;
    Ok(zoned.timestamp().as_second())
}

/// Reads a leading `HH:MM[am|pm]`, `Xam`, `Xpm`, `noon`, `midnight` or `teatime`.
fn time_of_day(reference: &str) -> Result<(u32, u32, &str), String> {
    let bad = || format!("invalid time of day in `{reference}`");
    let (mut hour, mut minute, mut rest) = (0u32, 0u32, reference);
    if let Some(i) = rest.find(':').filter(|i| (1..3).contains(i)) {
        hour = rest[..i].parse().map_err(|_| bad())?;
        let end = (i + 3).min(rest.len());
        minute = rest
            .get(i + 1..end)
            .and_then(|m| m.parse().ok())
            .ok_or_else(bad)?;
        rest = &rest[end..];
        if let Some(r) = rest.strip_prefix("am") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("pm") {
            hour = (hour + 12) % 24;
            rest = r;
        }
    }
    if let Some(i) = rest.find("am").filter(|i| (1..3).contains(i)) {
        hour = rest[..i].parse().map_err(|_| bad())?;
        rest = &rest[i + 2..];
    }
    if let Some(i) = rest.find("pm").filter(|i| (1..3).contains(i)) {
        hour = (rest[..i].parse::<u32>().map_err(|_| bad())? + 12) % 24;
        rest = &rest[i + 2..];
    }
    for (word, h) in [("noon", 12), ("midnight", 0), ("teatime", 16)] {
        if let Some(r) = rest.strip_prefix(word) {
            (hour, minute, rest) = (h, 0, r);
            break;
        }
    }
    if hour > 23 || minute > 59 {
        return Err(bad());
    }
    Ok((hour, minute, rest))
}

fn civil_date(year: i32, month: i32, day: i32) -> Result<Date, String> {
    let (Ok(y), Ok(m), Ok(d)) = (i16::try_from(year), i8::try_from(month), i8::try_from(day))
    else {
        return Err(format!("invalid date {year}-{month}-{day}"));
    };
    Date::new(y, m, d).map_err(|e| format!("invalid date: {e}"))
}

/// `MM/DD/YY` or `MM/DD/YYYY`; two-digit years are 1970–2069.
fn slash_date(text: &str) -> Result<Date, String> {
    let parts: Vec<i32> = text
        .split('/')
        .map(|p| {
            p.parse::<i32>()
                .map_err(|_| format!("invalid date `{text}`"))
        })
        .collect::<Result<_, _>>()?;
    let (m, d, mut y) = (parts[0], parts[1], parts[2]);
    if y < 1900 {
        y += 1900;
    }
    if y < 1970 {
        y += 100;
    }
    civil_date(y, m, d)
}

fn month_day(text: &str, year: i16) -> Result<Date, String> {
    let month = MONTHS.iter().position(|m| text.starts_with(m)).unwrap_or(0) as i32 + 1;
    let tail = text.as_bytes();
    let day = if text.len() >= 2 && tail[tail.len() - 2..].iter().all(u8::is_ascii_digit) {
        &text[text.len() - 2..]
    } else if tail.last().is_some_and(u8::is_ascii_digit) {
        &text[text.len() - 1..]
    } else {
        return Err("day of month required after month name".into());
    };
    civil_date(i32::from(year), month, day.parse().unwrap_or(0))
}

/// The most recent `weekday`, today included.
fn last_weekday(now: &ZonedDateTime, weekday: &str) -> Result<Date, String> {
    let today = now.weekday().to_sunday_zero_offset();
    let wanted = WEEKDAYS.iter().position(|w| *w == weekday).unwrap_or(0) as i8;
    let back = (today - wanted).rem_euclid(7);
    now.date()
        .checked_sub(i64::from(back).days())
        .map_err(|e| e.to_string())
}

/// The time zone named `name` (IANA), as graphite-web's `tz` parameter; unknown names fall back
/// to UTC, as graphite-web falls back to its default zone.
pub fn time_zone(name: Option<&str>) -> TimeZone {
    name.and_then(|n| jiff::tz::db().get(n).ok())
        .unwrap_or(TimeZone::UTC)
}

#[cfg(test)]
mod tests;
