//! How much a histogram's counts grew since its previous point: bucket by bucket for
//! explicit bounds, and at a common scale for exponential buckets.

use super::super::percentile::{self, Bucket};
use super::super::{Buckets, ExponentialHistogramPoint, HistogramPoint};
use super::memory::{ExpCounts, State};

/// A histogram's increase over one interval.
pub(super) struct Increase {
    pub(super) count: f64,
    pub(super) sum: Option<f64>,
    /// For percentiles (and per-bucket series of explicit histograms), when known.
    pub(super) buckets: Option<Vec<Bucket>>,
}

pub(super) fn histogram_whole(p: &HistogramPoint) -> Increase {
    Increase {
        count: p.count as f64,
        sum: p.sum,
        buckets: Some(percentile::explicit(&p.explicit_bounds, &p.bucket_counts)),
    }
}

/// The increase since the previous totals, or `None` after a reset (the count or a bucket
/// went down).
pub(super) fn histogram_since(p: &HistogramPoint, prev: State) -> Option<Increase> {
    let State::Histogram {
        count,
        sum,
        bounds,
        buckets,
    } = prev
    else {
        return None;
    };
    let same_layout = bounds == p.explicit_bounds && buckets.len() == p.bucket_counts.len();
    let mut deltas = Vec::with_capacity(buckets.len());
    if same_layout {
        for (now, before) in p.bucket_counts.iter().zip(&buckets) {
            deltas.push(now.checked_sub(*before)?);
        }
    }
    Some(Increase {
        count: p.count.checked_sub(count)? as f64,
        sum: p.sum.zip(sum).map(|(now, before)| now - before),
        buckets: same_layout.then(|| percentile::explicit(&p.explicit_bounds, &deltas)),
    })
}

impl ExpCounts {
    pub(super) fn of(p: &ExponentialHistogramPoint) -> Self {
        ExpCounts {
            scale: p.scale,
            zero: p.zero_count,
            positive: p.positive.clone(),
            negative: p.negative.clone(),
        }
    }

    /// The same counts at a scale at most this one's: bucket `i` becomes `i >> (by)`.
    fn downscaled(&self, scale: i32) -> Self {
        let by = u32::try_from(self.scale - scale).unwrap_or(0);
        ExpCounts {
            scale: self.scale.min(scale),
            zero: self.zero,
            positive: downscale(&self.positive, by),
            negative: downscale(&self.negative, by),
        }
    }
}

fn downscale(b: &Buckets, by: u32) -> Buckets {
    if by == 0 {
        return b.clone();
    }
    let first = i64::from(b.offset) >> by;
    let mut counts: Vec<u64> = Vec::new();
    for (k, &c) in b.bucket_counts.iter().enumerate() {
        // Indices grow by one per bucket, so each lands in the last slot or a new one.
        let slot = (((i64::from(b.offset) + k as i64) >> by) - first) as usize;
        if slot == counts.len() {
            counts.push(0);
        }
        counts[slot] = counts[slot].saturating_add(c);
    }
    Buckets {
        offset: i32::try_from(first).unwrap_or(b.offset),
        bucket_counts: counts,
    }
}

/// `now - before`, bucket by bucket, or `None` if any bucket went down.
fn subtract(now: &Buckets, before: &Buckets) -> Option<Buckets> {
    let mut out = now.clone();
    for (k, &c) in before.bucket_counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let index = i64::from(before.offset) + k as i64 - i64::from(now.offset);
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| out.bucket_counts.get_mut(i))?;
        *slot = slot.checked_sub(c)?;
    }
    Some(out)
}

pub(super) fn exponential_whole(p: &ExponentialHistogramPoint) -> Increase {
    exponential_increase(ExpCounts::of(p), p.count, p.sum)
}

/// The increase since the previous totals, compared at the lower of the two scales, or
/// `None` after a reset (the count or a bucket went down).
pub(super) fn exponential_since(p: &ExponentialHistogramPoint, prev: State) -> Option<Increase> {
    let State::Exponential { count, sum, counts } = prev else {
        return None;
    };
    let scale = p.scale.min(counts.scale);
    let (now, before) = (ExpCounts::of(p).downscaled(scale), counts.downscaled(scale));
    let delta = ExpCounts {
        scale,
        zero: now.zero.checked_sub(before.zero)?,
        positive: subtract(&now.positive, &before.positive)?,
        negative: subtract(&now.negative, &before.negative)?,
    };
    let sum = p.sum.zip(sum).map(|(now, before)| now - before);
    Some(exponential_increase(
        delta,
        p.count.checked_sub(count)?,
        sum,
    ))
}

fn exponential_increase(counts: ExpCounts, count: u64, sum: Option<f64>) -> Increase {
    Increase {
        count: count as f64,
        sum,
        buckets: Some(percentile::exponential(
            counts.scale,
            counts.zero,
            &counts.positive,
            &counts.negative,
        )),
    }
}
