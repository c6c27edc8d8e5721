//! The command line outside `serve`: help, version, config, demo.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;

use crate::sightline;

#[test]
fn version_and_help_describe_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let version = sightline(dir.path()).arg("--version").output().unwrap();
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8(version.stdout).unwrap(),
        format!("sightline {}\n", env!("CARGO_PKG_VERSION"))
    );

    let help = sightline(dir.path()).arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for command in ["serve", "token", "user", "config", "demo"] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} missing:\n{help}"
        );
    }
    let serve_help = sightline(dir.path())
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let serve_help = String::from_utf8(serve_help.stdout).unwrap();
    for flag in ["--config", "--data-dir", "--http-addr", "--log-level"] {
        assert!(serve_help.contains(flag), "{flag} missing:\n{serve_help}");
    }
}

#[test]
fn config_check_names_file_key_and_reason_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sightline.toml"),
        "[http]\naddr = \"localhost\"\n",
    )
    .unwrap();
    let out = sightline(dir.path())
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        "error: config file sightline.toml: key `http.addr`: `localhost` has no port: use an address such as 127.0.0.1:8080 or localhost:8080\n"
    );

    std::fs::write(
        dir.path().join("sightline.toml"),
        "[auth]\nadmin_password = \"very-secret-pw\"\n",
    )
    .unwrap();
    let out = sightline(dir.path())
        .args(["config", "show"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(shown.contains("admin_password = \"[redacted]\""), "{shown}");
    assert!(!shown.contains("very-secret-pw"));
}

#[test]
fn token_commands_need_an_existing_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let out = sightline(dir.path())
        .args(["token", "list", "--data-dir", "nowhere"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        "error: data directory nowhere: holds no control database; start `sightline serve` once first\n"
    );
}

#[test]
fn demo_sends_carbon_lines_with_history() {
    let listen = || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            BufReader::new(stream)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        (addr, reader)
    };
    let (addr, reader) = listen();
    let (json_addr, json_reader) = listen();
    let dir = tempfile::tempdir().unwrap();
    let out = sightline(dir.path())
        .args([
            "demo",
            "--carbon",
            &addr.to_string(),
            "--json-lines",
            &json_addr.to_string(),
            "--backfill",
            "5m",
            "--interval",
            "10s",
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
    let lines = reader.join().unwrap();
    // 5 minutes of 10 s batches (30 or 31 of them, by alignment), 38 series each.
    assert!(
        (30 * 38..=31 * 38).contains(&lines.len()),
        "{}",
        lines.len()
    );
    let mut stamps = std::collections::BTreeSet::new();
    for line in &lines {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 3, "{line}");
        assert!(fields[1].parse::<f64>().unwrap().is_finite(), "{line}");
        stamps.insert(fields[2].parse::<i64>().unwrap());
    }
    assert!(
        stamps.len() >= 30,
        "history spans the backfill: {}",
        stamps.len()
    );
    assert!(lines.iter().any(|l| l.starts_with("shop.revenue.eur.sum ")));
    // The same intervals' events, as JSON lines: one sign-up event per sign-up counted.
    let events: Vec<serde_json::Value> = json_reader
        .join()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let signups: f64 = lines
        .iter()
        .filter(|l| l.starts_with("shop.signups.count "))
        .map(|l| l.split(' ').nth(1).unwrap().parse::<f64>().unwrap())
        .sum();
    let signup_events = events
        .iter()
        .filter(|e| e["event"] == "user.signed_up")
        .count();
    assert_eq!(signup_events as f64, signups);
    assert!(events.iter().any(|e| e["event"] == "payment.succeeded"));
}

#[test]
fn demo_without_a_server_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = sightline(dir.path())
        .args(["demo", "--carbon", &free.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!(
            "error: cannot reach the carbon listener at {free}"
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
