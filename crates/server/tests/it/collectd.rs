//! collectd's `write_graphite` plugin, the real daemon, writing into Sightline's carbon port.
//!
//! A recording proxy sits between them, so the test knows exactly which lines collectd sent;
//! the whisper library then says what carbon would hold for those lines, and Sightline must
//! hold the same.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use model::{Clock, SystemClock};
use serde_json::{Value, json};
use server::ListenerKind;
use server::testkit::start_server;

use crate::peers::run_python;

/// Accepts one connection on `listener`, copies it to `target`, and returns what passed.
fn record_and_forward(
    listener: TcpListener,
    target: std::net::SocketAddr,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let (mut from, _) = listener.accept().unwrap();
        let mut to = TcpStream::connect(target).unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    seen.extend_from_slice(&buf[..n]);
                    to.write_all(&buf[..n]).unwrap();
                }
            }
        }
        seen
    })
}

fn config(dir: &std::path::Path, port: u16) -> String {
    format!(
        r#"Hostname "sightline-test"
FQDNLookup false
Interval 1
BaseDir "{dir}"
PIDFile "{dir}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File STDOUT
</Plugin>
LoadPlugin load
LoadPlugin memory
LoadPlugin write_graphite
<Plugin write_graphite>
  <Node "sightline">
    Host "127.0.0.1"
    Port "{port}"
    Protocol "tcp"
    Prefix "collectd."
    StoreRates true
    AlwaysAppendDS false
    EscapeCharacter "_"
  </Node>
</Plugin>
"#,
        dir = dir.display()
    )
}

#[tokio::test]
async fn collectd_write_graphite_lands_as_whisper_would_hold_it() {
    let server = start_server().await;
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = proxy.local_addr().unwrap().port();
    let recorder = record_and_forward(proxy, server.addr(ListenerKind::CarbonTcp));
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("collectd.conf");
    std::fs::write(&conf, config(tmp.path(), port)).unwrap();
    let mut collectd = Command::new("/usr/sbin/collectd")
        .arg("-f")
        .arg("-C")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("collectd is installed by scripts/test");
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    // SIGTERM makes write_graphite flush its buffer before exiting.
    Command::new("kill")
        .arg("-TERM")
        .arg(collectd.id().to_string())
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while collectd.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "collectd did not stop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent = tokio::task::spawn_blocking(move || recorder.join().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8(sent).unwrap();
    let lines: Vec<(String, f64, i64)> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (
                f[0].to_owned(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.0 == "collectd.sightline-test.load.load.shortterm"),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.0.starts_with("collectd.sightline-test.memory.memory-")),
        "{text}"
    );

    let mut names: Vec<&str> = lines.iter().map(|l| l.0.as_str()).collect();
    names.sort();
    names.dedup();
    let (first, last) = (
        lines.iter().map(|l| l.2).min().unwrap(),
        lines.iter().map(|l| l.2).max().unwrap(),
    );
    for name in &names {
        let expected = lines.iter().filter(|l| l.0 == *name).count().min(1);
        server
            .wait_for_points(name, first - 20, last + 20, expected)
            .await;
    }
    let now = SystemClock.now().as_secs();
    let series: serde_json::Map<String, Value> = names
        .iter()
        .map(|n| {
            (
                (*n).to_owned(),
                json!({"retentions": "10s:6h,1m:30d,10m:5y", "xff": 0.3, "method": "average"}),
            )
        })
        .collect();
    let points: Vec<Value> = lines.iter().map(|(n, v, t)| json!([n, t, v])).collect();
    let fetches: Vec<Value> = names.iter().map(|n| json!([n, first - 60, now])).collect();
    let whisper = run_python(
        "whisper_oracle.py",
        &json!({"now": now, "series": series, "points": points, "fetches": fetches}),
    );
    for (name, expected) in names.iter().zip(whisper.as_array().unwrap()) {
        let ours = server.tsdb().fetch(name, first - 60, now).unwrap().unwrap();
        let want: Vec<Option<f64>> = expected["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(Value::as_f64)
            .collect();
        assert_eq!(ours.start, expected["start"].as_i64().unwrap(), "{name}");
        assert_eq!(ours.values, want, "{name}");
    }
}
