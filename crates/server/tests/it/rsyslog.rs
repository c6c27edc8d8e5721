//! rsyslog (Debian's), the real daemon, forwarding into Sightline's syslog listeners: over UDP
//! and TCP in its default (traditional) forward format, and over TCP with octet counting in
//! RFC 5424. Messages enter rsyslog on its own TCP input; filters send each to one path.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use server::testkit::{TestServer, start_server};

const RSYSLOGD: &str = "/usr/sbin/rsyslogd";

fn config(dir: &std::path::Path, input: u16, udp: u16, tcp: u16) -> String {
    format!(
        r#"global(workDirectory="{dir}/work")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{input}" ruleset="fwd")
ruleset(name="fwd") {{
  if $msg contains "viaudp" then action(type="omfwd" target="127.0.0.1" port="{udp}" protocol="udp")
  if $msg contains "viatcp" then action(type="omfwd" target="127.0.0.1" port="{tcp}" protocol="tcp")
  if $msg contains "viaoctet" then action(type="omfwd" target="127.0.0.1" port="{tcp}" protocol="tcp" tcp_framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
}}
"#,
        dir = dir.display()
    )
}

/// Stops the daemon however the test ends.
struct Daemon(std::process::Child);
impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_for(server: &TestServer, query: &str) -> Value {
    let url = format!(
        "/api/v1/events/search?from=0&until=4102444800&q={}",
        serde_urlencoded::to_string([("", query)])
            .unwrap()
            .trim_start_matches('=')
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found = server.get_json(&url).await;
        if found["total"].as_u64() == Some(1) || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn rsyslog_forwards_over_udp_tcp_and_octet_counted_tcp() {
    assert!(
        std::path::Path::new(RSYSLOGD).exists(),
        "{RSYSLOGD} is missing: run ./scripts/test, which installs rsyslog"
    );
    let server = start_server().await;
    let udp = server.addr(server::ListenerKind::SyslogUdp).port();
    let tcp = server.addr(server::ListenerKind::SyslogTcp).port();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("work")).unwrap();
    let input = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = tmp.path().join("rsyslog.conf");
    std::fs::write(&conf, config(tmp.path(), input, udp, tcp)).unwrap();
    let mut rsyslog = Daemon(
        Command::new(RSYSLOGD)
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(tmp.path().join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rsyslogd"),
    );

    // Its input accepts once it is up.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut conn = loop {
        match std::net::TcpStream::connect(("127.0.0.1", input)) {
            Ok(c) => break c,
            Err(e) => {
                assert!(Instant::now() < deadline, "rsyslogd never listened: {e}");
                assert!(rsyslog.0.try_wait().unwrap().is_none(), "rsyslogd exited");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    let stamp = jiff::Timestamp::now()
        .strftime("%b %e %H:%M:%S")
        .to_string();
    for (pri, marker) in [(134, "viaudp"), (131, "viatcp"), (132, "viaoctet")] {
        writeln!(
            conn,
            "<{pri}>{stamp} web1 shop[4242]: user 42 signed up {marker} plan=pro"
        )
        .unwrap();
    }
    conn.flush().unwrap();
    drop(conn);

    let udp_event = wait_for(&server, "viaudp").await;
    let tcp_event = wait_for(&server, "viatcp").await;
    let octet_event = wait_for(&server, "viaoctet").await;
    let _ = rsyslog.0.kill();
    let _ = rsyslog.0.wait();
    let mut stderr = String::new();
    if let Some(mut pipe) = rsyslog.0.stderr.take() {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stderr);
    }

    for (found, level, marker) in [
        (&udp_event, "info", "viaudp"),
        (&tcp_event, "error", "viatcp"),
        (&octet_event, "warning", "viaoctet"),
    ] {
        assert_eq!(found["total"], 1, "{marker}: {found}\nrsyslogd: {stderr}");
        let e = &found["events"][0];
        assert_eq!(e["host"], "web1", "{marker}: {e}");
        assert_eq!(e["level"], level, "{marker}: {e}");
        assert_eq!(
            e["service"], "shop",
            "{marker}: the program is the service: {e}"
        );
        assert_eq!(e["fields"]["facility"], "local0", "{marker}: {e}");
        assert_eq!(
            e["message"],
            format!("user 42 signed up {marker} plan=pro"),
            "{marker}: {e}"
        );
    }
    // The RFC 5424 path carries the process id in its own field; the timestamp is the
    // message's (to the second, as the traditional format has it), on all three.
    assert_eq!(octet_event["events"][0]["fields"]["pid"], 4242);
    let sent = jiff::Timestamp::now().as_second();
    for found in [&udp_event, &tcp_event, &octet_event] {
        let ts = found["events"][0]["timestamp_ns"].as_i64().unwrap() / 1_000_000_000;
        assert!((sent - ts).abs() < 600, "{found}");
    }
}
