//! Envelopes from real SDKs (fixtures/sentry): every capture parses, with the items each SDK
//! sent, and the edge cases of the grammar the SDKs exercise (no lengths, binary payloads,
//! hyphenated ids, tunnel DSNs), plus malformed input.

use wire::sentry::{Envelope, parse_envelope};

macro_rules! captures {
    ($($name:literal => [$($kind:literal),*]),* $(,)?) => {
        vec![$(($name, include_bytes!(concat!("fixtures/sentry/", $name, ".envelope")).as_slice(), vec![$($kind),*])),*]
    };
}

/// The item types of each capture, read from the captures' request dumps.
type Capture = (&'static str, &'static [u8], Vec<&'static str>);

fn all() -> Vec<Capture> {
    captures![
    "node-exception.1" => ["session"],
    "node-exception.2" => ["event"],
    "node-exception.3" => ["session"],
    "node-logs.1" => ["log"],
    "node-logs.2" => ["session"],
    "node-message.1" => ["session"],
    "node-message.2" => ["event"],
    "node-message.3" => ["session"],
    "node-spans-v2.1" => ["span"],
    "node-spans-v2.2" => ["session"],
    "node-tunnel.1" => ["event"],
    "node-unhandled.1" => ["session"],
    "node-unhandled.2" => ["event"],
    "py-attachment.1" => ["event", "attachment"],
    "py-chained-exception.1" => ["event"],
    "py-check_in.1" => ["check_in"],
    "py-check_in.2" => ["check_in"],
    "py-exception.1" => ["event"],
    "py-logging-integration.1" => ["event"],
    "py-logs-enable_logs.1" => ["log"],
    "py-message.1" => ["event"],
    "py-ratelimit-429-then-client_report.1" => ["event"],
    "py-ratelimit-429-then-client_report.2" => ["client_report"],
    "py-session.1" => ["event"],
    "py-session.2" => ["session"],
    "py-sessions-aggregate-wsgi.1" => ["event"],
    "py-sessions-aggregate-wsgi.2" => ["sessions"],
    "py-trace_metric.1" => ["trace_metric"],
    "py-transaction.1" => ["transaction"],
    "rust-error.1" => ["event"],
    "rust-log-event.1" => ["event"],
    "rust-logs.1" => ["log"],
    "rust-message.1" => ["event"],
    "rust-panic.1" => ["event"],
    "rust-session.1" => ["event", "session"],
    "rust-session.2" => ["session", "session"],
    ]
}

fn parse(name: &str) -> Envelope<'static> {
    let (_, bytes, _) = all().into_iter().find(|c| c.0 == name).unwrap();
    parse_envelope(bytes).unwrap()
}

