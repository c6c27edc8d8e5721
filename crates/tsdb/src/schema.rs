//! Retention tiers and rollup rules, as carbon's `storage-schemas.conf` and
//! `storage-aggregation.conf` define them.
//!
//! A [`Schema`] is a list of [`Archive`]s (`10s:6h,1m:30d,10m:5y`), finest first, checked with
//! whisper's rules: precisions strictly increase and each divides the next; retentions strictly
//! increase; each archive holds at least one interval of the next. An [`Aggregation`] is an
//! xFilesFactor and a method. [`Rules`] holds the ordered `pattern -> schema` and
//! `pattern -> aggregation` lists; the first pattern found anywhere in the name wins (Python's
//! `re.search`), as carbon does. Carbon's own files load with [`parse_carbon_schemas`] and
//! [`parse_carbon_aggregation`].

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One tier: a point every `step` seconds, `points` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Archive {
    pub step: u32,
    pub points: u32,
}

impl Archive {
    /// How far back this tier reaches, in seconds.
    pub fn retention(self) -> i64 {
        i64::from(self.step) * i64::from(self.points)
    }
}

/// The tiers of a series, finest first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Schema {
    archives: Vec<Archive>,
}

impl Schema {
    /// Parses `10s:6h,1m:30d,10m:5y` and checks it with whisper's rules.
    pub fn parse(text: &str) -> Result<Schema, String> {
        let mut archives = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            archives.push(parse_archive(part)?);
        }
        Schema::new(archives)
    }

    pub fn new(mut archives: Vec<Archive>) -> Result<Schema, String> {
        if archives.is_empty() {
            return Err("no archives".into());
        }
        archives.sort_by_key(|a| a.step);
        for pair in archives.windows(2) {
            let (finer, coarser) = (pair[0], pair[1]);
            if finer.step == coarser.step {
                return Err(format!(
                    "two archives with the same precision {}s",
                    finer.step
                ));
            }
            if coarser.step % finer.step != 0 {
                return Err(format!(
                    "precision {}s does not divide {}s",
                    finer.step, coarser.step
                ));
            }
            if coarser.retention() <= finer.retention() {
                return Err(format!(
                    "the {}s archive must reach further back than the {}s archive",
                    coarser.step, finer.step
                ));
            }
            if finer.points < coarser.step / finer.step {
                return Err(format!(
                    "the {}s archive holds fewer points than one {}s interval",
                    finer.step, coarser.step
                ));
            }
        }
        Ok(Schema { archives })
    }

    pub fn archives(&self) -> &[Archive] {
        &self.archives
    }

    /// The longest retention, in seconds.
    pub fn max_retention(&self) -> i64 {
        self.archives.last().map_or(0, |a| a.retention())
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.archives.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}:{}", a.step, a.points)?;
        }
        Ok(())
    }
}

/// Seconds per unit, accepting carbon's letters and whisper's spelled-out prefixes.
fn unit_seconds(unit: &str) -> Option<u32> {
    let table: [(&str, &[&str], u32); 6] = [
        ("s", &["s", "sec", "secs", "second", "seconds"], 1),
        ("m", &["m", "min", "mins", "minute", "minutes"], 60),
        ("h", &["h", "hour", "hours"], 3_600),
        ("d", &["d", "day", "days"], 86_400),
        ("w", &["w", "week", "weeks"], 604_800),
        ("y", &["y", "year", "years"], 31_536_000),
    ];
    table
        .iter()
        .find(|(_, names, _)| names.contains(&unit))
        .map(|(_, _, s)| *s)
}

/// `<n>` or `<n><unit>`, as seconds.
fn parse_duration(text: &str) -> Result<u32, String> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let number: u32 = text[..digits]
        .parse()
        .map_err(|_| format!("`{text}` is not a duration"))?;
    let unit = &text[digits..];
    if unit.is_empty() {
        return Ok(number);
    }
    let seconds = unit_seconds(unit).ok_or_else(|| format!("unknown unit `{unit}` in `{text}`"))?;
    number
        .checked_mul(seconds)
        .ok_or_else(|| format!("`{text}` is too long"))
}

