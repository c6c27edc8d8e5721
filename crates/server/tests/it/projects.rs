//! Error-tracking projects over the API: DSNs that Sentry SDKs parse, behind a path prefix.

use serde_json::{Value, json};
use server::testkit::{ADMIN_PASSWORD, start_server_with};

#[tokio::test]
async fn projects_are_created_by_admins_and_listed_with_their_dsns() {
    let clock = std::sync::Arc::new(model::SystemClock);
    let server = start_server_with(clock, |c| {
        c.http.public_url = Some("https://errors.example.com/visibility/".into());
    })
    .await;
    let create = |body: Value, token: String| {
        server
            .client
            .post(server.url("/api/v1/projects"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let created = create(json!({"name": "shop"}), server.admin_token.clone())
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let shop: Value = created.json().await.unwrap();
    let dsn = shop["dsn"].as_str().unwrap();
    let parsed = wire::sentry::Dsn::parse(dsn).unwrap();
    assert_eq!(parsed.project_id, shop["id"].as_u64().unwrap());
    assert_eq!(parsed.host, "errors.example.com");
    assert_eq!(parsed.path_prefix, "/visibility");
    assert_eq!(parsed.public_key.len(), 32);
    assert_eq!(
        parsed.envelope_url(),
        format!(
            "https://errors.example.com/visibility/api/{}/envelope/",
            parsed.project_id
        )
    );

    let again = create(json!({"name": "Shop"}), server.admin_token.clone())
        .await
        .unwrap();
    assert_eq!(again.status(), 409, "names are unique, whatever the case");
    let empty = create(json!({"name": " "}), server.admin_token.clone())
        .await
        .unwrap();
    assert_eq!(empty.status(), 400);

    // A viewer sees projects but cannot make them.
    let cookie = server.login("admin", ADMIN_PASSWORD).await.unwrap();
    let viewer = server
        .create_token(&cookie, "viewer", "api", Some("viewer"))
        .await;
    let refused = create(json!({"name": "api"}), viewer.clone())
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let listed: Value = server
        .client
        .get(server.url("/api/v1/projects"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["projects"].as_array().unwrap().len(), 1);
    assert_eq!(listed["projects"][0]["dsn"], dsn);
    assert_eq!(
        listed["projects"][0]["keys"][0]["public_key"],
        parsed.public_key
    );
    let anonymous = server
        .client
        .get(server.url("/api/v1/projects"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}
