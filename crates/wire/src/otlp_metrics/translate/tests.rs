use super::super::{Buckets, Metric, ResourceMetrics, ValueAtQuantile};
use super::*;

/// One second, in nanoseconds.
const S: u64 = 1_000_000_000;
/// When the translators under test were created.
const CREATED: u64 = 1_000 * S;

fn request(name: &str, data: Data) -> MetricsRequest {
    MetricsRequest {
        resources: vec![ResourceMetrics {
            attributes: vec![("service.name".into(), "shop".into())],
            metrics: vec![Metric {
                name: name.into(),
                description: String::new(),
                unit: String::new(),
                scope: "lib".into(),
                data,
            }],
        }],
        ..MetricsRequest::default()
    }
}

fn number(start: u64, time: u64, value: f64) -> NumberPoint {
    NumberPoint {
        attributes: vec![("host".into(), "a".into())],
        start_time_unix_nano: start,
        time_unix_nano: time,
        value,
    }
}

fn run(t: &mut Translator, req: &MetricsRequest) -> Vec<(String, i64, f64)> {
    let mut out = Vec::new();
    t.translate(req, &mut |name, ts, v| out.push((name.to_owned(), ts, v)));
    out
}

#[track_caller]
fn check(got: Vec<(String, i64, f64)>, want: &[(&str, i64, f64)]) {
    let names: Vec<_> = got.iter().map(|(n, ts, _)| (n.as_str(), *ts)).collect();
    let want_names: Vec<_> = want.iter().map(|(n, ts, _)| (*n, *ts)).collect();
    assert_eq!(names, want_names);
    for ((name, _, got), (_, _, want)) in got.iter().zip(want) {
        assert!((got - want).abs() < 1e-9, "{name}: got {got}, want {want}");
    }
}

fn sum(temporality: Temporality, monotonic: bool, points: Vec<NumberPoint>) -> Data {
    Data::Sum {
        temporality,
        monotonic,
        points,
    }
}

#[test]
fn gauges_are_levels_and_skip_nan() {
    let mut t = Translator::new(CREATED);
    let points = vec![
        number(0, 2_000 * S + 999_999_999, 3.5),
        number(0, 2_001 * S, f64::NAN),
        number(0, 2_002 * S, f64::INFINITY),
    ];
    let got = run(&mut t, &request("system.cpu/util", Data::Gauge(points)));
    check(
        got,
        &[("system.cpu_util;host=a;service.name=shop", 2_000, 3.5)],
    );
    assert_eq!(t.tracked_series(), 0);
}

#[test]
fn delta_counters_are_increases_as_sent() {
    let mut t = Translator::new(CREATED);
    let req = request(
        "requests",
        sum(
            Temporality::Delta,
            true,
            vec![number(10 * S, 2_000 * S, 4.0)],
        ),
    );
    let name = "requests;host=a;service.name=shop";
    check(run(&mut t, &req), &[(name, 2_000, 4.0)]);
    check(run(&mut t, &req), &[(name, 2_000, 4.0)]);
}

#[test]
fn cumulative_counters_become_increases_with_resets() {
    let mut t = Translator::new(CREATED);
    let name = "requests;host=a;service.name=shop";
    let at = |start: u64, time: u64, v: f64| {
        request(
            "requests",
            sum(Temporality::Cumulative, true, vec![number(start, time, v)]),
        )
    };
    // Started before we did: a baseline only.
    check(run(&mut t, &at(500 * S, 2_000 * S, 100.0)), &[]);
    check(
        run(&mut t, &at(500 * S, 2_010 * S, 130.0)),
        &[(name, 2_010, 30.0)],
    );
    // A retry of the same point, and an older one: no increase, the state stays.
    check(run(&mut t, &at(500 * S, 2_010 * S, 130.0)), &[]);
    check(run(&mut t, &at(500 * S, 2_005 * S, 120.0)), &[]);
    check(
        run(&mut t, &at(500 * S, 2_020 * S, 131.0)),
        &[(name, 2_020, 1.0)],
    );
    // The value went down: a reset, the increase is the new value.
    check(
        run(&mut t, &at(500 * S, 2_030 * S, 7.0)),
        &[(name, 2_030, 7.0)],
    );
    // The start time changed: a restart, even though the value went up.
    check(
        run(&mut t, &at(2_035 * S, 2_040 * S, 9.0)),
        &[(name, 2_040, 9.0)],
    );
    check(
        run(&mut t, &at(2_035 * S, 2_050 * S, 12.0)),
        &[(name, 2_050, 3.0)],
    );
    assert_eq!(t.tracked_series(), 1);
}

