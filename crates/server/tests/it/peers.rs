//! Finding the real peers the tests run against (installed by `scripts/test`).

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Where `scripts/test` installed the peers.
pub(crate) fn peers_dir() -> PathBuf {
    match std::env::var_os("SIGHTLINE_PEERS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/sightline/peers"),
    }
}

/// The repository's root.
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python of the peers' venv, which has the real client libraries.
pub(crate) fn python() -> PathBuf {
    let python = peers_dir().join("venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run ./scripts/test, which installs the peers",
        python.display()
    );
    python
}

/// Runs a script from `tests/peers/` with JSON on stdin; returns its JSON on stdout.
pub(crate) fn run_python(script: &str, input: &serde_json::Value) -> serde_json::Value {
    let mut child = Command::new(python())
        .arg(repo().join("tests/peers").join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    serde_json::to_writer(child.stdin.take().unwrap(), input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs a Node script from `tests/peers/` with the Node peers (`@sentry/node`) on its path and
/// JSON on stdin; returns its exit code and stdout.
pub(crate) fn run_node(script: &str, input: &serde_json::Value) -> (Option<i32>, String) {
    let modules = peers_dir().join("node-sdk/node_modules");
    assert!(
        modules.join("@sentry/node").exists(),
        "{} is missing: run ./scripts/test, which installs the Node peers",
        modules.display()
    );
    let mut child = Command::new("node")
        .arg(repo().join("tests/peers").join(script))
        .env("NODE_PATH", &modules)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node");
    serde_json::to_writer(child.stdin.take().unwrap(), input).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}
