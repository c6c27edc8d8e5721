//! Render output: graphite-web's `json`, `csv` and `raw` formats, and its `maxDataPoints`
//! consolidation (which graphite-web applies to `json` only; the server applies it to `raw`
//! too when a request asks with `consolidate=true`, the compact form the web UI reads).
//!
//! JSON is `[{"target","tags","datapoints":[[value|null, ts], …]}]`, timestamps from `start`
//! every `step × valuesPerPoint`. Unlike graphite-web, infinities are `null` too: its `1e9999`
//! breaks Go's JSON decoder, which Grafana's backend uses.

use std::fmt::Write as _;

use jiff::tz::TimeZone;

use crate::pyfmt::{push_repr_f64, repr_f64};
use crate::series::Series;

/// What the renderer was asked for besides the series.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub max_data_points: Option<usize>,
    pub no_null_points: bool,
    pub pretty: bool,
}

/// `renderViewJson`'s consolidation: series with more points than `max` across the whole
/// range are bucketed, with the start nudged so buckets stay put from one refresh to the next.
pub fn apply_max_data_points(series: &mut [Series], max: usize) {
    let Some(start) = series.iter().map(|s| s.start).min() else {
        return;
    };
    let end = series.iter().map(|s| s.end).max().unwrap_or(start);
    let range = (end - start) as f64;
    for s in series.iter_mut() {
        if max == 1 {
            s.values_per_point = s.values.len().max(1);
            continue;
        }
        let points = range / s.step.max(1) as f64;
        if (max as f64) < points {
            let per = (points / max as f64).ceil() as i64;
            let seconds_per_point = per * s.step;
            let nudge = seconds_per_point + s.start.rem_euclid(s.step)
                - s.start.rem_euclid(seconds_per_point);
            s.start += nudge;
            let lose = (nudge / s.step.max(1)) as usize;
            let drop = lose.saturating_sub(1).min(s.values.len());
            s.values.drain(..drop);
            s.values_per_point = per.max(1) as usize;
        }
    }
}

fn push_number(out: &mut String, v: f64, buffer: &mut zmij::Buffer) {
    if v.is_finite() {
        // The shortest round-trip form, as Python's json writes it.
        out.push_str(buffer.format_finite(v));
    } else {
        out.push_str("null");
    }
}

fn push_str(out: &mut String, s: &str) {
    out.push_str(&serde_json::Value::String(s.to_owned()).to_string());
}

/// The JSON body for `series` (consolidation already applied by the caller if asked).
pub fn json(series: &[Series], options: &Options) -> String {
    let mut out = String::with_capacity(
        64 + series
            .iter()
            .map(|s| s.values.len() / s.values_per_point.max(1) * 24 + s.name.len() + 64)
            .sum::<usize>(),
    );
    out.push('[');
    let mut first = true;
    let any = series.iter().any(|s| !s.values.is_empty());
    for s in series.iter().filter(|_| any) {
        let values = s.consolidated();
        let stride = s.step * s.values_per_point.max(1) as i64;
        let points: Vec<(f64, i64)> = values
            .iter()
            .copied()
            .zip((s.start..=s.end).step_by(stride.max(1) as usize))
            .filter(|(v, _)| !options.no_null_points || v.is_finite())
            .collect();
        if options.no_null_points && points.is_empty() {
            continue;
        }
        if !first {
            out.push_str(", ");
        }
        first = false;
        out.push_str("{\"target\": ");
        push_str(&mut out, &s.name);
        out.push_str(", \"tags\": {");
        for (i, (k, v)) in s.tags.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            push_str(&mut out, k);
            out.push_str(": ");
            push_str(&mut out, v);
        }
        out.push_str("}, \"datapoints\": [");
        let (mut floats, mut ints) = (zmij::Buffer::new(), itoa::Buffer::new());
        for (i, (v, t)) in points.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push('[');
            push_number(&mut out, *v, &mut floats);
            out.push_str(", ");
            out.push_str(ints.format(*t));
            out.push(']');
        }
        out.push_str("]}");
    }
    out.push(']');
    if options.pretty
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&out)
    {
        return serde_json::to_string_pretty(&v).unwrap_or(out);
    }
    out
}

