//! A series as graphite-web's functions see it: a name, tags, a regular time grid and values.
//!
//! `values[i]` is the slot at `start + i * step`; a null is `NaN` (graphite-web's `None`), which
//! keeps a series at 8 bytes a point. `end` is carried as given rather than derived, because
//! functions set it independently of the values (graphite-web zips the two when it renders).
//! `values_per_point` is the pending consolidation that `maxDataPoints` asks for; the renderer
//! applies it with [`Series::consolidated`].

use std::collections::BTreeMap;

/// Tag name to value. graphite-web stores every tag value through `str()`.
pub type Tags = BTreeMap<String, String>;

/// The null point.
pub const NULL: f64 = f64::NAN;

/// How the renderer reduces a bucket of points to one (`consolidateBy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consolidation {
    Average,
    AvgZero,
    Sum,
    Max,
    Min,
    First,
    Last,
}

impl Consolidation {
    pub fn parse(name: &str) -> Option<Consolidation> {
        Some(match name {
            "average" | "avg" => Consolidation::Average,
            "avg_zero" => Consolidation::AvgZero,
            "sum" => Consolidation::Sum,
            "max" => Consolidation::Max,
            "min" => Consolidation::Min,
            "first" => Consolidation::First,
            "last" => Consolidation::Last,
            _ => return None,
        })
    }

    /// Reduces one bucket under `xff`; `NaN` when too few points are present.
    pub fn reduce(self, bucket: &[f64], xff: f64) -> f64 {
        let present = bucket.iter().filter(|v| !v.is_nan()).count();
        if present == 0 || (present as f64 / bucket.len() as f64) < xff {
            return NULL;
        }
        let mut values = bucket.iter().copied().filter(|v| !v.is_nan());
        match self {
            Consolidation::Sum => values.sum(),
            Consolidation::Average => values.sum::<f64>() / present as f64,
            Consolidation::AvgZero => values.sum::<f64>() / bucket.len() as f64,
            Consolidation::Max => values.fold(f64::NEG_INFINITY, f64::max),
            Consolidation::Min => values.fold(f64::INFINITY, f64::min),
            Consolidation::First => values.next().unwrap_or(NULL),
            Consolidation::Last => values.next_back().unwrap_or(NULL),
        }
    }
}

/// Graph-only options that styling functions set and the SVG and PNG renderers read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Style {
    pub color: Option<String>,
    pub line_width: Option<f64>,
    pub dashed: Option<f64>,
    pub second_y_axis: bool,
    pub alpha: Option<f64>,
    pub stacked: bool,
    pub invisible: bool,
    pub draw_as_infinite: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub path_expression: String,
    pub tags: Tags,
    pub start: i64,
    pub end: i64,
    pub step: i64,
    pub values: Vec<f64>,
    pub consolidation: Consolidation,
    pub values_per_point: usize,
    pub x_files_factor: f64,
    pub style: Style,
}

impl Series {
    /// A new series; tags come from the name as graphite-web derives them.
    pub fn new(
        name: impl Into<String>,
        start: i64,
        end: i64,
        step: i64,
        values: Vec<f64>,
    ) -> Series {
        let name = name.into();
        Series {
            tags: tags_of(&name),
            path_expression: name.clone(),
            name,
            start,
            end,
            step: step.max(1),
            values,
            consolidation: Consolidation::Average,
            values_per_point: 1,
            x_files_factor: 0.0,
            style: Style::default(),
        }
    }

