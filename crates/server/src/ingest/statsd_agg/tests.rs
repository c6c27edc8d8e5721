//! The aggregator against values worked out by hand from etsy statsd's code.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::*;
use crate::ingest::statsd::{Bin, HistogramRule, StatsdConfig};

fn settings(config: StatsdConfig) -> StatsdSettings {
    StatsdSettings::new(&config)
}

fn add(
    agg: &mut Aggregates,
    s: &StatsdSettings,
    key: &str,
    value: StatsdValue<'static>,
    rate: f64,
) {
    agg.add(
        &StatsdMetric {
            key: Cow::Owned(key.into()),
            value,
            sample_rate: rate,
        },
        s,
    );
}

fn flush(agg: &mut Aggregates, s: &StatsdSettings, ts: i64) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    agg.flush(ts, s, |name, value| {
        out.insert(name.to_owned(), value);
    });
    out
}

#[test]
fn counters_rate_and_count_with_sample_rates() {
    let s = settings(StatsdConfig::default());
    let mut agg = Aggregates::default();
    add(&mut agg, &s, "hits", StatsdValue::Counter(1.0), 0.1);
    add(&mut agg, &s, "hits", StatsdValue::Counter(3.0), 1.0);
    let out = flush(&mut agg, &s, 100);
    assert_eq!(out["stats_counts.hits"], 13.0);
    assert_eq!(out["stats.hits"], 1.3);
    assert_eq!(out["statsd.numStats"], 1.0);
    // Counters stay, at zero, until deleteCounters.
    let out = flush(&mut agg, &s, 110);
    assert_eq!(out["stats_counts.hits"], 0.0);
    assert_eq!(out["stats.hits"], 0.0);
}

#[test]
fn timers_summarise_like_process_metrics() {
    let s = settings(StatsdConfig {
        percent_threshold: vec![90.0, 50.0, -20.0],
        ..StatsdConfig::default()
    });
    let mut agg = Aggregates::default();
    for v in [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0] {
        add(&mut agg, &s, "api", StatsdValue::Timer(v), 1.0);
    }
    let out = flush(&mut agg, &s, 100);
    let t = |stat: &str| out[&format!("stats.timers.api.{stat}")];
    assert_eq!(t("count"), 10.0);
    assert_eq!(t("count_ps"), 1.0);
    assert_eq!(t("lower"), 1.0);
    assert_eq!(t("upper"), 10.0);
    assert_eq!(t("sum"), 55.0);
    assert_eq!(t("sum_squares"), 385.0);
    assert_eq!(t("mean"), 5.5);
    assert_eq!(t("median"), 5.5);
    assert_eq!(t("std"), 8.25f64.sqrt());
    // 90th: round(0.9 * 10) = 9 values.
    assert_eq!(
        (
            t("count_90"),
            t("upper_90"),
            t("sum_90"),
            t("mean_90"),
            t("sum_squares_90")
        ),
        (9.0, 9.0, 45.0, 5.0, 285.0)
    );
    assert_eq!(
        (t("count_50"), t("upper_50"), t("sum_50")),
        (5.0, 5.0, 15.0)
    );
    // Top 20%: the largest 2 values.
    assert_eq!(
        (
            t("count_top20"),
            t("lower_top20"),
            t("sum_top20"),
            t("mean_top20")
        ),
        (2.0, 9.0, 19.0, 9.5)
    );
    // An emptied timer reports only its zero counts.
    let out = flush(&mut agg, &s, 110);
    assert_eq!(out["stats.timers.api.count"], 0.0);
    assert_eq!(out["stats.timers.api.count_ps"], 0.0);
    assert!(!out.contains_key("stats.timers.api.mean"));
}

#[test]
fn one_timer_value_and_sampled_counts() {
    let s = settings(StatsdConfig::default());
    let mut agg = Aggregates::default();
    add(&mut agg, &s, "t", StatsdValue::Timer(320.0), 0.1);
    let out = flush(&mut agg, &s, 100);
    assert_eq!(out["stats.timers.t.count"], 10.0);
    assert_eq!(out["stats.timers.t.count_90"], 1.0);
    assert_eq!(out["stats.timers.t.upper_90"], 320.0);
    assert_eq!(out["stats.timers.t.std"], 0.0);
}

#[test]
fn gauges_persist_and_take_deltas() {
    let s = settings(StatsdConfig::default());
    let mut agg = Aggregates::default();
    add(&mut agg, &s, "g", StatsdValue::Gauge(333.0), 1.0);
    add(&mut agg, &s, "g", StatsdValue::GaugeDelta(-10.0), 1.0);
    add(&mut agg, &s, "g", StatsdValue::GaugeDelta(4.0), 1.0);
    add(&mut agg, &s, "new", StatsdValue::GaugeDelta(-5.0), 1.0);
    let out = flush(&mut agg, &s, 100);
    assert_eq!(out["stats.gauges.g"], 327.0);
    assert_eq!(out["stats.gauges.new"], -5.0);
    let out = flush(&mut agg, &s, 110);
    assert_eq!(out["stats.gauges.g"], 327.0, "gauges keep their value");
    assert_eq!(out["stats.gauges.statsd.timestamp_lag"], 0.0);
}

