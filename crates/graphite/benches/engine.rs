#![allow(clippy::unwrap_used)]

//! The query engine alone, over series held in memory: what a render costs after the store has
//! answered. `cargo bench -p graphite`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use graphite::eval::{Fetched, Planned, Request, Source, SourceError, evaluate};
use graphite::render::{Options, apply_max_data_points, json};
use graphite::tagexpr::TagExpr;

const SERIES: usize = 1000;
const POINTS: usize = 8640;
const END: i64 = 1_700_000_000;

/// 1,000 series `a.<i>.b` of 24 h at 10 s, answered from memory for any pattern.
struct Memory(Vec<Fetched>);

impl Source for Memory {
    fn find(&self, _: &str, _: i64, _: i64) -> Result<Vec<Planned>, SourceError> {
        Ok(self
            .0
            .iter()
            .enumerate()
            .map(|(key, f)| Planned {
                name: f.name.clone(),
                key: key as u64,
                tier: 0,
                start: f.start,
                end: f.end,
                step: f.step,
            })
            .collect())
    }

    fn find_tagged(&self, _: &[TagExpr], _: i64, _: i64) -> Result<Vec<Planned>, SourceError> {
        Ok(Vec::new())
    }

    /// A copy of the stored values, as a store's read makes new ones.
    fn read(&self, planned: &Planned) -> Result<Vec<f64>, SourceError> {
        Ok(self.0[planned.key as usize].values.clone())
    }
}

fn source() -> Memory {
    let start = END - (POINTS as i64) * 10;
    Memory(
        (0..SERIES)
            .map(|i| Fetched {
                name: format!("a.{i}.b"),
                start,
                end: END,
                step: 10,
                values: (0..POINTS)
                    .map(|k| ((i * 7 + k * 13) % 1000) as f64 / 4.0)
                    .collect(),
            })
            .collect(),
    )
}

fn request() -> Request {
    Request {
        from: END - 86_400,
        until: END,
        now: END,
        tz: jiff::tz::TimeZone::UTC,
        templates: Vec::new(),
        max_bytes: 400_000_000,
        pool: None,
        xff: None,
    }
}

fn bench(c: &mut Criterion) {
    let source = source();
    let request = request();
    let mut group = c.benchmark_group("graphite");
    group.sample_size(20);
    group.bench_function("sumSeries 1000x8640 + json", |b| {
        b.iter(|| {
            let out = evaluate(&source, &request, &["sumSeries(a.*.b)".to_owned()]).unwrap();
            black_box(json(&out, &Options::default()))
        });
    });
    group.bench_function("aliasByNode 1000x8640 maxDataPoints=1000 + json", |b| {
        b.iter(|| {
            let mut out =
                evaluate(&source, &request, &["aliasByNode(a.*.b,1)".to_owned()]).unwrap();
            apply_max_data_points(&mut out, 1000);
            black_box(json(&out, &Options::default()))
        });
    });
    group.bench_function("parse a Grafana target", |b| {
        b.iter(|| {
            graphite::grammar::parse(black_box(
                r#"aliasSub(sumSeries(servers.{web1,web2}.cpu.*), "(^.*$)", "\1 A")"#,
            ))
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
