//! Human-readable durations and byte sizes, as configuration writes them.
//!
//! [`HumanDuration`] reads `500ms`, `10s` (or `10sec`), `5m` (or `5min`), `1h`, `7d`, `2w`, and
//! sums of them such as `1h30m`: the one duration grammar of the CLI, the config and the
//! native API. [`ByteSize`] reads a bare integer of bytes or a number with `B`, `KB`, `KiB`,
//! `MB`, `MiB`, `GB` or `GiB`. Both serialise back to the shortest exact form, so a value written
//! by us reads back equal.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a duration or size string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitError(String);

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnitError {}

/// A duration written as `10s`, `5m`, `1h30m` and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration(Duration);

/// The one duration grammar of the CLI, the config and the native API (Graphite's `from=`
/// keeps graphite-web's own, where a bare `m` is an error). Longer units first: the first
/// prefix that matches is taken.
const DURATION_UNITS: &[(&str, u64)] = &[
    ("ms", 1),
    ("sec", 1_000),
    ("s", 1_000),
    ("min", 60_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 604_800_000),
];

impl HumanDuration {
    pub const fn from_secs(secs: u64) -> Self {
        HumanDuration(Duration::from_secs(secs))
    }

    pub const fn from_millis(millis: u64) -> Self {
        HumanDuration(Duration::from_millis(millis))
    }

    pub const fn get(self) -> Duration {
        self.0
    }

    /// The duration in nanoseconds, saturating.
    pub fn as_nanos(self) -> i64 {
        i64::try_from(self.0.as_nanos()).unwrap_or(i64::MAX)
    }
}

impl From<HumanDuration> for Duration {
    fn from(d: HumanDuration) -> Duration {
        d.0
    }
}

impl FromStr for HumanDuration {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, UnitError> {
        let text = s.trim();
        if text.is_empty() {
            return Err(UnitError(
                "empty duration; expected something like `10s` or `5m`".into(),
            ));
        }
        let mut rest = text;
        let mut millis: u64 = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad_duration(text));
            }
            let number: u64 = rest[..digits].parse().map_err(|_| bad_duration(text))?;
            rest = &rest[digits..];
            let Some((unit, factor)) = DURATION_UNITS.iter().find(|(u, _)| rest.starts_with(u))
            else {
                return Err(bad_duration(text));
            };
            rest = &rest[unit.len()..];
            let part = number
                .checked_mul(*factor)
                .ok_or_else(|| bad_duration(text))?;
            millis = millis.checked_add(part).ok_or_else(|| bad_duration(text))?;
        }
        Ok(HumanDuration(Duration::from_millis(millis)))
    }
}

fn bad_duration(text: &str) -> UnitError {
    UnitError(format!(
        "invalid duration `{text}`; expected a number and a unit (ms, s, m, h, d, w), like `10s`"
    ))
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        if millis == 0 {
            return f.write_str("0s");
        }
        let canonical = [("w", 604_800_000u128), ("d", 86_400_000), ("h", 3_600_000)]
            .into_iter()
            .chain([("m", 60_000), ("s", 1_000), ("ms", 1)]);
        for (unit, factor) in canonical {
            if millis.is_multiple_of(factor) {
                return write!(f, "{}{unit}", millis / factor);
            }
        }
        unreachable!("every duration is a whole number of milliseconds")
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A size in bytes written as `65536`, `64KiB`, `16MiB` and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(u64);

const SIZE_UNITS: &[(&str, u64)] = &[
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
    ("KB", 1_000),
    ("kB", 1_000),
    ("B", 1),
];

impl ByteSize {
    pub const fn bytes(n: u64) -> Self {
        ByteSize(n)
    }

    pub const fn kib(n: u64) -> Self {
        ByteSize(n * 1024)
    }

    pub const fn mib(n: u64) -> Self {
        ByteSize(n * 1024 * 1024)
    }

    pub const fn get(self) -> u64 {
        self.0
    }

    /// The size as a `usize`, saturating on 32-bit targets.
    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

impl FromStr for ByteSize {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, UnitError> {
        let text = s.trim();
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        let bad = || {
            UnitError(format!(
                "invalid size `{text}`; expected bytes or a number with B, KiB, MiB or GiB, like `16MiB`"
            ))
        };
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = text[..digits].parse().map_err(|_| bad())?;
        let unit = text[digits..].trim_start();
        if unit.is_empty() {
            return Ok(ByteSize(number));
        }
        let (_, factor) = SIZE_UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .ok_or_else(bad)?;
        number.checked_mul(*factor).map(ByteSize).ok_or_else(bad)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, factor) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if self.0 != 0 && self.0.is_multiple_of(factor) {
                return write!(f, "{}{unit}", self.0 / factor);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(ByteSize(n)),
            Raw::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_canonically() {
        let cases = [
            ("10s", 10_000, "10s"),
            ("5m", 300_000, "5m"),
            ("5min", 300_000, "5m"),
            ("1h30m", 5_400_000, "90m"),
            ("7d", 604_800_000, "1w"),
            ("250ms", 250, "250ms"),
            ("0s", 0, "0s"),
        ];
        for (input, millis, printed) in cases {
            let d: HumanDuration = input.parse().unwrap();
            assert_eq!(d.get().as_millis(), millis, "{input}");
            assert_eq!(d.to_string(), printed, "{input}");
            assert_eq!(printed.parse::<HumanDuration>().unwrap(), d);
        }
    }

    #[test]
    fn bad_durations_explain_themselves() {
        for input in ["", "10", "s", "10x", "-5s", "99999999999999999999s"] {
            let err = input.parse::<HumanDuration>().unwrap_err();
            assert!(err.to_string().contains("duration"), "{input}: {err}");
        }
    }

    #[test]
    fn sizes_parse_and_print_canonically() {
        let cases = [
            ("65536", 65_536, "64KiB"),
            ("16MiB", 16 << 20, "16MiB"),
            ("1 GiB", 1 << 30, "1GiB"),
            ("10KB", 10_000, "10000B"),
            ("0", 0, "0B"),
        ];
        for (input, bytes, printed) in cases {
            let s: ByteSize = input.parse().unwrap();
            assert_eq!(s.get(), bytes, "{input}");
            assert_eq!(s.to_string(), printed, "{input}");
        }
        assert!("12 parsecs".parse::<ByteSize>().is_err());
    }

    #[test]
    fn sizes_deserialize_from_numbers_and_strings() {
        let n: ByteSize = serde_json::from_str("1024").unwrap();
        assert_eq!(n, ByteSize::kib(1));
        let s: ByteSize = serde_json::from_str("\"2MiB\"").unwrap();
        assert_eq!(s, ByteSize::mib(2));
    }
}
