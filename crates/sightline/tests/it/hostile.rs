//! Hostile bodies against the real process, on its default limits: gzip bombs sent to every
//! ingest route at once, with the server's peak resident memory read from `/proc` (`VmHWM`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use crate::{Serve, cli, create_project, raw_request};

/// Concurrent bombs on each route.
const PER_ROUTE: usize = 200;
/// What one bomb inflates to.
const INFLATED: usize = 600 << 20;
/// The bound the server must stay under while they land.
const MAX_RSS_BYTES: u64 = 300 << 20;

/// 600 MiB of zeros, gzipped: about 600 KB on the wire.
fn bomb() -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..INFLATED >> 20 {
        e.write_all(&zeros).unwrap();
    }
    e.finish().unwrap()
}

/// One POST over its own connection; the answer's status code, or 0 if the connection broke.
fn post(addr: std::net::SocketAddr, path: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
    raw_request(addr, "POST", path, headers, body).map_or(0, |a| a.status)
}

/// The peak resident memory of process `pid`, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn gzip_bombs_on_every_ingest_route_are_refused_within_the_memory_bound() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[], &[]);
    let token = cli(
        dir.path(),
        &["token", "create", "bombs", "--kind", "ingest"],
    );
    let (key, project) = create_project(dir.path(), "shop");
    let gzip = ("Content-Encoding", "gzip".to_owned());
    let bearer = ("Authorization", format!("Bearer {token}"));
    let json = ("Content-Type", "application/json".to_owned());
    let routes: Vec<(String, Vec<(&'static str, String)>)> = vec![
        ("/api/v1/ingest".into(), vec![bearer.clone(), gzip.clone()]),
        ("/_bulk".into(), vec![bearer.clone(), gzip.clone()]),
        (
            "/v1/logs".into(),
            vec![bearer.clone(), gzip.clone(), json.clone()],
        ),
        ("/v1/metrics".into(), vec![bearer.clone(), gzip.clone()]),
        (
            format!("/api/{project}/envelope/"),
            vec![
                ("X-Sentry-Auth", format!("Sentry sentry_key={key}")),
                gzip.clone(),
            ],
        ),
    ];
    let before = peak_rss(serve.pid());
    let bomb = Arc::new(bomb());
    assert!(
        bomb.len() < 1 << 20,
        "a bomb is small on the wire: {} bytes",
        bomb.len()
    );

    let addr = serve.http;
    let mut threads = Vec::new();
    for (path, headers) in &routes {
        for _ in 0..PER_ROUTE {
            let (path, headers, bomb) = (path.clone(), headers.clone(), Arc::clone(&bomb));
            threads.push(std::thread::spawn(move || {
                (path.clone(), post(addr, &path, &headers, &bomb))
            }));
        }
    }
    let mut answers = std::collections::BTreeMap::<(String, u16), usize>::new();
    for t in threads {
        *answers.entry(t.join().unwrap()).or_default() += 1;
    }
    let peak = peak_rss(serve.pid());
    eprintln!(
        "peak RSS {} MiB (before: {} MiB): {answers:?}",
        peak >> 20,
        before >> 20
    );
    for ((path, status), n) in &answers {
        assert!(
            *status == 413 || *status == 429,
            "{n} bombs to {path} answered {status}: {answers:?}"
        );
    }
    let total: usize = answers.values().sum();
    assert_eq!(total, routes.len() * PER_ROUTE);
    assert!(
        peak < MAX_RSS_BYTES,
        "peak RSS {} MiB (before the bombs {} MiB): {answers:?}",
        peak >> 20,
        before >> 20
    );

    // The listener still serves every route with good data.
    let line = b"{\"event\":\"after.the.bombs\"}\n";
    let plain = vec![bearer.clone()];
    assert_eq!(post(addr, "/api/v1/ingest", &plain, line), 200);
    let bulk = b"{\"index\":{}}\n{\"event\":\"after.the.bombs\"}\n";
    assert_eq!(post(addr, "/_bulk", &plain, bulk), 200);
    let mut otlp_headers = plain.clone();
    otlp_headers.push(json);
    assert_eq!(
        post(addr, "/v1/logs", &otlp_headers, b"{\"resourceLogs\":[]}"),
        200
    );
    assert_eq!(
        post(
            addr,
            "/v1/metrics",
            &otlp_headers,
            b"{\"resourceMetrics\":[]}"
        ),
        200
    );
    let envelope = b"{}\n{\"type\":\"client_report\"}\n{\"discarded_events\":[]}\n";
    let sentry = vec![("X-Sentry-Auth", format!("Sentry sentry_key={key}"))];
    assert_eq!(
        post(
            addr,
            &format!("/api/{project}/envelope/"),
            &sentry,
            envelope
        ),
        200
    );
}

/// Slowloris: 500 connections that send their request headers a byte a second hold no one
/// else up, and each is closed once `http.header_read_timeout` has passed.
#[test]
fn slow_headers_neither_block_other_clients_nor_stay_open() {
    const SLOW: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(
        dir.path(),
        &[],
        &[("SIGHTLINE_HTTP_HEADER_READ_TIMEOUT", "2s")],
    );
    let addr = serve.http;
    let mut slow: Vec<TcpStream> = (0..SLOW)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let request =
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut closed = vec![false; SLOW];
    // A byte a second for five seconds: past the 2 s header timeout, the server has let each
    // slow client go.
    for (second, byte) in request.iter().take(5).enumerate() {
        for (i, s) in slow.iter_mut().enumerate() {
            if !closed[i] && s.write_all(&[*byte]).is_err() {
                closed[i] = true;
            }
        }
        if second == 0 {
            // With every slow client holding a connection, a normal one is still answered.
            let ok = reqwest::blocking::get(serve.url("/healthz")).unwrap();
            assert_eq!(ok.status(), 200);
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    let mut ended = 0;
    for s in &mut slow {
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut rest = Vec::new();
        // EOF (or a reset) rather than the read timing out: the server let go.
        match s.read_to_end(&mut rest) {
            Ok(_) => ended += 1,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => ended += 1,
            Err(_) => {}
        }
    }
    assert_eq!(
        ended, SLOW,
        "every slow connection was closed by the server"
    );
    let ok = reqwest::blocking::get(serve.url("/healthz")).unwrap();
    assert_eq!(ok.status(), 200);
}
