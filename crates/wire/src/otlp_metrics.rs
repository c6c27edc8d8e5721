//! OTLP/HTTP metrics: `ExportMetricsServiceRequest` as protobuf or JSON, into a typed
//! [`MetricsRequest`], and a [`Translator`] from that into Graphite points.
//!
//! Both decoders ([`decode_protobuf`], [`decode_json`]) yield the same [`MetricsRequest`] for
//! the same request. A body that is not a well-formed request is an error as a whole (OTLP
//! answers 400); a data point that is well-formed but unusable is dropped and counted in
//! [`MetricsRequest::rejected`] (for `partial_success`, see [`encode_response`]): a number
//! point without a value, a point without a time, a histogram whose bucket counts do not fit
//! its bounds (there must be one more count than bounds, or neither; bounds finite and
//! strictly increasing), an exponential histogram whose scale is outside -10..=20. Points
//! flagged `NO_RECORDED_VALUE` are dropped too, counted apart in
//! [`MetricsRequest::no_recorded_value`]: they are staleness markers, not errors. Unknown
//! fields are skipped; repeated numbers are read packed or unpacked. Attribute values become
//! strings: strings as they are, `true`/`false`, integers in decimal, doubles in their
//! shortest round-trip form, bytes as hex, arrays and key-value lists as compact JSON text.
//!
//! # The mapping
//!
//! How an OTLP metric becomes Graphite series, as [`Translator::translate`] does it.
//!
//! - **Names.** The metric name becomes a Graphite path: `.` stays the node separator, every
//!   character outside `[A-Za-z0-9_.-]` becomes `_`, and empty nodes are dropped
//!   (`http.server.request/duration` is `http.server.request_duration`). The resource's
//!   attributes, then the data point's (which win on a clash), become Graphite tags
//!   `name;key=value;…` in key order. In a key, `;`, `!`, `^`, `=`, whitespace and control
//!   characters become `_`; in a value, `;`, whitespace, control characters and a leading `~`
//!   become `_`. A tag whose key or value is empty is dropped, and so is an attribute called
//!   `name`, which Graphite reserves for the path. The result is made canonical as carbon
//!   stores it (`graphite_name::canonical`); a point whose name is still refused (over 4096
//!   bytes, an empty path) is skipped. Derived series put a suffix on the path
//!   (`<name>.count;…`) and may add a tag (`le`, `quantile`), which wins over an attribute of
//!   the same key.
//! - **Time.** A point's timestamp is `time_unix_nano / 1e9`, floored, in seconds.
//! - **Values.** NaN and infinite values are never emitted. Integer values (`as_int`) become
//!   `f64`, exact up to 2^53.
//! - **Gauge:** the value.
//! - **Sum, monotonic** (a counter): the **increase during the export interval**, a count per
//!   interval as statsd's counters are. Delta temporality: the value as is. Cumulative: the
//!   value minus the previous value of the same series; after a reset (the value went down,
//!   or `start_time_unix_nano` changed) the increase is the new value itself. The first
//!   cumulative point of a series the translator has no state for records a baseline and
//!   emits nothing, unless its `start_time_unix_nano` is at or after the moment the
//!   translator was created (then the whole count happened while we listened, and the
//!   increase is the value). A cumulative point no newer than the last one seen of its
//!   series (a retry, a reordering) emits no increase and leaves the state alone.
//! - **Sum, not monotonic** (an UpDownCounter): the value as is, whatever the temporality:
//!   cumulative gives the level, delta gives the change during the interval.
//! - **Histogram:** `<name>.count` and `<name>.sum`, the increase during the interval by the
//!   counter rules above, applied to the point as a whole (a reset is a changed start time,
//!   a count that went down, or any bucket that went down); `<name>.min` and `<name>.max` as
//!   they are, when present; one series per bucket, `<name>.bucket;le=<upper bound>` (the
//!   Prometheus convention, `le=inf` for the last), whose value is the increase of **that
//!   bucket's own count** (not cumulative across buckets, unlike Prometheus); and
//!   `<name>.p50`, `<name>.p90`, `<name>.p99`, estimated from the interval's bucket counts by
//!   linear interpolation inside the bucket that holds the rank. The first bucket's lower end
//!   is `min` when present, else 0 if its upper bound is positive; the last bucket's upper end
//!   is `max` when present, else its lower bound; every estimate is kept within `min..=max`.
//!   No percentiles for an interval without counts. When the bounds of a cumulative
//!   histogram change, that interval has no bucket series and no percentiles.
//! - **Exponential histogram:** `<name>.count`, `<name>.sum`, `<name>.min`, `<name>.max` as
//!   for histograms, and `<name>.p50`, `<name>.p90`, `<name>.p99` from the interval's bucket
//!   counts: with `base = 2^(2^-scale)`, positive bucket `i` covers `(base^i, base^(i+1)]`,
//!   negative bucket `i` mirrors it at `[-base^(i+1), -base^i)`, and the zero count sits at 0;
//!   interpolation is linear inside a bucket, within `min..=max`. A cumulative series whose
//!   scale goes down is compared with its previous point downscaled to the new scale.
//! - **Summary:** `<name>.count` and `<name>.sum` as the increase during the interval by the
//!   cumulative counter rules (OTLP summaries are cumulative), and one
//!   `<name>.quantile;quantile=<q>` series per quantile with its value as is.
//! - **Unspecified temporality:** points of monotonic sums, histograms and exponential
//!   histograms are skipped, since a total cannot be told from an increase.
//!
//! **State.** Cumulative series need their previous point, which the translator keeps per
//! series, keyed by the series' canonical name (`<name>;tags`; a histogram's or summary's
//! derived series share their base name's entry). It tracks at most
//! [`Translator::DEFAULT_MAX_SERIES`] series unless told otherwise
//! ([`Translator::with_max_series`]); beyond that the least recently seen series is
//! forgotten, and its next point is a first point again (a baseline).

