//! Decoding throughput of the codecs on realistic input.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn carbon_lines(n: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..n {
        out.push_str(&format!(
            "servers.web{:03}.cpu.user {}.{} {}\n",
            i % 500,
            i % 100,
            i % 7,
            1_700_000_000 + i / 500 * 10
        ));
    }
    out.into_bytes()
}

fn carbon(c: &mut Criterion) {
    let input = carbon_lines(100_000);
    let mut group = c.benchmark_group("carbon");
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("decode 100k lines", |b| {
        b.iter(|| {
            let mut n = 0;
            for line in wire::framing::Lines::new(black_box(&input), 32 * 1024).flatten() {
                if wire::carbon::decode_line(line).is_ok() {
                    n += 1;
                }
            }
            n
        })
    });
    group.finish();
}

fn statsd(c: &mut Criterion) {
    let lines: Vec<String> = (0..10_000)
        .map(|i| match i % 10 {
            0..=5 => format!("app.requests.{}:1|c", i % 200),
            6..=8 => format!("app.latency.{}:{}|ms|@0.5", i % 50, i % 300),
            _ => format!("app.queue.{}:{}|g|#env:prod,region:eu", i % 20, i % 100),
        })
        .collect();
    let mut group = c.benchmark_group("statsd");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("decode 10k lines", |b| {
        b.iter(|| {
            let mut n = 0;
            for line in &lines {
                wire::statsd::decode_line(black_box(line.as_bytes()), &mut |r| {
                    n += usize::from(r.is_ok())
                });
            }
            n
        })
    });
    group.finish();
}

fn pickle(c: &mut Criterion) {
    let names: Vec<String> = (0..500).map(|i| format!("relay.host{i}.metric")).collect();
    let points: Vec<(&str, i64, f64)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), 1_700_000_000 + i as i64, i as f64 * 0.5))
        .collect();
    let frame = wire::pickle::encode_frame(&points);
    let mut group = c.benchmark_group("pickle");
    group.throughput(Throughput::Elements(500));
    group.bench_function("decode a 500-point frame", |b| {
        b.iter(|| wire::pickle::decode_frame(black_box(&frame[4..])).map(|v| v.len()))
    });
    group.finish();
}

criterion_group!(benches, carbon, statsd, pickle);
criterion_main!(benches);
