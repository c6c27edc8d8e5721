//! Real clients: the PyPI `statsd` library, and `nc` sending carbon lines.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use model::{ManualClock, Timestamp};
use serde_json::json;
use server::ListenerKind;
use server::testkit::{TestServer, start_server_with};

use crate::peers::run_python;

const NOW: i64 = 1_700_000_000;

async fn value(server: &TestServer, name: &str) -> f64 {
    server.latest(name, NOW - 10, NOW).await
}

#[tokio::test]
async fn the_pypi_statsd_client() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let server =
        start_server_with(clock, |c| c.statsd.flush_interval = "10s".parse().unwrap()).await;
    let (udp, tcp) = (
        server.addr(ListenerKind::StatsdUdp),
        server.addr(ListenerKind::StatsdTcp),
    );
    let sent = run_python(
        "statsd_client.py",
        &json!({"udp": ["127.0.0.1", udp.port()], "tcp": ["127.0.0.1", tcp.port()]}),
    );
    assert_eq!(sent["sent"], true);
    // UDP datagrams and the TCP connection are handled asynchronously: wait for all of them.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = server.metrics().await;
        let received = |l: &str| {
            let p = format!("sightline_listener_received_total{{listener=\"{l}\"}} ");
            metrics
                .lines()
                .find_map(|x| x.strip_prefix(&p)?.parse::<u64>().ok())
                .unwrap_or(0)
        };
        if received("statsd_udp") >= 15 && received("statsd_tcp") >= 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.handle().flush_statsd().await;
    assert_eq!(value(&server, "stats_counts.pyapp.signups").await, 5.0);
    assert_eq!(value(&server, "stats.pyapp.signups").await, 0.5);
    assert_eq!(value(&server, "stats_counts.pyapp.stock").await, -2.0);
    assert_eq!(
        value(&server, "stats.timers.pyapp.render.mean").await,
        100.25
    );
    assert_eq!(
        value(&server, "stats.timers.pyapp.render.upper").await,
        120.0
    );
    assert_eq!(value(&server, "stats.gauges.pyapp.queue").await, 12.0);
    assert_eq!(value(&server, "stats.sets.pyapp.visitors.count").await, 2.0);
    assert_eq!(value(&server, "stats_counts.pyapp.piped").await, 2.0);
    assert_eq!(
        value(&server, "stats.timers.pyapp.piped_time.count").await,
        1.0
    );
    assert_eq!(value(&server, "stats_counts.pytcp.orders").await, 3.0);
    assert_eq!(
        value(&server, "stats.timers.pytcp.checkout.upper_90").await,
        250.0
    );
}

#[tokio::test]
async fn carbon_lines_from_nc() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let server = start_server_with(clock, |_| {}).await;
    let tcp = server.addr(ListenerKind::CarbonTcp);
    let udp = server.addr(ListenerKind::CarbonUdp);
    let script = format!(
        "printf 'nc.tcp.metric 42 {NOW}\\nnc.tcp.now 7 -1\\n' | nc -N 127.0.0.1 {} && \
         printf 'nc.udp.metric 9 {NOW}\\n' | nc -u -w1 127.0.0.1 {}",
        tcp.port(),
        udp.port()
    );
    let status = tokio::task::spawn_blocking(move || {
        Command::new("sh").arg("-c").arg(script).status().unwrap()
    })
    .await
    .unwrap();
    assert!(status.success(), "nc is installed by scripts/test");
    assert_eq!(value(&server, "nc.tcp.metric").await, 42.0);
    assert_eq!(value(&server, "nc.tcp.now").await, 7.0, "-1 means now");
    assert_eq!(value(&server, "nc.udp.metric").await, 9.0);
}
