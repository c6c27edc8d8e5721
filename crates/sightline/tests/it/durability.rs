//! Durability: points received before a group commit, and events acknowledged over HTTP,
//! survive `kill -9` of the real process.
//!
//! Batch A is sent and the test waits until the server counts every point written and the
//! WAL's durable sequence has reached the last of those writes, so A is in the fsynced WAL. Then batch B streams in and the
//! process is killed mid-stream, which can leave a torn record at the WAL's end. After a
//! restart every point of A must be there with its exact value, and the store must open cleanly.

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Serve;

const PASSWORD: &str = "durability-test-pw";
const SERIES: usize = 50;
const POINTS_A: usize = 100;

fn session(client: &reqwest::blocking::Client, serve: &Serve) -> String {
    let body = json!({"username": "admin", "password": PASSWORD});
    let response = client
        .post(serve.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn metric(client: &reqwest::blocking::Client, serve: &Serve, name: &str) -> f64 {
    let text = client
        .get(serve.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .unwrap();
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

fn line(series: usize, i: usize, t0: i64) -> String {
    format!(
        "durable.s{series} {} {}\n",
        (series * 1000 + i) as f64 + 0.25,
        t0 + (i as i64) * 10
    )
}

#[test]
fn acknowledged_points_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let envs = [("SIGHTLINE_ADMIN_PASSWORD", PASSWORD)];
    let mut serve = Serve::start(dir.path(), &[], &envs);
    let client = reqwest::blocking::Client::new();
    let carbon = serve.addr("carbon_tcp");
    let now = model::Clock::now(&model::SystemClock).as_secs();
    let t0 = now - now % 10 - (POINTS_A as i64) * 10 - 600;

    let mut a = String::new();
    for i in 0..POINTS_A {
        for s in 0..SERIES {
            a.push_str(&line(s, i, t0));
        }
    }
    TcpStream::connect(carbon)
        .unwrap()
        .write_all(a.as_bytes())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(&client, &serve, "sightline_tsdb_points_written_total")
        < (SERIES * POINTS_A) as f64
    {
        assert!(Instant::now() < deadline, "batch A was never written");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Batch A is acknowledged once the WAL's durable sequence reaches its last write's.
    let written = metric(&client, &serve, "sightline_tsdb_wal_sequence_written");
    while metric(&client, &serve, "sightline_tsdb_wal_sequence_durable") < written {
        assert!(Instant::now() < deadline, "batch A was never made durable");
        std::thread::sleep(Duration::from_millis(5));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let streaming = Arc::clone(&stop);
    let writer = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(carbon).unwrap();
        let mut i = POINTS_A;
        while !streaming.load(Ordering::Relaxed) {
            let chunk: String = (0..SERIES).map(|s| line(s, i, t0)).collect();
            if stream.write_all(chunk.as_bytes()).is_err() {
                return;
            }
            i += 1;
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    serve.signal("KILL");
    let status = serve.wait_exit(Duration::from_secs(10)).unwrap();
    assert!(!status.success(), "killed, not exited");
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();

    let again = Serve::start(dir.path(), &[], &envs);
    let cookie = session(&client, &again);
    for s in 0..SERIES {
        let url = again.url(&format!(
            "/api/v1/series/fetch?name=durable.s{s}&from={}&until={}",
            t0 - 10,
            t0 + (POINTS_A as i64) * 10 - 10
        ));
        let fetched: Value = client
            .get(url)
            .header("cookie", &cookie)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let values: Vec<f64> = fetched["values"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        let want: Vec<f64> = (0..POINTS_A)
            .map(|i| (s * 1000 + i) as f64 + 0.25)
            .collect();
        assert_eq!(values, want, "series {s} after kill -9");
    }
    let log = again.stderr();
    assert!(
        log.contains("replayed the metric WAL"),
        "recovery came from the WAL:\n{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
}

/// Events answered 200 by `/api/v1/ingest` survive `kill -9`, even those sent just before it
/// (well inside the store's one-second commit interval).
#[test]
fn acknowledged_events_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let envs = [("SIGHTLINE_ADMIN_PASSWORD", PASSWORD)];
    let mut serve = Serve::start(dir.path(), &[], &envs);
    let client = reqwest::blocking::Client::new();
    let cookie = session(&client, &serve);
    let created: Value = client
        .post(serve.url("/api/v1/tokens"))
        .header("Cookie", &cookie)
        .json(&json!({"name": "shipper", "kind": "ingest"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let now = model::Clock::now(&model::SystemClock).as_secs();
    let mut acknowledged = 0;
    for batch in 0..20 {
        let body: String = (0..50)
            .map(|i| format!("{{\"msg\": \"durable event\", \"batch\": {batch}, \"i\": {i}, \"ts\": {now}}}\n"))
            .collect();
        let answer: Value = client
            .post(serve.url("/api/v1/ingest"))
            .bearer_auth(&token)
            .body(body)
            .send()
            .unwrap()
            .json()
            .unwrap();
        acknowledged += answer["accepted"].as_u64().unwrap();
    }
    serve.signal("KILL");
    let status = serve.wait_exit(Duration::from_secs(10)).unwrap();
    assert!(!status.success(), "killed, not exited");

    let again = Serve::start(dir.path(), &[], &envs);
    let cookie = session(&client, &again);
    let found: Value = client
        .get(again.url("/api/v1/events/search?q=durable&from=-1h&limit=1"))
        .header("Cookie", &cookie)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        found["total"].as_u64(),
        Some(acknowledged),
        "every acknowledged event is back"
    );
    assert_eq!(acknowledged, 1000);
}
