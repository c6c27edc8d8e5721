//! The metric listeners over real sockets: carbon plaintext (TCP, UDP), pickle, statsd.

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use model::{Clock, SystemClock};
use serde_json::Value;
use server::ListenerKind;
use server::testkit::{TestServer, start_server, start_server_with};

fn now() -> i64 {
    SystemClock.now().as_secs()
}

fn counter(metrics: &str, family: &str, listener: &str) -> u64 {
    let prefix = format!("{family}{{listener=\"{listener}\"}} ");
    let line = metrics
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {prefix}"));
    line[prefix.len()..].parse().unwrap()
}

/// Sends `bytes` over a fresh TCP connection and waits for the server to close it in turn.
async fn send_tcp(server: &TestServer, kind: ListenerKind, bytes: &[u8]) -> bool {
    let addr = server.addr(kind);
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut rest = Vec::new();
        stream.write_all(&bytes).is_ok()
            && stream.shutdown(std::net::Shutdown::Write).is_ok()
            && stream.read_to_end(&mut rest).is_ok()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn carbon_lines_good_bad_and_odd() {
    let server = start_server().await;
    let t = now() - now() % 10 - 20;
    let text = format!(
        "servers.web1.cpu 12.5 {t}\r\n\
         this line is garbage\n\
         servers.web1.cpu nan {t}\n\
         \n\
         .servers..web1.mem\t\t1e3  {t}\n\
         disk.used;rack=a1;datacenter=dc1 7 {t}\n\
         servers.web1.cpu 13.5 {}\n\
         servers.web1.load 0.5",
        t + 10
    );
    let addr = server.addr(ListenerKind::CarbonTcp);
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(text.as_bytes()).unwrap();
    })
    .await
    .unwrap();
    let cpu = server
        .wait_for_points("servers.web1.cpu", t - 60, t + 60, 2)
        .await;
    let values: Vec<f64> = cpu.values.iter().flatten().copied().collect();
    assert_eq!(values, vec![12.5, 13.5]);
    server
        .wait_for_points("servers.web1.mem", t - 60, t + 60, 1)
        .await;
    server
        .wait_for_points("disk.used;datacenter=dc1;rack=a1", t - 60, t + 60, 1)
        .await;
    server
        .wait_for_points("servers.web1.load", now() - 60, now() + 60, 1)
        .await;

    let metrics = server.metrics().await;
    assert_eq!(
        counter(&metrics, "sightline_listener_received_total", "carbon_tcp"),
        7
    );
    assert_eq!(
        counter(
            &metrics,
            "sightline_listener_parse_errors_total",
            "carbon_tcp"
        ),
        1
    );
    assert_eq!(
        counter(&metrics, "sightline_listener_dropped_total", "carbon_tcp"),
        1,
        "the NaN"
    );
}

#[tokio::test]
async fn an_overlong_line_closes_the_connection_after_storing_what_came_before() {
    let server = start_server_with(Arc::new(SystemClock), |c| {
        c.carbon.max_line_length = model::ByteSize::kib(1)
    })
    .await;
    let t = now();
    let mut text = format!("before.overlong 1 {t}\n");
    text.push_str(&"x".repeat(4096));
    text.push_str(&format!(" 2 {t}\nafter.overlong 3 {t}\n"));
    let addr = server.addr(ListenerKind::CarbonTcp);
    let closed = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let _ = s.write_all(text.as_bytes());
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 1];
        matches!(s.read(&mut buf), Ok(0))
            || matches!(s.read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset)
    })
    .await
    .unwrap();
    assert!(closed, "the server closes the connection");
    server
        .wait_for_points("before.overlong", t - 60, t + 60, 1)
        .await;
    assert!(server.tsdb().series_id("after.overlong").is_none());
    // The listener itself is fine.
    assert!(
        send_tcp(
            &server,
            ListenerKind::CarbonTcp,
            format!("still.works 1 {t}\n").as_bytes()
        )
        .await
    );
    server
        .wait_for_points("still.works", t - 60, t + 60, 1)
        .await;
}

#[tokio::test]
async fn carbon_over_udp() {
    let server = start_server().await;
    let t = now();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .send_to(
            format!("udp.a 1 {t}\nudp.b 2 {t}\nbad\n").as_bytes(),
            server.addr(ListenerKind::CarbonUdp),
        )
        .unwrap();
    server.wait_for_points("udp.a", t - 60, t + 60, 1).await;
    server.wait_for_points("udp.b", t - 60, t + 60, 1).await;
    let metrics = server.metrics().await;
    assert_eq!(
        counter(
            &metrics,
            "sightline_listener_parse_errors_total",
            "carbon_udp"
        ),
        1
    );
}

