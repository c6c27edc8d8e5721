//! The event store end to end on disk: structlog-shaped events over two days, searched with the
//! query forms users type, counted, reopened, capped and expired.

#![allow(clippy::unwrap_used)]

use events::{EventStore, Search, StoreConfig};
use model::LogEvent;
use serde_json::json;

const DAY: i64 = 86_400 * 1_000_000_000;
/// 2026-11-25T00:00:00Z.
const D0: i64 = 20_782 * DAY;

fn event(at: i64, line: serde_json::Value) -> LogEvent {
    wire::jsonlog::from_object(line.as_object().unwrap().clone(), at)
}

fn data() -> Vec<LogEvent> {
    vec![
        event(
            D0 + 1_000,
            json!({"event": "user.signed_up", "level": "info", "user_id": 42, "plan": "pro", "amount": 49.0, "email": "alice@example.com", "timestamp": "2026-11-25T09:00:00Z"}),
        ),
        event(
            D0,
            json!({"event": "payment.succeeded", "level": "info", "user_id": 42, "amount": 49.0, "currency": "EUR", "timestamp": "2026-11-25T09:01:00Z"}),
        ),
        event(
            D0,
            json!({"event": "payment.failed", "level": "error", "user_id": 7, "amount": 12.5, "currency": "USD", "timestamp": "2026-11-25T10:00:00Z", "http": {"status": 502}}),
        ),
        event(
            D0,
            json!({"event": "user.signed_up", "level": "info", "user_id": 8, "plan": "free", "timestamp": "2026-11-26T08:00:00Z", "service": "shop", "host": "web1"}),
        ),
        event(
            D0,
            json!({"msg": "disk almost full", "level": "WARN", "timestamp": "2026-11-26T12:00:00Z", "host": "db1"}),
        ),
    ]
}

/// The newest `limit` hits of `query` over both days.
fn hits(store: &EventStore, query: &str, limit: usize) -> events::SearchResult {
    store
        .search(&Search {
            query: query.into(),
            from_ns: D0,
            until_ns: D0 + 2 * DAY,
            limit,
            ascending: false,
            cursor_ns: None,
        })
        .unwrap()
}

fn search(store: &EventStore, query: &str) -> (Vec<String>, usize) {
    let r = hits(store, query, 100);
    (
        r.hits.iter().map(|h| h.event.message.clone()).collect(),
        r.total,
    )
}

