//! Times on Sightline's native API (`from`, `until`): one grammar with the CLI and the config.
//!
//! A time is `now`, an RFC 3339 time (`2026-11-25T00:00:00Z`), epoch seconds, or `-` and a
//! duration in the one grammar (`model::HumanDuration`: `-30m`, `-1h30m`, `-7d`). Anything else
//! is read as graphite-web's `from=` reads it (`-1mon`, `midnight`, `yesterday`, `20261125`),
//! so a Graphite user's habits work here too. The Graphite API itself keeps graphite-web's
//! grammar alone, where a bare `m` is an error.

use model::HumanDuration;
use serde_json::Value;

/// A native time parameter in nanoseconds, `now_ns` being the present.
pub fn parse_ns(text: &str, now_ns: i64) -> Result<i64, String> {
    let text = text.trim();
    if text == "now" {
        return Ok(now_ns);
    }
    if let Some(d) = text
        .strip_prefix('-')
        .and_then(|d| d.parse::<HumanDuration>().ok())
    {
        return Ok(now_ns.saturating_sub(d.as_nanos()));
    }
    if text.contains('T')
        && let Some(ns) = wire::jsonlog::timestamp_ns(&Value::String(text.to_owned()))
    {
        return Ok(ns);
    }
    let now = now_ns.div_euclid(1_000_000_000);
    let seconds = graphite::attime::parse_at_time(text, &jiff::tz::TimeZone::UTC, now).map_err(
        |e| {
            format!(
                "invalid time `{text}`: {e}; use `now`, `-30m`, `-24h`, `-7d`, epoch seconds or an RFC 3339 time"
            )
        },
    )?;
    Ok(seconds.saturating_mul(1_000_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_618_800_000_000_000;
    const S: i64 = 1_000_000_000;

    #[test]
    fn one_grammar_with_the_cli_and_the_config() {
        assert_eq!(parse_ns("now", NOW), Ok(NOW));
        assert_eq!(parse_ns("-30m", NOW), Ok(NOW - 1800 * S));
        assert_eq!(parse_ns("-30min", NOW), Ok(NOW - 1800 * S));
        assert_eq!(parse_ns("-1h30m", NOW), Ok(NOW - 5400 * S));
        assert_eq!(parse_ns("-7d", NOW), Ok(NOW - 7 * 86_400 * S));
        assert_eq!(parse_ns("1795618800", NOW), Ok(NOW));
        assert_eq!(parse_ns("2026-11-25T15:00:00Z", NOW), Ok(NOW));
        // graphite-web's forms still read.
        assert_eq!(parse_ns("-1mon", NOW), Ok(NOW - 30 * 86_400 * S));
        assert!(parse_ns("midnight", NOW).is_ok());
        assert!(parse_ns("soon", NOW).unwrap_err().contains("-30m"));
    }
}