#[tokio::test]
async fn pickle_frames_and_a_corrupt_one() {
    let server = start_server().await;
    let t = now();
    let frame = wire::pickle::encode_frame(&[("pickled.a", t, 1.5), ("pickled.b", t, -2.0)]);
    assert!(send_tcp(&server, ListenerKind::CarbonPickle, &frame).await);
    server.wait_for_points("pickled.a", t - 60, t + 60, 1).await;
    server.wait_for_points("pickled.b", t - 60, t + 60, 1).await;

    // A frame that would run code closes its connection; the listener goes on.
    let mut evil = vec![0, 0, 0, 20];
    evil.extend_from_slice(b"cos\nsystem\n(S'ls'\ntR.");
    let addr = server.addr(ListenerKind::CarbonPickle);
    let closed = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(&evil).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 1];
        s.read(&mut buf).map(|n| n == 0).unwrap_or(true)
    })
    .await
    .unwrap();
    assert!(closed);
    let frame = wire::pickle::encode_frame(&[("pickled.after", t, 3.0)]);
    assert!(send_tcp(&server, ListenerKind::CarbonPickle, &frame).await);
    server
        .wait_for_points("pickled.after", t - 60, t + 60, 1)
        .await;
    let metrics = server.metrics().await;
    assert_eq!(
        counter(
            &metrics,
            "sightline_listener_parse_errors_total",
            "carbon_pickle"
        ),
        1
    );
    assert_eq!(
        counter(
            &metrics,
            "sightline_listener_received_total",
            "carbon_pickle"
        ),
        3
    );
}

#[tokio::test]
async fn connections_from_outside_the_allow_list_are_refused() {
    let server = start_server_with(Arc::new(SystemClock), |c| {
        c.carbon.allow = vec!["10.0.0.0/8".parse().unwrap()]
    })
    .await;
    let t = now();
    send_tcp(
        &server,
        ListenerKind::CarbonTcp,
        format!("refused.metric 1 {t}\n").as_bytes(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.tsdb().series_id("refused.metric").is_none());
    let metrics = server.metrics().await;
    assert_eq!(
        counter(&metrics, "sightline_listener_dropped_total", "carbon_tcp"),
        1
    );
}

#[tokio::test]
async fn statsd_udp_and_tcp_flush_with_etsy_names() {
    let server = start_server_with(Arc::new(SystemClock), |c| {
        c.statsd.flush_interval = "500ms".parse().unwrap()
    })
    .await;
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let statsd = server.addr(ListenerKind::StatsdUdp);
    socket.send_to(b"hits:1|c\nhits:2|c|@0.5\nlatency:320|ms\nlatency:100|ms\ntemp:21|g\nusers:alice|s\nusers:bob|s\nbad line\n_e{4,6}:Ship|v1.2.3\n_sc|db.up|0", statsd).unwrap();
    assert!(send_tcp(&server, ListenerKind::StatsdTcp, b"tcp.hits:5|c\n").await);
    let t = now();
    assert_eq!(
        server.latest("stats_counts.hits", t - 60, t + 60).await,
        5.0,
        "1 + 2 at a 0.5 sample rate"
    );
    assert_eq!(
        server.latest("stats.hits", t - 60, t + 60).await,
        10.0,
        "5 in half a second"
    );
    assert_eq!(
        server
            .latest("stats.timers.latency.upper_90", t - 60, t + 60)
            .await,
        320.0
    );
    assert_eq!(
        server
            .latest("stats.timers.latency.mean", t - 60, t + 60)
            .await,
        210.0
    );
    server
        .wait_for_points("stats.gauges.temp", t - 60, t + 60, 1)
        .await;
    assert_eq!(
        server
            .latest("stats.sets.users.count", t - 60, t + 60)
            .await,
        2.0
    );
    server
        .wait_for_points("stats_counts.tcp.hits", t - 60, t + 60, 1)
        .await;
    let bad = server
        .wait_for_points("stats_counts.statsd.bad_lines_seen", t - 60, t + 60, 1)
        .await;
    assert!(bad.values.iter().flatten().any(|v| *v == 1.0), "{bad:?}");
    assert_eq!(
        server.latest("stats.gauges.db.up", t - 60, t + 60).await,
        0.0,
        "a service check is a gauge"
    );
    assert!(
        server
            .metrics()
            .await
            .contains("sightline_statsd_events_total 1\n")
    );
}

#[tokio::test]
async fn the_series_endpoint_lists_and_fetches() {
    let server = start_server().await;
    let t = now();
    assert!(
        send_tcp(
            &server,
            ListenerKind::CarbonTcp,
            format!("api.one 1 {t}\napi.two 2 {t}\nother 3 {t}\n").as_bytes()
        )
        .await
    );
    server.wait_for_points("api.two", t - 60, t + 60, 1).await;
    let listed: Value = server
        .get("/api/v1/series?match=api.*")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listed["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api.one", "api.two"]);
    assert_eq!(
        listed["series"][0]["retentions"],
        "10s:2160,60s:43200,600s:262800"
    );
    let fetched: Value = server
        .get("/api/v1/series/fetch?name=api.two&from=-5min")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["step"], 10);
    assert!(
        fetched["values"]
            .as_array()
            .unwrap()
            .contains(&Value::from(2.0)),
        "{fetched}"
    );
    let missing = server
        .get("/api/v1/series/fetch?name=nope")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let anonymous = server
        .client
        .get(server.url("/api/v1/series"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}
