//! The order of durability, seen in the system calls: every acknowledgement of an ingest
//! request is preceded by a write of its data into its store's files and an `fsync` or
//! `fdatasync` of those files that completed after the request arrived. A kill -9 test cannot
//! see a missing fsync (the page cache survives SIGKILL); this trace can.
//!
//! The real server runs under `strace -f -y`, which names each descriptor's file or socket.
//! Each request carries a marker; its window runs from the server's read of the marker on a
//! socket to the `HTTP/1.1 2xx` written back on that socket.

use crate::{Serve, cli, create_project, raw_request};

/// One traced system call: the thread, the call, its descriptor's target, and its text.
#[derive(Debug)]
struct Call {
    name: String,
    target: String,
    text: String,
}

/// Completed calls in completion order (a call split by `<unfinished ...>` counts where it
/// resumed), with the descriptor's target (`/path` or `socket:[inode]`).
fn parse(trace: &str) -> Vec<Call> {
    let mut pending = std::collections::HashMap::<String, (String, String, String)>::new();
    let mut calls = Vec::new();
    for line in trace.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(resumed) = rest.strip_prefix("<... ") {
            let Some((name, _)) = resumed.split_once(' ') else {
                continue;
            };
            if let Some((n, target, text)) = pending.remove(pid)
                && n == name
            {
                calls.push(Call {
                    name: n,
                    target,
                    text: text + resumed,
                });
            }
            continue;
        }
        let Some((name, args)) = rest.split_once('(') else {
            continue;
        };
        let target = args
            .split_once('<')
            .and_then(|(_, t)| t.split_once('>'))
            .map(|(t, _)| t.to_owned())
            .unwrap_or_default();
        if rest.ends_with("<unfinished ...>") {
            pending.insert(pid.to_owned(), (name.to_owned(), target, rest.to_owned()));
        } else {
            calls.push(Call {
                name: name.to_owned(),
                target,
                text: rest.to_owned(),
            });
        }
    }
    calls
}

const READS: [&str; 4] = ["read", "recvfrom", "readv", "recvmsg"];
const WRITES: [&str; 5] = ["write", "writev", "pwrite64", "pwritev", "pwritev2"];
const SENDS: [&str; 5] = ["write", "writev", "sendto", "sendmsg", "send"];
const SYNCS: [&str; 2] = ["fsync", "fdatasync"];

