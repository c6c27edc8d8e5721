//! Issues over the API (any signed-in caller):
//! - `GET /api/v1/issues?project=&status=&environment=&release=&query=&sort=&limit=`: issues,
//!   newest seen first, or
//!   by `first_seen`, `events`, `users`; `query` words must all be in the title;
//! - `GET /api/v1/issues/{id}`: one issue, with the rule and components that grouped it, its
//!   state changes, events per hour for 14 days, and its top tag values;
//! - `PATCH /api/v1/issues/{id}` (editors and admins) `{"status": "resolved" | "resolved_in_next_release" |
//!   "ignored" | "unresolved", "ignore_until": <epoch s>, "ignore_events": <n>}`;
//! - `GET /api/v1/issues/{id}/events?limit=`: its events, newest first, each as the SDK sent it
//!   (stack trace, breadcrumbs, tags, user, request, contexts).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::Editor;
use super::params::{ApiQuery, NoQuery};
use crate::auth::Principal;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/issues", get(list))
        .route("/api/v1/issues/{id}", get(detail).patch(change))
        .route("/api/v1/issues/{id}/events", get(events))
}

#[derive(Deserialize)]
struct ListQuery {
    project: Option<i64>,
    status: Option<String>,
    query: Option<String>,
    sort: Option<String>,
    environment: Option<String>,
    release: Option<String>,
    limit: Option<usize>,
    /// Adds each issue's events per hour over this many hours (at most a week): sparklines.
    hourly: Option<u32>,
    /// Adds when each issue regressed (`regressed_at`, epoch seconds): graph annotations.
    regressions: Option<bool>,
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
    ApiQuery(q): ApiQuery<ListQuery>,
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
        environment: q.environment,
        release: q.release,
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
    };
    let store = state.issues.clone();
    let hours = q.hourly.map(|h| i64::from(h.clamp(1, 168)));
    let since = state.clock.now().as_secs() - hours.unwrap_or(0) * 3600;
    let regressions = q.regressions.unwrap_or(false);
    let found = blocking(move || {
        let found = store.issues(&filter)?;
        let mut shown = Vec::with_capacity(found.len());
        for issue in found {
            let mut v = json!(issue);
            if hours.is_some() {
                v["hourly"] = hourly_json(&store.hourly(issue.id, since)?);
            }
            if regressions {
                let changes = store.changes(issue.id)?;
                let at: Vec<i64> = changes
                    .iter()
                    .filter(|c| c.detail.starts_with("regressed"))
                    .map(|c| c.at)
                    .collect();
                v["regressed_at"] = json!(at);
            }
            shown.push(v);
        }
        Ok(shown)
    })
    .await?;
    Ok(Json(json!({ "issues": found })))
}

async fn detail(
    State(state): State<AppState>,
    _: NoQuery,
    _: Principal,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let store = state.issues.clone();
    // The last 14 days by hour: the issue page's chart.
    let since = state.clock.now().as_secs() - 14 * 86_400;
    let found = blocking(move || {
        Ok((
            store.issue(id)?,
            store.changes(id)?,
            store.hourly(id, since)?,
            store.top_tags(id, 10)?,
        ))
    })
    .await?;
    match found {
        (Some(issue), changes, hourly, tags) => {
            let mut v = json!(issue);
            v["changes"] = json!(changes);
            v["hourly"] = hourly_json(&hourly);
            v["tags"] = json!(tags
                .iter()
                .map(|(k, values)| json!({"key": k, "values": values.iter().map(|(val, n)| json!({"value": val, "events": n})).collect::<Vec<_>>()}))
                .collect::<Vec<_>>());
            Ok(Json(v))
        }
        (None, ..) => Err(ApiError::not_found(format!("no issue {id}"))),
    }
}

fn hourly_json(hourly: &[(i64, i64)]) -> Value {
    json!(
        hourly
            .iter()
            .map(|(h, n)| json!({"hour": h, "events": n}))
            .collect::<Vec<_>>()
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    status: String,
    ignore_until: Option<i64>,
    ignore_events: Option<i64>,
}

async fn change(
    State(state): State<AppState>,
    _: NoQuery,
    Editor(who): Editor,
    Path(id): Path<i64>,
    body: Result<Json<Change>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(c) = body?;
    let change = match c.status.as_str() {
        "unresolved" => issues::StatusChange::Unresolve,
        "resolved" => issues::StatusChange::Resolve,
        "resolved_in_next_release" => issues::StatusChange::ResolveInNextRelease,
        "ignored" => issues::StatusChange::Ignore {
            until: c.ignore_until,
            more_events: c.ignore_events,
        },
        other => {
            return Err(ApiError::bad_request(format!(
                "status is unresolved, resolved, resolved_in_next_release or ignored, not `{other}`"
            )));
        }
    };
    let at = state.clock.now().as_secs();
    let by = who.name;
    let changed = state.sinks.errors.set_status(id, change, at, by).await;
    match changed.map_err(|e| ApiError::internal(&e))? {
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
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Json<Value>, ApiError> {
    let store = state.issues.clone();
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
