//! `sightline serve` as a process: start-up, its failures, signals, and the CLI beside it.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::{Serve, sightline};

const PASSWORD: &str = "process-test-password";

fn login(
    client: &reqwest::blocking::Client,
    serve: &Serve,
    password: &str,
) -> reqwest::blocking::Response {
    let body = json!({"username": "admin", "password": password});
    client
        .post(serve.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .unwrap()
}

#[test]
fn serve_with_no_config_answers_and_prints_the_admin_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(dir.path(), &[], &[]);
    let client = reqwest::blocking::Client::new();
    let health = client.get(serve.url("/healthz")).send().unwrap();
    assert_eq!(health.status(), 200);
    assert!(
        dir.path().join("data/control.db").is_file(),
        "the default data dir is ./data"
    );

    let line = serve
        .wait_for_line("created user `admin` with password: ")
        .unwrap();
    let password = line.rsplit(' ').next().unwrap().to_owned();
    assert_eq!(password.len(), 20);
    assert_eq!(login(&client, &serve, &password).status(), 200);

    serve.signal("TERM");
    assert!(serve.wait_exit(Duration::from_secs(20)).unwrap().success());
    let again = Serve::start(dir.path(), &[], &[]);
    let client = reqwest::blocking::Client::new();
    assert_eq!(
        client.get(again.url("/readyz")).send().unwrap().status(),
        200
    );
    assert!(
        !again.stderr().contains("with password"),
        "the password is printed only once"
    );
    assert!(!again.stderr().contains(&password));
}

