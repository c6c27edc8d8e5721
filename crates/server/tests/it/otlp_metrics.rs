//! OTLP/HTTP metrics from the OpenTelemetry Python SDK's exporter, rendered through `/render`
//! and `seriesByTag` by the mapping `wire::otlp_metrics` documents.

use serde_json::Value;
use server::testkit::{TestServer, start_server_with};
use tsdb::SchemaRule;

use crate::events::{ingest_token, post_truncated_protobuf};

/// The non-null values `target` holds over the last five minutes.
async fn values(server: &TestServer, target: &str) -> (Value, Vec<f64>) {
    let url = format!(
        "/render?{}",
        serde_urlencoded::to_string([("target", target), ("from", "-5min"), ("format", "json")])
            .unwrap()
    );
    let answer = server.get_json(&url).await;
    let points = answer[0]["datapoints"]
        .as_array()
        .map(|points| points.iter().filter_map(|p| p[0].as_f64()).collect())
        .unwrap_or_default();
    (answer, points)
}

#[tokio::test]
async fn the_opentelemetry_sdk_exports_metrics() {
    // One-second slots, so the SDK's two exports (1.5 s apart) land in two of them.
    let server = start_server_with(std::sync::Arc::new(model::SystemClock), |config| {
        config.tsdb.schemas = vec![SchemaRule {
            name: "all".into(),
            pattern: ".*".into(),
            retentions: "1s:1d".into(),
        }];
    })
    .await;
    let token = ingest_token(&server).await;
    let doc = serde_json::json!({"url": server.url("/v1/metrics"), "token": token});
    let out = tokio::task::spawn_blocking(move || {
        crate::peers::run_python("otlp_metrics_sender.py", &doc)
    })
    .await
    .unwrap();
    assert_eq!(out["exported"], true, "{out}");

    // A counter: the increase of each export (the first counted whole, as the counter started
    // after the server did), tagged with the resource's and the point's attributes.
    let (orders, placed) = values(&server, "seriesByTag('name=orders.placed')").await;
    assert_eq!(placed, vec![3.0, 2.0], "{orders}");
    let tags = &orders[0]["tags"];
    assert_eq!(tags["region"], "eu");
    assert_eq!(tags["service.name"], "shop");
    assert_eq!(tags["telemetry.sdk.language"], "python");
    let name = orders[0]["target"].as_str().unwrap().to_owned();
    // The SDK's resource names the instance too (a UUID per process).
    assert!(
        name.starts_with("orders.placed;region=eu;service.instance.id="),
        "{name}"
    );
    assert!(
        name.contains(";service.name=shop;telemetry.sdk.language=python;"),
        "{name}"
    );
    // The same series by its raw tagged name, and summed.
    assert_eq!(values(&server, &name).await.1, vec![3.0, 2.0]);
    let (summed, total) = values(&server, "sumSeries(seriesByTag('name=orders.placed'))").await;
    assert_eq!(total, vec![3.0, 2.0], "{summed}");

    // A histogram: count and sum per export, each bucket's own count under `le`, percentiles.
    assert_eq!(
        values(&server, "seriesByTag('name=checkout.duration.count')")
            .await
            .1,
        vec![3.0, 1.0]
    );
    assert_eq!(
        values(&server, "seriesByTag('name=checkout.duration.sum')")
            .await
            .1,
        vec![170.0, 40.0]
    );
    for (le, want) in [("5", [1.0, 0.0]), ("25", [1.0, 0.0]), ("50", [0.0, 1.0])] {
        let target = format!("seriesByTag('name=checkout.duration.bucket','le={le}')");
        assert_eq!(values(&server, &target).await.1, want, "le={le}");
    }
    let (_, p50) = values(&server, "seriesByTag('name=checkout.duration.p50')").await;
    assert_eq!(p50.len(), 2, "{p50:?}");
    assert!((10.0..=25.0).contains(&p50[0]), "{p50:?}");
    assert!((25.0..=50.0).contains(&p50[1]), "{p50:?}");

    // An up-down counter is a level; a gauge its value.
    assert_eq!(
        values(&server, "seriesByTag('name=queue.depth')").await.1,
        vec![7.0, 4.0]
    );
    assert_eq!(
        values(&server, "seriesByTag('name=cpu.temperature','core=0')")
            .await
            .1,
        vec![61.5, 63.0]
    );
}

#[tokio::test]
async fn otlp_json_metrics_and_bad_bodies() {
    let server = start_server_with(std::sync::Arc::new(model::SystemClock), |_| {}).await;
    let token = ingest_token(&server).await;
    let now_ns = model::Clock::now(&model::SystemClock).as_nanos();
    // A gauge with a good point and one without a value (dropped, and said so).
    let body = serde_json::json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "host.name", "value": {"stringValue": "web1"}}]},
        "scopeMetrics": [{"metrics": [{"name": "disk.used", "gauge": {"dataPoints": [
            {"timeUnixNano": now_ns.to_string(), "asDouble": 0.75},
            {"timeUnixNano": now_ns.to_string()}
        ]}}]}]
    }]});
    let response = server
        .client
        .post(server.url("/v1/metrics"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer["partialSuccess"]["rejectedDataPoints"], "1",
        "{answer}"
    );
    assert_eq!(
        values(&server, "seriesByTag('name=disk.used','host.name=web1')")
            .await
            .1,
        vec![0.75]
    );

    // Not OTLP: a 400 naming the problem; no token: a 401.
    let response = post_truncated_protobuf(&server, &token, "/v1/metrics").await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("protobuf"));
    let response = server
        .client
        .post(server.url("/v1/metrics"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}
