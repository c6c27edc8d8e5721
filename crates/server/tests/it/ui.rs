//! The web UI's server side: pages and assets from the binary with their security headers,
//! `/` shared with Elasticsearch clients, the same-origin rule for changes made with a login
//! cookie, and the dashboards and saved-searches API. The pages themselves are tested in a
//! browser by `crates/sightline/tests/it/ui.rs`.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, ACCEPT_ENCODING, COOKIE, ORIGIN};
use serde_json::{Value, json};
use server::testkit::{ADMIN_PASSWORD, TestServer, start_server};

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

async fn page(server: &TestServer, path: &str) -> reqwest::Response {
    server
        .client
        .get(server.url(path))
        .header(ACCEPT, BROWSER_ACCEPT)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn pages_and_assets_come_from_the_binary_with_a_strict_policy() {
    let server = start_server().await;
    for path in [
        "/",
        "/login",
        "/explore",
        "/dashboards",
        "/dashboards/overview",
        "/issues/7",
        "/search",
    ] {
        let response = page(&server, path).await;
        assert_eq!(response.status(), 200, "{path}");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert_eq!(response.headers()["cache-control"], "no-cache");
        let html = response.text().await.unwrap();
        assert!(html.contains("<div id=\"app\">"), "{path}: {html}");
    }
    // The script the page names is embedded, compressed when asked, and cached for good.
    let html = page(&server, "/").await.text().await.unwrap();
    let script = html
        .split("src=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        script.starts_with("/assets/") && script.ends_with(".js"),
        "{script}"
    );
    let plain = server.client.get(server.url(&script)).send().await.unwrap();
    assert_eq!(
        plain.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(
        plain.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let plain_len = plain.bytes().await.unwrap().len();
    let gzipped = server
        .client
        .get(server.url(&script))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    let gz_len = gzipped.bytes().await.unwrap().len();
    assert!(gz_len * 2 < plain_len, "gzip {gz_len} of {plain_len}");
    // Unknown paths stay the API's JSON 404s.
    let missing = page(&server, "/no-such-page").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["error"]["code"],
        "not_found"
    );
    let asset = server
        .client
        .get(server.url("/assets/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), 404);
}

#[tokio::test]
async fn the_root_still_answers_elasticsearch_clients() {
    let server = start_server().await;
    // A client asking for JSON without a key is told it needs one, as before.
    let bare = server
        .client
        .get(server.url("/"))
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 401);
    let cookie = server.login("admin", ADMIN_PASSWORD).await.unwrap();
    let ingest = server
        .create_token(&cookie, "shipper", "ingest", None)
        .await;
    let probe = server
        .client
        .get(server.url("/"))
        .bearer_auth(&ingest)
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status(), 200);
    assert_eq!(probe.headers()["x-elastic-product"], "Elasticsearch");
    let body: Value = probe.json().await.unwrap();
    assert_eq!(body["tagline"], "You Know, for Search");
}

#[tokio::test]
async fn changes_with_a_login_cookie_must_come_from_this_site() {
    let server = start_server().await;
    let cookie = server.login("admin", ADMIN_PASSWORD).await.unwrap();
    let ours = server.url("");
    let create = |origin: Option<&str>, fetch_site: Option<&str>, title: &str| {
        let mut request = server
            .client
            .post(server.url("/api/v1/dashboards"))
            .header(COOKIE, &cookie)
            .json(&json!({"dashboard": {"title": title}}));
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        request.send()
    };
    let evil = create(Some("http://evil.example"), None, "a")
        .await
        .unwrap();
    assert_eq!(evil.status(), 403);
    let message = evil.json::<Value>().await.unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("another site (http://evil.example)"),
        "{message}"
    );
    let lookalike = create(Some(&format!("{ours}.evil.example")), None, "b")
        .await
        .unwrap();
    assert_eq!(lookalike.status(), 403);
    let sandboxed = create(Some("null"), None, "c").await.unwrap();
    assert_eq!(sandboxed.status(), 403);
    let cross = create(None, Some("cross-site"), "d").await.unwrap();
    assert_eq!(cross.status(), 403);
    // The UI's own requests, and scripts that name no origin, pass.
    let same = create(Some(&ours), Some("same-origin"), "Ours")
        .await
        .unwrap();
    assert_eq!(same.status(), 201);
    let script = create(None, None, "Script").await.unwrap();
    assert_eq!(script.status(), 201);
    // A token is not a cookie: no origin rule applies to it.
    let token = server
        .post("/api/v1/dashboards")
        .header(ORIGIN, "http://evil.example")
        .json(&json!({"dashboard": {"title": "Token"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 201);
    // Nor may another site log a browser in.
    let login = server
        .client
        .post(server.url("/api/v1/auth/login"))
        .header(ORIGIN, "http://evil.example")
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 403);
}

#[tokio::test]
async fn dashboards_keep_versions_and_viewers_only_read() {
    let server = start_server().await;
    let listed = server.get_json("/api/v1/dashboards").await;
    assert_eq!(listed["dashboards"][0]["uid"], "overview");
    assert_eq!(listed["dashboards"][0]["source"], "builtin");
    let overview = server.get_json("/api/v1/dashboards/overview").await;
    assert_eq!(overview["read_only"], true);

    let created: Value = server
        .post("/api/v1/dashboards")
        .json(&json!({"dashboard": {"title": "Shop KPIs", "panels": [{"id": 1, "type": "graph"}]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["dashboard"]["uid"], "shop-kpis");
    assert_eq!(created["version"], 1);
    let put = |version: i64, title: &str| {
        server
            .client
            .put(server.url("/api/v1/dashboards/shop-kpis"))
            .bearer_auth(&server.admin_token)
            .json(&json!({"dashboard": {"title": title}, "version": version, "message": "renamed"}))
            .send()
    };
    let saved = put(1, "Shop").await.unwrap();
    assert_eq!(saved.status(), 200);
    assert_eq!(saved.json::<Value>().await.unwrap()["version"], 2);
    let stale = put(1, "Stale").await.unwrap();
    assert_eq!(stale.status(), 409);
    let versions = server
        .get_json("/api/v1/dashboards/shop-kpis/versions")
        .await;
    assert_eq!(versions["versions"][0]["message"], "renamed");
    assert_eq!(versions["versions"][0]["author"], "token:test-admin");
    let first = server
        .get_json("/api/v1/dashboards/shop-kpis/versions/1")
        .await;
    assert_eq!(first["dashboard"]["title"], "Shop KPIs");
    let restored: Value = server
        .post("/api/v1/dashboards/shop-kpis/versions/1/restore")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            restored["version"].as_i64(),
            restored["dashboard"]["title"].as_str()
        ),
        (Some(3), Some("Shop KPIs"))
    );
    let built_in = server
        .client
        .put(server.url("/api/v1/dashboards/overview"))
        .bearer_auth(&server.admin_token)
        .json(&json!({"dashboard": {"title": "Mine"}, "version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(built_in.status(), 403);

    // A viewer reads dashboards and saved searches, and changes neither.
    let cookie = server.login("admin", ADMIN_PASSWORD).await.unwrap();
    let viewer = server
        .create_token(&cookie, "wall-screen", "api", Some("viewer"))
        .await;
    let read = server
        .client
        .get(server.url("/api/v1/dashboards/shop-kpis"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    for (method, path, body) in [
        (
            reqwest::Method::POST,
            "/api/v1/dashboards",
            json!({"dashboard": {"title": "x"}}),
        ),
        (
            reqwest::Method::DELETE,
            "/api/v1/dashboards/shop-kpis",
            json!(null),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/saved-searches",
            json!({"name": "x", "query": "y"}),
        ),
    ] {
        let refused = server
            .client
            .request(method.clone(), server.url(path))
            .bearer_auth(&viewer)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }

    let saved: Value = server
        .post("/api/v1/saved-searches")
        .json(&json!({"name": "Sign-ups", "query": "event:user.signed_up", "from": "today"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["until"], "now");
    let searches = server.get_json("/api/v1/saved-searches").await;
    assert_eq!(searches["searches"][0]["name"], "Sign-ups");
    let gone = server
        .client
        .delete(server.url("/api/v1/dashboards/shop-kpis"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    let missing = server
        .get("/api/v1/dashboards/shop-kpis")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
