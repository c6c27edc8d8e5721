//! The aggregation functions graphite-web's functions take by name (`aggregate(x,'sum')`,
//! `highest(x,2,'max')`, `summarize(x,'1h','last')`…), with its null handling: nulls are
//! skipped, and an all-null input gives null, except `count` (0) and `multiply` (null as soon
//! as one value is null).

use crate::series::NULL;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    Average,
    AvgZero,
    Median,
    Sum,
    Min,
    Max,
    Diff,
    Stddev,
    Count,
    Range,
    Multiply,
    Last,
}

/// Every name `getAggFunc` accepts, in graphite-web's order (used for `/functions` options).
pub const NAMES: [&str; 16] = [
    "average", "avg_zero", "median", "sum", "min", "max", "diff", "stddev", "count", "range",
    "multiply", "last", "rangeOf", "avg", "total", "current",
];

impl AggFunc {
    /// A name or alias; `None` for anything else.
    pub fn parse(name: &str) -> Option<AggFunc> {
        Some(match name {
            "average" | "avg" => AggFunc::Average,
            "avg_zero" => AggFunc::AvgZero,
            "median" => AggFunc::Median,
            "sum" | "total" => AggFunc::Sum,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            "diff" => AggFunc::Diff,
            "stddev" => AggFunc::Stddev,
            "count" => AggFunc::Count,
            "range" | "rangeOf" => AggFunc::Range,
            "multiply" => AggFunc::Multiply,
            "last" | "current" => AggFunc::Last,
            _ => return None,
        })
    }

    /// Applies the function to `values` (`NaN` is null).
    pub fn apply(self, values: &[f64]) -> f64 {
        let mut present = values.iter().copied().filter(|v| !v.is_nan());
        match self {
            AggFunc::Count => return present.count() as f64,
            AggFunc::AvgZero => {
                if values.is_empty() {
                    return NULL;
                }
                let sum: f64 = values
                    .iter()
                    .map(|v| if v.is_nan() { 0.0 } else { *v })
                    .sum();
                return sum / values.len() as f64;
            }
            AggFunc::Multiply => {
                if values.is_empty() || values.iter().any(|v| v.is_nan()) {
                    return NULL;
                }
                return values.iter().product();
            }
            _ => {}
        }
        let Some(first) = present.next() else {
            return NULL;
        };
        match self {
            AggFunc::Sum => present.fold(first, |a, b| a + b),
            AggFunc::Average => {
                let (sum, n) = present.fold((first, 1usize), |(s, n), v| (s + v, n + 1));
                sum / n as f64
            }
            AggFunc::Min => present.fold(first, f64::min),
            AggFunc::Max => present.fold(first, f64::max),
            AggFunc::Diff => present.fold(first, |a, b| a - b),
            AggFunc::Last => present.next_back().unwrap_or(first),
            AggFunc::Range => {
                let (lo, hi) = present.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v)));
                hi - lo
            }
            AggFunc::Median => {
                let mut sorted: Vec<f64> = std::iter::once(first).chain(present).collect();
                sorted.sort_by(f64::total_cmp);
                let mid = sorted.len() / 2;
                if sorted.len().is_multiple_of(2) {
                    (sorted[mid - 1] + sorted[mid]) / 2.0
                } else {
                    sorted[mid]
                }
            }
            AggFunc::Stddev => {
                let all: Vec<f64> = std::iter::once(first).chain(present).collect();
                let avg = all.iter().sum::<f64>() / all.len() as f64;
                let sq: f64 = all.iter().map(|v| (v - avg) * (v - avg)).sum();
                (sq / all.len() as f64).sqrt()
            }
            AggFunc::Count | AggFunc::AvgZero | AggFunc::Multiply => unreachable_agg(),
        }
    }
}

#[inline]
fn unreachable_agg() -> f64 {
    NULL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_are_skipped() {
        let v = [1.0, NULL, 3.0];
        assert_eq!(AggFunc::Sum.apply(&v), 4.0);
        assert_eq!(AggFunc::Average.apply(&v), 2.0);
        assert_eq!(AggFunc::AvgZero.apply(&v), 4.0 / 3.0);
        assert_eq!(AggFunc::Count.apply(&v), 2.0);
        assert!(AggFunc::Multiply.apply(&v).is_nan());
        assert_eq!(AggFunc::Diff.apply(&v), -2.0);
        assert_eq!(AggFunc::Median.apply(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(AggFunc::Sum.apply(&[NULL]).is_nan());
        assert_eq!(AggFunc::Count.apply(&[NULL]), 0.0);
    }
}
