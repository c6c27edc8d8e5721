//! On-disk format compatibility: the committed store of format 1 opens and reads back.
//!
//! `tests/fixtures/store-v1` was written by this test with `SIGHTLINE_WRITE_FIXTURES=1` at
//! layout version 1: segments from a flushed head, a WAL with points that were never flushed
//! (the store was abandoned, as a crash leaves it), and points written straight into a coarser
//! tier. Every later version must still read it the same way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use model::{ManualClock, PointBatch, Timestamp};
use tsdb::{Tsdb, TsdbConfig};

const NOW: i64 = 1_700_000_000;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn write_fixture(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let store = Tsdb::open(dir, &TsdbConfig::default(), clock).unwrap();
    let mut flushed = PointBatch::new();
    for i in 0..360 {
        flushed.push("compat.gauge", NOW - 3_600 + i * 10, i as f64 * 0.5);
    }
    for i in 0..30 {
        flushed.push(
            "compat.requests.count",
            NOW - 2 * 86_400 + i * 60,
            10.0 + i as f64,
        );
    }
    store.write(&flushed).unwrap();
    store.flush().unwrap();
    let mut unflushed = PointBatch::new();
    for i in 0..6 {
        unflushed.push("compat.tagged;host=a", NOW - 60 + i * 10, 100.0 + i as f64);
    }
    store.write(&unflushed).unwrap();
    store.commit().unwrap();
    store.abandon();
}

#[test]
fn store_v1_opens_and_reads_back() {
    if std::env::var_os("SIGHTLINE_WRITE_FIXTURES").is_some() {
        write_fixture(&fixture());
    }
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&fixture(), tmp.path());
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let store = Tsdb::open(tmp.path(), &TsdbConfig::default(), clock).unwrap();
    assert_eq!(store.usage().series, 3);

    let gauge = store
        .fetch("compat.gauge", NOW - 3_600, NOW)
        .unwrap()
        .unwrap();
    assert_eq!(gauge.step, 10);
    let values: Vec<f64> = gauge.values.iter().flatten().copied().collect();
    assert_eq!(values, (1..360).map(|i| i as f64 * 0.5).collect::<Vec<_>>());

    let counts = store
        .fetch(
            "compat.requests.count",
            NOW - 2 * 86_400 - 60,
            NOW - 2 * 86_400 + 1_800,
        )
        .unwrap()
        .unwrap();
    assert_eq!(counts.step, 60);
    let values: Vec<f64> = counts.values.iter().flatten().copied().collect();
    assert_eq!(values, (0..30).map(|i| 10.0 + i as f64).collect::<Vec<_>>());

    let tagged = store
        .fetch("compat.tagged;host=a", NOW - 70, NOW)
        .unwrap()
        .unwrap();
    let values: Vec<f64> = tagged.values.iter().flatten().copied().collect();
    assert_eq!(
        values,
        vec![100.0, 101.0, 102.0, 103.0, 104.0, 105.0],
        "replayed from the WAL"
    );
    store.close().unwrap();
}
