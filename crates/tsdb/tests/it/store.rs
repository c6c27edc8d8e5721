//! Scenarios of the store's life: restarts, crashes, retention.

use std::sync::Arc;
use std::time::Duration;

use model::{ManualClock, PointBatch, Timestamp};
use tsdb::{Tsdb, TsdbConfig};

const NOW: i64 = 1_700_000_000;

fn batch(points: &[(&str, i64, f64)]) -> PointBatch {
    let mut b = PointBatch::new();
    for (name, ts, v) in points {
        b.push(name, *ts, *v);
    }
    b
}

/// A crash (`abandon`) keeps exactly what was committed: the points of a commit survive, and
/// points written after it, never committed, are gone, with their new series.
#[test]
fn a_crash_drops_what_was_not_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let config = TsdbConfig {
        // The timer never commits during the test: only the explicit commit does.
        commit_interval: model::HumanDuration::from_secs(3600),
        ..TsdbConfig::default()
    };
    let store = Tsdb::open(tmp.path(), &config, clock.clone()).unwrap();
    let kept = store.write(&batch(&[("kept.a", NOW - 60, 1.5)])).unwrap();
    store.commit().unwrap();
    assert!(store.wait_durable(kept.seq, Duration::ZERO));
    let lost = store
        .write(&batch(&[
            ("kept.a", NOW - 50, 2.5),
            ("lost.b", NOW - 50, 3.5),
        ]))
        .unwrap();
    assert_eq!(lost.accepted, 2);
    assert!(!store.wait_durable(lost.seq, Duration::ZERO));
    store.abandon();

    let store = Tsdb::open(tmp.path(), &config, clock).unwrap();
    let fetched = store.fetch("kept.a", NOW - 70, NOW).unwrap().unwrap();
    let known: Vec<f64> = fetched.values.iter().flatten().copied().collect();
    assert_eq!(known, vec![1.5]);
    assert!(store.fetch("lost.b", NOW - 70, NOW).unwrap().is_none());
    assert_eq!(store.usage().series, 1);
}

#[test]
fn a_crash_after_commit_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let store = Tsdb::open(tmp.path(), &TsdbConfig::default(), clock.clone()).unwrap();
    let points: Vec<(String, i64, f64)> = (0..1000)
        .map(|i| {
            (
                format!("host.h{}.cpu", i % 50),
                NOW - 600 + (i / 50) * 10,
                i as f64,
            )
        })
        .collect();
    let refs: Vec<(&str, i64, f64)> = points
        .iter()
        .map(|(n, t, v)| (n.as_str(), *t, *v))
        .collect();
    let outcome = store.write(&batch(&refs)).unwrap();
    assert_eq!(outcome.accepted, 1000);
    assert!(
        store.wait_durable(outcome.seq, Duration::from_secs(5)),
        "the committer thread commits on its own"
    );
    store.abandon();

    let store = Tsdb::open(tmp.path(), &TsdbConfig::default(), clock).unwrap();
    assert_eq!(store.usage().series, 50);
    let fetched = store.fetch("host.h7.cpu", NOW - 700, NOW).unwrap().unwrap();
    let known: Vec<f64> = fetched.values.iter().flatten().copied().collect();
    assert_eq!(
        known,
        (0..20).map(|i| f64::from(7 + 50 * i)).collect::<Vec<_>>()
    );
    store.close().unwrap();
}

#[test]
fn too_old_and_future_points_are_counted_not_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let store = Tsdb::open(tmp.path(), &TsdbConfig::default(), clock).unwrap();
    let five_years = 5 * 365 * 86_400;
    let outcome = store
        .write(&batch(&[
            ("a", NOW - five_years - 1, 1.0),
            ("a", NOW + 601, 2.0),
            ("a", NOW + 599, 3.0),
        ]))
        .unwrap();
    assert_eq!(
        (outcome.accepted, outcome.too_old, outcome.in_future),
        (1, 1, 1)
    );
    store.close().unwrap();
}

#[test]
fn retention_drops_whole_partitions_after_rolling_them_up() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW - NOW % 3_600)));
    let store = Tsdb::open(tmp.path(), &TsdbConfig::default(), clock.clone()).unwrap();
    let start = NOW - NOW % 3_600;
    let points: Vec<(&str, i64, f64)> = (0..360)
        .map(|i| ("web.requests.count", start + i * 10, 1.0))
        .collect();
    clock.set(Timestamp::from_secs(start + 3_600));
    store.write(&batch(&points)).unwrap();
    store.flush().unwrap();
    let before = store.usage().disk_bytes;
    assert!(before > 0);
    // A day later the 10s tier's partition is gone, and its hour lives on in the 1m tier.
    clock.advance(Duration::from_secs(86_400));
    store.compact().unwrap();
    assert!(
        store
            .stats()
            .partitions_dropped
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    let fetched = store
        .fetch("web.requests.count", start - 60, start + 3_600)
        .unwrap()
        .unwrap();
    assert_eq!(fetched.step, 60);
    let sums: Vec<f64> = fetched.values.iter().flatten().copied().collect();
    assert_eq!(sums.len(), 60);
    assert!(
        sums.iter().all(|v| *v == 6.0),
        "six 10s counts summed per minute: {sums:?}"
    );
    store.close().unwrap();
}

#[test]
fn new_series_beyond_the_limit_are_refused_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let config = TsdbConfig {
        max_series: 2,
        ..TsdbConfig::default()
    };
    let store = Tsdb::open(tmp.path(), &config, clock).unwrap();
    let outcome = store
        .write(&batch(&[
            ("a", NOW, 1.0),
            ("b", NOW, 2.0),
            ("c", NOW, 3.0),
            ("a", NOW - 10, 4.0),
        ]))
        .unwrap();
    assert_eq!((outcome.accepted, outcome.over_series_limit), (3, 1));
    assert_eq!(store.usage().series, 2);
    store.close().unwrap();
}
