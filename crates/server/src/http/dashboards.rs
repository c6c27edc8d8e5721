//! The UI's own API: dashboards with versions, and saved searches (`crate::dashboards`).
//!
//! - `GET /api/v1/dashboards`, `GET /api/v1/dashboards/{uid}` (anyone signed in);
//!   `POST /api/v1/dashboards {dashboard}`, `PUT /api/v1/dashboards/{uid} {dashboard,
//!   version, message}`, `DELETE /api/v1/dashboards/{uid}` (editors). A PUT names the version
//!   it was edited from, and is a 409 when someone saved since.
//! - `GET /api/v1/dashboards/{uid}/versions[/{n}]`, `POST …/versions/{n}/restore` (editors).
//! - `GET|POST /api/v1/saved-searches`, `DELETE /api/v1/saved-searches/{id}` (editors change).

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, Editor};
use super::params::NoQuery;
use crate::auth::Principal;
use crate::dashboards::{self, DashboardError, Library, searches};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/dashboards", get(list).post(create))
        .route(
            "/api/v1/dashboards/{uid}",
            get(show).put(save).delete(remove),
        )
        .route("/api/v1/dashboards/{uid}/versions", get(versions))
        .route("/api/v1/dashboards/{uid}/versions/{version}", get(version))
        .route(
            "/api/v1/dashboards/{uid}/versions/{version}/restore",
            post(restore),
        )
        .route(
            "/api/v1/saved-searches",
            get(list_searches).post(create_search),
        )
        .route(
            "/api/v1/saved-searches/{id}",
            axum::routing::delete(delete_search),
        )
        .layer(DefaultBodyLimit::max(dashboards::MAX_BODY + 64 * 1024))
}

impl From<DashboardError> for ApiError {
    fn from(e: DashboardError) -> Self {
        match e {
            DashboardError::Invalid(m) => ApiError::bad_request(m),
            e @ DashboardError::NotFound(_) => ApiError::not_found(e.to_string()),
            DashboardError::Conflict(m) => ApiError::conflict(m),
            DashboardError::ReadOnly(m) => ApiError::forbidden(m),
            e @ (DashboardError::Sql(_) | DashboardError::File { .. }) => ApiError::internal(&e),
        }
    }
}

/// Runs `f` on the control database with the read-only library, mapping both error kinds.
async fn with_db<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut rusqlite::Connection, &Library) -> dashboards::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let lib = Arc::clone(&state.dashboards);
    let result = state.db.call(move |conn| Ok(f(conn, &lib))).await?;
    Ok(result?)
}

async fn list(
    State(state): State<AppState>,
    _: Principal,
    _: NoQuery,
) -> Result<Json<Value>, ApiError> {
    let all = with_db(&state, |conn, lib| dashboards::list(conn, lib)).await?;
    Ok(Json(json!({ "dashboards": all })))
}

async fn show(
    State(state): State<AppState>,
    _: Principal,
    _: NoQuery,
    Path(uid): Path<String>,
) -> Result<Json<dashboards::Stored>, ApiError> {
    let wanted = uid.clone();
    with_db(&state, move |conn, lib| dashboards::get(conn, lib, &wanted))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no dashboard {uid}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDashboard {
    dashboard: Value,
}

async fn create(
    State(state): State<AppState>,
    _: NoQuery,
    Editor(who): Editor,
    ApiJson(body): ApiJson<NewDashboard>,
) -> Result<Response, ApiError> {
    let now = state.clock.now().as_secs();
    let stored = with_db(&state, move |conn, lib| {
        dashboards::create(conn, lib, body.dashboard, &who.name, now)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(stored)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveDashboard {
    dashboard: Value,
    /// The version the change was made from.
    version: i64,
    #[serde(default)]
    message: String,
}

async fn save(
    State(state): State<AppState>,
    _: NoQuery,
    Editor(who): Editor,
    Path(uid): Path<String>,
    ApiJson(body): ApiJson<SaveDashboard>,
) -> Result<Json<dashboards::Stored>, ApiError> {
    let now = state.clock.now().as_secs();
    let stored = with_db(&state, move |conn, lib| {
        let message: String = body.message.chars().take(500).collect();
        dashboards::save(
            conn,
            lib,
            &uid,
            body.dashboard,
            body.version,
            &message,
            &who.name,
            now,
        )
    })
    .await?;
    Ok(Json(stored))
}

async fn remove(
    State(state): State<AppState>,
    _: NoQuery,
    _: Editor,
    Path(uid): Path<String>,
) -> Result<StatusCode, ApiError> {
    let wanted = uid.clone();
    match with_db(&state, move |conn, lib| {
        dashboards::delete(conn, lib, &wanted)
    })
    .await?
    {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::not_found(format!("no dashboard {uid}"))),
    }
}

async fn versions(
    State(state): State<AppState>,
    _: Principal,
    _: NoQuery,
    Path(uid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let all = with_db(&state, move |conn, _| dashboards::versions(conn, &uid)).await?;
    Ok(Json(json!({ "versions": all })))
}

async fn version(
    State(state): State<AppState>,
    _: Principal,
    _: NoQuery,
    Path((uid, version)): Path<(String, i64)>,
) -> Result<Json<Value>, ApiError> {
    let wanted = uid.clone();
    let body = with_db(&state, move |conn, _| {
        dashboards::version_body(conn, &wanted, version)
    })
    .await?
    .ok_or_else(|| ApiError::not_found(format!("no version {version} of dashboard {uid}")))?;
    Ok(Json(json!({ "dashboard": body, "version": version })))
}

async fn restore(
    State(state): State<AppState>,
    _: NoQuery,
    Editor(who): Editor,
    Path((uid, version)): Path<(String, i64)>,
) -> Result<Json<dashboards::Stored>, ApiError> {
    let now = state.clock.now().as_secs();
    let stored = with_db(&state, move |conn, lib| {
        dashboards::restore(conn, lib, &uid, version, &who.name, now)
    })
    .await?;
    Ok(Json(stored))
}

async fn list_searches(
    State(state): State<AppState>,
    _: Principal,
    _: NoQuery,
) -> Result<Json<Value>, ApiError> {
    let all = with_db(&state, |conn, _| searches::list(conn)).await?;
    Ok(Json(json!({ "searches": all })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSearch {
    name: String,
    query: String,
    #[serde(default = "default_from")]
    from: String,
    #[serde(default = "default_until")]
    until: String,
}

fn default_from() -> String {
    "-24h".into()
}

fn default_until() -> String {
    "now".into()
}

async fn create_search(
    State(state): State<AppState>,
    _: NoQuery,
    Editor(who): Editor,
    ApiJson(body): ApiJson<NewSearch>,
) -> Result<Response, ApiError> {
    let now = state.clock.now().as_secs();
    let saved = with_db(&state, move |conn, _| {
        searches::create(
            conn,
            &body.name,
            &body.query,
            &body.from,
            &body.until,
            &who.name,
            now,
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

async fn delete_search(
    State(state): State<AppState>,
    _: NoQuery,
    _: Editor,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    match with_db(&state, move |conn, _| searches::delete(conn, id)).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::not_found(format!("no saved search {id}"))),
    }
}
