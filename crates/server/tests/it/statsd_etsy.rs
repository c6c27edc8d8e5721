//! statsd against etsy statsd itself: the same packets must produce the same values.
//!
//! `tests/fixtures/statsd/etsy-0.9.0-flush.txt` is what the real daemon (npm statsd 0.9.0) sent
//! to carbon for `packets.txt`, recorded by `tests/peers/record-etsy-statsd.sh` with the options
//! given to Sightline below; `etsy-0.9.0-as-carbon-stores.txt` is what carbon-cache stores for
//! that flush, written from it by graphite's own name parsing (`carbon_store_oracle.py`). Two
//! differences are deliberate, and written out in the test: etsy keeps DogStatsD tags in the
//! order sent, so one series sent with its tags in two orders becomes two keys that carbon then
//! stores under one name (the last line winning), while Sightline aggregates them as the one
//! series they are; and etsy's own timing metrics (`graphiteStats.*`, `processing_time`) differ.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

use model::{ManualClock, Timestamp};
use server::ListenerKind;
use server::testkit::start_server_with;

const NOW: i64 = 1_700_000_000;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/statsd")
            .join(name),
    )
    .unwrap()
}

fn volatile(name: &str) -> bool {
    name.starts_with("stats.statsd.graphiteStats.") || name == "stats.statsd.processing_time"
}

#[tokio::test]
async fn statsd_flushes_what_etsy_statsd_flushes() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let server = start_server_with(clock.clone(), |c| {
        c.statsd.flush_interval = "2s".parse().unwrap();
        c.statsd.percent_threshold = vec![90.0, 99.9, -20.0];
        c.statsd.histogram =
            vec![toml::from_str("metric = \"api.get\"\nbins = [5, 50, \"inf\"]").unwrap()];
    })
    .await;
    // etsy's first flush comes before the packets, as in the recording.
    server.handle().flush_statsd().await;
    clock.advance(Duration::from_secs(2));

    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = server.addr(ListenerKind::StatsdUdp);
    let packets = fixture("packets.txt");
    let datagrams: Vec<&str> = packets
        .split("\n\n")
        .map(|d| d.trim_matches('\n'))
        .filter(|d| !d.is_empty())
        .collect();
    for datagram in &datagrams {
        socket.send_to(datagram.as_bytes(), target).unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !server.metrics().await.contains(&format!(
        "sightline_listener_bytes_total{{listener=\"statsd_udp\"}} {}",
        datagrams.iter().map(|d| d.len()).sum::<usize>()
    )) {
        assert!(
            std::time::Instant::now() < deadline,
            "the datagrams never all arrived"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.handle().flush_statsd().await;
    let ts = NOW + 2;

    // What carbon-cache stores for etsy's flush, recorded with graphite's own name parsing
    // (`tests/peers/carbon_store_oracle.py`): one value per series, the last sent.
    let mut expected: BTreeMap<String, f64> = fixture("etsy-0.9.0-as-carbon-stores.txt")
        .lines()
        .map(|line| {
            let (name, value) = line.split_once(' ').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect();
    // The deliberate differences, written out: `page.views` came with its tags in two orders,
    // which etsy counts as two keys (carbon then keeps the last of each pair), and Sightline as
    // the one series they name: the sum of both (3 + 2 events; 1.5 + 1 a second over the 2 s
    // flush), and one key fewer in `numStats`.
    for (name, carbon, ours) in [
        ("stats_counts.page.views;env=prod;region=eu", 2.0, 5.0),
        ("stats.page.views;env=prod;region=eu", 1.0, 2.5),
        ("statsd.numStats", 23.0, 22.0),
    ] {
        assert_eq!(
            expected.insert(name.to_owned(), ours),
            Some(carbon),
            "{name}"
        );
    }
    for (name, &want) in &expected {
        if volatile(name) {
            assert!(server.tsdb().series_id(name).is_some(), "{name} is emitted");
            continue;
        }
        let fetched = server.wait_for_points(name, ts - 10, ts, 1).await;
        let ours = fetched.values.iter().flatten().last().copied();
        assert_eq!(ours, Some(want), "{name}");
    }
    // And nothing beyond what etsy sends.
    for name in server.tsdb().series_names() {
        let prefix = name.split('.').next().unwrap_or_default();
        if ["stats", "stats_counts", "statsd"].contains(&prefix) {
            assert!(expected.contains_key(&name), "unexpected {name}");
        }
    }
}
