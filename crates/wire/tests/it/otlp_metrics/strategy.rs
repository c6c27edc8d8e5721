//! Strategies for well-formed requests: every kind of point, every field that may vary.

use proptest::prelude::*;
use wire::otlp_metrics::{
    Buckets, Data, ExponentialHistogramPoint, HistogramPoint, Metric, MetricsRequest, NumberPoint,
    ResourceMetrics, SummaryPoint, Temporality, ValueAtQuantile,
};

use super::encode::Style;

pub(super) fn style() -> impl Strategy<Value = Style> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(packed, sparse, noise, ints, strings)| Style {
            packed,
            sparse,
            noise,
            ints,
            strings,
        })
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::num::f64::NORMAL | prop::num::f64::ZERO | prop::num::f64::SUBNORMAL,
        (-1000i64..1000).prop_map(|i| i as f64),
    ]
}

fn attributes() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map("[a-z.]{0,6}", "\\PC{0,8}", 0..3)
        .prop_map(|m| m.into_iter().collect())
}

fn temporality() -> impl Strategy<Value = Temporality> {
    prop::sample::select(vec![
        Temporality::Unspecified,
        Temporality::Delta,
        Temporality::Cumulative,
    ])
}

/// Attributes, start time, time (never 0, which would make the point unusable).
fn common() -> impl Strategy<Value = (Vec<(String, String)>, u64, u64)> {
    (attributes(), any::<u64>(), 1..u64::MAX)
}

fn number_point() -> impl Strategy<Value = NumberPoint> {
    (common(), finite()).prop_map(|((attributes, start, time), value)| NumberPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        value,
    })
}

fn histogram_point() -> impl Strategy<Value = HistogramPoint> {
    let buckets = prop::collection::vec(any::<u64>(), 0..6);
    let steps = prop::collection::vec(0.001f64..1000.0, 6);
    let extremes = (prop::option::of(finite()), prop::option::of(finite()));
    (
        common(),
        any::<u64>(),
        prop::option::of(finite()),
        buckets,
        -1e6f64..1e6,
        steps,
        extremes,
    )
        .prop_map(
            |((attributes, start, time), count, sum, bucket_counts, first, steps, (min, max))| {
                let mut explicit_bounds = Vec::new();
                let mut bound = first;
                for step in steps.iter().take(bucket_counts.len().saturating_sub(1)) {
                    explicit_bounds.push(bound);
                    bound += step;
                }
                HistogramPoint {
                    attributes,
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    count,
                    sum,
                    bucket_counts,
                    explicit_bounds,
                    min,
                    max,
                }
            },
        )
}

fn buckets() -> impl Strategy<Value = Buckets> {
    (any::<i32>(), prop::collection::vec(any::<u64>(), 0..5)).prop_map(|(offset, bucket_counts)| {
        Buckets {
            offset,
            bucket_counts,
        }
    })
}

fn exponential_point() -> impl Strategy<Value = ExponentialHistogramPoint> {
    let counts = (any::<u64>(), any::<u64>(), finite());
    let extremes = (prop::option::of(finite()), prop::option::of(finite()));
    (
        common(),
        counts,
        prop::option::of(finite()),
        -10i32..=20,
        buckets(),
        buckets(),
        extremes,
    )
        .prop_map(
            |(
                (attributes, start, time),
                (count, zero_count, zero_threshold),
                sum,
                scale,
                positive,
                negative,
                (min, max),
            )| {
                ExponentialHistogramPoint {
                    attributes,
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    count,
                    sum,
                    scale,
                    zero_count,
                    zero_threshold,
                    positive,
                    negative,
                    min,
                    max,
                }
            },
        )
}

fn summary_point() -> impl Strategy<Value = SummaryPoint> {
    let quantiles = prop::collection::vec((0.0f64..=1.0, finite()), 0..4);
    (common(), any::<u64>(), finite(), quantiles).prop_map(
        |((attributes, start, time), count, sum, quantiles)| SummaryPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: time,
            count,
            sum,
            quantile_values: quantiles
                .into_iter()
                .map(|(quantile, value)| ValueAtQuantile { quantile, value })
                .collect(),
        },
    )
}

fn data() -> impl Strategy<Value = Data> {
    let points = |s| prop::collection::vec(s, 0..3);
    prop_oneof![
        points(number_point()).prop_map(Data::Gauge),
        (temporality(), any::<bool>(), points(number_point())).prop_map(
            |(temporality, monotonic, points)| {
                Data::Sum {
                    temporality,
                    monotonic,
                    points,
                }
            }
        ),
        (
            temporality(),
            prop::collection::vec(histogram_point(), 0..3)
        )
            .prop_map(|(temporality, points)| Data::Histogram {
                temporality,
                points
            }),
        (
            temporality(),
            prop::collection::vec(exponential_point(), 0..3)
        )
            .prop_map(|(temporality, points)| Data::ExponentialHistogram {
                temporality,
                points
            }),
        prop::collection::vec(summary_point(), 0..3).prop_map(Data::Summary),
    ]
}

fn metric_strategy() -> impl Strategy<Value = Metric> {
    (
        "[a-z./ ]{0,12}",
        "\\PC{0,6}",
        "[a-zA-Z{}]{0,4}",
        "[a-z.]{0,6}",
        data(),
    )
        .prop_map(|(name, description, unit, scope, data)| Metric {
            name,
            description,
            unit,
            scope,
            data,
        })
}

pub(super) fn request() -> impl Strategy<Value = MetricsRequest> {
    let resource = (attributes(), prop::collection::vec(metric_strategy(), 0..4)).prop_map(
        |(attributes, metrics)| ResourceMetrics {
            attributes,
            metrics,
        },
    );
    prop::collection::vec(resource, 0..3).prop_map(|resources| MetricsRequest {
        resources,
        ..MetricsRequest::default()
    })
}
