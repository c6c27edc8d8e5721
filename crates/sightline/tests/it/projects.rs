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
    // The server was started with `--http-addr 127.0.0.1:0`: the DSN names the port it bound,
    // not the config's 8080.
    assert!(
        dsn.contains(&format!("@{}/", serve.http)),
        "{dsn} names {}",
        serve.http
    );

    assert_eq!(parsed.2, "1");
    assert_eq!(parsed.1.len(), 32);

    let listed = projects(&serve, dir.path());
    assert_eq!(listed["projects"][0]["keys"][0]["public_key"], parsed.1);
    assert_eq!(listed["projects"][0]["name"], "shop");
    assert_eq!(listed["projects"][0]["dsn"], dsn, "the API agrees");

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

/// The projects as the running server lists them, with a token made for it.
fn projects(serve: &Serve, dir: &std::path::Path) -> Value {
    let token = sightline(dir)
        .args(["token", "create", "ci"])
        .output()
        .unwrap();
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    reqwest::blocking::Client::new()
        .get(serve.url("/api/v1/projects"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

#[test]
fn without_a_running_server_the_dsn_says_what_it_assumed() {
    let dir = tempfile::tempdir().unwrap();
    // Make the data directory, then stop the server.
    let mut serve = Serve::start(dir.path(), &[], &[]);
    serve.signal("TERM");
    assert!(
        serve
            .wait_exit(std::time::Duration::from_secs(20))
            .is_some()
    );
    let out = sightline(dir.path())
        .args(["project", "create", "later"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let dsn = String::from_utf8(out.stdout).unwrap();
    assert!(dsn.contains("@127.0.0.1:8080/"), "{dsn}");
    let note = String::from_utf8(out.stderr).unwrap();
    assert!(
        note.contains("assumes SDKs reach it at http://127.0.0.1:8080")
            && note.contains("http.public_url"),
        "{note}"
    );
}
