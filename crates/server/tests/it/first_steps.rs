//! What a new user meets on the native API: right answers and errors that say what to do.
//!
//! Each test is one of the bugs a new user hit (issue 11), over a real server: a group-by that
//! dropped events without the field, a `total` that shrank while paging, a bare word that missed
//! fields, typos that fell back to defaults, pipes that became searches, library errors, plain
//! text errors, one message for three credential mistakes, and read-after-write.

use serde_json::{Value, json};
use server::testkit::{ADMIN_PASSWORD, TestServer, start_server};

fn enc(q: &str) -> String {
    serde_urlencoded::to_string([("", q)])
        .unwrap()
        .trim_start_matches('=')
        .to_owned()
}

async fn ingest_token(server: &TestServer) -> String {
    let cookie = server.login("admin", ADMIN_PASSWORD).await.unwrap();
    server
        .create_token(&cookie, "first-steps", "ingest", None)
        .await
}

/// Ingests `lines` and waits (`refresh=wait_for`) until they are searchable.
async fn ingest_searchable(server: &TestServer, token: &str, lines: &[Value]) -> Value {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let answer = server
        .client
        .post(server.url("/api/v1/ingest?refresh=wait_for"))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

/// GETs `path` with the admin token: (status, JSON body).
async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    let response = server.get(path).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("GET {path}: {status}, not JSON: {text:?}"));
    (status, body)
}

fn error_message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or("")
}

/// Thirteen errors, four of them without a service.
fn errors() -> Vec<Value> {
    let mut lines = Vec::new();
    for (i, service) in [
        "billing", "billing", "web", "web", "web", "auth", "auth", "auth", "auth",
    ]
    .iter()
    .enumerate()
    {
        let level = if i % 2 == 0 { "error" } else { "critical" };
        lines.push(json!({"event": "boom", "level": level, "service": service, "n": i}));
    }
    for i in 0..4 {
        lines.push(json!({"event": "boom", "level": "error", "n": 100 + i, "user": {"email": "alice@example.com"}}));
    }
    lines
}

#[tokio::test]
async fn a_group_by_keeps_the_events_without_the_field() {
    let server = start_server().await;
    let token = ingest_token(&server).await;
    let answer = ingest_searchable(&server, &token, &errors()).await;
    assert_eq!(answer["searchable"], true, "{answer}");
    let (status, table) = get(
        &server,
        &format!(
            "/api/v1/events/aggregate?q={}&from=-1h",
            enc("level:(error OR critical) | stats count() by service")
        ),
    )
    .await;
    assert_eq!(status, 200, "{table}");
    assert_eq!(table["total"], 13);
    let rows = table["rows"].as_array().unwrap();
    let sum: u64 = rows.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(sum + table["other"].as_u64().unwrap(), 13, "{table}");
    let missing = rows.iter().find(|r| r["service"].is_null()).unwrap();
    assert_eq!(missing["count"], 4, "events without a service: {table}");
    // A bare `count()` is the `count` column, not a second one.
    assert_eq!(table["columns"], json!(["service", "count"]));
    assert_eq!(table["totals"]["count"], 13);
}

#[tokio::test]
async fn total_is_the_whole_query_on_every_page() {
    let server = start_server().await;
    let token = ingest_token(&server).await;
    let lines: Vec<Value> = (0..12)
        .map(|i| json!({"event": "tick", "n": i, "timestamp": 1_795_618_800 + i}))
        .collect();
    ingest_searchable(&server, &token, &lines).await;
    let mut cursor: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let mut path =
            "/api/v1/events/search?q=tick&from=1795618000&until=1795619000&limit=5".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (_, page) = get(&server, &path).await;
        pages.push((
            page["total"].as_u64().unwrap(),
            page["events"].as_array().unwrap().len(),
        ));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, [(12, 5), (12, 5), (12, 2)]);
}

