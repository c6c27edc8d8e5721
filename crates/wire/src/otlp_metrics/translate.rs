//! [`Translator`]: a typed [`MetricsRequest`] into Graphite points, by the mapping in the
//! module overview of `otlp_metrics`.
//!
//! Deterministic: the same requests in the same order give the same points in the same order,
//! each point's series in the order count, sum, min, max, buckets, percentiles (quantiles for
//! summaries). The only state is the previous point of each cumulative series, in a map
//! bounded by least-recent use.

use super::percentile;
use super::{
    Data, ExponentialHistogramPoint, HistogramPoint, MetricsRequest, NumberPoint, SummaryPoint,
    Temporality,
};

mod increase;
mod memory;
mod naming;

use increase::{Increase, exponential_since, exponential_whole, histogram_since, histogram_whole};
use memory::{ExpCounts, Interval, Memory, State};
use naming::Series;

/// Where points go: canonical Graphite name, Unix seconds, value.
type Sink<'a> = dyn FnMut(&str, i64, f64) + 'a;

const PERCENTILES: [(&str, f64); 3] = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)];

/// Typed OTLP metrics into Graphite points, remembering each cumulative series' last point.
///
/// At most `max_series` series are remembered ([`Translator::DEFAULT_MAX_SERIES`] unless set
/// with [`Translator::with_max_series`]); the least recently seen is forgotten first, and its
/// next cumulative point is a baseline again.
#[derive(Debug)]
pub struct Translator {
    memory: Memory,
}

impl Translator {
    /// How many series a translator remembers unless told otherwise.
    pub const DEFAULT_MAX_SERIES: usize = 1_000_000;

    /// A translator created at `created_unix_nano`: cumulative series that start at or after
    /// it are counted from their first point.
    pub fn new(created_unix_nano: u64) -> Self {
        Translator {
            memory: Memory::new(created_unix_nano, Self::DEFAULT_MAX_SERIES),
        }
    }

    /// The same, remembering at most `max_series` series (at least one).
    pub fn with_max_series(mut self, max_series: usize) -> Self {
        self.memory.set_max_series(max_series);
        self
    }

    /// How many series it remembers now.
    pub fn tracked_series(&self) -> usize {
        self.memory.len()
    }

    /// Every point of `req` as Graphite points into `out`.
    pub fn translate(&mut self, req: &MetricsRequest, out: &mut impl FnMut(&str, i64, f64)) {
        let out: &mut Sink<'_> = out;
        for resource in &req.resources {
            for metric in &resource.metrics {
                let path = naming::graphite_path(&metric.name);
                let series = |attributes: &[(String, String)]| {
                    Series::new(&path, &resource.attributes, attributes)
                };
                match &metric.data {
                    Data::Gauge(points)
                    | Data::Sum {
                        monotonic: false,
                        points,
                        ..
                    } => {
                        for p in points {
                            level(&series(&p.attributes), p, out);
                        }
                    }
                    Data::Sum {
                        temporality,
                        points,
                        ..
                    } => {
                        for p in points {
                            self.counter(&series(&p.attributes), *temporality, p, out);
                        }
                    }
                    Data::Histogram {
                        temporality,
                        points,
                    } => {
                        for p in points {
                            self.histogram(&series(&p.attributes), *temporality, p, out);
                        }
                    }
                    Data::ExponentialHistogram {
                        temporality,
                        points,
                    } => {
                        for p in points {
                            self.exponential(&series(&p.attributes), *temporality, p, out);
                        }
                    }
                    Data::Summary(points) => {
                        for p in points {
                            self.summary(&series(&p.attributes), p, out);
                        }
                    }
                }
            }
        }
    }

    fn counter(&mut self, series: &Series, t: Temporality, p: &NumberPoint, out: &mut Sink<'_>) {
        let Some(name) = series.base() else { return };
        if !p.value.is_finite() {
            return;
        }
        let interval = match t {
            Temporality::Delta => Interval::FromStart,
            Temporality::Cumulative => self.memory.advance(
                &name,
                p.start_time_unix_nano,
                p.time_unix_nano,
                State::Counter(p.value),
            ),
            Temporality::Unspecified => return,
        };
        let increase = match interval {
            Interval::FromStart => p.value,
            Interval::Since(State::Counter(prev)) if p.value >= prev => p.value - prev,
            Interval::Since(State::Counter(_)) => p.value,
            _ => return,
        };
        emit(out, &name, seconds(p.time_unix_nano), increase);
    }

    fn histogram(
        &mut self,
        series: &Series,
        t: Temporality,
        p: &HistogramPoint,
        out: &mut Sink<'_>,
    ) {
        let Some(name) = series.base() else { return };
        let state = State::Histogram {
            count: p.count,
            sum: p.sum,
            bounds: p.explicit_bounds.clone(),
            buckets: p.bucket_counts.clone(),
        };
        let Some(interval) =
            self.interval(&name, t, p.start_time_unix_nano, p.time_unix_nano, state)
        else {
            return;
        };
        let increase = match interval {
            Interval::FromStart => Some(histogram_whole(p)),
            Interval::Since(prev) => {
                Some(histogram_since(p, prev).unwrap_or_else(|| histogram_whole(p)))
            }
            Interval::Unknown => None,
        };
        let ts = seconds(p.time_unix_nano);
        emit_histogram(series, ts, increase.as_ref(), (p.min, p.max), true, out);
    }