/// Checks the order for the request carrying `marker`: a write of the marker into a file whose
/// path contains `store`, then a write into the write-ahead file `wal` (the same file, but for
/// metric points, which name their series by id), then an fsync of `wal`, then the answer.
/// Panics with the window's calls otherwise.
fn assert_synced_before_ack(calls: &[Call], marker: &str, store: &str, wal: &str) {
    let read = calls
        .iter()
        .position(|c| READS.contains(&c.name.as_str()) && c.text.contains(marker))
        .unwrap_or_else(|| panic!("the server never read `{marker}`"));
    let socket = &calls[read].target;
    assert!(socket.starts_with("socket:"), "{marker} came on {socket}");
    let ack = read
        + calls[read..]
            .iter()
            .position(|c| {
                SENDS.contains(&c.name.as_str())
                    && &c.target == socket
                    && c.text.contains("HTTP/1.1 2")
            })
            .unwrap_or_else(|| panic!("`{marker}` was never acknowledged"));
    let window = &calls[read..ack];
    let named = window.iter().position(|c| {
        WRITES.contains(&c.name.as_str()) && c.target.contains(store) && c.text.contains(marker)
    });
    let wrote = named.and_then(|n| {
        window[n..]
            .iter()
            .position(|c| WRITES.contains(&c.name.as_str()) && c.target.contains(wal))
            .map(|w| n + w)
    });
    let synced = wrote.and_then(|w| {
        window[w..]
            .iter()
            .position(|c| SYNCS.contains(&c.name.as_str()) && c.target.contains(wal))
    });
    assert!(
        synced.is_some(),
        "`{marker}` was acknowledged without being written to `{store}`, then `{wal}` written and fsynced, before it:\n{}",
        window
            .iter()
            .filter(|c| !c.target.starts_with("socket:") || c.target == *socket)
            .map(|c| format!("{} {}", c.name, c.target))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// A request to trace: its marker, route, headers and body, the file its marker is written to,
/// and the write-ahead file that must be fsynced before the answer.
type Traced<'a> = (
    &'a str,
    String,
    Vec<(&'a str, String)>,
    String,
    String,
    String,
);

#[test]
fn every_acknowledgement_follows_an_fsync_of_the_file_that_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let trace_arg = trace.to_str().unwrap().to_owned();
    let serve = Serve::start_under(
        &[
            "strace",
            "-f",
            "-y",
            "-s",
            "8192",
            "-e",
            "trace=read,recvfrom,readv,recvmsg,write,writev,pwrite64,pwritev,pwritev2,sendto,sendmsg,fsync,fdatasync",
            "-e",
            "signal=none",
            "-o",
            &trace_arg,
        ],
        dir.path(),
        &[],
        &[],
    );
    let token = cli(
        dir.path(),
        &["token", "create", "fsync", "--kind", "ingest"],
    );
    let (key, project) = create_project(dir.path(), "fsync");
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let bearer = ("Authorization", format!("Bearer {token}"));
    let json = ("Content-Type", "application/json".to_owned());
    let ndjson = ("Content-Type", "application/x-ndjson".to_owned());
    let now_ns = model::Clock::now(&model::SystemClock).as_nanos();
    let events_wal = format!("{data}/events/wal/wal-");
    let requests: Vec<Traced> = vec![
        (
            "marker-ingest-7f3a",
            "/api/v1/ingest".into(),
            vec![bearer.clone()],
            "{\"event\":\"marker-ingest-7f3a\"}\n".into(),
            events_wal.clone(),
            events_wal.clone(),
        ),
        (
            "marker-bulk-91c2",
            "/_bulk".into(),
            vec![bearer.clone(), ndjson],
            "{\"index\":{}}\n{\"event\":\"marker-bulk-91c2\"}\n".into(),
            events_wal.clone(),
            events_wal.clone(),
        ),
        (
            "marker-otlp-logs-5d0e",
            "/v1/logs".into(),
            vec![bearer.clone(), json.clone()],
            r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"marker-otlp-logs-5d0e"}}]}]}]}"#.into(),
            events_wal.clone(),
            events_wal.clone(),
        ),
        (
            "marker_otlp_metrics_b44",
            "/v1/metrics".into(),
            vec![bearer.clone(), json.clone()],
            format!(
                r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{{"name":"marker_otlp_metrics_b44","gauge":{{"dataPoints":[{{"timeUnixNano":"{now_ns}","asDouble":1.5}}]}}}}]}}]}}]}}"#
            ),
            format!("{data}/tsdb/series.log"),
            format!("{data}/tsdb/wal/"),
        ),
        (
            "marker-sentry-e6b1",
            format!("/api/{project}/envelope/"),
            vec![("X-Sentry-Auth", format!("Sentry sentry_key={key}"))],
            "{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n{\"type\":\"event\"}\n{\"message\":\"marker-sentry-e6b1\",\"level\":\"error\"}\n".into(),
            format!("{data}/issues.db-wal"),
            format!("{data}/issues.db-wal"),
        ),
    ];
    for (marker, path, headers, body, _, _) in &requests {
        let answer = raw_request(serve.http, "POST", path, headers, body.as_bytes()).unwrap();
        assert!(
            (200..300).contains(&answer.status),
            "{path} ({marker}) answered {}",
            answer.status
        );
    }
    drop(serve);
    let calls = parse(&std::fs::read_to_string(&trace).unwrap());
    for (marker, _, _, _, store, wal) in &requests {
        assert_synced_before_ack(&calls, marker, store, wal);
    }
}
