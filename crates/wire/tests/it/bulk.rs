//! `_bulk` bodies as shippers write them decode to the items they meant, and Sentry check-ins
//! read back what an SDK wrote.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use wire::bulk::{Action, parse};

#[derive(Debug, Clone)]
struct Written {
    action: Action,
    index: Option<String>,
    id: Option<String>,
    document: Map<String, Value>,
}

fn written() -> impl Strategy<Value = Written> {
    (
        prop::sample::select(vec![
            Action::Index,
            Action::Create,
            Action::Update,
            Action::Delete,
        ]),
        prop::option::of("[a-z]{1,8}"),
        prop::option::of("[a-z0-9]{1,12}"),
        prop::collection::btree_map("[a-z]{1,6}", any::<i32>(), 0..4),
    )
        .prop_map(|(action, index, id, fields)| Written {
            action,
            index,
            id,
            document: fields.into_iter().map(|(k, v)| (k, json!(v))).collect(),
        })
}

fn encode(items: &[Written]) -> Vec<u8> {
    let mut body = Vec::new();
    for item in items {
        let mut meta = Map::new();
        if let Some(index) = &item.index {
            meta.insert("_index".into(), json!(index));
        }
        if let Some(id) = &item.id {
            meta.insert("_id".into(), json!(id));
        }
        let line = json!({ item.action.name(): meta });
        body.extend_from_slice(line.to_string().as_bytes());
        body.push(b'\n');
        if item.action != Action::Delete {
            body.extend_from_slice(Value::Object(item.document.clone()).to_string().as_bytes());
            body.push(b'\n');
        }
    }
    body
}

proptest! {
    #[test]
    fn bulk_bodies_decode_to_the_items_written(items in prop::collection::vec(written(), 0..8)) {
        let parsed = parse(&encode(&items), "default").unwrap();
        prop_assert_eq!(parsed.len(), items.len());
        for (got, want) in parsed.iter().zip(&items) {
            prop_assert_eq!(got.action, want.action);
            prop_assert_eq!(&got.index, want.index.as_deref().unwrap_or("default"));
            prop_assert_eq!(&got.id, &want.id);
            match want.action {
                Action::Index | Action::Create => {
                    prop_assert_eq!(got.document.as_ref().unwrap(), &want.document);
                }
                Action::Update | Action::Delete => {
                    prop_assert_eq!(got.document.as_ref().unwrap_err().status, 400);
                }
            }
        }
    }

    #[test]
    fn check_ins_read_back_what_was_written(
        slug in "[a-z-]{1,20}",
        id in prop::option::of("[0-9a-f]{32}"),
        status in prop::option::of(prop::sample::select(vec!["in_progress", "ok", "error"])),
        duration in prop::option::of(0.0f64..1e6),
        environment in prop::option::of("[a-z]{1,10}"),
    ) {
        let mut v = json!({"monitor_slug": slug});
        if let Some(id) = &id { v["check_in_id"] = json!(id); }
        if let Some(s) = status { v["status"] = json!(s); }
        if let Some(d) = duration { v["duration"] = json!(d); }
        if let Some(e) = &environment { v["environment"] = json!(e); }
        let ci = wire::sentry::check_in(v.to_string().as_bytes()).unwrap();
        prop_assert_eq!(ci.monitor_slug, slug);
        prop_assert_eq!(ci.check_in_id, id);
        prop_assert_eq!(ci.status, status.unwrap_or("ok"));
        prop_assert_eq!(ci.duration, duration);
        prop_assert_eq!(ci.environment, environment);
    }
}

#[test]
fn a_check_in_without_a_monitor_is_refused() {
    assert!(wire::sentry::check_in(br#"{"status":"ok"}"#).is_err());
    assert!(wire::sentry::check_in(b"not json").is_err());
}
