//! Operational endpoints, self-telemetry and shutdown.

use server::testkit::{assert_listener_telemetry, start_server};

#[tokio::test]
async fn healthz_and_readyz_answer() {
    let server = start_server().await;
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok\n");
    let ready = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn every_listener_reports_the_uniform_counters() {
    let server = start_server().await;
    let names = server.handle().listener_names();
    let metrics = server.metrics().await;
    assert_listener_telemetry(&metrics, &names);
    assert!(
        metrics.contains("sightline_build_info{version=\""),
        "{metrics}"
    );
}

#[tokio::test]
async fn http_counters_move_with_traffic() {
    let server = start_server().await;
    let before = server.metrics().await;
    let received = |text: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.starts_with("sightline_listener_received_total{listener=\"http\"}"))
            .unwrap();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let bad = server
        .post("/api/v1/tokens")
        .body("{not json")
        .header("content-type", "application/json");
    assert_eq!(bad.send().await.unwrap().status(), 400);
    let after = server.metrics().await;
    // The bad request and the first /metrics call were both received in between.
    assert_eq!(received(&after), received(&before) + 2);
    let parse_errors = after
        .lines()
        .find(|l| l.starts_with("sightline_listener_parse_errors_total{listener=\"http\"}"))
        .unwrap();
    assert!(parse_errors.ends_with(" 1"), "{parse_errors}");
    assert!(
        after.contains("sightline_http_responses_total{class=\"4xx\"} 1"),
        "{after}"
    );
}

#[tokio::test]
async fn unknown_routes_answer_json_404() {
    let server = start_server().await;
    let response = server.get("/no/such/thing?secret=1").send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["message"], "no route for /no/such/thing");
}

#[tokio::test]
async fn shutdown_drains_and_releases_the_data_directory() {
    let mut server = start_server().await;
    let data_dir = server.handle().data_dir().to_owned();
    let addr = server.http;
    let report = server.stop().await;
    assert!(report.cut.is_empty(), "{report:?}");
    // The lock is released: the directory can be opened again.
    server::DataDir::open(&data_dir).unwrap();
    // And nothing listens any more.
    assert!(std::net::TcpStream::connect(addr).is_err());
}

/// Each store's disk use is on `/metrics`, and stored by the self-monitor under
/// `sightline.<store>.disk_bytes` as the other self-metrics are.
#[tokio::test]
async fn disk_use_per_store_is_reported() {
    let server = start_server().await;
    let metrics = server.metrics().await;
    let bytes = |store: &str| -> u64 {
        let prefix = format!("sightline_store_disk_bytes{{store=\"{store}\"}} ");
        let line = metrics
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {metrics}"));
        line[prefix.len()..].parse().unwrap()
    };
    let data = server.dir().join("data");
    let size = |name: &str| std::fs::metadata(data.join(name)).map_or(0, |m| m.len());
    assert!(bytes("control") >= size("control.db") && size("control.db") > 0);
    assert!(bytes("issues") >= size("issues.db") && size("issues.db") > 0);
    assert_eq!(bytes("events"), server.handle().events().disk_bytes());
    bytes("tsdb");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let series = server
            .get_json("/render?target=sightline.control.disk_bytes&from=-5min&format=json")
            .await;
        let stored = series[0]["datapoints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p[0].as_f64())
            .next_back();
        if let Some(v) = stored {
            assert!(v >= size("control.db") as f64, "{series}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never stored: {series}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}
