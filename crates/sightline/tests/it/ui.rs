//! The web UI in a real browser: `sightline serve` filled over the real protocols (the demo's
//! carbon metrics and JSON-lines events, errors from the Python Sentry SDK, hostile names and
//! values over carbon, JSON lines and Sentry), then the journeys of `ui/e2e/journeys.test.mjs`
//! in Debian's Chromium through playwright-core. Screenshots go to `ui/e2e/screenshots/`.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Serve, sightline};

const ADMIN_PASSWORD: &str = "journeys-admin-pw";
const VIEWER_PASSWORD: &str = "journeys-viewer-pw";
/// What an attacker who can send a log line, an error or a metric would try. No dots: they
/// would split field paths.
const HOSTILE: &str = "<img src=x onerror=alert(1)><script>alert(2)</script>";

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui")
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn python() -> PathBuf {
    let peers = std::env::var_os("SIGHTLINE_PEERS")
        .map(PathBuf::from)
        .expect("SIGHTLINE_PEERS names the peers' installs; run ./scripts/test");
    peers.join("venv/bin/python")
}

/// Sends the data every journey reads.
fn fill(dir: &Path, serve: &Serve) {
    let mut add = sightline(dir)
        .args([
            "user",
            "add",
            "vera",
            "--role",
            "viewer",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "{VIEWER_PASSWORD}").unwrap();
    let out = add.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let carbon = serve.addr("carbon_tcp").to_string();
    let json_lines = serve.addr("json_lines_tcp").to_string();
    run(
        sightline(dir).args([
            "demo",
            "--carbon",
            &carbon,
            "--json-lines",
            &json_lines,
            "--backfill",
            "6h",
            "--duration",
            "0s",
        ]),
        "sightline demo",
    );
    let dsn = run(
        sightline(dir).args(["project", "create", "shop"]),
        "project create",
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/ui_errors.py");
    run(
        Command::new(python())
            .arg(script)
            .arg(dsn.trim())
            .arg(HOSTILE),
        "the Python SDK's errors",
    );

    let now = std::time::UNIX_EPOCH.elapsed().unwrap().as_secs();
    let mut metric = TcpStream::connect(&carbon).unwrap();
    writeln!(
        metric,
        "hostile.<img_src=x_onerror=alert(1)>.<script>alert(2)</script> 1 {now}"
    )
    .unwrap();
    let line = serde_json::json!({
        "event": format!("hostile {HOSTILE}"),
        "level": "warning",
        "service": "<script>alert(3)</script>",
        HOSTILE: {"key": HOSTILE},
    });
    let mut events = TcpStream::connect(&json_lines).unwrap();
    writeln!(events, "{line}").unwrap();
}

/// Waits until a search as the admin finds `query`, so the journeys start on searchable data.
fn wait_searchable(serve: &Serve, token: &str, query: &str) {
    let client = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = client
            .get(serve.url(&format!(
                "/api/v1/events/search?q={}&from=-1h&limit=1",
                query.replace(':', "%3A")
            )))
            .bearer_auth(token)
            .send()
            .and_then(|r| r.json::<serde_json::Value>())
            .is_ok_and(|v| v["total"].as_u64().unwrap_or(0) > 0);
        if found {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "`{query}` never became searchable"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_ui_journeys_pass_in_chromium() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: ./scripts/test installs Debian's chromium"
    );
    let playwright = ui_dir().join("node_modules/playwright-core");
    assert!(
        playwright.exists(),
        "{} is missing: building the server runs `npm ci` in ui/",
        playwright.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(
        dir.path(),
        &[],
        &[("SIGHTLINE_ADMIN_PASSWORD", ADMIN_PASSWORD)],
    );
    fill(dir.path(), &serve);
    let token = run(
        sightline(dir.path()).args(["token", "create", "journeys"]),
        "token",
    );
    let ingest = run(
        sightline(dir.path()).args(["token", "create", "journeys-ingest", "--kind", "ingest"]),
        "ingest token",
    );
    wait_searchable(&serve, token.trim(), "hostile");
    wait_searchable(&serve, token.trim(), "event:payment.succeeded");

    let shots = ui_dir().join("e2e/screenshots");
    let status = Command::new("node")
        .args(["--test", "--test-reporter=spec", "--test-concurrency=1"])
        .arg("e2e/journeys.test.mjs")
        .current_dir(ui_dir())
        .env("SIGHTLINE_URL", serve.url(""))
        .env("SIGHTLINE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("SIGHTLINE_VIEWER", "vera")
        .env("SIGHTLINE_VIEWER_PASSWORD", VIEWER_PASSWORD)
        .env("SIGHTLINE_SCREENSHOTS", &shots)
        .env("SIGHTLINE_HOSTILE", HOSTILE)
        .env("SIGHTLINE_INGEST", ingest.trim())
        .env("CHROMIUM", &chromium)
        .status()
        .expect("run node (Node.js is needed for the UI tests)");
    assert!(
        status.success(),
        "a browser journey failed (its output is above; screenshots in {}); server log:\n{}",
        shots.display(),
        serve.stderr()
    );
}