#[test]
fn sets_count_distinct_values() {
    let s = settings(StatsdConfig::default());
    let mut agg = Aggregates::default();
    for v in ["a", "b", "a", "c"] {
        add(
            &mut agg,
            &s,
            "users",
            StatsdValue::Set(Cow::Borrowed(v)),
            1.0,
        );
    }
    assert_eq!(flush(&mut agg, &s, 100)["stats.sets.users.count"], 3.0);
    assert_eq!(flush(&mut agg, &s, 110)["stats.sets.users.count"], 0.0);
}

#[test]
fn delete_idle_stats_sends_nothing_for_idle_metrics() {
    let s = settings(StatsdConfig {
        delete_idle_stats: true,
        ..StatsdConfig::default()
    });
    let mut agg = Aggregates::default();
    agg.init_counter("statsd.packets_received");
    add(&mut agg, &s, "c", StatsdValue::Counter(1.0), 1.0);
    add(&mut agg, &s, "t", StatsdValue::Timer(1.0), 1.0);
    add(&mut agg, &s, "g", StatsdValue::Gauge(1.0), 1.0);
    add(&mut agg, &s, "s", StatsdValue::Set(Cow::Borrowed("x")), 1.0);
    // Two counters at two series each, 14 timer stats, a gauge, a set, numStats.
    assert_eq!(flush(&mut agg, &s, 100).len(), 2 * 2 + 14 + 1 + 1 + 1);
    let out = flush(&mut agg, &s, 110);
    let names: Vec<&str> = out.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "stats.gauges.statsd.timestamp_lag",
            "stats.statsd.packets_received",
            "stats_counts.statsd.packets_received",
            "statsd.numStats"
        ]
    );
}

#[test]
fn histograms_bin_sorted_values() {
    let rule = HistogramRule {
        metric: "api".into(),
        bins: vec![Bin(Some(2.0)), Bin(Some(5.0)), Bin(None)],
    };
    let s = settings(StatsdConfig {
        histogram: vec![rule],
        ..StatsdConfig::default()
    });
    let mut agg = Aggregates::default();
    for v in [1.0, 1.5, 2.0, 4.0, 10.0] {
        add(&mut agg, &s, "api.get", StatsdValue::Timer(v), 1.0);
    }
    let out = flush(&mut agg, &s, 100);
    assert_eq!(out["stats.timers.api.get.histogram.bin_2"], 2.0);
    assert_eq!(out["stats.timers.api.get.histogram.bin_5"], 2.0);
    assert_eq!(out["stats.timers.api.get.histogram.bin_inf"], 1.0);
}

#[test]
fn calculated_timer_metrics_filter() {
    let s = settings(StatsdConfig {
        calculated_timer_metrics: vec!["count".into(), "upper_percent".into()],
        ..StatsdConfig::default()
    });
    let mut agg = Aggregates::default();
    add(&mut agg, &s, "t", StatsdValue::Timer(5.0), 1.0);
    let out = flush(&mut agg, &s, 100);
    let timer_keys: Vec<&str> = out
        .keys()
        .filter(|k| k.starts_with("stats.timers"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        timer_keys,
        ["stats.timers.t.count", "stats.timers.t.upper_90"]
    );
}

#[test]
fn percent_names_print_like_javascript() {
    assert_eq!(clean_pct(90.0), "90");
    assert_eq!(clean_pct(99.9), "99_9");
    assert_eq!(clean_pct(-10.0), "top10");
}

#[test]
fn memory_limits_refuse_new_keys_and_extra_timer_values() {
    let s = settings(StatsdConfig {
        max_keys: 2,
        max_timer_samples: 3,
        ..StatsdConfig::default()
    });
    let mut agg = Aggregates::default();
    let metric = |key: &str, value| StatsdMetric {
        key: Cow::Owned(key.into()),
        value,
        sample_rate: 1.0,
    };
    assert!(agg.add(&metric("a", StatsdValue::Counter(1.0)), &s));
    assert!(agg.add(&metric("t", StatsdValue::Timer(1.0)), &s));
    assert!(
        !agg.add(&metric("new", StatsdValue::Counter(1.0)), &s),
        "a third key"
    );
    assert!(
        agg.add(&metric("a", StatsdValue::Counter(1.0)), &s),
        "known keys still count"
    );
    assert!(agg.add(&metric("t", StatsdValue::Timer(2.0)), &s));
    assert!(agg.add(&metric("t", StatsdValue::Timer(3.0)), &s));
    assert!(
        !agg.add(&metric("t", StatsdValue::Timer(4.0)), &s),
        "a fourth timer value"
    );
    flush(&mut agg, &s, 100);
    assert!(
        agg.add(&metric("t", StatsdValue::Timer(5.0)), &s),
        "the count starts again after a flush"
    );
}