#[tokio::test]
async fn a_bare_word_finds_a_user_named_only_in_a_field() {
    let server = start_server().await;
    let token = ingest_token(&server).await;
    ingest_searchable(&server, &token, &errors()).await;
    let (_, found) = get(
        &server,
        &format!(
            "/api/v1/events/search?q={}&from=-1h",
            enc("alice@example.com")
        ),
    )
    .await;
    assert_eq!(found["total"], 4, "{found}");
    assert_eq!(
        found["events"][0]["highlight"]["fields"],
        json!(["user.email"])
    );
    // `field:value` stays exact.
    let (_, found) = get(&server, "/api/v1/events/search?q=user.email:alice&from=-1h").await;
    assert_eq!(found["total"], 0);
}

#[tokio::test]
async fn typos_in_parameters_and_fields_are_errors_that_suggest() {
    let server = start_server().await;
    let token = ingest_token(&server).await;
    ingest_searchable(
        &server,
        &token,
        &[json!({"event": "paid", "currency": "EUR", "amount": 5})],
    )
    .await;
    for (path, typo, meant) in [
        ("/api/v1/events/search?qq=paid", "qq", "q"),
        ("/api/v1/events/search?form=-1h", "form", "from"),
        ("/api/v1/events/search?limt=5", "limt", "limit"),
        ("/api/v1/series?mach=servers.*", "mach", "match"),
        ("/api/v1/events/aggregate?q=paid&bye=currency", "bye", "by"),
        ("/api/v1/issues?projct=1", "projct", "project"),
    ] {
        let (status, body) = get(&server, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "unknown_parameter", "{path}");
        let message = error_message(&body);
        assert!(
            message.contains(&format!(
                "unknown parameter `{typo}`; did you mean `{meant}`?"
            )),
            "{path}: {message}"
        );
    }
    // A field nobody sends, in a group-by: an error naming the one that exists.
    let (status, body) = get(
        &server,
        "/api/v1/events/aggregate?q=paid&by=currncy&stats=sum(amount)",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        error_message(&body).contains("did you mean `currency`?"),
        "{body}"
    );
    // Routes without parameters refuse them too.
    for path in [
        "/api/v1/projects?x=1",
        "/api/v1/auth/whoami?verbose=1",
        "/api/v1/tokens?all=1",
    ] {
        let (status, body) = get(&server, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            error_message(&body).contains("takes no parameters"),
            "{path}: {body}"
        );
    }
    // The Graphite API keeps graphite-web's leniency: Grafana sends parameters it ignores.
    let render = server
        .get("/render?target=nothing.here&from=-1h&format=json&_salt=1.23&cacheTimeout=0")
        .send()
        .await
        .unwrap();
    assert_eq!(render.status(), 200);
}

