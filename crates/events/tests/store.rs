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

fn search(store: &EventStore, query: &str) -> (Vec<String>, usize) {
    let r = store
        .search(&Search {
            query: query.into(),
            from_ns: D0,
            until_ns: D0 + 2 * DAY,
            limit: 100,
        })
        .unwrap();
    (
        r.hits.iter().map(|h| h.event.message.clone()).collect(),
        r.total,
    )
}

#[test]
fn events_are_found_by_every_kind_of_query() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    assert!(store.add(&data()).unwrap().is_empty());
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

    // The range bounds the answer, across partitions.
    let r = store
        .search(&Search {
            query: "user.signed_up".into(),
            from_ns: D0 + DAY,
            until_ns: D0 + 2 * DAY,
            limit: 10,
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
        })
        .unwrap_err();
    assert!(err.to_string().contains("invalid query"), "{err}");

    // Everything committed is there after a reopen; retention drops the first day whole.
    drop(store);
    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(search(&store, "").1, 5);
    assert_eq!(store.drop_before(D0 + DAY).unwrap(), 1);
    assert_eq!(store.days().unwrap(), ["2026-11-26"]);
    assert_eq!(search(&store, "").1, 2);
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
    let refused = store.add(&[ok.clone(), wide, ok]).unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].0, 1);
    assert!(
        refused[0].1.contains("distinct field names"),
        "{}",
        refused[0].1
    );
    store.commit().unwrap();
    assert_eq!(search(&store, "").1, 2);
}

#[test]
fn added_events_survive_a_crash_before_commit_and_are_not_doubled() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
        store.add(&data()[..2]).unwrap();
        store.commit().unwrap();
        store.add(&data()[2..]).unwrap();
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