#[test]
fn events_are_found_by_every_kind_of_query() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    assert!(store.add(data()).unwrap().is_empty());
    store.commit().unwrap();
    assert_eq!(store.days().unwrap(), ["2026-11-25", "2026-11-26"]);

    let (all, total) = search(&store, "");
    assert_eq!(total, 5);
    assert_eq!(all[0], "disk almost full", "newest first");
    assert_eq!(all[4], "user.signed_up");
    assert_eq!(
        search(&store, "user_id:42").1,
        2,
        "a sender's field, without a prefix"
    );
    assert_eq!(
        search(&store, "event:user.signed_up").1,
        2,
        "structlog's event name, exactly"
    );
    assert_eq!(search(&store, "email:alice@example.com").1, 1);
    assert_eq!(search(&store, "level:error").0, ["payment.failed"]);
    assert_eq!(
        search(&store, "level:warning").0,
        ["disk almost full"],
        "WARN normalised"
    );
    assert_eq!(
        search(&store, "amount:[40 TO *]").1,
        2,
        "numeric range on a sender field"
    );
    assert_eq!(
        search(&store, "http.status:502").0,
        ["payment.failed"],
        "a nested path"
    );
    assert_eq!(
        search(&store, "signed AND plan:free").1,
        1,
        "free text over the message, ANDed"
    );
    assert_eq!(search(&store, "currency:EUR OR currency:USD").1, 2);
    assert_eq!(search(&store, "host:web1").1, 1);
    assert_eq!(
        search(&store, "event:payment.*").1,
        2,
        "a wildcard in a field"
    );
    assert_eq!(search(&store, "host:web?").1, 1);
    assert_eq!(search(&store, "pay*").1, 2, "a wildcard in a message word");
    assert_eq!(search(&store, "currency:*").1, 2, "existence");
    assert_eq!(search(&store, "http.status:* OR plan:*").1, 3);
    assert_eq!(search(&store, "http:*").1, 1, "existence of an object");
    assert_eq!(search(&store, "level:*").1, 5);
    assert_eq!(search(&store, "NOT level:info").1, 2);
    assert_eq!(search(&store, "amount:>=49").1, 2);
    assert_eq!(search(&store, "amount < 49").1, 1);
    assert_eq!(search(&store, "amount:{12.5 TO 49]").1, 2);
    assert_eq!(
        search(&store, "amount:[10 TO 13]").1,
        1,
        "an integer range over floats"
    );
    assert_eq!(search(&store, "user_id:(7 OR 8)").1, 2);
    assert_eq!(search(&store, "\"almost full\"").0, ["disk almost full"]);
    assert_eq!(
        search(&store, "\"full almost\"").1,
        0,
        "a phrase keeps its order"
    );
    assert_eq!(
        search(&store, "level:WARN").1,
        1,
        "levels as senders spell them"
    );
    assert_eq!(search(&store, "timestamp:[2026-11-26T00:00:00Z TO *]").1, 2);

    // Hits carry what matched.
    let r = hits(&store, "pay* AND currency:EUR", 10);
    assert_eq!(r.hits[0].event.message, "payment.succeeded");
    assert_eq!(r.hits[0].highlights, [(0, 7)]);
    // `currency` was named; a bare word also matches whole field values (`event`).
    assert_eq!(r.hits[0].matched_fields, ["currency", "event"]);

    // The range bounds the answer, across partitions.
    let r = store
        .search(&Search {
            query: "user.signed_up".into(),
            from_ns: D0 + DAY,
            until_ns: D0 + 2 * DAY,
            limit: 10,
            ascending: false,
            cursor_ns: None,
        })
        .unwrap();
    assert_eq!(r.total, 1);
    assert_eq!(r.hits[0].event.fields["plan"], json!("free"));
    assert_eq!(r.hits[0].event.host.as_deref(), Some("web1"));

    let err = store
        .search(&Search {
            query: "amount:[1 TO".into(),
            from_ns: D0,
            until_ns: D0 + DAY,
            limit: 1,
            ascending: false,
            cursor_ns: None,
        })
        .unwrap_err();
    assert!(err.to_string().contains("invalid query"), "{err}");
    match err {
        events::EventsError::Query { position, .. } => {
            assert_eq!(position, 12, "where the missing bound belongs")
        }
        other => panic!("{other}"),
    }

    // Everything committed is there after a reopen; retention drops the first day whole.
    drop(store);
    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(search(&store, "").1, 5);
    let disk = store.disk_bytes();
    assert!(dir.path().join("2026-11-25").is_dir());
    // A cut inside the second day drops only the first, which lies wholly before it.
    assert_eq!(
        store.drop_before(D0 + DAY + 3_600_000_000_000).unwrap(),
        ["2026-11-25"]
    );
    assert_eq!(store.days().unwrap(), ["2026-11-26"]);
    assert_eq!(search(&store, "").1, 2);
    assert!(
        !dir.path().join("2026-11-25").exists(),
        "its files are gone"
    );
    assert!(store.disk_bytes() < disk, "and so is their disk");
    // A late event for the dropped day is refused with the reason; the kept day still takes.
    let late = store
        .add(vec![
            event(D0 + 60_000_000_000, json!({"event": "late"})),
            event(D0 + DAY + 60_000_000_000, json!({"event": "kept"})),
        ])
        .unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].0, 0);
    assert_eq!(
        late[0].1,
        "2026-11-25 is past the retention: the store keeps events from 2026-11-26 on"
    );
    store.commit().unwrap();
    assert_eq!(search(&store, "").1, 3);
    assert_eq!(store.days().unwrap(), ["2026-11-26"]);
    // Nothing of the dropped day comes back with a restart (its WAL was sealed first).
    drop(store);
    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(store.days().unwrap(), ["2026-11-26"]);
    assert_eq!(search(&store, "").1, 3);
}