#[tokio::test]
async fn pipes_report_their_own_errors_in_our_words() {
    let server = start_server().await;
    let token = ingest_token(&server).await;
    ingest_searchable(&server, &token, &errors()).await;
    for (route, query, at, says) in [
        (
            "search",
            "level:error | stats summ(amount)",
            20,
            "unknown function `summ`; did you mean `sum`?",
        ),
        (
            "search",
            "level:error | stat count()",
            14,
            "did you mean `stats`?",
        ),
        (
            "aggregate",
            "| timechart count() by",
            20,
            "expected a field name after `by`",
        ),
        (
            "search",
            "| stats count() by",
            16,
            "expected a field name after `by`",
        ),
    ] {
        let (status, body) = get(
            &server,
            &format!("/api/v1/events/{route}?q={}&from=-1h", enc(query)),
        )
        .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["code"], "bad_query", "{query}");
        assert_eq!(body["error"]["position"], at, "{query}: {body}");
        assert!(error_message(&body).contains(says), "{query}: {body}");
    }
    // The message cannot be grouped, and the answer says why in our words.
    let (status, body) = get(
        &server,
        &format!(
            "/api/v1/events/aggregate?q={}&from=-1h",
            enc("| stats count() by message")
        ),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let message = error_message(&body);
    assert!(message.contains("full text"), "{message}");
    assert!(
        !message.contains("fast field"),
        "no library words: {message}"
    );
    // `||` is OR, not a pipe.
    let (status, body) = get(
        &server,
        &format!("/api/v1/events/search?q={}&from=-1h", enc("billing || web")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 5);
}

#[tokio::test]
async fn every_api_error_is_json() {
    let server = start_server().await;
    for (method, path, body, status) in [
        ("GET", "/api/v1/events/search?limit=five", None, 400),
        ("GET", "/api/v1/series/fetch", None, 400),
        ("GET", "/api/v1/issues/abc", None, 400),
        ("DELETE", "/api/v1/events/search", None, 405),
        ("POST", "/api/v1/projects", Some(""), 400),
        ("POST", "/api/v1/projects", Some("{\"nmae\": \"x\"}"), 422),
        ("GET", "/api/v1/nothing", None, 404),
        ("GET", "/api/v1/events/search?from=soon", None, 400),
    ] {
        let mut request = server
            .client
            .request(method.parse().unwrap(), server.url(path));
        request = request.bearer_auth(&server.admin_token);
        if let Some(b) = body {
            request = request
                .header("content-type", "application/json")
                .body(b.to_owned());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let text = response.text().await.unwrap();
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text:?}"));
        let message = error_message(&json);
        assert!(!message.is_empty(), "{method} {path}: {json}");
        assert!(json["error"]["code"].is_string(), "{method} {path}: {json}");
        if path.contains("limit=five") {
            assert!(
                message.contains("`limit`"),
                "names the parameter: {message}"
            );
        }
        if path.ends_with("/fetch") {
            assert_eq!(message, "missing parameter `name`");
        }
        if method == "DELETE" {
            assert!(message.contains("DELETE"), "{message}");
        }
    }
}

#[tokio::test]
async fn credential_errors_say_which_token_and_how_to_make_one() {
    let server = start_server().await;
    let ingest = ingest_token(&server).await;
    let cookie = server.login("admin", ADMIN_PASSWORD).await.unwrap();
    let api = server.create_token(&cookie, "script", "api", None).await;
    let with = |path: &str, token: &str| {
        server
            .client
            .get(server.url(path))
            .bearer_auth(token)
            .send()
    };
    let message = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        error_message(&body).to_owned()
    };
    // An ingest token on a query route.
    let m = message(with("/api/v1/events/search", &ingest).await.unwrap()).await;
    assert!(
        m.contains("needs an API token (sl_api_…)") && m.contains("an ingest token (sl_ing_…)"),
        "{m}"
    );
    assert!(m.contains("sightline token create NAME"), "{m}");
    // An API token on an ingest route.
    let posted = server
        .client
        .post(server.url("/api/v1/ingest"))
        .bearer_auth(&api)
        .body("{}\n")
        .send()
        .await
        .unwrap();
    let m = message(posted).await;
    assert!(m.contains("needs an ingest token (sl_ing_…)"), "{m}");
    assert!(
        m.contains("sightline token create NAME --kind ingest"),
        "{m}"
    );
    // Not a token at all, one this server never made, and a revoked one.
    let m = message(with("/api/v1/events/search", "hunter2").await.unwrap()).await;
    assert!(m.contains("not a Sightline token"), "{m}");
    assert!(!m.contains("hunter2"), "the secret is not echoed");
    let m = message(
        with(
            "/api/v1/events/search",
            "sl_api_0000000000000000000000000000",
        )
        .await
        .unwrap(),
    )
    .await;
    assert!(m.contains("does not know"), "{m}");
    let listed: Value = server
        .get("/api/v1/tokens")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "script")
        .map(|t| t["id"].as_i64().unwrap())
        .unwrap_or_else(|| panic!("{listed}"));
    let revoked = server
        .client
        .delete(server.url(&format!("/api/v1/tokens/{id}")))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    let m = message(with("/api/v1/events/search", &api).await.unwrap()).await;
    assert!(
        m.contains(&format!("token {id} `script` was revoked")),
        "{m}"
    );
    // Two live tokens with one name are refused.
    let again = server
        .client
        .post(server.url("/api/v1/tokens"))
        .header(reqwest::header::COOKIE, &cookie)
        .json(&json!({"name": "first-steps", "kind": "ingest"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let body: Value = again.json().await.unwrap();
    assert!(
        error_message(&body).contains("already named `first-steps`"),
        "{body}"
    );
}

#[tokio::test]
async fn an_editor_changes_issues_but_not_users_tokens_or_projects() {
    let server = start_server().await;
    let cookie = server.login("admin", ADMIN_PASSWORD).await.unwrap();
    let editor = server
        .create_token(&cookie, "support", "api", Some("editor"))
        .await;
    let viewer = server
        .create_token(&cookie, "wallboard", "api", Some("viewer"))
        .await;
    let patch = |token: &str| {
        server
            .client
            .patch(server.url("/api/v1/issues/424242"))
            .bearer_auth(token)
            .json(&json!({"status": "resolved"}))
            .send()
    };
    // The editor gets past the role check to the (missing) issue; the viewer does not.
    assert_eq!(patch(&editor).await.unwrap().status(), 404);
    let refused = patch(&viewer).await.unwrap();
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert!(
        error_message(&body).contains("needs the editor or admin role"),
        "{body}"
    );
    for (method, path, body) in [
        ("POST", "/api/v1/tokens", json!({"name": "x"})),
        (
            "POST",
            "/api/v1/users",
            json!({"username": "bob", "password": "long-enough-pw"}),
        ),
        ("POST", "/api/v1/projects", json!({"name": "shop"})),
        ("GET", "/api/v1/users", Value::Null),
    ] {
        let mut request = server
            .client
            .request(method.parse().unwrap(), server.url(path))
            .bearer_auth(&editor);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{method} {path}");
    }
    // And an editor reads what a viewer reads.
    let read = server
        .client
        .get(server.url("/api/v1/issues"))
        .bearer_auth(&editor)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
}

#[tokio::test]
async fn refresh_wait_for_answers_once_searchable() {
    let server = start_server().await;
    let token = ingest_token(&server).await;
    // NDJSON: the search right after the answer finds the event, with no waiting here.
    let answer = ingest_searchable(
        &server,
        &token,
        &[json!({"event": "read.after.write", "via": "ndjson"})],
    )
    .await;
    assert_eq!(answer["accepted"], 1);
    let (_, found) = get(&server, "/api/v1/events/search?q=via:ndjson&from=-1h").await;
    assert_eq!(found["total"], 1, "{found}");
    // _bulk, with Elasticsearch's `refresh=wait_for` and `refresh=true`.
    for (mode, via) in [("wait_for", "bulk-wait"), ("true", "bulk-now")] {
        let bulk = server
            .client
            .post(server.url(&format!("/_bulk?refresh={mode}")))
            .header("Authorization", format!("ApiKey {token}"))
            .header("Content-Type", "application/x-ndjson")
            .body(format!(
                "{{\"index\":{{}}}}\n{{\"message\":\"x\",\"via\":\"{via}\"}}\n"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(bulk.status(), 200);
        let (_, found) = get(
            &server,
            &format!("/api/v1/events/search?q=via:{via}&from=-1h"),
        )
        .await;
        assert_eq!(found["total"], 1, "{mode}: {found}");
    }
    // A value Elasticsearch would refuse is refused in its shape.
    let bad = server
        .client
        .post(server.url("/_bulk?refresh=soon"))
        .header("Authorization", format!("ApiKey {token}"))
        .body("{\"index\":{}}\n{}\n")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["type"], "illegal_argument_exception");
}

#[tokio::test]
async fn native_times_take_the_one_duration_grammar() {
    let server = start_server().await;
    let token = ingest_token(&server).await;
    ingest_searchable(&server, &token, &[json!({"event": "recent"})]).await;
    for from in ["-30m", "-30min", "-1h30m", "-2d"] {
        let (status, found) = get(
            &server,
            &format!("/api/v1/events/search?q=recent&from={from}"),
        )
        .await;
        assert_eq!(status, 200, "{from}: {found}");
        assert_eq!(found["total"], 1, "{from}");
    }
    // The series does not exist (404), but the time is read (no 400).
    let (status, body) = get(&server, "/api/v1/series/fetch?name=x&from=-30m").await;
    assert_eq!(status, 404, "series fetch reads -30m too: {body}");
}
