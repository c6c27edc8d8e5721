//! `sightline project create NAME` prints a DSN the API agrees with, beside a running server.

use serde_json::Value;

use crate::{Serve, sightline};

#[test]
fn project_create_prints_the_dsn_and_the_api_lists_it() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[], &[]);
    let out = sightline(dir.path())
        .args(["project", "create", "shop"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dsn = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    // stdout is exactly the DSN, as `DSN=$(sightline project create shop)` wants.
    let parsed = wire_dsn(&dsn);
    assert_eq!(parsed.0, "127.0.0.1");
    assert_eq!(parsed.2, "1");
    assert_eq!(parsed.1.len(), 32);

    let token = sightline(dir.path())
        .args(["token", "create", "ci"])
        .output()
        .unwrap();
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    let listed: Value = reqwest::blocking::Client::new()
        .get(serve.url("/api/v1/projects"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(listed["projects"][0]["keys"][0]["public_key"], parsed.1);
    assert_eq!(listed["projects"][0]["name"], "shop");

    let table = sightline(dir.path())
        .args(["project", "list"])
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table
            .lines()
            .any(|l| l.contains("shop") && l.ends_with(&dsn)),
        "{table}"
    );
    let again = sightline(dir.path())
        .args(["project", "create", "shop"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

/// (host, public key, project id) of `http://KEY@HOST:PORT/ID`.
fn wire_dsn(dsn: &str) -> (String, String, String) {
    let rest = dsn.strip_prefix("http://").unwrap();
    let (key, rest) = rest.split_once('@').unwrap();
    let (host, id) = rest.split_once('/').unwrap();
    (
        host.split(':').next().unwrap().to_owned(),
        key.to_owned(),
        id.to_owned(),
    )
}