#[test]
fn a_series_started_after_the_translator_counts_from_its_first_point() {
    let mut t = Translator::new(CREATED);
    let name = "jobs;host=a;service.name=shop";
    let req = |start: u64| {
        request(
            "jobs",
            sum(
                Temporality::Cumulative,
                true,
                vec![number(start, 2_000 * S, 5.0)],
            ),
        )
    };
    check(run(&mut t, &req(CREATED)), &[(name, 2_000, 5.0)]);
    let mut t = Translator::new(CREATED);
    check(run(&mut t, &req(CREATED - 1)), &[]);
    // An unknown start time (0) is not after anything.
    let mut t = Translator::new(0);
    check(run(&mut t, &req(0)), &[]);
}

#[test]
fn up_down_counters_are_levels_and_unspecified_counters_are_skipped() {
    let mut t = Translator::new(CREATED);
    let name = "queue;host=a;service.name=shop";
    for temporality in [
        Temporality::Cumulative,
        Temporality::Delta,
        Temporality::Unspecified,
    ] {
        let req = request(
            "queue",
            sum(temporality, false, vec![number(1, 2_000 * S, -3.0)]),
        );
        check(run(&mut t, &req), &[(name, 2_000, -3.0)]);
    }
    let req = request(
        "queue",
        sum(
            Temporality::Unspecified,
            true,
            vec![number(1, 2_000 * S, 3.0)],
        ),
    );
    check(run(&mut t, &req), &[]);
}

fn histogram_point(start: u64, time: u64, counts: &[u64], sum: f64) -> HistogramPoint {
    HistogramPoint {
        attributes: Vec::new(),
        start_time_unix_nano: start,
        time_unix_nano: time,
        count: counts.iter().sum(),
        sum: Some(sum),
        bucket_counts: counts.to_vec(),
        explicit_bounds: vec![1.0, 2.0, 5.0],
        min: None,
        max: None,
    }
}

fn histogram(temporality: Temporality, points: Vec<HistogramPoint>) -> MetricsRequest {
    request(
        "latency",
        Data::Histogram {
            temporality,
            points,
        },
    )
}

#[test]
fn delta_histograms() {
    let mut t = Translator::new(CREATED);
    let mut p = histogram_point(0, 2_000 * S, &[1, 2, 4, 3], 42.0);
    p.min = Some(0.5);
    p.max = Some(10.0);
    let got = run(&mut t, &histogram(Temporality::Delta, vec![p]));
    // Ranks 5, 9 and 9.9 of 10: in (2,5] after 3 values, and in (5,10] after 7 (max 10).
    check(
        got,
        &[
            ("latency.count;service.name=shop", 2_000, 10.0),
            ("latency.sum;service.name=shop", 2_000, 42.0),
            ("latency.min;service.name=shop", 2_000, 0.5),
            ("latency.max;service.name=shop", 2_000, 10.0),
            ("latency.bucket;le=1;service.name=shop", 2_000, 1.0),
            ("latency.bucket;le=2;service.name=shop", 2_000, 2.0),
            ("latency.bucket;le=5;service.name=shop", 2_000, 4.0),
            ("latency.bucket;le=inf;service.name=shop", 2_000, 3.0),
            (
                "latency.p50;service.name=shop",
                2_000,
                2.0 + 3.0 * 2.0 / 4.0,
            ),
            (
                "latency.p90;service.name=shop",
                2_000,
                5.0 + 5.0 * 2.0 / 3.0,
            ),
            (
                "latency.p99;service.name=shop",
                2_000,
                5.0 + 5.0 * 2.9 / 3.0,
            ),
        ],
    );
}

