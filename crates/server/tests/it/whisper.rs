//! Differential test against whisper itself: the same points, sent over a real carbon socket to
//! Sightline and applied with the real whisper library, must fetch the same answers, slot for
//! slot, across every tier.

use std::sync::Arc;

use model::{ManualClock, Timestamp};
use serde_json::{Value, json};
use server::testkit::start_server_with;

use crate::peers::run_python;

const NOW: i64 = 1_700_000_000;
const RETENTIONS: &str = "10s:6h,1m:30d,10m:5y";

/// A small deterministic generator of values with a few decimals.
struct Lcg(u64);

impl Lcg {
    fn value(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % 100_000) as f64 / 8.0 - 5_000.0
    }
}

/// (name, method, xff) as the default rules give them.
const SERIES: [(&str, &str, f64); 6] = [
    ("diff.avg", "average", 0.3),
    ("diff.requests.count", "sum", 0.0),
    ("diff.latency.upper_90", "max", 0.1),
    ("diff.latency.lower", "min", 0.1),
    ("diff.sparse", "average", 0.3),
    ("diff.old", "average", 0.3),
];

fn points() -> Vec<(&'static str, i64, f64)> {
    let mut rng = Lcg(42);
    let mut out = Vec::new();
    for (name, _, _) in &SERIES[..4] {
        // Two hours of 10s points, a few slots written twice, one run out of order.
        for i in (0..720).rev() {
            out.push((*name, NOW - i * 10 - 3, rng.value()));
            if i % 97 == 0 {
                out.push((*name, NOW - i * 10 - 1, rng.value()));
            }
        }
        for i in [15_000, 15_010, 15_005] {
            out.push((*name, NOW - i, rng.value()));
        }
        // A day and more old: these go straight to the 1m tier, some to the 10m tier.
        for i in 0..50 {
            out.push((*name, NOW - 2 * 86_400 - i * 60, rng.value()));
            out.push((*name, NOW - 100 * 86_400 - i * 600, rng.value()));
        }
    }
    for i in 0..300 {
        out.push(("diff.sparse", NOW - i * 40, rng.value()));
    }
    for i in 0..200 {
        out.push(("diff.old", NOW - 7 * 3_600 - i * 50, rng.value()));
        out.push(("diff.old", NOW - 40 * 86_400 - i * 700, rng.value()));
    }
    out.push(("diff.avg", NOW + 100, 1.0));
    out
}

fn fetch_windows() -> Vec<(i64, i64)> {
    let (h, d) = (3_600, 86_400);
    vec![
        (NOW - h, NOW),
        (NOW - 6 * h, NOW),
        (NOW - 6 * h - 1, NOW),
        (NOW - d, NOW - h),
        (NOW - 3 * d, NOW - 2 * d + 600),
        (NOW - 30 * d, NOW),
        (NOW - 31 * d, NOW),
        (NOW - 101 * d, NOW - 99 * d),
        (NOW - 5 * 365 * d, NOW),
        (NOW - 6 * 365 * d, NOW),
        (NOW - 5, NOW),
        (NOW - 2 * h, NOW - 2 * h),
        (NOW - 7 * h - 5, NOW - 6 * h + 7),
        (NOW + 10, NOW + 20),
        (NOW - 3_650 * d, NOW - 6 * 365 * d),
    ]
}

#[tokio::test]
async fn sightline_holds_what_whisper_holds() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let server = start_server_with(clock, |_| {}).await;
    let points = points();
    let text: String = points
        .iter()
        .map(|(n, t, v)| format!("{n} {v} {t}\n"))
        .collect();
    server.send_carbon(text).await;
    let last = points.iter().rfind(|p| p.0 == "diff.old").unwrap();
    server
        .wait_for_points("diff.old", last.1 - 10, last.1 + 10, 1)
        .await;
    server.wait_for_points("diff.avg", NOW - 20, NOW, 1).await;

    let series: serde_json::Map<String, Value> = SERIES
        .iter()
        .map(|(n, m, x)| {
            (
                (*n).to_owned(),
                json!({"retentions": RETENTIONS, "xff": x, "method": m}),
            )
        })
        .collect();
    let fetches: Vec<Value> = SERIES
        .iter()
        .flat_map(|(n, _, _)| {
            fetch_windows()
                .into_iter()
                .map(move |(f, u)| json!([n, f, u]))
        })
        .collect();
    let doc = json!({"now": NOW, "series": series, "points": points, "fetches": fetches});
    let whisper = run_python("whisper_oracle.py", &doc);

    let mut compared_values = 0;
    let answers = whisper.as_array().unwrap();
    assert_eq!(answers.len(), fetches.len(), "one whisper answer per fetch");
    for (fetch, expected) in fetches.iter().zip(answers) {
        let (name, from, until) = (
            fetch[0].as_str().unwrap(),
            fetch[1].as_i64().unwrap(),
            fetch[2].as_i64().unwrap(),
        );
        let ours = server.tsdb().fetch(name, from, until).unwrap();
        let context = format!("{name} from now{:+} until now{:+}", from - NOW, until - NOW);
        match (ours, expected) {
            (None, Value::Null) => {}
            (Some(f), Value::Object(w)) => {
                assert_eq!(
                    (f.start, f.end, f.step),
                    (
                        w["start"].as_i64().unwrap(),
                        w["end"].as_i64().unwrap(),
                        w["step"].as_i64().unwrap()
                    ),
                    "{context}"
                );
                let want: Vec<Option<f64>> = w["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(Value::as_f64)
                    .collect();
                assert_eq!(f.values.len(), want.len(), "{context}: slot count");
                let diffs: Vec<String> = f
                    .values
                    .iter()
                    .zip(&want)
                    .enumerate()
                    .filter(|(_, (a, b))| a != b)
                    .take(5)
                    .map(|(i, (a, b))| {
                        format!(
                            "slot {}: ours {a:?}, whisper {b:?}",
                            f.start + i as i64 * f.step
                        )
                    })
                    .collect();
                assert!(diffs.is_empty(), "{context}: {}", diffs.join("; "));
                compared_values += want.iter().flatten().count();
            }
            (ours, w) => panic!("{context}: ours {:?}, whisper {w}", ours.map(|f| f.step)),
        }
    }
    assert!(
        compared_values > 5_000,
        "the comparison covered {compared_values} stored values"
    );
}