#[test]
fn every_capture_parses_with_its_items() {
    let captures = all();
    assert_eq!(captures.len(), 36);
    for (name, bytes, kinds) in captures {
        let envelope = parse_envelope(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(envelope.errors.is_empty(), "{name}: {:?}", envelope.errors);
        let got: Vec<&str> = envelope.items.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(got, kinds, "{name}");
        for item in &envelope.items {
            if let Some(length) = item.header.get("length").and_then(|l| l.as_u64()) {
                assert_eq!(item.payload.len() as u64, length, "{name}");
            }
            // Every JSON item is one JSON value; attachments are raw bytes.
            if item.kind != "attachment" {
                let v: serde_json::Value = serde_json::from_slice(item.payload)
                    .unwrap_or_else(|e| panic!("{name} {}: {e}", item.kind));
                assert!(v.is_object(), "{name}");
            }
        }
    }
}

#[test]
fn what_each_sdk_puts_in_the_envelope() {
    // Python: lengths, a 32-hex event id, and the event with its exception.
    let py = parse("py-exception.1");
    assert_eq!(
        py.event_id().as_deref(),
        Some("6937f92b7bbe47519eaf06faa288d3ce")
    );
    let event: serde_json::Value = serde_json::from_slice(py.items[0].payload).unwrap();
    assert_eq!(event["exception"]["values"][0]["type"], "ZeroDivisionError");

    // Node: no `length` on JSON items (newline framing).
    let node = parse("node-exception.2");
    assert!(node.items[0].header.get("length").is_none());
    assert_eq!(
        node.event_id().as_deref(),
        Some("84933e8571db44f5b97dbd2390e51c0c")
    );

    // Rust: a hyphenated event id, normalised; an event and a session in one envelope.
    let rust = parse("rust-session.1");
    assert_eq!(
        rust.event_id().as_deref(),
        Some("c5f0649f899148d4b229ae57cca12dd4")
    );

    // The JS tunnel: no credentials on the request, the DSN in the envelope header.
    let tunnel = parse("node-tunnel.1");
    let dsn = tunnel.dsn().expect("the tunnel's DSN");
    assert_eq!(dsn.public_key, "nodepublickey");
    assert_eq!(dsn.project_id, 43);

    // An attachment keeps its name and exact bytes.
    let attachment = &parse("py-attachment.1").items[1];
    assert_eq!(attachment.header["filename"], "debug.txt");
    assert_eq!(
        attachment.payload.len() as u64,
        attachment.header["length"].as_u64().unwrap()
    );
}

#[test]
fn the_grammar_as_relay_reads_it() {
    // Only a header; no final newline; blank lines between items; an item at EOF without a
    // payload; a payload holding newlines; an unknown type kept for the caller to skip.
    let e = parse_envelope(b"{}").unwrap();
    assert!(e.items.is_empty());
    let e = parse_envelope(
        b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n\n{\"type\":\"attachment\",\"length\":6}\na\nb\nc\n\n\n{\"type\":\"future_thing\"}\n{\"x\":1}\n{\"type\":\"event\"}",
    )
    .unwrap();
    let kinds: Vec<&str> = e.items.iter().map(|i| i.kind.as_str()).collect();
    assert_eq!(kinds, ["attachment", "future_thing", "event"]);
    assert_eq!(e.items[0].payload, b"a\nb\nc\n");
    assert_eq!(e.items[1].payload, b"{\"x\":1}");
    assert_eq!(e.items[2].payload, b"");
    assert!(e.errors.is_empty());
}

#[test]
fn a_bad_item_is_skipped_and_the_others_are_read() {
    let e = parse_envelope(
        b"{}\nnot json\n{\"type\":\"event\"}\n{\"a\":1}\n{\"length\":3}\nabc\n{\"type\":\"session\",\"length\":2}\n{}\n",
    )
    .unwrap();
    let kinds: Vec<&str> = e.items.iter().map(|i| i.kind.as_str()).collect();
    assert_eq!(kinds, ["event", "session"]);
    assert_eq!(e.errors.len(), 2, "{:?}", e.errors);
    assert_eq!(e.errors[0].offset, 3);
    assert!(e.errors[1].message.contains("no type"));

    // A length past the end ends the envelope there, keeping what came before.
    let e = parse_envelope(
        b"{}\n{\"type\":\"event\"}\n{}\n{\"type\":\"attachment\",\"length\":99}\nshort",
    )
    .unwrap();
    assert_eq!(e.items.len(), 1);
    assert!(e.errors[0].message.contains("99"));

    // A bad envelope header fails the whole.
    assert!(parse_envelope(b"[1]\n{\"type\":\"event\"}\n{}").is_err());
    assert!(parse_envelope(b"{bad\n").is_err());
}

#[test]
fn log_items_become_log_events() {
    let py = parse("py-logs-enable_logs.1");
    let events = wire::sentry::log_items(py.items[0].payload, 0).unwrap();
    let e = &events[0];
    assert_eq!(e.message, "User u-17 checked out basket of 3 items");
    assert_eq!(e.level.as_deref(), Some("info"));
    assert_eq!(e.host.as_deref(), Some("web-1"));
    assert_eq!(e.service.as_deref(), Some("myapp"));
    assert_eq!(e.fields["sentry.message.parameter.n"], 3);
    assert_eq!(e.timestamp_ns / 1_000_000_000, 1_795_575_149);
    // Rust sends no `version`; Node its own attributes.
    let rust = wire::sentry::log_items(parse("rust-logs.1").items[0].payload, 0).unwrap();
    assert_eq!(rust[0].message, "starting worker");
    assert_eq!(rust[0].fields["logger.line"], 22);
    let node = wire::sentry::log_items(parse("node-logs.1").items[0].payload, 0).unwrap();
    assert_eq!(node[0].fields["region"], "eu");
    assert_eq!(node[0].service.as_deref(), Some("webapp"));
}

#[test]
fn reports_become_metric_points() {
    let points = |name: &str| {
        let e = parse(name);
        let mut batch = model::PointBatch::new();
        for item in &e.items {
            wire::sentry::report_points(&item.kind, item.payload, "sentry.42", 1000, &mut batch)
                .unwrap();
        }
        batch
            .iter()
            .map(|p| (p.name.to_owned(), p.value))
            .collect::<Vec<_>>()
    };
    let report = points("py-ratelimit-429-then-client_report.2");
    assert!(
        report.contains(&(
            "sentry.42.client_reports.error.ratelimit_backoff".to_owned(),
            1.0
        )),
        "{report:?}"
    );
    let session = points("py-session.2");
    assert!(!session.is_empty());
    assert!(
        session
            .iter()
            .all(|(n, _)| n.starts_with("sentry.42.sessions.")),
        "{session:?}"
    );
    // The WSGI scenario's request raised: its aggregate counts a crash.
    let aggregates = points("py-sessions-aggregate-wsgi.2");
    assert_eq!(aggregates, [("sentry.42.sessions.crashed".to_owned(), 1.0)]);
    let metrics = points("py-trace_metric.1");
    assert!(!metrics.is_empty());
    assert!(
        metrics
            .iter()
            .all(|(n, _)| n.starts_with("sentry.42.metrics.")),
        "{metrics:?}"
    );
}