    /// The interval a distribution point covers, by its temporality: all of it for a delta,
    /// since the series' last point for a cumulative one; `None` for an unspecified one, which
    /// is skipped.
    fn interval(
        &mut self,
        name: &str,
        t: Temporality,
        start: u64,
        time: u64,
        state: State,
    ) -> Option<Interval> {
        match t {
            Temporality::Delta => Some(Interval::FromStart),
            Temporality::Cumulative => Some(self.memory.advance(name, start, time, state)),
            Temporality::Unspecified => None,
        }
    }

    fn exponential(
        &mut self,
        series: &Series,
        t: Temporality,
        p: &ExponentialHistogramPoint,
        out: &mut Sink<'_>,
    ) {
        let Some(name) = series.base() else { return };
        let state = State::Exponential {
            count: p.count,
            sum: p.sum,
            counts: ExpCounts::of(p),
        };
        let Some(interval) =
            self.interval(&name, t, p.start_time_unix_nano, p.time_unix_nano, state)
        else {
            return;
        };
        let increase = match interval {
            Interval::FromStart => Some(exponential_whole(p)),
            Interval::Since(prev) => {
                Some(exponential_since(p, prev).unwrap_or_else(|| exponential_whole(p)))
            }
            Interval::Unknown => None,
        };
        let ts = seconds(p.time_unix_nano);
        emit_histogram(series, ts, increase.as_ref(), (p.min, p.max), false, out);
    }

    fn summary(&mut self, series: &Series, p: &SummaryPoint, out: &mut Sink<'_>) {
        let Some(name) = series.base() else { return };
        let state = State::Summary {
            count: p.count,
            sum: p.sum,
        };
        let increase =
            match self
                .memory
                .advance(&name, p.start_time_unix_nano, p.time_unix_nano, state)
            {
                Interval::Since(State::Summary { count, sum }) if p.count >= count => {
                    Some(((p.count - count) as f64, p.sum - sum))
                }
                Interval::Since(_) | Interval::FromStart => Some((p.count as f64, p.sum)),
                Interval::Unknown => None,
            };
        let ts = seconds(p.time_unix_nano);
        if let Some((count, sum)) = increase {
            emit_derived(out, series, "count", None, ts, count);
            emit_derived(out, series, "sum", None, ts, sum);
        }
        for q in &p.quantile_values {
            if q.quantile.is_finite() {
                let quantile = q.quantile.to_string();
                emit_derived(
                    out,
                    series,
                    "quantile",
                    Some(("quantile", &quantile)),
                    ts,
                    q.value,
                );
            }
        }
    }
}

/// A histogram's series: count and sum when the increase is known, min and max, each
/// bucket (`per_bucket`), percentiles.
fn emit_histogram(
    series: &Series,
    ts: i64,
    increase: Option<&Increase>,
    (min, max): (Option<f64>, Option<f64>),
    per_bucket: bool,
    out: &mut Sink<'_>,
) {
    if let Some(inc) = increase {
        emit_derived(out, series, "count", None, ts, inc.count);
        if let Some(sum) = inc.sum {
            emit_derived(out, series, "sum", None, ts, sum);
        }
    }
    for (suffix, value) in [("min", min), ("max", max)] {
        if let Some(v) = value {
            emit_derived(out, series, suffix, None, ts, v);
        }
    }
    let Some(buckets) = increase.and_then(|inc| inc.buckets.as_deref()) else {
        return;
    };
    if per_bucket {
        for b in buckets {
            let le = naming::bound_text(b.upper);
            emit_derived(out, series, "bucket", Some(("le", &le)), ts, b.count as f64);
        }
    }
    for (suffix, q) in PERCENTILES {
        if let Some(v) = percentile::estimate(buckets, q, min, max) {
            emit_derived(out, series, suffix, None, ts, v);
        }
    }
}

/// A gauge's or an UpDownCounter's value as is.
fn level(series: &Series, p: &NumberPoint, out: &mut Sink<'_>) {
    if let Some(name) = series.base() {
        emit(out, &name, seconds(p.time_unix_nano), p.value);
    }
}

fn emit_derived(
    out: &mut Sink<'_>,
    series: &Series,
    suffix: &str,
    tag: Option<(&str, &str)>,
    ts: i64,
    value: f64,
) {
    if !value.is_finite() {
        return;
    }
    if let Some(name) = series.derived(suffix, tag) {
        out(&name, ts, value);
    }
}

fn emit(out: &mut Sink<'_>, name: &str, ts: i64, value: f64) {
    if value.is_finite() {
        out(name, ts, value);
    }
}

fn seconds(unix_nano: u64) -> i64 {
    (unix_nano / 1_000_000_000) as i64
}

#[cfg(test)]
mod tests;
