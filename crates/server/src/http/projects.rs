//! Error-tracking projects over the API: `GET /api/v1/projects` lists them with their DSNs (any
//! signed-in caller), `POST /api/v1/projects {"name": …}` creates one with a key (admins),
//! `PATCH /api/v1/projects/{id} {"refused_categories": [...], "events_per_minute": N}` sets
//! what SDKs are told not to send and the project's rate limit on error events (0: none), either
//! or both (admins).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::Admin;
use super::params::NoQuery;
use crate::auth::Principal;
use crate::projects::{self, Project, ProjectError};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/projects", get(list).post(create))
        .route("/api/v1/projects/{id}", patch(update))
}

fn shown(state: &AppState, p: &Project) -> Value {
    let base = state.config.public_url();
    let dsns: Vec<String> = p
        .keys
        .iter()
        .map(|k| projects::dsn(&base, k, p.id))
        .collect();
    json!({
        "id": p.id,
        "name": p.name,
        "created_at": p.created_at,
        "dsn": dsns.first(),
        "refused_categories": p.refused_categories,
        "events_per_minute": p.events_per_minute,
        "keys": p.keys.iter().zip(&dsns).map(|(k, d)| json!({"public_key": k, "dsn": d})).collect::<Vec<_>>(),
    })
}

async fn list(
    State(state): State<AppState>,
    _: Principal,
    _: NoQuery,
) -> Result<Json<Value>, ApiError> {
    let all = state
        .db
        .call(|conn| Ok(projects::list(conn)))
        .await?
        .map_err(|e| ApiError::internal(&e))?;
    let shown: Vec<Value> = all.iter().map(|p| shown(&state, p)).collect();
    Ok(Json(json!({ "projects": shown })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewProject {
    name: String,
}

async fn create(
    State(state): State<AppState>,
    _: NoQuery,
    _: Admin,
    body: Result<Json<NewProject>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(new) = body?;
    let now = state.clock.now().as_secs();
    let created = state
        .db
        .call(move |conn| Ok(projects::create(conn, now, &new.name)))
        .await?;
    match created {
        Ok(p) => Ok((StatusCode::CREATED, Json(shown(&state, &p))).into_response()),
        Err(ProjectError::Invalid(m)) => Err(ApiError::bad_request(m)),
        Err(e @ ProjectError::Exists(_)) => Err(ApiError::conflict(e.to_string())),
        Err(ProjectError::Sql(e)) => Err(ApiError::internal(&e)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectChange {
    refused_categories: Option<Vec<String>>,
    events_per_minute: Option<u32>,
}

async fn update(
    State(state): State<AppState>,
    _: NoQuery,
    _: Admin,
    Path(id): Path<i64>,
    body: Result<Json<ProjectChange>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(change) = body?;
    let result = state
        .db
        .call(move |conn| {
            let mut found = projects::list(conn)?.iter().any(|p| p.id == id);
            if found && let Some(refused) = &change.refused_categories {
                match projects::set_refused_categories(conn, id, refused) {
                    Ok(f) => found = f,
                    Err(e) => return Ok(Err(e)),
                }
            }
            if found && let Some(n) = change.events_per_minute {
                found = projects::set_events_per_minute(conn, id, n)?;
            }
            Ok(Ok(if found {
                projects::list(conn)?.into_iter().find(|p| p.id == id)
            } else {
                None
            }))
        })
        .await?;
    match result {
        Ok(Some(p)) => Ok(Json(shown(&state, &p))),
        Ok(None) => Err(ApiError::not_found(format!("no project {id}"))),
        Err(ProjectError::Invalid(m)) => Err(ApiError::bad_request(m)),
        Err(e) => Err(ApiError::internal(&e)),
    }
}
