//! `sightline logs search` and `sightline logs tail` against a running server.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::{Serve, sightline};

fn token(dir: &std::path::Path, args: &[&str]) -> String {
    let out = sightline(dir)
        .args(["token", "create"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn ingest(serve: &Serve, token: &str, lines: &[serde_json::Value]) {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let response = reqwest::blocking::Client::new()
        .post(serve.url("/api/v1/ingest"))
        .bearer_auth(token)
        .body(body)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn logs_search_and_tail_talk_to_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[], &[]);
    let api = token(dir.path(), &["cli", "--role", "viewer"]);
    let shipper = token(dir.path(), &["shipper", "--kind", "ingest"]);
    let url = serve.url("");
    let logs = |args: &[&str]| {
        sightline(dir.path())
            .arg("logs")
            .args(args)
            .env("SIGHTLINE_URL", &url)
            .env("SIGHTLINE_TOKEN", &api)
            .output()
            .unwrap()
    };
    ingest(
        &serve,
        &shipper,
        &[
            json!({"event": "payment.succeeded", "amount": 30, "currency": "EUR", "user": {"email": "alice@example.com"}}),
            json!({"event": "payment.succeeded", "amount": 12.5, "currency": "USD"}),
            json!({"event": "payment.succeeded", "amount": 20, "currency": "EUR"}),
        ],
    );

    // Searchable within the commit interval.
    let deadline = Instant::now() + Duration::from_secs(10);
    let out = loop {
        let out = logs(&[
            "search",
            "user.email:\"alice@example.com\"",
            "--since",
            "1h",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.stdout.is_empty() || Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains("payment.succeeded")
            && text.contains("user.email=alice@example.com")
            && text.contains("amount=30"),
        "{text}"
    );

    let out = logs(&[
        "search",
        "event:payment.* | stats sum(amount) by currency",
        "--since",
        "24h",
    ]);
    let table = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["currency", "count", "sum(amount)"], "{table}");
    assert_eq!(rows[1], ["EUR", "2", "50"], "{table}");
    assert_eq!(rows[2], ["USD", "1", "12.50"], "{table}");

    // `--json`: one event object per line, as the API holds it.
    let out = logs(&["search", "event:payment.*", "--since", "1h", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 3, "{events:?}");
    let mut amounts: Vec<f64> = events
        .iter()
        .map(|e| {
            assert_eq!(e["fields"]["event"], "payment.succeeded", "{e}");
            e["fields"]["amount"].as_f64().unwrap()
        })
        .collect();
    amounts.sort_by(f64::total_cmp);
    assert_eq!(amounts, [12.5, 20.0, 30.0]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("3 of 3 matching events"));
    let out = logs(&["search", "amount:[1 TO", "--since", "1h"]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("position") && err.contains('^'), "{err}");

    // Tail: the stream is open once it says so; then only matching events print.
    let mut tail = sightline(dir.path())
        .args(["logs", "tail", "currency:GBP", "--json"])
        .env("SIGHTLINE_URL", &url)
        .env("SIGHTLINE_TOKEN", &api)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(tail.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("tailing"), "{line}");
    ingest(
        &serve,
        &shipper,
        &[
            json!({"event": "payment.succeeded", "amount": 1, "currency": "EUR"}),
            json!({"event": "payment.succeeded", "amount": 7, "currency": "GBP"}),
        ],
    );
    let mut stdout = BufReader::new(tail.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let event: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(event["fields"]["currency"], "GBP");
    assert_eq!(event["fields"]["amount"], 7);
    tail.kill().unwrap();
    tail.wait().unwrap();
}

#[test]
fn a_bad_pipe_a_missing_token_and_minutes_are_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[], &[]);
    let api = token(dir.path(), &["cli"]);
    let url = serve.url("");
    let logs = |args: &[&str], token: Option<&str>| {
        let mut command = sightline(dir.path());
        command.arg("logs").args(args).env("SIGHTLINE_URL", &url);
        if let Some(t) = token {
            command.env("SIGHTLINE_TOKEN", t);
        }
        command.output().unwrap()
    };
    // The aggregate endpoint's own error reaches the terminal, with the caret under it.
    for (query, says, caret_under) in [
        (
            "x | stats summ(amount)",
            "unknown function `summ`; did you mean `sum`?",
            "summ",
        ),
        ("x | stat count()", "did you mean `stats`?", "stat"),
        (
            "| timechart count() by",
            "expected a field name after `by`",
            "by",
        ),
    ] {
        let out = logs(&["search", query, "--since", "1h"], Some(&api));
        assert_eq!(out.status.code(), Some(1), "{query}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(!err.contains("matching events"), "{query}: {err}");
        assert!(err.contains(says), "{query}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        let caret = lines.iter().position(|l| l.trim() == "^").unwrap();
        let column = lines[caret].find('^').unwrap();
        assert_eq!(
            &lines[caret - 1][column..column + caret_under.len()],
            caret_under,
            "{query}: {err}"
        );
    }
    // No token: the variable and the command that makes one.
    let out = logs(&["search", "x"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("SIGHTLINE_TOKEN") && err.contains("sightline token create"),
        "{err}"
    );
    // `--since 30m`, as --help shows it.
    let out = logs(&["search", "x", "--since", "30m"], Some(&api));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
