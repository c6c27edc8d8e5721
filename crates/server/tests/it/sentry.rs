//! Sentry's ingest endpoints with the real sentry-sdk for Python, and the protocol's edges:
//! credentials in the header, the query and the envelope, encodings, bad keys, bad items.

use serde_json::{Value, json};
use server::testkit::{TestServer, start_server};

async fn project(server: &TestServer) -> Value {
    server
        .client
        .post(server.url("/api/v1/projects"))
        .bearer_auth(&server.admin_token)
        .json(&json!({"name": "shop"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Posts `body` as an envelope to project `id` with public key `key`.
async fn post_envelope(
    server: &TestServer,
    id: i64,
    key: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    server
        .client
        .post(server.url(&format!("/api/{id}/envelope/")))
        .header("X-Sentry-Auth", format!("Sentry sentry_key={key}"))
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_python_sdk_sends_events_logs_and_attachments() {
    let server = start_server().await;
    let p = project(&server).await;
    let project_id = p["id"].as_i64().unwrap();
    // The DSN as shown (the test config listens on port 0), pointed at this server's port.
    let shown = wire::sentry::Dsn::parse(p["dsn"].as_str().unwrap()).unwrap();
    let dsn = format!("http://{}@{}/{project_id}", shown.public_key, server.http);
    let out = tokio::task::spawn_blocking(move || {
        crate::peers::run_python("sentry_sender.py", &json!({"dsn": dsn}))
    })
    .await
    .unwrap();
    let ids: Vec<String> = out["event_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 4, "{out}");
    let store = server.handle().issues();
    let metrics = server.metrics().await;
    for id in &ids {
        let stored = store
            .event(project_id, id)
            .unwrap()
            .unwrap_or_else(|| panic!("{id} stored: {out}\n{metrics}"));
        let event: Value = serde_json::from_slice(&stored.payload).unwrap();
        assert_eq!(event["release"], "shop@1.4.0");
    }
    let exception: Value =
        serde_json::from_slice(&store.event(project_id, &ids[0]).unwrap().unwrap().payload)
            .unwrap();
    assert_eq!(
        exception["exception"]["values"][0]["type"],
        "ZeroDivisionError"
    );
    let attached = store.attachments(project_id, &ids[3]).unwrap();
    assert_eq!(
        attached,
        vec![("debug.log".to_owned(), b"line one\nline two\n".to_vec())]
    );
    // The logging integration's and the WSGI middleware's errors are events too (6 in all).
    assert_eq!(store.events(project_id, 100).unwrap().len(), 6);

    // Grouped into issues; a second run of the same program adds to the same four.
    let dsn2 = format!("http://{}@{}/{project_id}", shown.public_key, server.http);
    tokio::task::spawn_blocking(move || {
        crate::peers::run_python("sentry_sender.py", &json!({"dsn": dsn2}))
    })
    .await
    .unwrap();
    let listed = server
        .get_json(&format!("/api/v1/issues?project={project_id}&sort=events"))
        .await;
    let issues = listed["issues"].as_array().unwrap();
    let mut titles: Vec<&str> = issues
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        [
            "Payment provider timeout for order 1234",
            "RuntimeError: lookup failed",
            "ValueError: bad coupon code",
            "ZeroDivisionError: division by zero",
            "checkout failed for basket 77",
            "with an attachment",
        ],
        "{listed}"
    );
    assert!(issues.iter().all(|i| i["times_seen"] == 2), "{listed}");
    let zero = issues
        .iter()
        .find(|i| i["title"] == "ZeroDivisionError: division by zero")
        .unwrap();
    assert_eq!(zero["grouping"]["rule"], "stacktrace");
    assert_eq!(zero["level"], "error");
    assert_eq!(zero["last_release"], "shop@1.4.0");
    let detail = server
        .get_json(&format!("/api/v1/issues/{}", zero["id"]))
        .await;
    assert_eq!(detail["grouping"]["components"][0], "ZeroDivisionError");
    let hourly: i64 = detail["hourly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["events"].as_i64().unwrap())
        .sum();
    assert_eq!(hourly, 2, "{detail}");
    let tag = |key: &str| {
        detail["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["key"] == key)
            .map(|t| t["values"][0].clone())
    };
    assert_eq!(
        tag("environment"),
        Some(json!({"value": "production", "events": 2}))
    );
    assert_eq!(tag("user"), Some(json!({"value": "id:u-17", "events": 2})));
    let events = server
        .get_json(&format!("/api/v1/issues/{}/events", zero["id"]))
        .await;
    let frames = &events["events"][0]["event"]["exception"]["values"][0]["stacktrace"]["frames"];
    assert!(
        frames
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["function"] == "divide"),
        "the stack trace, as sent: {events}"
    );
    let found = server
        .get_json(&format!(
            "/api/v1/issues?query=division&project={project_id}"
        ))
        .await;
    assert_eq!(found["issues"].as_array().unwrap().len(), 1);
    let in_production = server
        .get_json(&format!(
            "/api/v1/issues?project={project_id}&environment=production&release=shop@1.4.0"
        ))
        .await;
    assert_eq!(in_production["issues"].as_array().unwrap().len(), 6);
    let elsewhere = server
        .get_json(&format!(
            "/api/v1/issues?project={project_id}&environment=staging"
        ))
        .await;
    assert!(elsewhere["issues"].as_array().unwrap().is_empty());
    // The chain groups by cause and effect; the WSGI error carries its request.
    let chained = issues
        .iter()
        .find(|i| i["title"] == "RuntimeError: lookup failed")
        .unwrap();
    let components = chained["grouping"]["components"].as_array().unwrap();
    assert!(
        components.contains(&json!("KeyError")) && components.contains(&json!("RuntimeError")),
        "{chained}"
    );
    let wsgi = issues
        .iter()
        .find(|i| i["title"] == "ValueError: bad coupon code")
        .unwrap();
    let wsgi_events = server
        .get_json(&format!("/api/v1/issues/{}/events", wsgi["id"]))
        .await;
    let request = &wsgi_events["events"][0]["event"]["request"];
    assert_eq!(request["method"], "POST", "{wsgi_events}");
    assert!(
        request["url"].as_str().unwrap().ends_with("/checkout"),
        "{request}"
    );
    assert_eq!(request["query_string"], "coupon=SAVE10");

    // The structured log went to the event store, searchable like any event.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let found = loop {
        let found = server
            .get_json("/api/v1/events/search?q=sentry.message.parameter.user_id:u-17&from=-1h")
            .await;
        if found["total"] == 2 || std::time::Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(found["total"], 2, "one per run: {found}");
    assert_eq!(
        found["events"][0]["message"], "User u-17 checked out",
        "{found}"
    );
    assert_eq!(found["events"][0]["service"], "shop");

    // Errors are in the event store too, beside the user's other events.
    let q = "user.email:\"alice@example.com\" AND error.type:ZeroDivisionError";
    let url = format!(
        "/api/v1/events/search?from=-1h&q={}",
        serde_urlencoded::to_string([("", q)])
            .unwrap()
            .trim_start_matches('=')
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let errors = loop {
        let errors = server.get_json(&url).await;
        if errors["total"] == 2 || std::time::Instant::now() > deadline {
            break errors;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(errors["total"], 2, "{errors}");
    assert_eq!(
        errors["events"][0]["message"],
        "ZeroDivisionError: division by zero"
    );
    assert_eq!(errors["events"][0]["level"], "error");
    assert_eq!(
        errors["events"][0]["fields"]["error"]["issue_id"],
        zero["id"]
    );
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("sightline_sentry_events_total 12"),
        "{metrics}"
    );
    assert!(metrics.contains("sightline_sentry_attachments_total 2"));
}

const ENVELOPE: &str = "{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n{\"type\":\"event\"}\n{\"message\":\"hello\",\"level\":\"error\"}\nnot a header\n{\"type\":\"transaction\"}\n{}\n{\"type\":\"brand_new\"}\n{}\n";

#[tokio::test]
async fn credentials_encodings_and_bad_input() {
    let server = start_server().await;
    let p = project(&server).await;
    let id = p["id"].as_i64().unwrap();
    let key = p["keys"][0]["public_key"].as_str().unwrap().to_owned();
    let post = |path: String, body: Vec<u8>, headers: Vec<(&'static str, String)>| {
        let mut r = server.client.post(server.url(&path)).body(body);
        for (k, v) in headers {
            r = r.header(k, v);
        }
        r.send()
    };
    let auth = (
        "X-Sentry-Auth",
        format!("Sentry sentry_key={key}, sentry_version=7, sentry_secret=ignored"),
    );

    // The header; gzip.
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(ENVELOPE.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let r = post(
        format!("/api/{id}/envelope/"),
        gz,
        vec![auth.clone(), ("Content-Encoding", "gzip".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"id": "9ec79c33ec9942ab8353589fcb2e04dc"})
    );
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("sightline_sentry_items_malformed_total 1"),
        "the bad item is counted"
    );
    assert!(metrics.contains("sightline_sentry_items_dropped_total 1"));
    assert!(metrics.contains("sightline_sentry_items_unknown_total 1"));

    // The query string (the JS SDKs), no Content-Type; the same id again is kept once.
    let r = post(
        format!("/api/{id}/envelope/?sentry_version=7&sentry_key={key}"),
        ENVELOPE.into(),
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        server
            .metrics()
            .await
            .contains("sightline_sentry_duplicate_events_total 1")
    );

    // The envelope's own DSN (the JS tunnel), with no credentials on the request.
    let tunnel = format!(
        "{{\"event_id\":\"0123456789abcdef0123456789abcdef\",\"dsn\":\"http://{key}@example.com/{id}\"}}\n{{\"type\":\"event\"}}\n{{\"message\":\"via tunnel\"}}\n"
    );
    let r = post(format!("/api/{id}/envelope/"), tunnel.into(), vec![])
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        server
            .handle()
            .issues()
            .event(id, "0123456789abcdef0123456789abcdef")
            .unwrap()
            .is_some()
    );

    // The legacy store endpoint.
    let r = post(
        format!("/api/{id}/store/"),
        br#"{"event_id":"fedcba9876543210fedcba9876543210","message":"old"}"#.to_vec(),
        vec![auth.clone()],
    )
    .await
    .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["id"],
        "fedcba9876543210fedcba9876543210"
    );

    // No key: 401; an unknown key, or another project's: 403; all in Sentry's shape.
    let r = post(format!("/api/{id}/envelope/"), ENVELOPE.into(), vec![])
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.json::<Value>().await.unwrap()["detail"].is_string());
    let r = post(
        format!("/api/{id}/envelope/"),
        ENVELOPE.into(),
        vec![("X-Sentry-Auth", "Sentry sentry_key=0000".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    let r = post(
        format!("/api/{}/envelope/", id + 1),
        ENVELOPE.into(),
        vec![auth.clone()],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    // A bad body encoding is 400; a bad envelope header 400.
    let r = post(
        format!("/api/{id}/envelope/"),
        b"nope".to_vec(),
        vec![auth.clone(), ("Content-Encoding", "gzip".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let r = post(format!("/api/{id}/envelope/"), b"[]\n".to_vec(), vec![auth])
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// Sets a project's refused categories over the API; returns the status.
async fn refuse(server: &TestServer, project_id: i64, categories: Value) -> u16 {
    patch_project(
        server,
        project_id,
        json!({ "refused_categories": categories }),
    )
    .await
    .status()
    .as_u16()
}

/// `PATCH /api/v1/projects/{id}` with `change`, as an admin.
async fn patch_project(server: &TestServer, project_id: i64, change: Value) -> reqwest::Response {
    server
        .client
        .patch(server.url(&format!("/api/v1/projects/{project_id}")))
        .bearer_auth(&server.admin_token)
        .json(&change)
        .send()
        .await
        .unwrap()
}

/// The sightline_sentry_* counter `name`.
fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} in {metrics}"))
}

#[tokio::test]
async fn the_rate_limit_header_makes_the_sdk_hold_back_what_we_refuse() {
    let server = start_server().await;
    let p = project(&server).await;
    let project_id = p["id"].as_i64().unwrap();
    assert_eq!(
        p["refused_categories"][0], "transaction",
        "refused by default"
    );
    let key = p["keys"][0]["public_key"].as_str().unwrap().to_owned();
    let dsn = format!("http://{key}@{}/{project_id}", server.http);
    let run = |dsn: String| async move {
        tokio::task::spawn_blocking(move || {
            crate::peers::run_python("sentry_backoff.py", &json!({"dsn": dsn}))
        })
        .await
        .unwrap()
    };

    // The answer to the first message says "no transactions for an hour": none arrives.
    let r = server
        .client
        .post(server.url(&format!("/api/{project_id}/store/")))
        .header("X-Sentry-Auth", format!("Sentry sentry_key={key}"))
        .body("{\"message\":\"probe\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["x-sentry-rate-limits"],
        "3600:transaction;span;profile;profile_chunk;replay:project"
    );
    assert!(r.headers().get("retry-after").is_none(), "never on a 200");
    run(dsn.clone()).await;
    let metrics = server.metrics().await;
    assert_eq!(
        counter(&metrics, "sightline_sentry_events_total"),
        3,
        "errors keep flowing"
    );
    assert_eq!(
        counter(&metrics, "sightline_sentry_items_dropped_total"),
        0,
        "held back"
    );

    // With nothing refused, the same program sends its transaction.
    assert_eq!(refuse(&server, project_id, json!([])).await, 200);
    run(dsn).await;
    let metrics = server.metrics().await;
    assert_eq!(counter(&metrics, "sightline_sentry_events_total"), 5);
    assert_eq!(
        counter(&metrics, "sightline_sentry_items_dropped_total"),
        1,
        "the transaction came"
    );
    assert_eq!(
        refuse(&server, project_id, json!(["no such;thing"])).await,
        400
    );
}

#[tokio::test]
async fn a_resolved_issue_regresses_on_a_newer_release() {
    let server = start_server().await;
    let p = project(&server).await;
    let id = p["id"].as_i64().unwrap();
    let key = p["keys"][0]["public_key"].as_str().unwrap().to_owned();
    let send = |release: &str, n: u32| {
        let body = format!(
            "{{\"event_id\":\"{n:032x}\",\"release\":\"{release}\",\"exception\":{{\"values\":[{{\"type\":\"KeyError\",\"value\":\"'basket'\",\"stacktrace\":{{\"frames\":[{{\"module\":\"shop.cart\",\"function\":\"total\",\"in_app\":true}}]}}}}]}}}}"
        );
        server
            .client
            .post(server.url(&format!("/api/{id}/store/")))
            .header("X-Sentry-Auth", format!("Sentry sentry_key={key}"))
            .body(body)
            .send()
    };
    assert_eq!(send("shop@1.0", 1).await.unwrap().status(), 200);
    let issue = &server
        .get_json(&format!("/api/v1/issues?project={id}"))
        .await["issues"][0];
    let issue_id = issue["id"].as_i64().unwrap();
    let patch = |body: Value| {
        server
            .client
            .patch(server.url(&format!("/api/v1/issues/{issue_id}")))
            .bearer_auth(&server.admin_token)
            .json(&body)
            .send()
    };
    let resolved = patch(json!({"status": "resolved_in_next_release"}))
        .await
        .unwrap();
    assert_eq!(resolved.status(), 200);
    assert_eq!(
        resolved.json::<Value>().await.unwrap()["status"],
        "resolved"
    );

    // The same release still running somewhere: not a regression.
    send("shop@1.0", 2).await.unwrap();
    let detail = server.get_json(&format!("/api/v1/issues/{issue_id}")).await;
    assert_eq!(detail["status"], "resolved");
    // A newer release: a regression, recorded with the event.
    send("shop@1.1", 3).await.unwrap();
    let detail = server.get_json(&format!("/api/v1/issues/{issue_id}")).await;
    assert_eq!(detail["status"], "unresolved", "{detail}");
    let changes = detail["changes"].as_array().unwrap();
    assert_eq!(
        changes[0]["detail"],
        "resolved in the release after shop@1.0"
    );
    assert_eq!(changes[0]["by"], "token:test-admin", "who did it");
    assert_eq!(
        changes[1]["detail"],
        format!("regressed: event {:032x} in release shop@1.1", 3)
    );
    assert_eq!(detail["times_seen"], 3);
    // The list says when, for graph annotations, and the sparkline's hours.
    let listed = server
        .get_json(&format!(
            "/api/v1/issues?project={id}&regressions=true&hourly=24"
        ))
        .await;
    let regressed = listed["issues"][0]["regressed_at"].as_array().unwrap();
    assert_eq!(regressed.len(), 1);
    assert_eq!(regressed[0], changes[1]["at"]);
    assert_eq!(listed["issues"][0]["hourly"][0]["events"], 3);
    let bad = patch(json!({"status": "closed"})).await.unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn the_node_sdk_sends_handled_and_unhandled_errors() {
    let server = start_server().await;
    let p = project(&server).await;
    let project_id = p["id"].as_i64().unwrap();
    let key = p["keys"][0]["public_key"].as_str().unwrap().to_owned();
    let dsn = format!("http://{key}@{}/{project_id}", server.http);
    for scenario in ["handled", "unhandled"] {
        let dsn = dsn.clone();
        let (code, output) = tokio::task::spawn_blocking(move || {
            crate::peers::run_node("sentry_node.js", &json!({"dsn": dsn, "scenario": scenario}))
        })
        .await
        .unwrap();
        let want = if scenario == "handled" {
            Some(0)
        } else {
            Some(1)
        };
        assert_eq!(code, want, "{scenario}: {output}");
    }
    let listed = server
        .get_json(&format!("/api/v1/issues?project={project_id}"))
        .await;
    let issues = listed["issues"].as_array().unwrap();
    let mut titles: Vec<&str> = issues
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    titles.sort();
    assert_eq!(titles.len(), 3, "{listed}");
    assert!(
        titles[0].starts_with("Cache miss storm on key users:42"),
        "{titles:?}"
    );
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("TypeError: Cannot read properties of undefined")),
        "{titles:?}"
    );
    // The captured message groups as a message, though Node sends a synthetic exception.
    let message = issues
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with("Cache"))
        .unwrap();
    assert_eq!(message["grouping"]["rule"], "message");
    assert_eq!(message["level"], "info");
    let handled = issues
        .iter()
        .find(|i| {
            i["culprit"]
                .as_str()
                .is_some_and(|c| c.contains("parseOrder"))
        })
        .unwrap_or_else(|| {
            panic!("a culprit in parseOrder: {listed}");
        });
    assert_eq!(handled["grouping"]["rule"], "stacktrace");
    assert_eq!(handled["users"], 1);
    assert_eq!(handled["last_release"], "webapp@2.0.0");
    // The unhandled one is marked so by the SDK's mechanism.
    let unhandled = issues
        .iter()
        .find(|i| i["id"] != handled["id"] && i["id"] != message["id"])
        .unwrap();
    let events = server
        .get_json(&format!("/api/v1/issues/{}/events", unhandled["id"]))
        .await;
    assert_eq!(
        events["events"][0]["event"]["exception"]["values"][0]["mechanism"]["handled"], false,
        "{events}"
    );
}

#[tokio::test]
async fn reports_sessions_and_check_ins_are_kept() {
    let server = start_server().await;
    let p = project(&server).await;
    let id = p["id"].as_i64().unwrap();
    let key = p["keys"][0]["public_key"].as_str().unwrap().to_owned();
    let post = |body: String| {
        server
            .client
            .post(server.url(&format!("/api/{id}/envelope/")))
            .header("X-Sentry-Auth", format!("Sentry sentry_key={key}"))
            .body(body)
            .send()
    };
    let envelope = "{}\n{\"type\":\"client_report\"}\n{\"discarded_events\":[{\"reason\":\"queue_overflow\",\"category\":\"error\",\"quantity\":3}]}\n\
        {\"type\":\"session\"}\n{\"sid\":\"a\",\"status\":\"crashed\",\"errors\":1}\n\
        {\"type\":\"sessions\"}\n{\"aggregates\":[{\"started\":\"2026-12-01T10:00:00Z\",\"exited\":5,\"errored\":2}]}\n\
        {\"type\":\"check_in\"}\n{\"check_in_id\":\"c1\",\"monitor_slug\":\"nightly-backup\",\"status\":\"ok\",\"duration\":12.5}\n";
    assert_eq!(post(envelope.into()).await.unwrap().status(), 200);
    let check_ins = server
        .handle()
        .issues()
        .check_ins(id, "nightly-backup", 10)
        .unwrap();
    assert_eq!(check_ins.len(), 1);
    assert_eq!(
        (check_ins[0].status.as_str(), check_ins[0].duration),
        ("ok", Some(12.5))
    );
    // The points reach the metric store, readable through the Graphite API.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let found = server
            .get_json(&format!(
                "/metrics/find?query=sentry.{id}.*.*&format=completer"
            ))
            .await;
        let names: Vec<String> = found["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["path"].as_str().unwrap().trim_end_matches('.').to_owned())
            .collect();
        let want = [
            format!("sentry.{id}.sessions.crashed"),
            format!("sentry.{id}.sessions.exited"),
            format!("sentry.{id}.sessions.errored"),
            format!("sentry.{id}.client_reports.error"),
        ];
        if want.iter().all(|w| names.contains(w)) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{names:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn overload_is_a_429_with_rate_limit_headers_and_nothing_written() {
    let server = start_server().await;
    let p = project(&server).await;
    let id = p["id"].as_i64().unwrap();
    let key = p["keys"][0]["public_key"].as_str().unwrap().to_owned();
    let held = server.handle().ingest_gate().try_enter(usize::MAX).unwrap();
    let r = post_envelope(&server, id, &key, ENVELOPE).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "60");
    assert_eq!(r.headers()["x-sentry-rate-limits"], "60::project");
    assert!(server.handle().issues().events(id, 10).unwrap().is_empty());
    drop(held);
}

/// Every captured SDK envelope, under every encoding SDKs use.
#[tokio::test]
async fn every_capture_under_every_encoding_is_accepted() {
    use std::io::Write;
    let server = start_server().await;
    let p = project(&server).await;
    let id = p["id"].as_i64().unwrap();
    let key = p["keys"][0]["public_key"].as_str().unwrap().to_owned();
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../wire/tests/it/fixtures/sentry");
    let mut captures: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "envelope"))
        .collect();
    captures.sort();
    assert_eq!(captures.len(), 36);
    let encode = |encoding: &str, data: &[u8]| -> Vec<u8> {
        match encoding {
            "gzip" => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            "deflate" => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            "br" => {
                let mut out = Vec::new();
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                w.write_all(data).unwrap();
                drop(w);
                out
            }
            _ => data.to_vec(),
        }
    };
    let mut event_ids = Vec::new();
    for encoding in ["identity", "gzip", "deflate", "br"] {
        for path in &captures {
            let raw = std::fs::read(path).unwrap();
            let parsed = wire::sentry::parse_envelope(&raw).unwrap();
            // The captures' own DSN keys are the capture machine's: authenticate as this project.
            let mut r = server
                .client
                .post(server.url(&format!("/api/{id}/envelope/")))
                .header("X-Sentry-Auth", format!("Sentry sentry_key={key}"));
            if encoding != "identity" {
                r = r.header("Content-Encoding", encoding);
            }
            let answer = r.body(encode(encoding, &raw)).send().await.unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            // The header's key counts, whatever DSN a tunnel envelope carries.
            assert_eq!(answer.status(), 200, "{name} {encoding}");
            let body: Value = answer.json().await.unwrap();
            if parsed.items.iter().any(|i| i.kind == "event") {
                let want = parsed.event_id().unwrap();
                assert_eq!(body["id"], want, "{name} {encoding}");
                event_ids.push(want);
            }
        }
    }
    for id_ in &event_ids {
        assert!(
            server.handle().issues().event(id, id_).unwrap().is_some(),
            "{id_}"
        );
    }
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("sightline_sentry_items_malformed_total 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_node_sdk_also_holds_back_what_we_refuse() {
    let server = start_server().await;
    let p = project(&server).await;
    let project_id = p["id"].as_i64().unwrap();
    let key = p["keys"][0]["public_key"].as_str().unwrap().to_owned();
    let dsn = format!("http://{key}@{}/{project_id}", server.http);
    let run = |dsn: String| async move {
        let (code, output) = tokio::task::spawn_blocking(move || {
            crate::peers::run_node(
                "sentry_node.js",
                &json!({"dsn": dsn, "scenario": "backoff"}),
            )
        })
        .await
        .unwrap();
        assert_eq!(code, Some(0), "{output}");
    };
    run(dsn.clone()).await;
    let metrics = server.metrics().await;
    assert_eq!(counter(&metrics, "sightline_sentry_events_total"), 2);
    assert_eq!(
        counter(&metrics, "sightline_sentry_items_dropped_total"),
        0,
        "spans held back"
    );
    assert_eq!(refuse(&server, project_id, json!([])).await, 200);
    run(dsn).await;
    let metrics = server.metrics().await;
    assert_eq!(counter(&metrics, "sightline_sentry_events_total"), 4);
    assert!(
        counter(&metrics, "sightline_sentry_items_dropped_total") >= 1,
        "spans sent once allowed"
    );
}

#[tokio::test]
async fn a_dsn_with_a_path_prefix_works_when_the_proxy_keeps_it() {
    let clock = std::sync::Arc::new(model::SystemClock);
    let server = server::testkit::start_server_with(clock, |c| {
        c.http.public_url = Some("https://errors.example.com/visibility".into());
    })
    .await;
    let p = project(&server).await;
    let dsn = wire::sentry::Dsn::parse(p["dsn"].as_str().unwrap()).unwrap();
    assert_eq!(dsn.path_prefix, "/visibility");
    // What the SDK posts to, with this server's address for the proxy's host.
    let path = format!("/visibility/api/{}/envelope/", dsn.project_id);
    let r = server
        .client
        .post(server.url(&path))
        .header(
            "X-Sentry-Auth",
            format!("Sentry sentry_key={}", dsn.public_key),
        )
        .body(ENVELOPE)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["id"],
        "9ec79c33ec9942ab8353589fcb2e04dc"
    );
}

/// A project's `events_per_minute`, answered as Relay answers a quota: the event over it is
/// refused 429 with `Retry-After` and `X-Sentry-Rate-Limits`, an envelope with more in it is
/// taken without the event, and the next minute takes events again.
#[tokio::test]
async fn a_project_rate_limit_answers_as_relay_does() {
    // 50 s into a minute.
    let clock = std::sync::Arc::new(model::ManualClock::new(model::Timestamp::from_secs(
        1_699_999_980 + 50,
    )));
    let server = server::testkit::start_server_with(clock.clone(), |_| {}).await;
    let p = project(&server).await;
    let id = p["id"].as_i64().unwrap();
    let key = p["keys"][0]["public_key"].as_str().unwrap().to_owned();
    let set: Value = patch_project(&server, id, json!({"events_per_minute": 2}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(set["events_per_minute"], 2);
    assert_eq!(
        set["refused_categories"][0], "transaction",
        "the other setting is kept"
    );
    let envelope = |n: usize, report: bool| {
        let mut body = format!(
            "{{\"event_id\":\"{n:032x}\"}}\n{{\"type\":\"event\"}}\n{{\"message\":\"quota {n}\",\"level\":\"error\"}}\n"
        );
        if report {
            body.push_str("{\"type\":\"client_report\"}\n{\"timestamp\":1700000000,\"discarded_events\":[{\"reason\":\"queue_overflow\",\"category\":\"error\",\"quantity\":1}]}\n");
        }
        server
            .client
            .post(server.url(&format!("/api/{id}/envelope/")))
            .header("X-Sentry-Auth", format!("Sentry sentry_key={key}"))
            .body(body)
            .send()
    };
    assert_eq!(envelope(1, false).await.unwrap().status(), 200);
    assert_eq!(envelope(2, false).await.unwrap().status(), 200);
    let over = envelope(3, false).await.unwrap();
    assert_eq!(over.status(), 429);
    assert_eq!(over.headers()["retry-after"], "10");
    assert_eq!(
        over.headers()["x-sentry-rate-limits"],
        "10:error;default:project"
    );
    let detail: Value = over.json().await.unwrap();
    assert_eq!(
        detail["detail"],
        "this project takes at most 2 error events a minute"
    );
    // With a client report beside it, the envelope is taken and the event held back.
    let partly = envelope(4, true).await.unwrap();
    assert_eq!(partly.status(), 200);
    let limits = partly.headers()["x-sentry-rate-limits"].to_str().unwrap();
    assert!(limits.ends_with(", 10:error;default:project"), "{limits}");
    assert!(partly.headers().get("retry-after").is_none());
    // The /store/ endpoint shares the quota.
    let store = server
        .client
        .post(server.url(&format!("/api/{id}/store/")))
        .header("X-Sentry-Auth", format!("Sentry sentry_key={key}"))
        .body(r#"{"message":"old protocol","level":"error"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(store.status(), 429);

    clock.advance(std::time::Duration::from_secs(10));
    assert_eq!(
        envelope(5, false).await.unwrap().status(),
        200,
        "a new minute"
    );
    let mut messages: Vec<String> = server
        .handle()
        .issues()
        .events(id, 10)
        .unwrap()
        .iter()
        .map(|e| {
            let v: Value = serde_json::from_slice(&e.payload).unwrap();
            v["message"].as_str().unwrap_or("").to_owned()
        })
        .collect();
    messages.sort();
    assert_eq!(messages, ["quota 1", "quota 2", "quota 5"]);
    let metrics = server.metrics().await;
    assert_eq!(
        counter(&metrics, "sightline_sentry_events_rate_limited_total"),
        3
    );
}

/// The real Python SDK under a project quota of 2 a minute: the third message is answered 429,
/// and the SDK then holds the fourth and fifth back for Retry-After instead of sending them.
#[tokio::test]
async fn the_python_sdk_backs_off_a_project_quota() {
    // 50 s into a minute: the quota is spent for the 10 s the script takes.
    let clock = std::sync::Arc::new(model::ManualClock::new(model::Timestamp::from_secs(
        1_699_999_980 + 50,
    )));
    let server = server::testkit::start_server_with(clock, |_| {}).await;
    let p = project(&server).await;
    let id = p["id"].as_i64().unwrap();
    let key = p["keys"][0]["public_key"].as_str().unwrap().to_owned();
    let set = patch_project(&server, id, json!({"events_per_minute": 2})).await;
    assert_eq!(set.status(), 200);
    let dsn = format!("http://{key}@{}/{id}", server.http);
    let out = tokio::task::spawn_blocking(move || {
        crate::peers::run_python("sentry_quota.py", &json!({"dsn": dsn}))
    })
    .await
    .unwrap();
    assert_eq!(out["ok"], true);
    let metrics = server.metrics().await;
    assert_eq!(counter(&metrics, "sightline_sentry_events_total"), 2);
    assert_eq!(
        counter(&metrics, "sightline_sentry_events_rate_limited_total"),
        1,
        "one was refused; the SDK sent no more"
    );
}

/// `[issues] sample_retention`: the maintenance run removes sample events older than it, and
/// their attachments; the issue and its count stay.
#[tokio::test]
async fn old_samples_go_and_their_issue_stays() {
    let clock = std::sync::Arc::new(model::ManualClock::new(model::Timestamp::from_secs(
        1_700_000_000,
    )));
    let server = server::testkit::start_server_with(clock.clone(), |c| {
        c.issues.sample_retention = model::HumanDuration::from_secs(86_400);
        c.maintenance_interval = model::HumanDuration::from_millis(100);
    })
    .await;
    let p = project(&server).await;
    let id = p["id"].as_i64().unwrap();
    let key = p["keys"][0]["public_key"].as_str().unwrap().to_owned();
    let r = post_envelope(&server, id, &key, ENVELOPE).await;
    assert_eq!(r.status(), 200);
    assert_eq!(server.handle().issues().events(id, 10).unwrap().len(), 1);
    clock.advance(std::time::Duration::from_secs(2 * 86_400));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !server.handle().issues().events(id, 10).unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the sample was never removed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let issues = server.get_json("/api/v1/issues").await;
    assert_eq!(issues["issues"][0]["times_seen"], 1, "{issues}");
    let metrics = server.metrics().await;
    assert_eq!(
        counter(&metrics, "sightline_issues_samples_dropped_total"),
        1
    );
}