#[test]
fn a_second_process_on_the_same_data_dir_exits_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Serve::start(dir.path(), &[], &[("SIGHTLINE_ADMIN_PASSWORD", PASSWORD)]);
    let out = sightline(dir.path())
        .args(["serve", "--http-addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with(
            "error: data directory ./data is in use by another sightline process (pid "
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_port_in_use_is_one_specific_line() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = sightline(dir.path())
        .args(["serve", "--http-addr", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with(&format!("error: cannot bind the http listener to {addr}: ")),
        "{stderr}"
    );
    assert_eq!(last.matches("in use").count(), 1, "said once: {stderr}");
    assert!(
        last.contains("--http-addr") && last.contains("`http.addr`"),
        "names the flag and the key: {stderr}"
    );

    // Another listener names its key and variable.
    let out = sightline(dir.path())
        .args(["serve", "--http-addr", "127.0.0.1:0"])
        .env("SIGHTLINE_CARBON_TCP", &addr)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let last = stderr.lines().last().unwrap();
    assert!(
        last.contains("carbon_tcp")
            && last.contains("`carbon.tcp`")
            && last.contains("SIGHTLINE_CARBON__TCP"),
        "{stderr}"
    );
}

#[test]
fn bad_config_and_bad_data_dir_are_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[http]\nmax_body_size = \"lots\"\n",
    )
    .unwrap();
    let out = sightline(dir.path())
        .args(["serve", "--config", "bad.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(
            "error: config file bad.toml: key `http.max_body_size`: invalid size `lots`"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    std::fs::write(dir.path().join("a-file"), "").unwrap();
    let out = sightline(dir.path())
        .args([
            "serve",
            "--data-dir",
            "a-file/data",
            "--http-addr",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("error: data directory a-file/data: cannot create: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn sigterm_during_load_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(dir.path(), &[], &[("SIGHTLINE_ADMIN_PASSWORD", PASSWORD)]);
    let client = reqwest::blocking::Client::new();
    assert_eq!(login(&client, &serve, PASSWORD).status(), 200);

    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (stop, answered, url) = (
            Arc::clone(&stop),
            Arc::clone(&answered),
            serve.url("/metrics"),
        );
        workers.push(std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            while !stop.load(Ordering::Relaxed) {
                if client.get(&url).send().is_ok_and(|r| r.status() == 200) {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    while answered.load(Ordering::Relaxed) < 200 {
        std::thread::sleep(Duration::from_millis(5));
    }
    serve.signal("TERM");
    let status = serve
        .wait_exit(Duration::from_secs(30))
        .expect("exits within the bound");
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    assert!(
        status.success(),
        "exit status {status:?}\n{}",
        serve.stderr()
    );
    let stderr = serve.stderr();
    assert!(stderr.contains("shutting down"), "{stderr}");
    assert!(stderr.contains("shutdown complete"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn sigint_also_shuts_down_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(dir.path(), &[], &[("SIGHTLINE_ADMIN_PASSWORD", PASSWORD)]);
    serve.signal("INT");
    assert!(serve.wait_exit(Duration::from_secs(30)).unwrap().success());
}

#[test]
fn cli_tokens_work_against_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[], &[("SIGHTLINE_ADMIN_PASSWORD", PASSWORD)]);
    let out = sightline(dir.path())
        .args(["token", "create", "ci", "--role", "admin"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        token.starts_with("sl_api_") && token.len() == 47,
        "stdout is exactly the token: {token}"
    );

    let client = reqwest::blocking::Client::new();
    let listed = client
        .get(serve.url("/api/v1/tokens"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(listed.status(), 200);
    let listed: Value = listed.json().unwrap();
    let id = listed["tokens"][0]["id"].as_i64().unwrap();
    assert_eq!(listed["tokens"][0]["name"], "ci");

    let table = sightline(dir.path())
        .args(["token", "list"])
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table
            .lines()
            .any(|l| l.contains(" ci ") && l.ends_with("live")),
        "{table}"
    );
    assert!(!table.contains(&token));

    let revoke = sightline(dir.path())
        .args(["token", "revoke", &id.to_string()])
        .output()
        .unwrap();
    assert!(revoke.status.success());
    let after = client
        .get(serve.url("/api/v1/tokens"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(after.status(), 401);

    let mut add = sightline(dir.path())
        .args(["user", "add", "support", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    add.stdin
        .take()
        .unwrap()
        .write_all(b"support-desk-1\n")
        .unwrap();
    assert!(add.wait().unwrap().success());
    let body = json!({"username": "support", "password": "support-desk-1"});
    let login = client
        .post(serve.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(login.status(), 200);
}

#[test]
fn no_secret_reaches_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(
        dir.path(),
        &["--log-level", "debug"],
        &[("SIGHTLINE_ADMIN_PASSWORD", PASSWORD)],
    );
    let client = reqwest::blocking::Client::new();
    let response = login(&client, &serve, PASSWORD);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session = cookie.split_once('=').unwrap().1.to_owned();
    let created: Value = client
        .post(serve.url("/api/v1/tokens"))
        .header("cookie", &cookie)
        .json(&json!({"name": "leak-check", "role": "admin"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let used = client
        .get(serve.url("/api/v1/events/search?q=abcdef0123456789"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(used.status(), 200);
    assert_eq!(login(&client, &serve, "wrong-password").status(), 401);
    serve.signal("TERM");
    serve.wait_exit(Duration::from_secs(30)).unwrap();

    let log = serve.stderr();
    assert!(
        log.contains("sightline::access"),
        "debug logging shows requests: {log}"
    );
    for secret in [
        PASSWORD,
        "wrong-password",
        &session,
        &token,
        "abcdef0123456789",
    ] {
        assert!(
            !log.contains(secret),
            "the log contains a secret ({secret}):\n{log}"
        );
    }
}

#[test]
fn the_demo_fills_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[], &[("SIGHTLINE_ADMIN_PASSWORD", PASSWORD)]);
    let carbon = serve.addr("carbon_tcp").to_string();
    let json_lines = serve.addr("json_lines_tcp").to_string();
    let out = sightline(dir.path())
        .args([
            "demo",
            "--carbon",
            &carbon,
            "--json-lines",
            &json_lines,
            "--backfill",
            "2h",
            "--duration",
            "0s",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let client = reqwest::blocking::Client::new();
    let cookie = login(&client, &serve, PASSWORD).headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let listed: Value = client
            .get(serve.url("/api/v1/series?match=servers.*.cpu.user"))
            .header("cookie", &cookie)
            .send()
            .unwrap()
            .json()
            .unwrap();
        if listed["series"].as_array().unwrap().len() == 5 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{listed}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The newest points are sent last: wait until the last half hour is in.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let revenue: Value = client
            .get(serve.url("/api/v1/series/fetch?name=shop.revenue.eur.sum&from=-30m"))
            .header("cookie", &cookie)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let known = revenue["values"]
            .as_array()
            .map_or(0, |v| v.iter().filter(|v| v.is_number()).count());
        if known >= 170 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "half an hour of 10 s points: {known}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // The demo's counters roll up as sums: two hours of signups add up to the same total from
    // the 10 s tier (-3h) and from the 1 min tier (-7h, past the 6 h of 10 s points).
    let total = |from: &str| -> f64 {
        let series: Value = client
            .get(serve.url(&format!(
                "/render?target=shop.signups.count&from={from}&format=json"
            )))
            .header("cookie", &cookie)
            .send()
            .unwrap()
            .json()
            .unwrap();
        series[0]["datapoints"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p[0].as_f64())
            .sum()
    };
    let fine = total("-3h");
    assert!(fine > 100.0, "{fine}");
    assert_eq!(total("-7h"), fine, "signups sum over both tiers");

    // The events of the same two hours: one sign-up event per sign-up counted.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found: Value = client
            .get(serve.url("/api/v1/events/search?q=event:user.signed_up&from=-3h&limit=1"))
            .header("cookie", &cookie)
            .send()
            .unwrap()
            .json()
            .unwrap();
        if found["total"].as_f64() == Some(fine) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{found} sign-up events, {fine} counted"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Each error line is also an error event, sent to the Sentry endpoint as an SDK would:
    // the checkout's timeouts are one issue, with as many events as `checkout.error` lines.
    let get = |path: &str| -> Value {
        client
            .get(serve.url(path))
            .header("cookie", &cookie)
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let projects = get("/api/v1/projects");
    assert_eq!(projects["projects"][0]["name"], "demo-shop");
    let issues = get("/api/v1/issues?sort=events");
    let titles: Vec<&str> = issues["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert_eq!(titles[0], "TimeoutError: upstream timed out");
    assert!(
        titles[1].starts_with("CardDeclined: card declined by issuer"),
        "{titles:?}"
    );
    let lines = get("/api/v1/events/search?q=event:checkout.error&from=-3h&limit=1");
    assert_eq!(issues["issues"][0]["times_seen"], lines["total"]);
    let id = issues["issues"][0]["id"].as_i64().unwrap();
    let sample = get(&format!("/api/v1/issues/{id}/events?limit=1"));
    let frames = &sample["events"][0]["event"]["exception"]["values"][0]["stacktrace"]["frames"];
    assert_eq!(frames[0]["function"], "place_order");
    assert_eq!(frames[0]["in_app"], true);
}
