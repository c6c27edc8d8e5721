//! Percentile estimates from a histogram's bucket counts over one interval.
//!
//! Buckets are listed in ascending order of the values they hold. The estimate of quantile
//! `q` finds the bucket holding rank `q × total` and interpolates linearly between its ends,
//! first bounded by the point's `min` and `max` when known. An open first bucket without a
//! `min` starts at 0 when its upper bound is positive (Prometheus' assumption), else it is
//! its upper bound; an open last bucket without a `max` is its lower bound.

use super::Buckets;

/// One bucket: the values in `(lower, upper]` (or `[lower, upper)` below zero) and how many
/// of them the interval counted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Bucket {
    pub(super) lower: f64,
    pub(super) upper: f64,
    pub(super) count: u64,
}

/// An explicit-bounds histogram's buckets, every one of them: `(-inf, b0]`, `(b0, b1]`, …,
/// `(bn, +inf)`. `counts` has one more element than `bounds`, or both are empty.
pub(super) fn explicit(bounds: &[f64], counts: &[u64]) -> Vec<Bucket> {
    let mut out = Vec::with_capacity(counts.len());
    for (i, &count) in counts.iter().enumerate() {
        out.push(Bucket {
            lower: if i == 0 {
                f64::NEG_INFINITY
            } else {
                bounds[i - 1]
            },
            upper: bounds.get(i).copied().unwrap_or(f64::INFINITY),
            count,
        });
    }
    out
}

/// An exponential histogram's non-empty buckets: with `base = 2^(2^-scale)`, positive index
/// `i` holds `(base^i, base^(i+1)]`, negative index `i` holds `[-base^(i+1), -base^i)`, and
/// the zero count sits at 0.
pub(super) fn exponential(
    scale: i32,
    zero_count: u64,
    positive: &Buckets,
    negative: &Buckets,
) -> Vec<Bucket> {
    let factor = (-f64::from(scale)).exp2();
    let edge = |index: i64| (index as f64 * factor).exp2();
    let index = |b: &Buckets, k: usize| i64::from(b.offset) + k as i64;
    let mut out = Vec::new();
    for (k, &count) in negative.bucket_counts.iter().enumerate().rev() {
        let i = index(negative, k);
        out.push(Bucket {
            lower: -edge(i + 1),
            upper: -edge(i),
            count,
        });
    }
    out.push(Bucket {
        lower: 0.0,
        upper: 0.0,
        count: zero_count,
    });
    for (k, &count) in positive.bucket_counts.iter().enumerate() {
        let i = index(positive, k);
        out.push(Bucket {
            lower: edge(i),
            upper: edge(i + 1),
            count,
        });
    }
    out.retain(|b| b.count > 0);
    out
}

/// The `q` quantile (`0 < q <= 1`) of what `buckets` counted, or `None` when they counted
/// nothing or the estimate is not a finite number.
pub(super) fn estimate(
    buckets: &[Bucket],
    q: f64,
    min: Option<f64>,
    max: Option<f64>,
) -> Option<f64> {
    let total: f64 = buckets.iter().map(|b| b.count as f64).sum();
    if total == 0.0 {
        return None;
    }
    let rank = q * total;
    let mut before = 0.0;
    let mut last = None;
    for b in buckets.iter().filter(|b| b.count > 0) {
        let count = b.count as f64;
        let (lower, upper) = ends(b, min, max)?;
        if before + count >= rank {
            let value = lower + (upper - lower) * ((rank - before) / count);
            return Some(value).filter(|v| v.is_finite());
        }
        before += count;
        last = Some(upper);
    }
    // Rounding can leave the rank a hair above the total: the top of the last bucket.
    last.filter(|v: &f64| v.is_finite())
}