/// A CSV field, quoted as Python's `csv` module quotes it.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// `name,YYYY-MM-DD HH:MM:SS,value` per point, in `tz`; a null is an empty field.
pub fn csv(series: &[Series], tz: &TimeZone) -> String {
    let mut out = String::new();
    for s in series {
        let name = csv_field(&s.name);
        for (i, v) in s.consolidated().iter().enumerate() {
            let t = s.start + i as i64 * s.step;
            let when = jiff::Timestamp::from_second(t)
                .map(|ts| {
                    ts.to_zoned_datetime(tz.clone())
                        .strftime("%Y-%m-%d %H:%M:%S")
                        .to_string()
                })
                .unwrap_or_default();
            let value = if v.is_nan() {
                String::new()
            } else {
                repr_f64(*v)
            };
            let _ = write!(out, "{name},{when},{value}\r\n");
        }
    }
    out
}

/// `name,start,end,step|v1,v2,…` per series, values as Python's `repr` (`None` for null).
pub fn raw(series: &[Series]) -> String {
    let mut out = String::with_capacity(
        series
            .iter()
            .map(|s| s.values.len() / s.values_per_point.max(1) * 8 + s.name.len() + 40)
            .sum(),
    );
    let mut buffer = zmij::Buffer::new();
    for s in series {
        // graphite-web never consolidates raw output; with Sightline's `consolidate` the
        // step written is the consolidated one, so `start + i × step` stays each value's time.
        let step = s.step * s.values_per_point.max(1) as i64;
        let _ = write!(out, "{},{},{},{step}|", s.name, s.start, s.end);
        for (i, v) in s.consolidated().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if v.is_nan() {
                out.push_str("None");
            } else {
                push_repr_f64(&mut out, *v, &mut buffer);
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::NULL;

    #[test]
    fn json_shape() {
        let s = Series::new("a.b", 100, 130, 10, vec![1.0, NULL, f64::INFINITY]);
        assert_eq!(
            json(&[s], &Options::default()),
            r#"[{"target": "a.b", "tags": {"name": "a.b"}, "datapoints": [[1.0, 100], [null, 110], [null, 120]]}]"#
        );
    }

    #[test]
    fn max_data_points_buckets_and_nudges() {
        let mut s = vec![Series::new(
            "a",
            1010,
            1610,
            10,
            (0..60).map(f64::from).collect(),
        )];
        apply_max_data_points(&mut s, 7);
        assert_eq!(s[0].values_per_point, 9);
        assert_eq!(s[0].start % 90, 1080 % 90);
        let c = s[0].consolidated();
        assert_eq!(
            c.len(),
            6,
            "six values dropped by the nudge, then buckets of nine"
        );
    }

    #[test]
    fn raw_and_csv() {
        let s = Series::new("a", 0, 20, 10, vec![1.5, NULL]);
        assert_eq!(raw(std::slice::from_ref(&s)), "a,0,20,10|1.5,None\n");
        let mut wide = vec![Series::new(
            "b",
            0,
            60,
            10,
            vec![1.0, 3.0, NULL, NULL, 5.0, 7.0],
        )];
        apply_max_data_points(&mut wide, 3);
        assert_eq!(
            raw(&wide),
            "b,20,60,20|3.0,5.0,7.0\n",
            "maxDataPoints consolidates raw output too (start nudged as for json), and its step is the bucket's"
        );
        assert_eq!(
            csv(&[s], &TimeZone::UTC),
            "a,1970-01-01 00:00:00,1.5\r\na,1970-01-01 00:00:10,\r\n"
        );
    }
}
