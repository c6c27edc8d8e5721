//! The free-space floor against the real process: the data directory on a small tmpfs (when
//! this machine lets the test mount one), filled past `min_free_disk`. Ingest is refused in
//! each protocol's shape, a carbon line sent meanwhile waits unread rather than lost, and once
//! space returns everything resumes with what was stored intact. Without a mount, the floor is
//! set above the disk's free space instead, and only the refusals are checked.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{RawAnswer, Serve, cli, create_project, raw_request};

/// Unmounts the tmpfs when the test ends.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A 64 MiB tmpfs at `at`, if this machine allows it.
fn small_filesystem(at: &Path) -> Option<Mount> {
    std::fs::create_dir_all(at).ok()?;
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64m", "tmpfs"])
        .arg(at)
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?
        .success();
    mounted.then(|| Mount(at.to_owned()))
}

/// Status, lowercased headers and body of one request; the connection must not break.
fn request(
    serve: &Serve,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, String, String) {
    let RawAnswer { status, head, body } =
        raw_request(serve.http, method, path, headers, body).expect("an answer");
    (status, head, body)
}

fn metric(serve: &Serve, name: &str) -> Option<f64> {
    let (_, _, body) = request(serve, "GET", "/metrics", &[], b"");
    body.lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn below_the_disk_floor_ingest_waits_and_resumes_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mount = small_filesystem(&data);
    // On the tmpfs a floor of 16 MiB; without one, a floor above any disk's free space.
    let floor = if mount.is_some() {
        "16MiB"
    } else {
        "1000000GiB"
    };
    let serve = Serve::start(dir.path(), &[], &[("SIGHTLINE_MIN_FREE_DISK", floor)]);
    let ingest = cli(
        dir.path(),
        &["token", "create", "shipper", "--kind", "ingest"],
    );
    let api = cli(dir.path(), &["token", "create", "reader"]);
    let (key, project) = create_project(dir.path(), "shop");
    let bearer = ("Authorization", format!("Bearer {ingest}"));
    let reader = ("Authorization", format!("Bearer {api}"));
    let count = |q: &str| -> u64 {
        let (_, _, body) = request(
            &serve,
            "GET",
            &format!("/api/v1/events/search?q={q}&from=-1h&limit=1"),
            std::slice::from_ref(&reader),
            b"",
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["total"].as_u64().unwrap()
    };

    let filler = data.join("filler");
    if mount.is_some() {
        let (status, _, _) = request(
            &serve,
            "POST",
            "/api/v1/ingest?refresh=wait_for",
            std::slice::from_ref(&bearer),
            b"{\"event\":\"before.full\"}\n",
        );
        assert_eq!(status, 200);
        assert_eq!(count("before.full"), 1);
        // Fill the file system to 8 MiB short of full: under the 16 MiB floor.
        let free = metric(&serve, "sightline_disk_free_bytes").unwrap() as u64;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..(free.saturating_sub(8 << 20) >> 20) {
            f.write_all(&chunk).unwrap();
        }
        f.sync_all().unwrap();
    }
    wait_until("the guard never saw the disk low", || {
        metric(&serve, "sightline_disk_below_floor") == Some(1.0)
    });

    // Each protocol's own "not now".
    let (status, head, body) = request(
        &serve,
        "POST",
        "/api/v1/ingest",
        std::slice::from_ref(&bearer),
        b"{\"event\":\"while.full\"}\n",
    );
    assert_eq!(status, 507, "{body}");
    assert!(head.contains("retry-after: 30"), "{head}");
    assert!(
        body.contains("\"insufficient_storage\"") && body.contains("min_free_disk"),
        "{body}"
    );
    let (status, head, body) = request(
        &serve,
        "POST",
        "/_bulk",
        std::slice::from_ref(&bearer),
        b"{\"index\":{}}\n{\"event\":\"while.full\"}\n",
    );
    assert_eq!(status, 429, "{body}");
    assert!(head.contains("retry-after: 30"), "{head}");
    assert!(body.contains("cluster_block_exception"), "{body}");
    let (status, _, body) = request(
        &serve,
        "POST",
        "/v1/logs",
        &[bearer.clone(), ("Content-Type", "application/json".into())],
        b"{\"resourceLogs\":[]}",
    );
    assert_eq!(status, 429, "{body}");
    let sentry = ("X-Sentry-Auth", format!("Sentry sentry_key={key}"));
    let envelope = b"{}\n{\"type\":\"event\"}\n{\"message\":\"while full\",\"level\":\"error\"}\n";
    let (status, head, _) = request(
        &serve,
        "POST",
        &format!("/api/{project}/envelope/"),
        std::slice::from_ref(&sentry),
        envelope,
    );
    assert_eq!(status, 429);
    assert!(head.contains("x-sentry-rate-limits"), "{head}");

    let Some(mount) = mount else {
        eprintln!(
            "no tmpfs could be mounted here: the floor was set above the free space, and resuming is not checked"
        );
        return;
    };
    // A carbon line sent now is not read while the disk is low...
    let mut carbon = TcpStream::connect(serve.addr("carbon_tcp")).unwrap();
    let now = model::Clock::now(&model::SystemClock).as_secs();
    carbon
        .write_all(format!("disk.full.waited 42 {now}\n").as_bytes())
        .unwrap();
    carbon.flush().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let points = || -> usize {
        let (_, _, body) = request(
            &serve,
            "GET",
            "/render?target=disk.full.waited&from=-10min&format=json",
            std::slice::from_ref(&reader),
            b"",
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        v[0]["datapoints"]
            .as_array()
            .map_or(0, |d| d.iter().filter(|p| p[0].is_number()).count())
    };
    assert_eq!(points(), 0, "held in the socket while the disk is low");

    // ...and once space returns it is stored, and ingest is taken again.
    std::fs::remove_file(&filler).unwrap();
    wait_until("ingest never resumed", || {
        metric(&serve, "sightline_disk_below_floor") == Some(0.0)
    });
    wait_until("the waiting carbon line was never stored", || points() == 1);
    let (status, _, _) = request(
        &serve,
        "POST",
        "/api/v1/ingest?refresh=wait_for",
        std::slice::from_ref(&bearer),
        b"{\"event\":\"after.full\"}\n",
    );
    assert_eq!(status, 200);
    let (status, _, _) = request(
        &serve,
        "POST",
        &format!("/api/{project}/envelope/"),
        &[sentry],
        envelope,
    );
    assert_eq!(status, 200);
    // What was stored before is whole, and only what was refused is missing.
    assert_eq!(count("before.full"), 1);
    assert_eq!(count("after.full"), 1);
    assert_eq!(count("while.full"), 0);
    assert!(metric(&serve, "sightline_disk_refusals_total").unwrap() >= 4.0);
    drop(carbon);
    drop(serve);
    drop(mount);
}
