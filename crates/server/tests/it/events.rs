//! Events over HTTP: NDJSON ingest with an ingest token, then search.

use serde_json::Value;
use server::testkit::{ADMIN_PASSWORD, TestServer, start_server};

const LINES: &str = r#"{"user_id": 42, "request_id": "abc123", "plan": "pro", "amount": 49.0, "event": "user.signed_up", "level": "info", "timestamp": "2026-11-25T02:55:28.684388Z"}
{"user_id": 42, "event": "payment.succeeded", "amount": 49.0, "currency": "EUR", "level": "info", "timestamp": "2026-11-25T02:56:00Z"}
this line is not JSON
{"order_id": 7, "ms": 1234, "event": "order.slow", "logger": "shop.checkout", "level": "warning", "timestamp": "2026-11-25T02:57:00Z"}
[1, 2]
"#;

pub(crate) async fn ingest_token(server: &TestServer) -> String {
    let cookie = server.login("admin", ADMIN_PASSWORD).await.unwrap();
    server
        .create_token(&cookie, "shipper", "ingest", None)
        .await
}

/// Searches (over the fixtures' days) until `want` events match; the store commits every
/// second.
async fn search_until(server: &TestServer, query: &str, want: u64) -> Value {
    wait_for_range(server, query, want, "from=1795000000&until=1796000000").await
}

