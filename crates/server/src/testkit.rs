//! The integration-test harness: a real server on port 0 with a temporary data directory.
//!
//! [`start_server`] returns a [`TestServer`] holding the bound addresses, an HTTP client, the
//! admin's password and an admin API token made through the real login and token API. Behind
//! the `testkit` feature; the server's and the binary's integration tests use it.
//! [`assert_listener_telemetry`] is the one shared check that every listener reports the
//! uniform self-telemetry counters.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use model::{SharedClock, SystemClock};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::telemetry::LISTENER_FAMILIES;
use crate::{Config, DataDir, Handle, Listeners, Secret, ShutdownReport};

/// The admin password every test server starts with.
pub const ADMIN_PASSWORD: &str = "test-admin-password";

/// A running server and what a test needs to talk to it.
#[derive(Debug)]
pub struct TestServer {
    handle: Option<Handle>,
    pub http: SocketAddr,
    pub admin_token: String,
    pub client: reqwest::Client,
    pub config: Config,
    dir: TempDir,
}

/// Starts a server with test defaults.
pub async fn start_server() -> TestServer {
    start_server_with(Arc::new(SystemClock), |_| {}).await
}

/// Starts a server on `clock`, after `tweak` has adjusted the test defaults.
pub async fn start_server_with(clock: SharedClock, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(&dir);
    tweak(&mut config);
    let data = DataDir::open(&config.data_dir).expect("open data dir");
    let listeners = Listeners::bind(&config).expect("bind listeners");
    let handle = crate::start(config.clone(), data, listeners, clock)
        .await
        .expect("start server");
    let http = handle.http_addr();
    let client = reqwest::Client::new();
    let mut server = TestServer {
        handle: Some(handle),
        http,
        admin_token: String::new(),
        client,
        config,
        dir,
    };
    let cookie = server
        .login("admin", ADMIN_PASSWORD)
        .await
        .expect("admin login");
    server.admin_token = server
        .create_token(&cookie, "test-admin", "api", Some("admin"))
        .await;
    server
}

/// The config test servers start from: every listener on a loopback port 0, a known admin
/// password, and events and samples kept whatever their age.
pub fn test_config(dir: &TempDir) -> Config {
    let mut config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    let any_port = crate::config::ListenAddr::loopback(0);
    config.http.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.carbon.tcp = any_port;
    config.carbon.udp = any_port;
    config.carbon.pickle = any_port;
    config.statsd.tcp = any_port;
    config.statsd.udp = any_port;
    config.logs.syslog_udp = any_port;
    config.logs.syslog_tcp = any_port;
    config.logs.json_lines_tcp = any_port;
    config.auth.admin_password = Some(Secret::new(ADMIN_PASSWORD));
    // Fixtures are dated; on a real clock they would age past any retention. Tests of the
    // retention set their own.
    config.events.retention = model::HumanDuration::from_secs(0);
    config.issues.sample_retention = model::HumanDuration::from_secs(0);
    // Whatever the disk of the machine running the tests has free.
    config.min_free_disk = model::ByteSize::bytes(0);
    config
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// The temporary directory the data directory lives in.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// A GET with the admin token.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .get(self.url(path))
            .bearer_auth(&self.admin_token)
    }

    /// GETs `path` with the admin token and parses the JSON answer.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).send().await.expect("GET");
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.expect("a JSON answer")
    }

    /// Sends `text` to the carbon plaintext listener over one TCP connection.
    pub async fn send_carbon(&self, text: String) {
        use std::io::Write as _;
        let addr = self.addr(crate::ListenerKind::CarbonTcp);
        tokio::task::spawn_blocking(move || {
            std::net::TcpStream::connect(addr)
                .and_then(|mut s| s.write_all(text.as_bytes()))
                .expect("send to carbon")
        })
        .await
        .expect("carbon sender");
    }

    /// A POST with the admin token.
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.admin_token)
    }

    /// Logs in and returns the `Cookie` header value to send back, or the error response.
    pub async fn login(&self, username: &str, password: &str) -> Result<String, reqwest::Response> {
        let body = json!({"username": username, "password": password});
        let response = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&body)
            .send()
            .await;
        let response = response.expect("login request");
        if !response.status().is_success() {
            return Err(response);
        }
        let set_cookie = response.headers()[reqwest::header::SET_COOKIE]
            .to_str()
            .unwrap();
        Ok(set_cookie.split(';').next().unwrap().to_owned())
    }

    /// Creates a token with a session cookie and returns its secret text.
    pub async fn create_token(
        &self,
        cookie: &str,
        name: &str,
        kind: &str,
        role: Option<&str>,
    ) -> String {
        let mut body = json!({"name": name, "kind": kind});
        if let Some(role) = role {
            body["role"] = json!(role);
        }
        let response = self
            .client
            .post(self.url("/api/v1/tokens"))
            .header(reqwest::header::COOKIE, cookie)
            .json(&body)
            .send()
            .await
            .expect("create token request");
        assert_eq!(response.status(), 201, "create token");
        let created: Value = response.json().await.unwrap();
        created["token"].as_str().unwrap().to_owned()
    }

    /// Where listener `kind` is bound.
    pub fn addr(&self, kind: crate::ListenerKind) -> SocketAddr {
        self.handle().addr(kind).expect("the listener runs")
    }

    /// The metric store.
    pub fn tsdb(&self) -> &tsdb::Tsdb {
        self.handle().tsdb()
    }

    /// Waits until `name` holds at least `points` points in `[from, until]`, up to 10 s, then
    /// returns its fetch. Listeners hand points to the store asynchronously.
    pub async fn wait_for_points(
        &self,
        name: &str,
        from: i64,
        until: i64,
        points: usize,
    ) -> tsdb::Fetched {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let fetched = self.tsdb().fetch(name, from, until).expect("fetch");
            let count = fetched
                .as_ref()
                .map_or(0, |f| f.values.iter().flatten().count());
            if count >= points {
                return fetched.expect("some points");
            }
            assert!(
                std::time::Instant::now() < deadline,
                "`{name}` has {count} of {points} points after 10s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The latest value of `name` in `[from, until]`, waiting (up to 10 s) for one to arrive.
    pub async fn latest(&self, name: &str, from: i64, until: i64) -> f64 {
        let fetched = self.wait_for_points(name, from, until, 1).await;
        fetched
            .values
            .iter()
            .flatten()
            .last()
            .copied()
            .expect("a point")
    }

    /// The `/metrics` page.
    pub async fn metrics(&self) -> String {
        let response = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics");
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// The running handle.
    pub fn handle(&self) -> &Handle {
        self.handle.as_ref().expect("server is running")
    }

    /// Shuts the server down gracefully; the data directory stays until this is dropped.
    pub async fn stop(&mut self) -> ShutdownReport {
        self.handle
            .take()
            .expect("server is running")
            .shutdown()
            .await
    }
}

/// Asserts that `/metrics` text reports every self-telemetry family for each of `listeners`.
pub fn assert_listener_telemetry(metrics: &str, listeners: &[&str]) {
    assert!(
        !listeners.is_empty(),
        "a running server has at least one listener"
    );
    for listener in listeners {
        for family in LISTENER_FAMILIES {
            let series = format!("{family}{{listener=\"{listener}\"}} ");
            assert!(
                metrics.lines().any(|line| line.starts_with(&series)),
                "listener `{listener}` does not report `{family}`:\n{metrics}"
            );
        }
    }
}