    /// A copy with other values (graphite-web's `series.copy(name=…, values=…)`): tags, step,
    /// consolidation and xFilesFactor carry over.
    pub fn with_values(&self, name: impl Into<String>, values: Vec<f64>) -> Series {
        Series {
            name: name.into(),
            path_expression: self.path_expression.clone(),
            tags: self.tags.clone(),
            start: self.start,
            end: self.end,
            step: self.step,
            values,
            consolidation: self.consolidation,
            values_per_point: 1,
            x_files_factor: self.x_files_factor,
            style: Style::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Values with the pending consolidation applied (graphite-web's iteration of a series).
    pub fn consolidated(&self) -> Vec<f64> {
        consolidate(
            &self.values,
            self.values_per_point,
            self.consolidation,
            self.x_files_factor,
        )
    }

    /// Sets a tag the way graphite-web's `Tags` does, through `str()`.
    pub fn tag(&mut self, key: &str, value: impl Into<String>) {
        self.tags.insert(key.to_owned(), value.into());
    }

    /// The non-null values.
    pub fn present(&self) -> impl Iterator<Item = f64> + '_ {
        self.values.iter().copied().filter(|v| !v.is_nan())
    }
}

/// Buckets of `per` points reduced with `func` under `xff`; a short last bucket is reduced as
/// it is (graphite-web's consolidating iterator).
pub fn consolidate(values: &[f64], per: usize, func: Consolidation, xff: f64) -> Vec<f64> {
    if per <= 1 {
        return values.to_vec();
    }
    values
        .chunks(per)
        .map(|chunk| {
            // One pass for the sums; graphite-web judges a short last bucket against the full
            // bucket size.
            let (mut present, mut sum) = (0usize, 0.0);
            for &v in chunk {
                if !v.is_nan() {
                    present += 1;
                    sum += v;
                }
            }
            if present == 0 || (present as f64 / per as f64) < xff {
                return NULL;
            }
            match func {
                Consolidation::Sum => sum,
                Consolidation::Average => sum / present as f64,
                Consolidation::AvgZero => sum / chunk.len() as f64,
                _ => func.reduce(chunk, 0.0),
            }
        })
        .collect()
}

/// Tags for a name: `{name}` for a function-wrapped name, otherwise the carbon tagged form
/// `name;k=v` parsed (falling back to `{name}` when it does not parse).
pub fn tags_of(name: &str) -> Tags {
    let mut tags = Tags::new();
    if !looks_like_call(name)
        && let Some(parsed) = parse_tagged(name)
    {
        return parsed;
    }
    tags.insert("name".into(), name.to_owned());
    tags
}

/// `^[a-z]+[(].+[)]$`, case-insensitive.
fn looks_like_call(name: &str) -> bool {
    let letters = name.bytes().take_while(u8::is_ascii_alphabetic).count();
    letters > 0
        && name.len() > letters + 2
        && name.as_bytes()[letters] == b'('
        && name.ends_with(')')
}

/// Parses `metric;tag=value;…` as carbon does; `None` when it is not a valid tagged name.
pub fn parse_tagged(name: &str) -> Option<Tags> {
    let mut parts = name.split(';');
    let metric = parts.next()?;
    if metric.is_empty() {
        return None;
    }
    let mut tags = Tags::new();
    for part in parts {
        let (k, v) = part.split_once('=')?;
        if k.is_empty() || v.is_empty() || v.starts_with('~') || k.contains('!') {
            return None;
        }
        tags.insert(k.to_owned(), v.to_owned());
    }
    tags.insert("name".into(), metric.to_owned());
    Some(tags)
}

/// The canonical tagged name for `tags`: `name` then the other tags sorted.
pub fn format_tagged(tags: &Tags) -> String {
    let mut out = tags.get("name").cloned().unwrap_or_default();
    for (k, v) in tags {
        if k != "name" {
            out.push(';');
            out.push_str(k);
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_from_names() {
        assert_eq!(tags_of("a.b")["name"], "a.b");
        let t = tags_of("disk.used;dc=east;server=web1");
        assert_eq!(t["name"], "disk.used");
        assert_eq!(t["dc"], "east");
        assert_eq!(tags_of("sumSeries(a;b=c)").len(), 1);
        assert_eq!(format_tagged(&t), "disk.used;dc=east;server=web1");
    }

    #[test]
    fn consolidation_buckets() {
        let v = [1.0, NULL, 3.0, 4.0, 5.0];
        assert_eq!(consolidate(&v, 2, Consolidation::Sum, 0.0)[..2], [1.0, 7.0]);
        assert_eq!(consolidate(&v, 2, Consolidation::Sum, 0.0)[2], 5.0);
        assert!(consolidate(&v, 2, Consolidation::Sum, 0.6)[0].is_nan());
        assert_eq!(consolidate(&v, 2, Consolidation::AvgZero, 0.0)[0], 0.5);
    }
}