#[tokio::test]
async fn ndjson_in_search_out() {
    let server = start_server().await;
    let token = ingest_token(&server).await;
    let response = server
        .client
        .post(server.url("/api/v1/ingest"))
        .bearer_auth(&token)
        .header("Content-Type", "application/x-ndjson")
        .body(LINES)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        (answer["accepted"].as_u64(), answer["rejected"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(
        answer["errors"][0]["index"], 2,
        "the bad line is named by its position"
    );
    assert_eq!(answer["errors"][1]["index"], 4);

    let found = search_until(&server, "user_id:42", 2).await;
    assert_eq!(found["total"], 2);
    assert_eq!(
        found["events"][0]["message"], "payment.succeeded",
        "newest first"
    );
    assert_eq!(found["events"][1]["fields"]["plan"], "pro");
    let found = search_until(&server, "event:order.slow AND ms:[1000 TO *]", 1).await;
    assert_eq!(found["events"][0]["level"], "warning");
    let found = search_until(&server, "", 3).await;
    assert_eq!(found["total"], 3);

    // A JSON array body is the same.
    let response = server
        .client
        .post(server.url("/api/v1/ingest"))
        .bearer_auth(&token)
        .body(r#"[{"msg": "from an array", "timestamp": 1795500000}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.json::<Value>().await.unwrap()["accepted"], 1);
    assert_eq!(search_until(&server, "array", 1).await["total"], 1);

    let bad = server
        .get("/api/v1/events/search?q=amount:[1%20TO")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn ingest_needs_an_ingest_token() {
    let server = start_server().await;
    let url = server.url("/api/v1/ingest");
    let none = server.client.post(&url).body("{}").send().await.unwrap();
    assert_eq!(none.status(), 401);
    let api = server
        .client
        .post(&url)
        .bearer_auth(&server.admin_token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401, "an API token is not an ingest token");
    let token = ingest_token(&server).await;
    let search = server
        .client
        .get(server.url("/api/v1/events/search"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(search.status(), 401, "an ingest token cannot read");
    let gz = server
        .client
        .post(&url)
        .bearer_auth(&token)
        .header("Content-Encoding", "gzip")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.status(), 400);
}

#[tokio::test]
async fn structlog_ships_to_the_ingest_endpoint() {
    let server = start_server().await;
    let token = ingest_token(&server).await;
    let doc = serde_json::json!({"url": server.url("/api/v1/ingest"), "token": token});
    let out =
        tokio::task::spawn_blocking(move || crate::peers::run_python("structlog_sender.py", &doc))
            .await
            .unwrap();
    assert_eq!(out["status"], 200);
    assert_eq!(out["answer"]["accepted"], 4, "{}", out["answer"]);
    // structlog stamps the real time: search the last hour around it.
    let found = wait_for(&server, "user_id:42", 3).await;
    assert_eq!(found["total"], 3, "{found}");
    let failed = &found["events"][0];
    assert_eq!(failed["message"], "payment.failed");
    assert_eq!(failed["level"], "error");
    assert_eq!(
        failed["fields"]["exception"][0]["exc_type"],
        "ZeroDivisionError"
    );
    let slow = server
        .get_json("/api/v1/events/search?from=-1h&q=event:order.slow")
        .await;
    assert_eq!(slow["events"][0]["level"], "warning");
    assert_eq!(slow["events"][0]["fields"]["ms"], 1234);
}

/// Searches the last hour until `want` events match.
async fn wait_for(server: &TestServer, query: &str, want: u64) -> Value {
    wait_for_range(server, query, want, "from=-1h").await
}

#[tokio::test]
async fn python_syslog_handler_over_udp_and_tcp() {
    let server = start_server().await;
    let udp = server.addr(server::ListenerKind::SyslogUdp);
    let tcp = server.addr(server::ListenerKind::SyslogTcp);
    for (addr, transport) in [(udp, "udp"), (tcp, "tcp")] {
        let doc = serde_json::json!({"host": "127.0.0.1", "port": addr.port(), "transport": transport, "tag": "shop-worker"});
        // SysLogHandler's TCP messages end with NUL and nothing else; its UDP ones too.
        let out =
            tokio::task::spawn_blocking(move || crate::peers::run_python("syslog_sender.py", &doc))
                .await
                .unwrap();
        assert!(out["pid"].as_u64().is_some_and(|pid| pid > 1), "{out}");
        let found = wait_for(&server, &format!("\"over {transport}\""), 2).await;
        assert_eq!(found["total"], 2, "{transport}: {found}");
        let error = &found["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["level"] == "error")
            .cloned()
            .unwrap();
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("payment failed")
        );
        assert_eq!(error["fields"]["facility"], "local3");
        assert_eq!(
            error["host"], "127.0.0.1",
            "no host in the message: the sender's address"
        );
        // The formatter's `shop-worker[pid]:` tag is the program and its process id.
        assert_eq!(error["service"], "shop-worker", "{error}");
        assert_eq!(error["fields"]["pid"], out["pid"], "{error}");
        assert_eq!(
            error["message"],
            format!("sender.{transport} payment failed over {transport}")
        );
        // No time in the message: stamped at receipt, to the nanosecond, not the second.
        let stamped = error["timestamp_ns"].as_i64().unwrap();
        let both: Vec<i64> = found["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["timestamp_ns"].as_i64().unwrap())
            .collect();
        assert!(
            both.iter().any(|ns| ns % 1_000_000_000 != 0),
            "receipt times carry sub-second precision: {both:?}"
        );
        let now = jiff::Timestamp::now().as_nanosecond() as i64;
        assert!((now - stamped).abs() < 60_000_000_000, "{stamped} vs {now}");
    }
    let metrics = server.metrics().await;
    server::testkit::assert_listener_telemetry(
        &metrics,
        &["syslog_udp", "syslog_tcp", "json_lines_tcp"],
    );
}

#[tokio::test]
async fn json_lines_and_framed_syslog_over_tcp() {
    use std::io::Write;
    let server = start_server().await;
    let json_lines = server.addr(server::ListenerKind::JsonLinesTcp);
    let syslog = server.addr(server::ListenerKind::SyslogTcp);
    let octet = "<165>1 2024-05-01T12:00:00.123456+02:00 web01 myapp 4242 ID47 [exampleSDID@32473 iut=\"3\"] octet counted\n";
    let syslog_bytes = format!(
        "{} {octet}<13>May  1 12:00:00 web02 sshd[99]: Accepted publickey for alice\n",
        octet.len()
    );
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(json_lines).unwrap();
        s.write_all(b"{\"message\": \"shipped by logstash\", \"user\": {\"email\": \"bob@example.com\"}}\nnot json\n{\"msg\": \"last line, no newline\"}").unwrap();
        drop(s);
        std::net::TcpStream::connect(syslog).unwrap().write_all(syslog_bytes.as_bytes()).unwrap();
    })
    .await
    .unwrap();
    let found = wait_for(&server, "user.email:bob@example.com", 1).await;
    assert_eq!(found["events"][0]["message"], "shipped by logstash");
    assert_eq!(wait_for(&server, "\"no newline\"", 1).await["total"], 1);
    // The 5424 message is from 2024 and the 3164 one from May: search all time for them.
    let all = server
        .get_json("/api/v1/events/search?from=0&q=sd.exampleSDID@32473.iut:3")
        .await;
    assert_eq!(all["total"], 1, "{all}");
    assert_eq!(all["events"][0]["service"], "myapp");
    let sshd = server
        .get_json("/api/v1/events/search?from=0&q=service:sshd")
        .await;
    assert_eq!(sshd["events"][0]["host"], "web02");
    assert_eq!(sshd["events"][0]["fields"]["pid"], 99, "{sshd}");
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("sightline_listener_parse_errors_total{listener=\"json_lines_tcp\"} 1"),
        "the bad line is counted"
    );
}

#[tokio::test]
async fn the_elasticsearch_client_bulk_indexes() {
    let server = start_server().await;
    let token = ingest_token(&server).await;
    let doc = serde_json::json!({"url": server.url(""), "token": token});
    let out =
        tokio::task::spawn_blocking(move || crate::peers::run_python("elastic_sender.py", &doc))
            .await
            .unwrap();
    assert!(
        out["info"]["version"]["number"]
            .as_str()
            .unwrap()
            .starts_with("8."),
        "{out}"
    );
    assert_eq!(out["bulk"][0], 6, "{out}");
    assert_eq!(out["bulk"][1], serde_json::json!([]));
    let found = wait_for_range(
        &server,
        "_index:shop-logs AND amount:[30 TO *]",
        3,
        "from=1795000000&until=1796000000",
    )
    .await;
    assert_eq!(found["total"], 3, "{found}");
    assert_eq!(found["events"][0]["message"], "order 4 paid");
    assert_eq!(found["events"][0]["level"], "info", "ECS log.level");

    // A bad document and an unsupported action are answered per item; the good one is kept.
    let body = "{\"index\":{\"_index\":\"x\"}}\n{\"message\":\"kept\",\"ts\":1795500000}\n{\"index\":{}}\nnot json\n{\"delete\":{\"_id\":\"1\"}}\n";
    let response = server
        .client
        .post(server.url("/_bulk"))
        .bearer_auth(&token)
        .header("Content-Type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-elastic-product"], "Elasticsearch");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["errors"], true);
    let statuses: Vec<u64> = answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i.as_object().unwrap().values().next().unwrap()["status"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(statuses, [201, 400, 400]);
    assert!(answer["items"][2]["delete"]["error"]["type"].is_string());
    for probe in [
        "/_cluster/health",
        "/_license",
        "/_index_template/x",
        "/_ilm/policy/y",
        "/_nodes/http",
    ] {
        let r = server
            .client
            .get(server.url(probe))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{probe}");
        assert_eq!(r.headers()["x-elastic-product"], "Elasticsearch", "{probe}");
    }
    let unauth = server
        .client
        .post(server.url("/_bulk"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status(), 401);
}

/// Searches `range` until `want` events match `query`, up to 10 s.
async fn wait_for_range(server: &TestServer, query: &str, want: u64, range: &str) -> Value {
    let url = format!(
        "/api/v1/events/search?{range}&q={}",
        serde_urlencoded::to_string([("", query)])
            .unwrap()
            .trim_start_matches('=')
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let found = server.get_json(&url).await;
        if found["total"].as_u64() == Some(want) || std::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_opentelemetry_sdk_exports_logs() {
    let server = start_server().await;
    let token = ingest_token(&server).await;
    let doc = serde_json::json!({"url": server.url("/v1/logs"), "token": token});
    let out = tokio::task::spawn_blocking(move || crate::peers::run_python("otlp_sender.py", &doc))
        .await
        .unwrap();
    assert_eq!(out["exported"], true);
    let found = wait_for(&server, "service:checkout", 3).await;
    assert_eq!(found["total"], 3, "{found}");
    let declined = &found["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["message"] == "payment declined")
        .cloned()
        .unwrap();
    assert_eq!(declined["level"], "error");
    assert_eq!(declined["host"], "web7");
    assert_eq!(declined["fields"]["order_id"], 8);
    let placed = wait_for(&server, "amount:[40 TO 50] AND currency:EUR", 1).await;
    assert_eq!(placed["events"][0]["message"], "order placed");

    // OTLP/JSON, and a body that is neither.
    let json = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cron"}}]},"scopeLogs":[{"logRecords":[{"severityText":"WARN","body":{"stringValue":"backup slow"}}]}]}]}"#;
    let r = server
        .client
        .post(server.url("/v1/logs"))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(json)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        wait_for(&server, "service:cron AND level:warning", 1).await["total"],
        1
    );
    let r = post_truncated_protobuf(&server, &token, "/v1/logs").await;
    assert_eq!(r.status(), 400);
}

/// A protobuf body cut short (a field that claims more bytes than follow), to an OTLP route.
pub(crate) async fn post_truncated_protobuf(
    server: &TestServer,
    token: &str,
    path: &str,
) -> reqwest::Response {
    server
        .client
        .post(server.url(path))
        .bearer_auth(token)
        .header("Content-Type", "application/x-protobuf")
        .body(vec![0x0a, 0xff, 0xff])
        .send()
        .await
        .unwrap()
}

/// `[events] retention`: once a whole day is older than it, the maintenance task drops the
/// day, files and all, and refuses late events for it.
#[tokio::test]
async fn events_past_the_retention_are_dropped_with_their_files() {
    use std::sync::Arc;
    // 2026-11-25T12:00:00Z, the fixtures' day.
    let clock = Arc::new(model::ManualClock::new(model::Timestamp::from_secs(
        1_795_608_000,
    )));
    let server = server::testkit::start_server_with(clock.clone(), |c| {
        c.events.retention = model::HumanDuration::from_secs(86_400);
        c.maintenance_interval = model::HumanDuration::from_millis(100);
    })
    .await;
    let token = ingest_token(&server).await;
    let ingest = |body: &'static str| {
        server
            .client
            .post(server.url("/api/v1/ingest"))
            .bearer_auth(&token)
            .body(body)
            .send()
    };
    let answer: Value = ingest(LINES).await.unwrap().json().await.unwrap();
    assert_eq!(answer["accepted"], 3, "{answer}");
    assert_eq!(search_until(&server, "", 3).await["total"], 3);
    let day = server.dir().join("data/events/2026-11-25");
    assert!(day.is_dir());

    // Two days later the whole of 2026-11-25 is older than a day: the next run drops it.
    clock.advance(std::time::Duration::from_secs(2 * 86_400));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while server.handle().events().days().unwrap() != Vec::<String>::new() {
        assert!(
            std::time::Instant::now() < deadline,
            "the day was never dropped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!day.exists(), "its files are gone");
    assert_eq!(search_until(&server, "", 0).await["total"], 0);
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("sightline_events_days_dropped_total 1\n"),
        "{metrics}"
    );

    // A late event for the dropped day is refused, with the reason, and nothing else is lost.
    let late = r#"{"event": "late", "timestamp": "2026-11-25T23:00:00Z"}
{"event": "today"}
"#;
    let answer: Value = ingest(late).await.unwrap().json().await.unwrap();
    assert_eq!(answer["accepted"], 1, "{answer}");
    assert_eq!(answer["rejected"], 1);
    assert_eq!(answer["errors"][0]["index"], 0);
    let why = answer["errors"][0]["error"].as_str().unwrap();
    assert!(
        why.starts_with("2026-11-25 is past the retention: the store keeps events from "),
        "{why}"
    );
}

/// A `terms` over a field with a value per event, and a `cardinality` of it, within a small
/// per-query memory budget: the distinct count is answered (a bounded sketch); grouping by
/// every value is refused with a clear message, and the server goes on answering.
#[tokio::test]
async fn high_cardinality_aggregations_stay_within_the_query_budget() {
    let server =
        server::testkit::start_server_with(std::sync::Arc::new(model::SystemClock), |config| {
            config.query.memory_per_query = model::ByteSize::mib(1)
        })
        .await;
    let token = ingest_token(&server).await;
    let mut body = String::new();
    for i in 0..60_000 {
        body.push_str(&format!(
            "{{\"event\":\"visit\",\"visitor\":\"v{i:06}\"}}\n"
        ));
    }
    let response = server
        .client
        .post(server.url("/api/v1/ingest?refresh=true"))
        .bearer_auth(&token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let distinct = server
        .get_json("/api/v1/events/aggregate?q=event:visit&from=-1h&stats=cardinality(visitor)")
        .await;
    let estimate = distinct["rows"][0]["cardinality(visitor)"]
        .as_f64()
        .unwrap();
    assert!(
        (57_000.0..=63_000.0).contains(&estimate),
        "a distinct count within 5 % of 60,000 (a HyperLogLog sketch): {distinct}"
    );

    // The 10,000 most frequent values (the most a table shows) fit; a second level under each
    // of 60,000 values does not.
    let top = server
        .get_json("/api/v1/events/aggregate?q=event:visit&from=-1h&by=visitor&size=60000")
        .await;
    assert_eq!(
        top["rows"].as_array().unwrap().len(),
        10_000,
        "{}",
        top["columns"]
    );
    let response = server
        .get("/api/v1/events/aggregate?q=event:visit&from=-1h&by=visitor,event&size=10000")
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 400, "{}", &text[..text.len().min(300)]);
    assert!(text.contains("memory"), "{text}");

    let counted = server
        .get_json("/api/v1/events/aggregate?q=event:visit&from=-1h")
        .await;
    assert_eq!(counted["rows"][0]["count"], 60_000, "{counted}");
}
