//! The metric store's hot paths: block coding, writes, and fetches from the head and segments.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use model::{ManualClock, PointBatch, Timestamp};
use tsdb::{Tsdb, TsdbConfig};

const NOW: i64 = 1_700_000_000;

fn blocks(c: &mut Criterion) {
    let gauges: Vec<(i64, f64)> = (0..360)
        .map(|i| (NOW + i * 10, 40.0 + ((i * 37) % 600) as f64 / 10.0))
        .collect();
    let block = tsdb::gorilla::encode_block(&gauges);
    let mut group = c.benchmark_group("block");
    group.throughput(Throughput::Elements(360));
    group.bench_function("encode 360 one-decimal gauges", |b| {
        b.iter(|| tsdb::gorilla::encode_block(black_box(&gauges)).len())
    });
    group.bench_function("decode 360 one-decimal gauges", |b| {
        b.iter(|| tsdb::gorilla::decode_block(black_box(&block), 360, NOW).map(|v| v.len()))
    });
    group.finish();
}

fn batch(series: usize, rounds: usize) -> PointBatch {
    let names: Vec<String> = (0..series)
        .map(|s| format!("bench.h{}.m{}", s / 100, s % 100))
        .collect();
    let mut batch = PointBatch::with_capacity(series * rounds);
    for r in 0..rounds {
        for (s, name) in names.iter().enumerate() {
            batch.push(name, NOW - 600 + (r as i64) * 10, (s + r) as f64);
        }
    }
    batch
}

fn writes(c: &mut Criterion) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Tsdb::open(dir.path(), &TsdbConfig::default(), clock).expect("open");
    store.write(&batch(10_000, 1)).expect("create the series");
    let mut group = c.benchmark_group("write");
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("100k points into 10k existing series", |b| {
        b.iter_batched(
            || batch(10_000, 10),
            |batch| store.write(&batch).map(|o| o.accepted),
            BatchSize::LargeInput,
        )
    });
    group.finish();
    store.close().expect("close");
}

fn fetches(c: &mut Criterion) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Tsdb::open(dir.path(), &TsdbConfig::default(), clock).expect("open");
    let mut b = PointBatch::new();
    for i in 0..360 {
        b.push("bench.fetched", NOW - 3_600 + i * 10, i as f64);
        b.push("bench.other", NOW - 3_600 + i * 10, 1.0);
    }
    store.write(&b).expect("write");
    let mut group = c.benchmark_group("fetch");
    group.bench_function("1h at 10s from the head", |bench| {
        bench.iter(|| {
            store
                .fetch(black_box("bench.fetched"), NOW - 3_600, NOW)
                .map(|f| f.map(|f| f.values.len()))
        })
    });
    store.flush().expect("flush");
    group.bench_function("1h at 10s from segments", |bench| {
        bench.iter(|| {
            store
                .fetch(black_box("bench.fetched"), NOW - 3_600, NOW)
                .map(|f| f.map(|f| f.values.len()))
        })
    });
    group.bench_function("7d at 1m computed from 10s", |bench| {
        bench.iter(|| {
            store
                .fetch(black_box("bench.fetched"), NOW - 7 * 86_400, NOW)
                .map(|f| f.map(|f| f.values.len()))
        })
    });
    group.finish();
    store.close().expect("close");
}

criterion_group!(benches, blocks, writes, fetches);
criterion_main!(benches);
