//! Grouping scenarios: the same error from two call sites, one site with different values,
//! fingerprint overrides, message templates, and the captured events of each SDK.

#![allow(clippy::unwrap_used)]

use issues::grouping::{Rule, group};
use serde_json::{Value, json};

/// The event payload of a captured envelope.
fn captured(name: &str) -> Value {
    let path = format!(
        "{}/../wire/tests/it/fixtures/sentry/{name}.envelope",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap();
    let envelope = wire::sentry::parse_envelope(&bytes).unwrap();
    let item = envelope.items.iter().find(|i| i.kind == "event").unwrap();
    serde_json::from_slice(item.payload).unwrap()
}

fn python_error(ty: &str, value: &str, frames: &[(&str, &str)]) -> Value {
    let frames: Vec<Value> = frames
        .iter()
        .map(|(module, function)| {
            json!({"module": module, "function": function, "filename": format!("{module}.py"), "in_app": true, "lineno": 3})
        })
        .collect();
    json!({"platform": "python", "exception": {"values": [{"type": ty, "value": value, "stacktrace": {"frames": frames}}]}})
}

#[test]
fn one_error_from_two_call_sites_is_two_issues() {
    let a = python_error(
        "KeyError",
        "'id'",
        &[("shop.views", "checkout"), ("shop.cart", "total")],
    );
    let b = python_error(
        "KeyError",
        "'id'",
        &[("shop.views", "refund"), ("shop.cart", "total")],
    );
    assert_ne!(group(&a).hash, group(&b).hash);
    assert_eq!(group(&a).rule, Rule::Stacktrace);
    assert_eq!(
        group(&a).components,
        ["KeyError", "shop.views:checkout", "shop.cart:total"]
    );
}

#[test]
fn one_site_with_different_values_is_one_issue() {
    let a = python_error(
        "ZeroDivisionError",
        "division by zero",
        &[("shop.cart", "ratio")],
    );
    let b = python_error(
        "ZeroDivisionError",
        "float division by zero",
        &[("shop.cart", "ratio")],
    );
    assert_eq!(group(&a).hash, group(&b).hash);
    // Line numbers and frames far from the crash do not matter either.
    let mut deep: Vec<(&str, &str)> = (0..8).map(|_| ("lib.outer", "call")).collect();
    deep.push(("shop.cart", "ratio"));
    let mut c = python_error("ZeroDivisionError", "x", &deep);
    c["exception"]["values"][0]["stacktrace"]["frames"][8]["lineno"] = json!(99);
    let d = python_error("ZeroDivisionError", "x", &deep[3..]);
    assert_eq!(
        group(&c).hash,
        group(&d).hash,
        "only the last five in-app frames count"
    );
}

#[test]
fn a_fingerprint_overrides_and_can_extend_the_default() {
    let a = python_error("TimeoutError", "a", &[("pay.stripe", "charge")]);
    let b = python_error("ConnectionError", "b", &[("pay.adyen", "charge")]);
    let mut fa = a.clone();
    fa["fingerprint"] = json!(["payment-provider-down"]);
    let mut fb = b.clone();
    fb["fingerprint"] = json!(["payment-provider-down"]);
    assert_eq!(group(&fa).hash, group(&fb).hash);
    assert_eq!(group(&fa).rule, Rule::Fingerprint);
    let mut ext = a.clone();
    ext["fingerprint"] = json!(["{{ default }}", "eu-west"]);
    let g = group(&ext);
    assert_eq!(
        g.components,
        ["TimeoutError", "pay.stripe:charge", "eu-west"]
    );
    assert_ne!(g.hash, group(&a).hash);
}

#[test]
fn messages_group_by_template() {
    let a = json!({"message": "Payment provider timeout for order 1234", "level": "warning"});
    let b = json!({"message": "Payment provider timeout for order 98765"});
    assert_eq!(group(&a).hash, group(&b).hash);
    assert_eq!(
        group(&a).components,
        ["Payment provider timeout for order <int>"]
    );
    let c = json!({"logentry": {"message": "checkout failed for basket %s", "params": [77], "formatted": "checkout failed for basket 77"}});
    let d = json!({"logentry": {"message": "checkout failed for basket %s", "params": [12], "formatted": "checkout failed for basket 12"}});
    assert_eq!(group(&c).hash, group(&d).hash);
    assert_ne!(group(&a).hash, group(&c).hash);
    let e = json!({"message": "login failed for alice@example.com from 10.1.2.3"});
    let f = json!({"message": "login failed for bob@example.org from 192.168.0.1"});
    assert_eq!(group(&e).hash, group(&f).hash);
}

#[test]
fn captured_events_of_each_sdk() {
    let py = group(&captured("py-exception.1"));
    assert_eq!(py.rule, Rule::Stacktrace);
    assert_eq!(py.components[0], "ZeroDivisionError");
    assert!(
        py.components.iter().any(|c| c.starts_with("__main__:")),
        "{py:?}"
    );
    assert_eq!(group(&captured("py-message.1")).rule, Rule::Message);
    // A chain groups by both exceptions.
    let chained = group(&captured("py-chained-exception.1"));
    assert!(chained.components.contains(&"KeyError".to_owned()));
    assert!(chained.components.contains(&"DBError".to_owned()));
    // Node's captureMessage sends a synthetic exception with a stack: it groups by message.
    let node_msg = group(&captured("node-message.2"));
    assert_eq!(node_msg.rule, Rule::Message, "{node_msg:?}");
    let node_err = group(&captured("node-exception.2"));
    assert_eq!(node_err.rule, Rule::Stacktrace);
    assert_eq!(node_err.components[0], "TypeError");
    // Rust: a panic's stack without the SDK's own frames; an error without frames by value.
    let panic = group(&captured("rust-panic.1"));
    assert_eq!(panic.rule, Rule::Stacktrace, "{panic:?}");
    assert!(
        panic.components.len() > 1,
        "grouped by frames, not left empty: {panic:?}"
    );
    assert!(
        panic.components.iter().all(|c| !c.contains("sentry")),
        "{panic:?}"
    );
    let rust_err = group(&captured("rust-error.1"));
    assert_eq!(rust_err.rule, Rule::Exception);
    assert_eq!(
        rust_err.components,
        ["ParseIntError", "invalid digit found in string"]
    );
    // Titles and culprits.
    assert_eq!(
        issues::normalize::title(&captured("py-exception.1")),
        "ZeroDivisionError: division by zero"
    );
    assert_eq!(
        issues::normalize::title(&captured("py-message.1")),
        "Payment provider timeout for order 1234"
    );
}
