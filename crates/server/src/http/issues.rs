//! Issues over the API (any signed-in caller):
//! - `GET /api/v1/issues?project=&status=&query=&sort=&limit=`: issues, newest seen first, or
//!   by `first_seen`, `events`, `users`; `query` words must all be in the title;
//! - `GET /api/v1/issues/{id}`: one issue, with the rule and components that grouped it;
//! - `GET /api/v1/issues/{id}/events?limit=`: its events, newest first, each as the SDK sent it
//!   (stack trace, breadcrumbs, tags, user, request, contexts).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use crate::auth::Principal;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/issues", get(list))
        .route("/api/v1/issues/{id}", get(detail))
        .route("/api/v1/issues/{id}/events", get(events))
}

#[derive(Deserialize)]
struct ListQuery {
    project: Option<i64>,
    status: Option<String>,
    query: Option<String>,
    sort: Option<String>,
    limit: Option<usize>,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> issues::store::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))
}

async fn list(
    State(state): State<AppState>,
    _: Principal,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    if let Some(sort) = q.sort.as_deref()
        && !matches!(sort, "last_seen" | "first_seen" | "events" | "users")
    {
        return Err(ApiError::bad_request(format!(
            "sort is last_seen, first_seen, events or users, not `{sort}`"
        )));
    }
    let filter = issues::IssueFilter {
        project_id: q.project,
        status: q.status,
        query: q.query,
        sort: q.sort,
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
    };
    let store = Arc::clone(&state.issues);
    let found = blocking(move || store.issues(&filter)).await?;
    Ok(Json(json!({ "issues": found })))
}

async fn detail(
    State(state): State<AppState>,
    _: Principal,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let store = Arc::clone(&state.issues);
    match blocking(move || store.issue(id)).await? {
        Some(issue) => Ok(Json(json!(issue))),
        None => Err(ApiError::not_found(format!("no issue {id}"))),
    }
}

#[derive(Deserialize)]
struct EventsQuery {
    limit: Option<usize>,
}

async fn events(
    State(state): State<AppState>,
    _: Principal,
    Path(id): Path<i64>,
    Query(q): Query<EventsQuery>,
) -> Result<Json<Value>, ApiError> {
    let store = Arc::clone(&state.issues);
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
    let (issue, stored) =
        blocking(move || Ok((store.issue(id)?, store.issue_events(id, limit)?))).await?;
    if issue.is_none() {
        return Err(ApiError::not_found(format!("no issue {id}")));
    }
    let shown: Vec<Value> = stored
        .iter()
        .map(|e| {
            json!({
                "event_id": e.event_id,
                "received_at": e.received_at,
                "event": serde_json::from_slice::<Value>(&e.payload).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(Json(json!({ "events": shown })))
}
