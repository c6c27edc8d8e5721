//! The store against a model: random writes, time jumps, flushes, compactions, crashes and
//! reads, compared with a few lines of `BTreeMap` that state the semantics directly.
//!
//! The model keeps, per series and tier, the last value written straight into each slot. A
//! tier's slot reads as that value if there is one, and otherwise as the rollup of the finer
//! tier's slots under xFilesFactor and method; reads pick the tier and the slots as whisper's
//! `fetch` does. Nothing is ever dropped from the model: the store's rollups written before a
//! partition is deleted must make that invisible.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use model::{Clock, ManualClock, PointBatch, Timestamp};
use proptest::prelude::*;
use tsdb::schema::{Method, Schema};
use tsdb::{AggregationRule, SchemaRule, Tsdb, TsdbConfig};

const START: i64 = 1_700_000_000;
const NAMES: [&str; 3] = ["a.sum", "b.max", "c;k=v"];
const RETENTIONS: &str = "1s:60s,5s:10m,30s:1d";

fn config(xff: f32) -> TsdbConfig {
    let rule = |name: &str, pattern: &str, method| AggregationRule {
        name: name.into(),
        pattern: pattern.into(),
        x_files_factor: f64::from(xff),
        method,
    };
    TsdbConfig {
        head_max_age: model::HumanDuration::from_secs(10),
        compaction_interval: model::HumanDuration::from_secs(10),
        schemas: vec![SchemaRule {
            name: "all".into(),
            pattern: ".*".into(),
            retentions: RETENTIONS.into(),
        }],
        aggregations: vec![
            rule("sum", r"\.sum$", Method::Sum),
            rule("max", r"\.max$", Method::Max),
            rule("avg", ".*", Method::Average),
        ],
        ..TsdbConfig::default()
    }
}

/// The specification.
struct Model {
    schema: Schema,
    /// (series, tier) -> slot -> value.
    direct: BTreeMap<(usize, usize), BTreeMap<i64, f64>>,
    /// Each series' rollup method (`NAMES` order) and the xFilesFactor they share.
    methods: [Method; 3],
    xff: f32,
}

/// Whisper's `__propagate`, written out from its source rather than taken from the crate: the
/// known values of the finer slots, enough of them by the xFilesFactor, then their sum, maximum
/// or average.
fn whisper_rollup(method: Method, xff: f32, slots: &[Option<f64>]) -> Option<f64> {
    let known: Vec<f64> = slots.iter().flatten().copied().collect();
    if known.is_empty() || (known.len() as f64 / slots.len() as f64) < f64::from(xff) {
        return None;
    }
    let sum: f64 = known.iter().sum();
    Some(match method {
        Method::Sum => sum,
        Method::Max => known.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Method::Average => sum / known.len() as f64,
        other => unreachable!("the model's series roll up by sum, max or average, not {other:?}"),
    })
}

impl Model {
    fn new(xff: f32) -> Self {
        Model {
            schema: Schema::parse(RETENTIONS).unwrap(),
            direct: BTreeMap::new(),
            methods: [Method::Sum, Method::Max, Method::Average],
            xff,
        }
    }

    fn write(&mut self, now: i64, series: usize, ts: i64, value: f64) {
        if ts > now + 600 {
            return;
        }
        let age = now - ts;
        let Some(tier) = self
            .schema
            .archives()
            .iter()
            .position(|a| a.retention() >= age)
        else {
            return;
        };
        let step = i64::from(self.schema.archives()[tier].step);
        self.direct
            .entry((series, tier))
            .or_default()
            .insert(ts - ts.rem_euclid(step), value);
    }

    fn value(&self, series: usize, tier: usize, slot: i64) -> Option<f64> {
        if let Some(v) = self.direct.get(&(series, tier)).and_then(|m| m.get(&slot)) {
            return Some(*v);
        }
        let archives = self.schema.archives();
        if tier == 0 {
            return None;
        }
        let fine = i64::from(archives[tier - 1].step);
        let ratio = i64::from(archives[tier].step) / fine;
        let slots: Vec<Option<f64>> = (0..ratio)
            .map(|i| self.value(series, tier - 1, slot + i * fine))
            .collect();
        whisper_rollup(self.methods[series], self.xff, &slots)
    }

    fn fetch(
        &self,
        now: i64,
        series: usize,
        from: i64,
        until: i64,
    ) -> Option<(i64, i64, Vec<Option<f64>>)> {
        let oldest = now - self.schema.max_retention();
        if from > until || from > now || until < oldest {
            return None;
        }
        let (from, until) = (from.max(oldest), until.min(now));
        let tier = self
            .schema
            .archives()
            .iter()
            .position(|a| a.retention() >= now - from)
            .unwrap();
        let step = i64::from(self.schema.archives()[tier].step);
        let start = from - from.rem_euclid(step) + step;
        let mut end = until - until.rem_euclid(step) + step;
        if start == end {
            end += step;
        }
        let values = (start..end)
            .step_by(step as usize)
            .map(|slot| self.value(series, tier, slot))
            .collect();
        Some((start, step, values))
    }
}