fn parse_archive(text: &str) -> Result<Archive, String> {
    let (precision, length) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}` is not precision:retention"))?;
    let step = parse_duration(precision.trim())?;
    if step == 0 {
        return Err(format!("precision in `{text}` is zero"));
    }
    let length = length.trim();
    let points = if length.bytes().all(|b| b.is_ascii_digit()) {
        length
            .parse()
            .map_err(|_| format!("`{length}` is not a number of points"))?
    } else {
        parse_duration(length)? / step
    };
    if points == 0 {
        return Err(format!("`{text}` keeps no points"));
    }
    Ok(Archive { step, points })
}

/// How points roll up into coarser tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Average,
    Sum,
    Last,
    Max,
    Min,
    AvgZero,
    Absmax,
    Absmin,
}

impl Method {
    pub fn parse(text: &str) -> Option<Method> {
        Some(match text {
            "average" | "avg" => Method::Average,
            "sum" => Method::Sum,
            "last" => Method::Last,
            "max" => Method::Max,
            "min" => Method::Min,
            "avg_zero" => Method::AvgZero,
            "absmax" => Method::Absmax,
            "absmin" => Method::Absmin,
            _ => return None,
        })
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Method> {
        const ALL: [Method; 8] = [
            Method::Average,
            Method::Sum,
            Method::Last,
            Method::Max,
            Method::Min,
            Method::AvgZero,
            Method::Absmax,
            Method::Absmin,
        ];
        ALL.get(usize::from(code)).copied()
    }

    /// Whisper's `aggregate`: `slots` are the finer tier's values in one coarser interval, in
    /// time order. `None` when no slot is known.
    pub fn aggregate<T: Slot>(self, slots: &[T]) -> Option<f64> {
        let mut known = slots.iter().filter_map(|v| v.value());
        let first = known.next()?;
        let known = std::iter::once(first).chain(known);
        Some(match self {
            Method::Average => {
                let (sum, n) = known.fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
                sum / f64::from(n)
            }
            Method::Sum => known.sum(),
            Method::Last => known.last().unwrap_or(first),
            Method::Max => known.fold(f64::NEG_INFINITY, f64::max),
            Method::Min => known.fold(f64::INFINITY, f64::min),
            Method::AvgZero => {
                slots.iter().map(|v| v.value().unwrap_or(0.0)).sum::<f64>() / slots.len() as f64
            }
            // Python's max(key=abs) keeps the first of equal magnitudes.
            Method::Absmax => {
                known.fold(first, |best, v| if v.abs() > best.abs() { v } else { best })
            }
            Method::Absmin => {
                known.fold(first, |best, v| if v.abs() < best.abs() { v } else { best })
            }
        })
    }
}

/// One slot of a read: `Option<f64>` (whisper's `None`), or `f64` with `NaN` for none (the
/// render path's form, half the size).
pub trait Slot: Copy {
    const EMPTY: Self;
    fn value(self) -> Option<f64>;
    fn of(value: f64) -> Self;
}

impl Slot for Option<f64> {
    const EMPTY: Self = None;
    fn value(self) -> Option<f64> {
        self
    }
    fn of(value: f64) -> Self {
        Some(value)
    }
}

impl Slot for f64 {
    const EMPTY: Self = f64::NAN;
    fn value(self) -> Option<f64> {
        (!self.is_nan()).then_some(self)
    }
    fn of(value: f64) -> Self {
        value
    }
}

/// xFilesFactor and method: when and how a coarser slot is computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aggregation {
    pub x_files_factor: f32,
    pub method: Method,
}

impl Aggregation {
    /// The coarser value for one interval, if enough of its finer slots are known.
    pub fn roll<T: Slot>(self, slots: &[T]) -> Option<f64> {
        let known = slots.iter().filter(|v| v.value().is_some()).count();
        if known == 0 || (known as f64 / slots.len() as f64) < f64::from(self.x_files_factor) {
            return None;
        }
        self.method.aggregate(slots)
    }
}

/// One `pattern -> T` rule.
#[derive(Debug, Clone)]
pub struct Rule<T> {
    pub name: String,
    pub pattern: Regex,
    pub value: T,
}

/// The ordered rules that give each new series its schema and aggregation.
#[derive(Debug, Clone)]
pub struct Rules {
    pub schemas: Vec<Rule<Schema>>,
    pub aggregations: Vec<Rule<Aggregation>>,
    pub default_schema: Schema,
    pub default_aggregation: Aggregation,
}

impl Rules {
    /// The schema and aggregation of a new series.
    pub fn resolve(&self, name: &str) -> (Schema, Aggregation) {
        let schema = self
            .schemas
            .iter()
            .find(|r| r.pattern.is_match(name))
            .map(|r| &r.value);
        let aggregation = self
            .aggregations
            .iter()
            .find(|r| r.pattern.is_match(name))
            .map(|r| r.value);
        (
            schema.unwrap_or(&self.default_schema).clone(),
            aggregation.unwrap_or(self.default_aggregation),
        )
    }
}

/// Compiles a rule pattern, naming the rule if it is not a valid regex.
pub fn compile_pattern(rule: &str, pattern: &str) -> Result<Regex> {
    Regex::new(pattern)
        .map_err(|e| Error::Config(format!("rule `{rule}`: bad pattern `{pattern}`: {e}")))
}

/// One `[section]` of a carbon INI file, with its keys lowercased as Python's ConfigParser does.
#[derive(Debug, Default)]
struct Section {
    name: String,
    keys: Vec<(String, String)>,
}

impl Section {
    fn get(&self, key: &str) -> Option<&str> {
        self.keys
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_ini(text: &str, file: &str) -> Result<Vec<Section>> {
    let mut sections: Vec<Section> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push(Section {
                name: name.trim().to_owned(),
                keys: Vec::new(),
            });
            continue;
        }
        let Some((key, value)) = line.split_once(['=', ':']) else {
            return Err(Error::Config(format!(
                "{file} line {}: expected `key = value`",
                n + 1
            )));
        };
        let Some(section) = sections.last_mut() else {
            return Err(Error::Config(format!(
                "{file} line {}: a key before any [section]",
                n + 1
            )));
        };
        section
            .keys
            .push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    Ok(sections)
}

/// Rules from a carbon `storage-schemas.conf`. Sections without a pattern or retentions are
/// skipped, as carbon skips them.
pub fn parse_carbon_schemas(text: &str, file: &str) -> Result<Vec<Rule<Schema>>> {
    let mut rules = Vec::new();
    for section in parse_ini(text, file)? {
        let (Some(pattern), Some(retentions)) = (section.get("pattern"), section.get("retentions"))
        else {
            continue;
        };
        let schema = Schema::parse(retentions).map_err(|e| {
            Error::Config(format!(
                "{file} [{}]: retentions `{retentions}`: {e}",
                section.name
            ))
        })?;
        rules.push(Rule {
            pattern: compile_pattern(&section.name, pattern)?,
            name: section.name,
            value: schema,
        });
    }
    Ok(rules)
}

/// Rules from a carbon `storage-aggregation.conf`; a missing factor or method takes whisper's
/// default (0.5, average).
pub fn parse_carbon_aggregation(text: &str, file: &str) -> Result<Vec<Rule<Aggregation>>> {
    let mut rules = Vec::new();
    for section in parse_ini(text, file)? {
        let Some(pattern) = section.get("pattern") else {
            continue;
        };
        let bad = |what: &str| Error::Config(format!("{file} [{}]: {what}", section.name));
        let x_files_factor = match section.get("xfilesfactor") {
            Some(v) => v
                .parse::<f32>()
                .ok()
                .filter(|x| (0.0..=1.0).contains(x))
                .ok_or_else(|| bad("xFilesFactor must be between 0 and 1"))?,
            None => 0.5,
        };
        let method = match section.get("aggregationmethod") {
            Some(m) => {
                Method::parse(m).ok_or_else(|| bad(&format!("unknown aggregationMethod `{m}`")))?
            }
            None => Method::Average,
        };
        let value = Aggregation {
            x_files_factor,
            method,
        };
        rules.push(Rule {
            pattern: compile_pattern(&section.name, pattern)?,
            name: section.name,
            value,
        });
    }
    Ok(rules)
}

#[cfg(test)]
mod tests;
