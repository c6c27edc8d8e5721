//! The Rust `sentry` SDK (0.49, the crate itself as a dev-dependency) sending an error, a
//! message and a panic to a running server. It is its own test binary because the SDK's panic
//! integration installs a process-wide panic hook.
//!
//! The SDK builds the events, envelopes, DSN-derived URL and `X-Sentry-Auth` header itself; the
//! transport here only writes its bytes to the socket (the crate's own transports need an HTTP
//! client stack this workspace does not otherwise build).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use serde_json::Value;
use server::testkit::start_server;

/// Posts each envelope over plain HTTP/1.1, as the SDK's transports do, and waits for the answer.
struct SocketTransport {
    url: String,
    auth: String,
}

impl sentry::Transport for SocketTransport {
    fn send_envelope(&self, envelope: sentry::Envelope) {
        let mut body = Vec::new();
        envelope.to_writer(&mut body).unwrap();
        let rest = self.url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_once('/').unwrap();
        let mut stream = TcpStream::connect(host).unwrap();
        write!(
            stream,
            "POST /{path} HTTP/1.1\r\nHost: {host}\r\nX-Sentry-Auth: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.auth,
            body.len()
        )
        .unwrap();
        stream.write_all(&body).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
}

#[tokio::test]
async fn the_rust_sdk_sends_an_error_a_message_and_a_panic() {
    let server = start_server().await;
    let p: Value = server
        .client
        .post(server.url("/api/v1/projects"))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"name": "rustapp"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let project_id = p["id"].as_i64().unwrap();
    let key = p["keys"][0]["public_key"].as_str().unwrap().to_owned();
    let dsn = format!("http://{key}@{}/{project_id}", server.http);

    tokio::task::spawn_blocking(move || {
        let dsn: sentry::types::Dsn = dsn.parse().unwrap();
        let url = dsn.envelope_api_url().to_string();
        let auth = dsn.to_auth(Some("sentry.rust/0.49.5")).to_string();
        let factory = move |_: &sentry::ClientOptions| -> Arc<dyn sentry::Transport> {
            Arc::new(SocketTransport {
                url: url.clone(),
                auth: auth.clone(),
            })
        };
        let mut options = sentry::ClientOptions::default();
        options.dsn = Some(dsn);
        options.release = Some("rustapp@0.3.0".into());
        options.transport = Some(Arc::new(factory));
        let _guard = sentry::init(options);
        sentry::configure_scope(|scope| {
            scope.set_user(Some(sentry::User {
                id: Some("42".into()),
                ..Default::default()
            }))
        });
        let error = "12a".parse::<i32>().unwrap_err();
        sentry::capture_error(&error);
        sentry::capture_message("disk almost full on /var", sentry::Level::Warning);
        let result = std::panic::catch_unwind(|| {
            let empty: Vec<u8> = Vec::new();
            let at = empty.len() + 3;
            empty[at]
        });
        assert!(result.is_err());
    })
    .await
    .unwrap();

    let listed = server
        .get_json(&format!("/api/v1/issues?project={project_id}"))
        .await;
    let issues = listed["issues"].as_array().unwrap();
    let find = |prefix: &str| {
        issues
            .iter()
            .find(|i| i["title"].as_str().unwrap().starts_with(prefix))
            .unwrap_or_else(|| panic!("an issue `{prefix}…` in {listed}"))
    };
    let parse = find("ParseIntError: invalid digit found in string");
    assert_eq!(parse["grouping"]["rule"], "exception");
    assert_eq!(parse["users"], 1);
    let message = find("disk almost full on /var");
    assert_eq!(message["level"], "warning");
    assert_eq!(message["grouping"]["rule"], "message");
    let panic = find("panic: index out of bounds");
    assert_eq!(panic["level"], "fatal");
    // The panic groups by its own frames, not the SDK's or the standard library's: the
    // nearest is the closure that indexed out of bounds.
    let components: Vec<&str> = panic["grouping"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        components.last(),
        Some(&"sentry_rust.rs:{closure#0}"),
        "{components:?}"
    );
    for c in &components {
        assert!(
            !c.contains("sentry_core") && !c.contains("sentry_panic") && !c.contains("index<"),
            "{components:?}"
        );
    }
    assert_eq!(panic["last_release"], "rustapp@0.3.0");
}