#[derive(Debug, Clone)]
enum Op {
    Write(Vec<(usize, i64, f64)>),
    Advance(i64),
    Flush,
    Compact,
    Crash,
    Reopen,
    Fetch(usize, i64, i64),
}

fn op() -> impl Strategy<Value = Op> {
    let point = (
        0..3usize,
        -3_000i64..30,
        (-1_000i32..1_000).prop_map(|v| f64::from(v) / 4.0),
    );
    prop_oneof![
        4 => prop::collection::vec(point, 1..20).prop_map(Op::Write),
        2 => prop_oneof![1i64..30, 30i64..700, 3_000i64..20_000].prop_map(Op::Advance),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Crash),
        1 => Just(Op::Reopen),
        3 => (0..3usize, prop_oneof![-90_000i64..0, -700i64..0], -3_000i64..100).prop_map(|(s, a, b)| Op::Fetch(s, a, b)),
    ]
}

fn run(xff: f32, ops: Vec<Op>) {
    let tmp = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(START)));
    let cfg = config(xff);
    let mut store = Tsdb::open(tmp.path(), &cfg, clock.clone()).unwrap();
    let mut model = Model::new(xff);
    for op in ops {
        let now = clock.now().as_secs();
        match op {
            Op::Write(points) => {
                let mut batch = PointBatch::new();
                for (series, offset, value) in points {
                    batch.push(NAMES[series], now + offset, value);
                    model.write(now, series, now + offset, value);
                }
                let outcome = store.write(&batch).unwrap();
                store.commit().unwrap();
                assert!(store.wait_durable(outcome.seq, Duration::ZERO));
            }
            Op::Advance(secs) => clock.advance(Duration::from_secs(secs as u64)),
            Op::Flush => store.flush().unwrap(),
            Op::Compact => store.compact().unwrap(),
            Op::Crash => {
                store.abandon();
                store = Tsdb::open(tmp.path(), &cfg, clock.clone()).unwrap();
            }
            Op::Reopen => {
                store.close().unwrap();
                store = Tsdb::open(tmp.path(), &cfg, clock.clone()).unwrap();
            }
            Op::Fetch(series, from, until) => {
                let got = store.fetch(NAMES[series], now + from, now + until).unwrap();
                let want = model.fetch(now, series, now + from, now + until);
                let id = store.series_id(NAMES[series]);
                let known = id.is_some();
                // The render path's read (NaN for an empty slot) answers the same slots.
                if let Some(id) = id {
                    let nan = store.fetch_id_nan(id, now + from, now + until).unwrap();
                    let as_options = nan.map(|f| {
                        let values = f.values.iter().map(|v| (!v.is_nan()).then_some(*v));
                        (f.start, f.step, values.collect::<Vec<_>>())
                    });
                    let plain = got.clone().map(|f| (f.start, f.step, f.values));
                    assert_eq!(as_options, plain, "the NaN read of {}", NAMES[series]);
                }
                match (got, want) {
                    (None, _) if !known => {}
                    (got, want) => {
                        let got = got.map(|f| (f.start, f.step, f.values));
                        assert_same(
                            &got,
                            &want,
                            &format!(
                                "series {} from {from} until {until} at {now}",
                                NAMES[series]
                            ),
                        );
                    }
                }
            }
        }
    }
    store.close().unwrap();
}

type Answer = Option<(i64, i64, Vec<Option<f64>>)>;

/// Asserts equality, naming only the slots that differ.
fn assert_same(got: &Answer, want: &Answer, context: &str) {
    if got == want {
        return;
    }
    let (Some((gs, gstep, gv)), Some((ws, wstep, wv))) = (got, want) else {
        panic!(
            "{context}: got {} answer, want {}",
            got.is_some(),
            want.is_some()
        );
    };
    assert_eq!(
        (gs, gstep, gv.len()),
        (ws, wstep, wv.len()),
        "{context}: start, step, slots"
    );
    let diffs: Vec<String> = gv
        .iter()
        .zip(wv)
        .enumerate()
        .filter(|(_, (g, w))| g != w)
        .take(8)
        .map(|(i, (g, w))| format!("slot {}: got {g:?} want {w:?}", gs + i as i64 * gstep))
        .collect();
    panic!(
        "{context}: {} slots differ, first: {}",
        gv.iter().zip(wv).filter(|(g, w)| g != w).count(),
        diffs.join("; ")
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_model(xff in prop::sample::select(vec![0.0f32, 0.3, 0.5, 1.0]), ops in prop::collection::vec(op(), 1..60)) {
        run(xff, ops);
    }
}
