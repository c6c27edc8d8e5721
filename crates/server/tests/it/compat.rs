//! On-disk format compatibility: every committed data directory version opens with current code.
//!
//! `tests/fixtures/datadir-v1` was made by `sightline serve` at data layout 1 and control schema
//! 1, with the admin password `fixture-password` and the API token in `datadir-v1.token`.

use std::path::Path;
use std::sync::Arc;

use model::SystemClock;
use serde_json::json;
use server::{Config, DataDir, Listeners};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[tokio::test]
async fn datadir_v1_opens_with_its_users_and_tokens() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    copy_dir(&fixtures.join("datadir-v1"), &data_dir);
    let token = std::fs::read_to_string(fixtures.join("datadir-v1.token")).unwrap();

    let config = Config {
        data_dir: data_dir.clone(),
        ..server::testkit::test_config(&tmp)
    };
    let data = DataDir::open(&data_dir).unwrap();
    let listeners = Listeners::bind(&config).unwrap();
    let mut handle = server::start(config, data, listeners, Arc::new(SystemClock))
        .await
        .unwrap();
    assert!(
        handle.take_generated_admin_password().is_none(),
        "existing users are kept"
    );
    let base = format!("http://{}", handle.http_addr());
    let client = reqwest::Client::new();

    let login = json!({"username": "admin", "password": "fixture-password"});
    let response = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let tokens = client
        .get(format!("{base}/api/v1/tokens"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(tokens.status(), 200);
    let tokens: serde_json::Value = tokens.json().await.unwrap();
    assert_eq!(tokens["tokens"][0]["name"], "fixture-token");
    handle.shutdown().await;
}