/// A bucket's ends within `min..=max`, its open ends closed as the module overview says.
fn ends(b: &Bucket, min: Option<f64>, max: Option<f64>) -> Option<(f64, f64)> {
    let min = min.filter(|m| m.is_finite()).unwrap_or(f64::NEG_INFINITY);
    let max = max.filter(|m| m.is_finite()).unwrap_or(f64::INFINITY);
    let within = |v: f64| v.max(min).min(max);
    let (mut lower, mut upper) = (within(b.lower), within(b.upper));
    if lower == f64::NEG_INFINITY {
        if !upper.is_finite() {
            return None;
        }
        lower = if upper > 0.0 { 0.0 } else { upper };
    }
    if upper == f64::INFINITY {
        upper = lower;
    }
    Some((lower, upper))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: Option<f64>, want: f64) {
        let got = got.expect("an estimate");
        assert!((got - want).abs() < 1e-9, "got {got}, want {want}");
    }

    #[test]
    fn explicit_buckets_interpolate_linearly() {
        // Bounds 1, 2, 5; counts 1 in (-inf,1], 2 in (1,2], 4 in (2,5], 3 in (5,+inf).
        let b = explicit(&[1.0, 2.0, 5.0], &[1, 2, 4, 3]);
        // p50: rank 5 falls in (2,5] after 3 values: 2 + 3 × (5-3)/4 = 3.5.
        close(estimate(&b, 0.5, None, None), 3.5);
        // p90: rank 9 falls in the open last bucket; without max it is its lower bound.
        close(estimate(&b, 0.9, None, None), 5.0);
        // With max 10 it spans (5,10]: 5 + 5 × (9-7)/3.
        close(estimate(&b, 0.9, None, Some(10.0)), 5.0 + 10.0 / 3.0);
        close(estimate(&b, 0.99, None, Some(10.0)), 5.0 + 5.0 * 2.9 / 3.0);
        // The first bucket starts at 0, or at min: rank 0.5 of (0.5,1] with min 0.5.
        close(estimate(&b, 0.05, None, None), 0.5);
        close(estimate(&b, 0.05, Some(0.5), None), 0.75);
        // A max inside a bucket bounds it: (2,3] for p50 is 2 + 1 × 2/4.
        close(estimate(&b, 0.5, None, Some(3.0)), 2.5);
    }

    #[test]
    fn explicit_edge_cases() {
        assert_eq!(estimate(&explicit(&[1.0], &[0, 0]), 0.5, None, None), None);
        // A single open bucket needs min and max.
        assert_eq!(estimate(&explicit(&[], &[4]), 0.5, None, None), None);
        close(
            estimate(&explicit(&[], &[4]), 0.5, Some(2.0), Some(4.0)),
            3.0,
        );
        // A first bucket at or below zero is its upper bound.
        close(
            estimate(&explicit(&[-1.0, 0.0], &[2, 0, 0]), 0.5, None, None),
            -1.0,
        );
    }

    #[test]
    fn exponential_buckets() {
        // Scale 0 (base 2): zero count 1, positive offset 1 with counts [0, 2], that is
        // nothing in (2,4] and two values in (4,8]; min 0 and max 5 (the OTLP example).
        let positive = Buckets {
            offset: 1,
            bucket_counts: vec![0, 2],
        };
        let b = exponential(0, 1, &positive, &Buckets::default());
        assert_eq!(b.len(), 2);
        // p50: rank 1.5, past the zero count, in (4,5]: 4 + 1 × 0.5/2.
        close(estimate(&b, 0.5, Some(0.0), Some(5.0)), 4.25);
        close(estimate(&b, 0.9, Some(0.0), Some(5.0)), 4.85);
        close(estimate(&b, 0.99, Some(0.0), Some(5.0)), 4.985);
        // p10 lands on the zero count.
        close(estimate(&b, 0.1, Some(0.0), Some(5.0)), 0.0);
    }

    #[test]
    fn exponential_negative_and_scales() {
        // Scale 1 (base √2): negative index 2 holds [-2√2, -2), positive index 0 holds (1, √2].
        let negative = Buckets {
            offset: 2,
            bucket_counts: vec![1],
        };
        let positive = Buckets {
            offset: 0,
            bucket_counts: vec![1],
        };
        let b = exponential(1, 0, &positive, &negative);
        let root2 = 2f64.sqrt();
        assert_eq!(b[0].count, 1);
        assert!((b[0].lower + 2.0 * root2).abs() < 1e-12 && (b[0].upper + 2.0).abs() < 1e-12);
        // p50 is rank 1: the top of the negative bucket.
        close(estimate(&b, 0.5, None, None), -2.0);
        close(estimate(&b, 0.99, None, None), 1.0 + (root2 - 1.0) * 0.98);
        // Scale -1 (base 4): index 1 is (4, 16].
        let wide = exponential(
            -1,
            0,
            &Buckets {
                offset: 1,
                bucket_counts: vec![4],
            },
            &Buckets::default(),
        );
        close(estimate(&wide, 0.5, None, None), 10.0);
    }
}