use crate::ParseError;
use crate::error::snippet;
use crate::otlp_common;

mod from_json;
mod from_protobuf;
mod percentile;
mod translate;

pub use translate::Translator;

/// A decoded `ExportMetricsServiceRequest`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsRequest {
    pub resources: Vec<ResourceMetrics>,
    /// Data points dropped as unusable (see the module overview).
    pub rejected: u64,
    /// Why the first rejected point was rejected, for `partial_success.error_message`.
    pub rejection: Option<String>,
    /// Data points dropped because they were flagged `NO_RECORDED_VALUE`.
    pub no_recorded_value: u64,
}

/// One resource's metrics, every scope's together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceMetrics {
    /// The resource's attributes, in key order, a repeated key keeping its last value.
    pub attributes: Vec<(String, String)>,
    pub metrics: Vec<Metric>,
}

/// One metric and its data points. A metric without data (none of gauge, sum, histogram,
/// exponential histogram, summary) is not kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub description: String,
    pub unit: String,
    /// The instrumentation scope's name.
    pub scope: String,
    pub data: Data,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    Gauge(Vec<NumberPoint>),
    Sum {
        temporality: Temporality,
        monotonic: bool,
        points: Vec<NumberPoint>,
    },
    Histogram {
        temporality: Temporality,
        points: Vec<HistogramPoint>,
    },
    ExponentialHistogram {
        temporality: Temporality,
        points: Vec<ExponentialHistogramPoint>,
    },
    Summary(Vec<SummaryPoint>),
}

/// `AggregationTemporality`; a number OTLP does not define reads as `Unspecified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temporality {
    Unspecified,
    Delta,
    Cumulative,
}

impl Temporality {
    fn from_number(n: u64) -> Self {
        match n {
            1 => Temporality::Delta,
            2 => Temporality::Cumulative,
            _ => Temporality::Unspecified,
        }
    }
}