#[test]
fn cumulative_histograms_use_the_interval_counts() {
    let mut t = Translator::new(CREATED);
    let start = 500 * S;
    let first = histogram_point(start, 2_000 * S, &[1, 1, 1, 1], 10.0);
    check(
        run(&mut t, &histogram(Temporality::Cumulative, vec![first])),
        &[],
    );
    // Since then: 0, 0, 4, 0 in the buckets, all four in (2,5]: p50 = 2 + 3 × 2/4.
    let second = histogram_point(start, 2_010 * S, &[1, 1, 5, 1], 22.0);
    let got = run(&mut t, &histogram(Temporality::Cumulative, vec![second]));
    check(
        got,
        &[
            ("latency.count;service.name=shop", 2_010, 4.0),
            ("latency.sum;service.name=shop", 2_010, 12.0),
            ("latency.bucket;le=1;service.name=shop", 2_010, 0.0),
            ("latency.bucket;le=2;service.name=shop", 2_010, 0.0),
            ("latency.bucket;le=5;service.name=shop", 2_010, 4.0),
            ("latency.bucket;le=inf;service.name=shop", 2_010, 0.0),
            ("latency.p50;service.name=shop", 2_010, 3.5),
            (
                "latency.p90;service.name=shop",
                2_010,
                2.0 + 3.0 * 3.6 / 4.0,
            ),
            (
                "latency.p99;service.name=shop",
                2_010,
                2.0 + 3.0 * 3.96 / 4.0,
            ),
        ],
    );
    // No new values: counts of zero, and no percentiles.
    let idle = histogram_point(start, 2_020 * S, &[1, 1, 5, 1], 22.0);
    let got = run(&mut t, &histogram(Temporality::Cumulative, vec![idle]));
    assert_eq!(got.len(), 6);
    assert!(got.iter().all(|(_, _, v)| *v == 0.0));
    // One bucket went down though the count did not: a reset, the point's own counts.
    let reset = histogram_point(start, 2_030 * S, &[0, 1, 6, 1], 3.0);
    let got = run(&mut t, &histogram(Temporality::Cumulative, vec![reset]));
    assert_eq!(
        got[0],
        ("latency.count;service.name=shop".into(), 2_030, 8.0)
    );
    assert_eq!(got[1], ("latency.sum;service.name=shop".into(), 2_030, 3.0));
    // New bounds: count and sum still, but no buckets or percentiles this interval.
    let mut rebound = histogram_point(start, 2_040 * S, &[0, 1, 7, 2], 9.0);
    rebound.explicit_bounds = vec![1.0, 2.0, 10.0];
    let got = run(&mut t, &histogram(Temporality::Cumulative, vec![rebound]));
    check(
        got,
        &[
            ("latency.count;service.name=shop", 2_040, 2.0),
            ("latency.sum;service.name=shop", 2_040, 6.0),
        ],
    );
}

#[test]
fn histograms_with_unspecified_temporality_are_skipped() {
    let mut t = Translator::new(CREATED);
    let p = histogram_point(0, 2_000 * S, &[1, 2, 4, 3], 42.0);
    assert!(run(&mut t, &histogram(Temporality::Unspecified, vec![p])).is_empty());
}

fn exponential_point(
    time: u64,
    scale: i32,
    zero: u64,
    positive: Buckets,
) -> ExponentialHistogramPoint {
    ExponentialHistogramPoint {
        attributes: Vec::new(),
        start_time_unix_nano: 500 * S,
        time_unix_nano: time,
        count: zero + positive.bucket_counts.iter().sum::<u64>(),
        sum: Some(10.0),
        scale,
        zero_count: zero,
        zero_threshold: 0.0,
        positive,
        negative: Buckets::default(),
        min: None,
        max: None,
    }
}

fn exponential(temporality: Temporality, p: ExponentialHistogramPoint) -> MetricsRequest {
    request(
        "size",
        Data::ExponentialHistogram {
            temporality,
            points: vec![p],
        },
    )
}

#[test]
fn delta_exponential_histograms() {
    let mut t = Translator::new(CREATED);
    // The OTLP example: scale 0, one zero, two values in (4,8], min 0, max 5.
    let positive = Buckets {
        offset: 1,
        bucket_counts: vec![0, 2],
    };
    let mut p = exponential_point(2_000 * S, 0, 1, positive);
    p.min = Some(0.0);
    p.max = Some(5.0);
    check(
        run(&mut t, &exponential(Temporality::Delta, p)),
        &[
            ("size.count;service.name=shop", 2_000, 3.0),
            ("size.sum;service.name=shop", 2_000, 10.0),
            ("size.min;service.name=shop", 2_000, 0.0),
            ("size.max;service.name=shop", 2_000, 5.0),
            ("size.p50;service.name=shop", 2_000, 4.25),
            ("size.p90;service.name=shop", 2_000, 4.85),
            ("size.p99;service.name=shop", 2_000, 4.985),
        ],
    );
}

#[test]
fn cumulative_exponential_histograms_follow_a_scale_change() {
    let mut t = Translator::new(CREATED);
    // Scale 1: one value in (1,√2], one in (√2,2].
    let before = Buckets {
        offset: 0,
        bucket_counts: vec![1, 1],
    };
    let first = exponential_point(2_000 * S, 1, 0, before);
    check(
        run(&mut t, &exponential(Temporality::Cumulative, first)),
        &[],
    );
    // Scale 0: two in (1,2] (the same two) and two new ones in (2,4].
    let after = Buckets {
        offset: 0,
        bucket_counts: vec![2, 2],
    };
    let mut second = exponential_point(2_010 * S, 0, 0, after);
    second.sum = Some(16.0);
    check(
        run(&mut t, &exponential(Temporality::Cumulative, second)),
        &[
            ("size.count;service.name=shop", 2_010, 2.0),
            ("size.sum;service.name=shop", 2_010, 6.0),
            ("size.p50;service.name=shop", 2_010, 3.0),
            ("size.p90;service.name=shop", 2_010, 3.8),
            ("size.p99;service.name=shop", 2_010, 3.98),
        ],
    );
    // A bucket emptied: a reset, the point's own counts (four in (2,4]).
    let dropped = Buckets {
        offset: 1,
        bucket_counts: vec![4],
    };
    let third = exponential_point(2_020 * S, 0, 0, dropped);
    let got = run(&mut t, &exponential(Temporality::Cumulative, third));
    assert_eq!(got[0], ("size.count;service.name=shop".into(), 2_020, 4.0));
    assert_eq!(got[2], ("size.p50;service.name=shop".into(), 2_020, 3.0));
}

