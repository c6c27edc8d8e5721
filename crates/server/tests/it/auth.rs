//! Users, sessions, tokens and their failure modes, over real HTTP.

use std::sync::Arc;
use std::time::Duration;

use model::{Clock, ManualClock, SystemClock};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, RETRY_AFTER, SET_COOKIE, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use server::testkit::{ADMIN_PASSWORD, TestServer, start_server, start_server_with};

async fn error_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body: Value = response.json().await.expect("error bodies are JSON");
    (status, body["error"].clone())
}

#[tokio::test]
async fn login_create_use_revoke_a_token() {
    let server = start_server().await;
    let cookie = server.login("admin", ADMIN_PASSWORD).await.unwrap();

    let who: Value = server
        .client
        .get(server.url("/api/v1/auth/whoami"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(who["name"], "admin");
    assert_eq!(who["role"], "admin");
    assert_eq!(who["via"], "session");

    let token = server
        .create_token(&cookie, "deploy-script", "api", Some("admin"))
        .await;
    assert!(token.starts_with("sl_api_"), "{token}");

    let listed = server
        .client
        .get(server.url("/api/v1/tokens"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let listed: Value = listed.json().await.unwrap();
    let entry = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "deploy-script")
        .unwrap();
    assert_eq!(entry["created_by"], "admin");
    assert!(
        entry["last_used_at"].is_number(),
        "using the token marks it used: {entry}"
    );
    assert!(
        !listed.to_string().contains(&token[7..]),
        "listings never show the secret"
    );
    let id = entry["id"].as_i64().unwrap();

    let revoke = server
        .client
        .delete(server.url(&format!("/api/v1/tokens/{id}")))
        .header(COOKIE, &cookie);
    assert_eq!(revoke.send().await.unwrap().status(), 204);

    let after = server
        .client
        .get(server.url("/api/v1/auth/whoami"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    assert!(
        after.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let (_, error) = error_of(after).await;
    assert_eq!(error["code"], "unauthorized");

    let again = server
        .client
        .delete(server.url(&format!("/api/v1/tokens/{id}")))
        .header(COOKIE, &cookie);
    assert_eq!(
        again.send().await.unwrap().status(),
        404,
        "a revoked token cannot be revoked twice"
    );
}

#[tokio::test]
async fn session_cookie_is_httponly_lax_and_logout_ends_it() {
    let server = start_server().await;
    let body = json!({"username": "admin", "password": ADMIN_PASSWORD});
    let response = server
        .client
        .post(server.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        set_cookie.starts_with("sightline_session=sl_ses_"),
        "{set_cookie}"
    );
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"] {
        assert!(
            set_cookie.contains(attribute),
            "{set_cookie} lacks {attribute}"
        );
    }
    assert!(
        !set_cookie.contains("Secure"),
        "Secure is opt-in for TLS-fronted setups"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let logout = server
        .client
        .post(server.url("/api/v1/auth/logout"))
        .header(COOKIE, &cookie);
    let logout = logout.send().await.unwrap();
    assert_eq!(logout.status(), 204);
    assert!(
        logout.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );

    let whoami = server
        .client
        .get(server.url("/api/v1/auth/whoami"))
        .header(COOKIE, &cookie);
    assert_eq!(whoami.send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn sessions_expire_on_the_injected_clock() {
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let server = start_server_with(clock.clone(), |c| {
        c.auth.session_ttl = "1h".parse().unwrap()
    })
    .await;
    let cookie = server.login("admin", ADMIN_PASSWORD).await.unwrap();
    let whoami = || {
        server
            .client
            .get(server.url("/api/v1/auth/whoami"))
            .header(COOKIE, &cookie)
            .send()
    };
    assert_eq!(whoami().await.unwrap().status(), 200);
    clock.advance(Duration::from_secs(3_601));
    assert_eq!(whoami().await.unwrap().status(), 401);
}

#[tokio::test]
async fn wrong_credentials_are_401_json() {
    let server = start_server().await;
    for (user, password) in [("admin", "not-the-password"), ("nobody", ADMIN_PASSWORD)] {
        let response = server.login(user, password).await.unwrap_err();
        let (status, error) = error_of(response).await;
        assert_eq!(status, 401);
        assert_eq!(error["message"], "invalid username or password");
    }
    let bogus = server
        .client
        .get(server.url("/api/v1/tokens"))
        .bearer_auth("sl_api_0000")
        .send()
        .await
        .unwrap();
    assert_eq!(bogus.status(), 401);
    let none = server
        .client
        .get(server.url("/api/v1/tokens"))
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(none).await;
    assert_eq!(status, 401);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("authentication required")
    );
}

#[tokio::test]
async fn failed_logins_are_limited_per_address() {
    let server = start_server_with(Arc::new(SystemClock), |c| c.auth.login_max_failures = 3).await;
    for _ in 0..3 {
        let response = server.login("admin", "wrong-password").await.unwrap_err();
        assert_eq!(response.status(), 401);
    }
    // Even the right password is refused, without being checked, while the address waits.
    let response = server.login("admin", ADMIN_PASSWORD).await.unwrap_err();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry_after), "{retry_after}");
    let (_, error) = error_of(response).await;
    assert_eq!(error["code"], "rate_limited");

    // Another source address is not affected.
    let other = reqwest::Client::builder()
        .local_address("127.0.0.2".parse().ok())
        .build()
        .unwrap();
    let body = json!({"username": "admin", "password": ADMIN_PASSWORD});
    let response = other
        .post(server.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let metrics = server.metrics().await;
    assert!(
        metrics.contains("sightline_auth_login_failures_total 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sightline_auth_login_rate_limited_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn ingest_tokens_do_not_open_the_api() {
    let server = start_server().await;
    let cookie = server.login("admin", ADMIN_PASSWORD).await.unwrap();
    let ingest = server
        .create_token(&cookie, "filebeat", "ingest", None)
        .await;
    assert!(ingest.starts_with("sl_ing_"), "{ingest}");
    let response = server
        .client
        .get(server.url("/api/v1/auth/whoami"))
        .bearer_auth(&ingest)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let with_role = server
        .post("/api/v1/tokens")
        .json(&json!({"name": "x", "kind": "ingest", "role": "admin"}));
    let (status, error) = error_of(with_role.send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(error["message"], "ingest tokens take no role");
}

async fn make_viewer(server: &TestServer) -> String {
    let body = json!({"username": "finance", "password": "ledger-ledger"});
    let created = server
        .post("/api/v1/users")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let user: Value = created.json().await.unwrap();
    assert_eq!(user["role"], "viewer", "users default to the viewer role");
    assert!(user.get("password_hash").is_none());
    server.login("finance", "ledger-ledger").await.unwrap()
}

#[tokio::test]
async fn viewers_cannot_administer() {
    let server = start_server().await;
    let viewer = make_viewer(&server).await;
    let whoami: Value = server
        .client
        .get(server.url("/api/v1/auth/whoami"))
        .header(COOKIE, &viewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(whoami["role"], "viewer");
    let tokens = server
        .client
        .get(server.url("/api/v1/tokens"))
        .header(COOKIE, &viewer)
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(tokens).await;
    assert_eq!(status, 403);
    assert_eq!(error["code"], "forbidden");

    // An API token without a role is a viewer token.
    let created = server
        .post("/api/v1/tokens")
        .json(&json!({"name": "grafana"}))
        .send()
        .await
        .unwrap();
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["role"], "viewer");
    let token = created["token"].as_str().unwrap();
    let users = server
        .client
        .get(server.url("/api/v1/users"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 403);
}

#[tokio::test]
async fn user_management_refuses_bad_input() {
    let server = start_server().await;
    make_viewer(&server).await;
    let duplicate = json!({"username": "FINANCE", "password": "another-one"});
    let (status, error) = error_of(
        server
            .post("/api/v1/users")
            .json(&duplicate)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(error["message"], "user `FINANCE` already exists");
    let weak = json!({"username": "bob", "password": "short"});
    let (status, _) = error_of(
        server
            .post("/api/v1/users")
            .json(&weak)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    let unknown_field = json!({"username": "bob", "password": "long-enough", "admin": true});
    let (status, error) = error_of(
        server
            .post("/api/v1/users")
            .json(&unknown_field)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `admin`"),
        "{error}"
    );

    let users: Value = server
        .get("/api/v1/users")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin_id = users["users"][0]["id"].as_i64().unwrap();
    let cookie = server.login("admin", ADMIN_PASSWORD).await.unwrap();
    let delete_self = server
        .client
        .delete(server.url(&format!("/api/v1/users/{admin_id}")))
        .header(COOKIE, cookie);
    assert_eq!(delete_self.send().await.unwrap().status(), 400);
}

#[tokio::test]
async fn oversized_and_malformed_bodies_get_json_errors() {
    let server = start_server().await;
    let huge = format!(
        "{{\"username\":\"admin\",\"password\":\"{}\"}}",
        "x".repeat(100 * 1024)
    );
    let response = server
        .client
        .post(server.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!(status, 413);
    assert_eq!(error["code"], "payload_too_large");

    let response = server
        .client
        .post(server.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"username\":")
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!(status, 400);
    assert_eq!(error["code"], "bad_request");

    let response = server
        .client
        .post(server.url("/api/v1/auth/login"))
        .body("username=admin")
        .send()
        .await
        .unwrap();
    let (status, _) = error_of(response).await;
    assert_eq!(status, 415);
}