#[test]
fn a_partition_refuses_events_past_its_field_cap() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(
        dir.path(),
        StoreConfig {
            max_fields_per_partition: 4,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    let ok = event(
        D0,
        json!({"msg": "a", "x": 1, "timestamp": "2026-11-25T01:00:00Z"}),
    );
    let wide = event(
        D0,
        json!({"msg": "b", "y": 1, "z": {"q": 1, "r": 2}, "timestamp": "2026-11-25T02:00:00Z"}),
    );
    let refused = store.add(vec![ok.clone(), wide, ok]).unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].0, 1);
    assert!(
        refused[0].1.contains("distinct field names"),
        "{}",
        refused[0].1
    );
    store.commit().unwrap();
    assert_eq!(search(&store, "").1, 2);

    // The cap holds across a restart: the day already has msg and x (the time key went to the
    // core timestamp).
    drop(store);
    let store = EventStore::open(
        dir.path(),
        StoreConfig {
            max_fields_per_partition: 4,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    let two_more = event(
        D0,
        json!({"msg": "c", "p": 1, "q": 1, "r": 1, "timestamp": "2026-11-25T03:00:00Z"}),
    );
    let one_more = event(
        D0,
        json!({"msg": "d", "p": 1, "timestamp": "2026-11-25T03:00:00Z"}),
    );
    let refused = store.add(vec![two_more, one_more]).unwrap();
    assert_eq!(refused.iter().map(|r| r.0).collect::<Vec<_>>(), [0]);
}

#[test]
fn added_events_survive_a_crash_before_commit_and_are_not_doubled() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
        store.add(data()[..2].to_vec()).unwrap();
        store.commit().unwrap();
        store.add(data()[2..].to_vec()).unwrap();
        // Dropped without a commit: the last three exist only in the WAL.
    }
    // A torn record at the end of the log (a crash mid-append) is ignored.
    let wal = dir.path().join("wal");
    let newest = std::fs::read_dir(&wal)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .max()
        .unwrap();
    let mut bytes = std::fs::read(&newest).unwrap();
    bytes.extend_from_slice(&[200, 0, 0, 0, 1, 2, 3, 4, b'{']);
    std::fs::write(&newest, bytes).unwrap();

    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(
        search(&store, "").1,
        5,
        "the two committed and the three replayed, once each"
    );
    drop(store);
    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(
        search(&store, "").1,
        5,
        "a second open replays nothing again"
    );
    let logs: Vec<_> = std::fs::read_dir(&wal).unwrap().flatten().collect();
    assert_eq!(logs.len(), 1, "committed generations are deleted: {logs:?}");
}

/// The aggregation a pipe asks for, over both days.
fn try_aggregate(
    store: &EventStore,
    pipe: &str,
) -> Result<events::AggregateResult, events::EventsError> {
    let (query, spec) = events::aggregate::parse_pipe(pipe).unwrap().unwrap();
    store.aggregate(&events::Aggregate {
        query,
        from_ns: D0,
        until_ns: D0 + 2 * DAY,
        metrics: spec.metrics,
        group_by: spec.group_by,
        size: 10,
        interval: spec.interval,
    })
}

fn aggregate(store: &EventStore, pipe: &str) -> events::AggregateResult {
    try_aggregate(store, pipe).unwrap()
}

#[test]
fn aggregations_merge_across_days() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    let mut more = data();
    // Integer and float amounts in one column, and a second day's payment.
    more.push(event(
        D0,
        json!({"event": "payment.succeeded", "user_id": 9, "amount": 30, "currency": "EUR", "timestamp": "2026-11-26T09:00:00Z"}),
    ));
    store.add(more).unwrap();
    store.commit().unwrap();

    let r = aggregate(
        &store,
        "event:payment.* | stats sum(amount), count(), max(amount) by currency",
    );
    assert_eq!(r.total, 3);
    let rows: Vec<(serde_json::Value, u64, Vec<Option<f64>>)> = r
        .rows
        .iter()
        .map(|row| (row.key[0].clone(), row.count, row.values.clone()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (json!("EUR"), 2, vec![Some(79.0), Some(2.0), Some(49.0)]),
            (json!("USD"), 1, vec![Some(12.5), Some(1.0), Some(12.5)]),
        ]
    );
    assert_eq!(r.totals, vec![Some(91.5), Some(3.0), Some(49.0)]);

    let r = aggregate(&store, "| stats count() by level, user_id");
    let keys: Vec<(String, u64)> = r
        .rows
        .iter()
        .map(|row| (format!("{}/{}", row.key[0], row.key[1]), row.count))
        .collect();
    // Events without a group-by field form their own bucket, keyed null, at each level.
    assert_eq!(
        keys,
        vec![
            ("\"info\"/42".to_owned(), 2),
            ("\"info\"/8".to_owned(), 1),
            ("null/9".to_owned(), 1),
            ("\"error\"/7".to_owned(), 1),
            ("\"warning\"/null".to_owned(), 1),
        ]
    );
    assert_eq!(
        r.rows.iter().map(|row| row.count).sum::<u64>() + r.other,
        r.total
    );

    let r = aggregate(&store, "| timechart span=1d count() by level");
    assert_eq!(r.interval_ns, Some(DAY));
    let day0: Vec<_> = r
        .rows
        .iter()
        .filter(|row| row.time_ns == Some(D0))
        .map(|row| (row.key[0].clone(), row.count))
        .collect();
    assert_eq!(day0, vec![(json!("info"), 2), (json!("error"), 1)]);

    let r = aggregate(
        &store,
        "amount:* | stats p50(amount), cardinality(user_id), avg(amount)",
    );
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.rows[0].count, 4);
    let median = r.totals[0].unwrap();
    assert!((median - 40.0).abs() < 10.0, "{median}");
    assert_eq!(r.totals[1], Some(3.0));
    assert_eq!(r.totals[2], Some((49.0 + 49.0 + 12.5 + 30.0) / 4.0));
}