#[test]
fn summaries() {
    let mut t = Translator::new(CREATED);
    let point = |time: u64, count: u64, sum: f64| SummaryPoint {
        attributes: Vec::new(),
        start_time_unix_nano: 500 * S,
        time_unix_nano: time,
        count,
        sum,
        quantile_values: vec![
            ValueAtQuantile {
                quantile: 0.5,
                value: 1.5,
            },
            ValueAtQuantile {
                quantile: 1.0,
                value: 9.0,
            },
        ],
    };
    let req = |p| request("rpc", Data::Summary(vec![p]));
    let quantiles = |ts| {
        [
            ("rpc.quantile;quantile=0.5;service.name=shop", ts, 1.5),
            ("rpc.quantile;quantile=1;service.name=shop", ts, 9.0),
        ]
    };
    check(
        run(&mut t, &req(point(2_000 * S, 10, 20.0))),
        &quantiles(2_000),
    );
    let mut want = vec![
        ("rpc.count;service.name=shop", 2_010, 5.0),
        ("rpc.sum;service.name=shop", 2_010, 12.5),
    ];
    want.extend(quantiles(2_010));
    check(run(&mut t, &req(point(2_010 * S, 15, 32.5))), &want);
}

#[test]
fn the_state_is_bounded_by_least_recent_use() {
    let mut t = Translator::new(CREATED).with_max_series(2);
    let counters = |time: u64, values: &[(&str, f64)]| MetricsRequest {
        resources: vec![ResourceMetrics {
            attributes: Vec::new(),
            metrics: values
                .iter()
                .map(|(name, v)| Metric {
                    name: (*name).into(),
                    description: String::new(),
                    unit: String::new(),
                    scope: String::new(),
                    data: sum(Temporality::Cumulative, true, vec![number(1, time, *v)]),
                })
                .collect(),
        }],
        ..MetricsRequest::default()
    };
    check(
        run(&mut t, &counters(2_000 * S, &[("a", 1.0), ("b", 1.0)])),
        &[],
    );
    assert_eq!(t.tracked_series(), 2);
    // `c` evicts `a`, the least recently seen; `b` is still known; `a` is new again and
    // evicts `c`.
    let got = run(
        &mut t,
        &counters(2_010 * S, &[("c", 1.0), ("b", 5.0), ("a", 3.0)]),
    );
    check(got, &[("b;host=a", 2_010, 4.0)]);
    assert_eq!(t.tracked_series(), 2);
    let got = run(
        &mut t,
        &counters(2_020 * S, &[("a", 4.0), ("b", 6.0), ("c", 2.0)]),
    );
    check(got, &[("a;host=a", 2_020, 1.0), ("b;host=a", 2_020, 1.0)]);
    assert_eq!(t.tracked_series(), 2);
}

#[test]
fn lowering_the_bound_forgets_the_oldest() {
    let mut t = Translator::new(CREATED);
    for name in ["a", "b", "c"] {
        let req = request(
            name,
            sum(
                Temporality::Cumulative,
                true,
                vec![number(1, 2_000 * S, 1.0)],
            ),
        );
        run(&mut t, &req);
    }
    assert_eq!(t.tracked_series(), 3);
    let mut t = t.with_max_series(1);
    assert_eq!(t.tracked_series(), 1);
    let req = request(
        "c",
        sum(
            Temporality::Cumulative,
            true,
            vec![number(1, 2_010 * S, 4.0)],
        ),
    );
    check(
        run(&mut t, &req),
        &[("c;host=a;service.name=shop", 2_010, 3.0)],
    );
}

#[test]
fn a_name_used_by_two_kinds_starts_over() {
    let mut t = Translator::new(CREATED);
    let counter = request(
        "x",
        sum(
            Temporality::Cumulative,
            true,
            vec![number(1, 2_000 * S, 5.0)],
        ),
    );
    run(&mut t, &counter);
    let mut p = histogram_point(1, 2_010 * S, &[1, 0, 0, 0], 1.0);
    p.attributes = vec![("host".into(), "a".into())];
    let req = request(
        "x",
        Data::Histogram {
            temporality: Temporality::Cumulative,
            points: vec![p],
        },
    );
    assert!(run(&mut t, &req).is_empty());
}

#[test]
fn a_translator_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Translator>();
}