/// A gauge's or a sum's data point.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberPoint {
    /// In key order, a repeated key keeping its last value.
    pub attributes: Vec<(String, String)>,
    pub start_time_unix_nano: u64,
    pub time_unix_nano: u64,
    /// `as_double`, or `as_int` as `f64`.
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HistogramPoint {
    pub attributes: Vec<(String, String)>,
    pub start_time_unix_nano: u64,
    pub time_unix_nano: u64,
    pub count: u64,
    pub sum: Option<f64>,
    /// One more than `explicit_bounds`, or both empty.
    pub bucket_counts: Vec<u64>,
    /// Finite and strictly increasing.
    pub explicit_bounds: Vec<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExponentialHistogramPoint {
    pub attributes: Vec<(String, String)>,
    pub start_time_unix_nano: u64,
    pub time_unix_nano: u64,
    pub count: u64,
    pub sum: Option<f64>,
    /// Within -10..=20.
    pub scale: i32,
    pub zero_count: u64,
    pub zero_threshold: f64,
    pub positive: Buckets,
    pub negative: Buckets,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// An exponential histogram's buckets on one side of zero: `bucket_counts[k]` is bucket
/// index `offset + k`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Buckets {
    pub offset: i32,
    pub bucket_counts: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SummaryPoint {
    pub attributes: Vec<(String, String)>,
    pub start_time_unix_nano: u64,
    pub time_unix_nano: u64,
    pub count: u64,
    pub sum: f64,
    pub quantile_values: Vec<ValueAtQuantile>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueAtQuantile {
    pub quantile: f64,
    pub value: f64,
}

/// Every metric of a protobuf `ExportMetricsServiceRequest`.
pub fn decode_protobuf(body: &[u8]) -> Result<MetricsRequest, ParseError> {
    from_protobuf::request(body)
}

/// Every metric of an OTLP/JSON `ExportMetricsServiceRequest`.
pub fn decode_json(body: &[u8]) -> Result<MetricsRequest, ParseError> {
    from_json::request(body)
}

/// An `ExportMetricsServiceResponse` in protobuf: empty when everything was taken, else a
/// `partial_success` with how many data points were refused and why.
pub fn encode_response(rejected: u64, message: &str) -> Vec<u8> {
    otlp_common::encode_partial_success(rejected, message)
}

/// The same response in OTLP/JSON: `{}`, or
/// `{"partialSuccess":{"rejectedDataPoints":"N","errorMessage":"…"}}` (an int64 is a decimal
/// string in OTLP/JSON).
pub fn encode_response_json(rejected: u64, message: &str) -> String {
    otlp_common::encode_partial_success_json("rejectedDataPoints", rejected, message)
}

/// `DataPointFlags.FLAG_NO_RECORDED_VALUE`.
const NO_RECORDED_VALUE: u32 = 1;

/// A point as a decoder read it, before it is kept or dropped.
struct Candidate<P> {
    flags: u32,
    /// The point, or why it has no usable value.
    point: Result<P, &'static str>,
}

/// The dropped points of one request, and the first reason.
#[derive(Default)]
struct Tally {
    rejected: u64,
    rejection: Option<String>,
    no_recorded_value: u64,
}

impl Tally {
    /// Pushes the candidate onto `out` unless it is flagged or unusable.
    fn admit<P: Point>(&mut self, metric: &str, candidate: Candidate<P>, out: &mut Vec<P>) {
        if candidate.flags & NO_RECORDED_VALUE != 0 {
            self.no_recorded_value += 1;
            return;
        }
        let checked = candidate.point.and_then(|p| match p.problem() {
            Some(why) => Err(why),
            None => Ok(p),
        });
        match checked {
            Ok(point) => out.push(point),
            Err(why) => {
                self.rejected += 1;
                if self.rejection.is_none() {
                    self.rejection = Some(format!("metric `{}`: {why}", snippet(metric)));
                }
            }
        }
    }

    fn finish(self, resources: Vec<ResourceMetrics>) -> MetricsRequest {
        MetricsRequest {
            resources,
            rejected: self.rejected,
            rejection: self.rejection,
            no_recorded_value: self.no_recorded_value,
        }
    }
}

/// What makes a well-formed point unusable.
trait Point {
    fn time(&self) -> u64;

    fn shape_problem(&self) -> Option<&'static str> {
        None
    }

    fn problem(&self) -> Option<&'static str> {
        if self.time() == 0 {
            return Some("a data point without time_unix_nano");
        }
        self.shape_problem()
    }
}

impl Point for NumberPoint {
    fn time(&self) -> u64 {
        self.time_unix_nano
    }
}

impl Point for HistogramPoint {
    fn time(&self) -> u64 {
        self.time_unix_nano
    }

    fn shape_problem(&self) -> Option<&'static str> {
        let (counts, bounds) = (self.bucket_counts.len(), self.explicit_bounds.len());
        if counts != bounds + 1 && (counts, bounds) != (0, 0) {
            return Some("histogram bucket_counts must have one more element than explicit_bounds");
        }
        let finite = self.explicit_bounds.iter().all(|b| b.is_finite());
        let increasing = self.explicit_bounds.windows(2).all(|w| w[0] < w[1]);
        if !finite || !increasing {
            return Some("histogram explicit_bounds must be finite and strictly increasing");
        }
        None
    }
}

impl Point for ExponentialHistogramPoint {
    fn time(&self) -> u64 {
        self.time_unix_nano
    }

    fn shape_problem(&self) -> Option<&'static str> {
        if !(-10..=20).contains(&self.scale) {
            return Some("exponential histogram scale must be within -10..=20");
        }
        None
    }
}

impl Point for SummaryPoint {
    fn time(&self) -> u64 {
        self.time_unix_nano
    }
}

#[cfg(test)]
mod tests;