#[test]
fn the_in_memory_matcher_agrees_with_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    let events = data();
    store.add(events.clone()).unwrap();
    store.commit().unwrap();
    for q in [
        "",
        "user_id:42",
        "event:user.signed_up",
        "email:alice@example.com",
        "level:error",
        "level:WARN",
        "amount:[40 TO *]",
        "amount:{12.5 TO 49]",
        "amount:[10 TO 13]",
        "amount < 49",
        "http.status:502",
        "http.status:* OR plan:*",
        "http:*",
        "signed AND plan:free",
        "currency:EUR OR currency:USD",
        "host:web?",
        "event:payment.*",
        "pay*",
        "\"almost full\"",
        "\"full almost\"",
        "NOT level:info",
        "-currency:EUR",
        "user_id:(7 OR 8)",
        "timestamp:[2026-11-26T00:00:00Z TO *]",
        "service:shop AND NOT host:db1",
        "plan:[a TO g]",
        "missing:*",
        // Bare words over the message and every field's whole value.
        "alice@example.com",
        "\"alice@example.com\"",
        "EUR",
        "42",
        "web1",
        "shop",
        "db?",
        "*@example.com",
        "USD OR free",
        "error",
        "NOT EUR",
    ] {
        let node = events::query::parse(q).unwrap();
        let in_memory = events
            .iter()
            .filter(|e| events::query::matches(&node, e))
            .count();
        assert_eq!(search(&store, q).1, in_memory, "{q}");
    }
}

#[test]
fn a_bare_word_matches_whole_field_values_too() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    store.add(data()).unwrap();
    store.commit().unwrap();
    // Alice is only in a field: the message is the event name.
    assert_eq!(search(&store, "alice@example.com").0, ["user.signed_up"]);
    assert_eq!(search(&store, "*@example.com").1, 1);
    assert_eq!(search(&store, "EUR").0, ["payment.succeeded"]);
    assert_eq!(search(&store, "web1").1, 1, "the host");
    // A field query stays exact; a bare word does not match part of a value.
    assert_eq!(search(&store, "email:alice").1, 0);
    assert_eq!(search(&store, "example").1, 0);
    let r = hits(&store, "alice@example.com", 10);
    assert_eq!(r.hits[0].matched_fields, ["email"]);
}

#[test]
fn the_total_counts_the_whole_range_on_every_page() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    let events: Vec<LogEvent> = (0..12)
        .map(|i| event(D0 + i * 1_000_000_000, json!({"event": "tick", "n": i})))
        .collect();
    store.add(events).unwrap();
    store.commit().unwrap();
    let page = |cursor_ns: Option<i64>, ascending: bool| {
        store
            .search(&Search {
                query: "tick".into(),
                from_ns: D0,
                until_ns: D0 + DAY,
                limit: 5,
                ascending,
                cursor_ns,
            })
            .unwrap()
    };
    for ascending in [false, true] {
        let mut cursor = None;
        let mut seen = 0;
        loop {
            let r = page(cursor, ascending);
            assert_eq!(r.total, 12, "the whole query's count on every page");
            // The next page starts after the last hit (nanosecond timestamps are distinct).
            let last = r.hits.last().map(|h| h.event.timestamp_ns);
            seen += r.hits.len();
            if r.hits.len() < 5 {
                break;
            }
            cursor = last.map(|t| if ascending { t + 1 } else { t - 1 });
        }
        assert_eq!(seen, 12);
    }
}

#[test]
fn aggregations_explain_what_cannot_be_grouped() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    store.add(data()).unwrap();
    store.commit().unwrap();
    let error = |pipe: &str| try_aggregate(&store, pipe).unwrap_err().to_string();
    let by_message = error("| stats count() by message");
    assert!(by_message.contains("full text"), "{by_message}");
    assert!(!by_message.contains("fast field"), "{by_message}");
    let typo = error("| stats sum(amount) by currncy");
    assert!(
        typo.contains(
            "no event in this time range has a field `currncy`; did you mean `currency`?"
        ),
        "{typo}"
    );
    let typo = error("| stats sum(amout)");
    assert!(typo.contains("did you mean `amount`?"), "{typo}");
    assert!(error("| stats count() by timestamp").contains("timechart"));
}
