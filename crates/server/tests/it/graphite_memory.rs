//! Renders within a memory budget: a query is charged for what it will hold before it reads,
//! and the aggregations that fold (`sumSeries`, `countSeries`, `groupByNode` with them…) read
//! one series at a time, so they answer over more series than the budget could hold at once.

use std::sync::Arc;

use model::{ManualClock, Timestamp};
use serde_json::Value;
use server::testkit::{TestServer, start_server_with};

const NOW: i64 = 1_700_000_000;
const SERIES: usize = 600;
const POINTS: i64 = 360;

/// The value of series `i` at slot `k`: small integers, so sums are exact in any order.
fn value(i: usize, k: i64) -> f64 {
    ((i as i64 * 7 + k * 13) % 100) as f64
}

/// 600 series `m.<i>.x` of an hour at 10 s (216,000 points, 1.7 MB as a render holds them),
/// on a server whose queries may each hold 1 MiB.
async fn server() -> TestServer {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let server = start_server_with(clock, |config| {
        config.query.memory_per_query = model::ByteSize::mib(1);
        config.tsdb.schemas[0].retentions = "10s:1d".into();
    })
    .await;
    let mut text = String::new();
    for i in 0..SERIES {
        for k in 0..POINTS {
            let ts = NOW - POINTS * 10 + k * 10 + 10;
            text.push_str(&format!("m.{i:03}.x {} {ts}\n", value(i, k)));
        }
    }
    server.send_carbon(text).await;
    for i in [0, SERIES - 1] {
        server
            .wait_for_points(&format!("m.{i:03}.x"), NOW - 3600, NOW, POINTS as usize)
            .await;
    }
    server
}

async fn render(server: &TestServer, target: &str) -> reqwest::Response {
    let url = format!(
        "/render?{}",
        serde_urlencoded::to_string([
            ("target", target),
            ("from", "-1h"),
            ("format", "json"),
            ("now", &NOW.to_string()),
        ])
        .unwrap()
    );
    server.get(&url).send().await.unwrap()
}

async fn render_ok(server: &TestServer, target: &str) -> Value {
    let response = render(server, target).await;
    assert_eq!(response.status(), 200, "{target}");
    response.json().await.unwrap()
}

fn values(answer: &Value) -> Vec<f64> {
    answer["datapoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_f64().unwrap())
        .collect()
}

#[tokio::test]
async fn folding_aggregations_answer_past_the_query_budget() {
    let server = server().await;

    // Every series read at once would be 1.7 MB: refused before anything is read, as the
    // client's to narrow, in graphite-web's text shape.
    let response = render(&server, "aliasByNode(m.*.x, 1)").await;
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(
        text.starts_with("Invalid parameters (the query needs more than its memory budget of 1MiB"),
        "{text}"
    );

    let expected: Vec<f64> = (0..POINTS)
        .map(|k| (0..SERIES).map(|i| value(i, k)).sum())
        .collect();
    let summed = render_ok(&server, "sumSeries(m.*.x)").await;
    assert_eq!(summed[0]["target"], "sumSeries(m.*.x)");
    assert_eq!(summed[0]["tags"]["aggregatedBy"], "sum");
    assert_eq!(values(&summed[0]), expected);

    let averaged = render_ok(&server, "averageSeries(m.*.x)").await;
    let mean: Vec<f64> = expected.iter().map(|s| s / SERIES as f64).collect();
    assert_eq!(values(&averaged[0]), mean);

    let counted = render_ok(&server, "countSeries(m.*.x)").await;
    assert_eq!(counted[0]["target"], "countSeries(m.*.x)");
    assert_eq!(values(&counted[0]), vec![SERIES as f64; POINTS as usize]);

    let maxed = render_ok(&server, "maxSeries(m.*.x)").await;
    let max: Vec<f64> = (0..POINTS)
        .map(|k| (0..SERIES).map(|i| value(i, k)).fold(f64::MIN, f64::max))
        .collect();
    assert_eq!(values(&maxed[0]), max);

    let ranged = render_ok(&server, "rangeOfSeries(m.*.x)").await;
    let min: Vec<f64> = (0..POINTS)
        .map(|k| (0..SERIES).map(|i| value(i, k)).fold(f64::MAX, f64::min))
        .collect();
    let range: Vec<f64> = max.iter().zip(&min).map(|(a, b)| a - b).collect();
    assert_eq!(values(&ranged[0]), range);

    // Through `group`, `aggregate` and a grouping with a folding callback, the same answer.
    let grouped = render_ok(&server, "sumSeries(group(m.0*.x, m.[1-5]*.x))").await;
    assert_eq!(grouped[0]["target"], "sumSeries(m.0*.x,m.[1-5]*.x)");
    assert_eq!(values(&grouped[0]), expected);
    let aggregated = render_ok(&server, "aggregate(m.*.x, 'sum')").await;
    assert_eq!(values(&aggregated[0]), expected);
    let by_node = render_ok(&server, "groupByNode(m.*.x, 2, 'sum')").await;
    assert_eq!(by_node.as_array().unwrap().len(), 1);
    assert_eq!(by_node[0]["target"], "x");
    assert_eq!(values(&by_node[0]), expected);
    let by_func = render_ok(&server, "groupByNode(m.*.x, 2, 'sumSeries')").await;
    assert_eq!(values(&by_func[0]), expected);

    // A fold over a function of the series reads them all for that function: refused.
    let response = render(&server, "sumSeries(scale(m.*.x, 2))").await;
    assert_eq!(response.status(), 400);
}
