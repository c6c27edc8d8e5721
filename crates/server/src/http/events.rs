//! Events over HTTP: NDJSON and JSON-array ingest, and search.
//!
//! - `POST /api/v1/ingest` (an ingest token): one JSON object per line, or a JSON array of
//!   objects; structlog's, ECS's and most shippers' keys are recognised (`wire::jsonlog`).
//!   The answer counts what was accepted and lists (the first 100) refused lines with why;
//!   the good lines of a request are stored whatever the bad ones hold. The answer comes after
//!   the events are fsynced to the store's WAL; they become searchable within its commit
//!   interval (a second).
//! - `GET /api/v1/events/search?q=&from=&until=&limit=`: newest first, with the total count.
//!   Times are epoch seconds, `now`, or `-<n><unit>`.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::IngestKey;
use crate::auth::Principal;

/// The most refused lines an ingest answer lists.
const MAX_ERRORS_LISTED: usize = 100;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/ingest", post(ingest))
        .route("/api/v1/events/search", get(search))
}

async fn ingest(
    State(state): State<AppState>,
    _: IngestKey,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    if let Some(encoding) = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        && !encoding.eq_ignore_ascii_case("identity")
    {
        return Err(ApiError::bad_request(format!(
            "Content-Encoding `{encoding}` is not accepted on this route yet; send the body uncompressed"
        )));
    }
    let received_ns = state.clock.now().as_secs().saturating_mul(1_000_000_000);
    let mut good = Vec::new();
    let mut errors = Vec::new();
    let mut index = 0usize;
    wire::jsonlog::decode_body(&body, received_ns, &mut |record| {
        match record {
            Ok(event) => good.push((index, event)),
            Err(e) => errors.push((index, e.to_string())),
        }
        index += 1;
    });
    let store = std::sync::Arc::clone(&state.events);
    let events: Vec<model::LogEvent> = good.iter().map(|(_, e)| e.clone()).collect();
    let refused = tokio::task::spawn_blocking(move || store.add(&events))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))?;
    for (i, why) in refused {
        errors.push((good[i].0, why));
    }
    errors.sort_by_key(|(i, _)| *i);
    let rejected = errors.len();
    state
        .http_stats
        .parse_errors
        .fetch_add(rejected as u64, std::sync::atomic::Ordering::Relaxed);
    let listed: Vec<Value> = errors
        .iter()
        .take(MAX_ERRORS_LISTED)
        .map(|(i, e)| json!({"index": i, "error": e}))
        .collect();
    Ok(Json(
        json!({"accepted": index - rejected, "rejected": rejected, "errors": listed}),
    ))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
    from: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
}

fn time_ns(text: Option<&str>, default: &str, now: i64) -> Result<i64, ApiError> {
    let text = text.unwrap_or(default);
    let seconds = graphite::attime::parse_at_time(text, &jiff::tz::TimeZone::UTC, now)
        .map_err(|e| ApiError::bad_request(format!("invalid time: {e}")))?;
    Ok(seconds.saturating_mul(1_000_000_000))
}

async fn search(
    State(state): State<AppState>,
    _: Principal,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let now = state.clock.now().as_secs();
    let from_ns = time_ns(q.from.as_deref(), "-1d", now)?;
    let until_ns = time_ns(q.until.as_deref(), "now", now)?.saturating_add(1_000_000_000);
    let search = events::Search {
        query: q.q.unwrap_or_default(),
        from_ns,
        until_ns,
        limit: q.limit.unwrap_or(100).min(10_000),
    };
    let store = std::sync::Arc::clone(&state.events);
    let result = tokio::task::spawn_blocking(move || store.search(&search))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| match e {
            events::EventsError::Query { .. } => ApiError::bad_request(e.to_string()),
            other => ApiError::internal(&other),
        })?;
    let hits: Vec<Value> = result
        .hits
        .iter()
        .map(|h| {
            let e = &h.event;
            json!({
                "timestamp_ns": e.timestamp_ns,
                "message": e.message,
                "level": e.level,
                "service": e.service,
                "host": e.host,
                "fields": e.fields,
            })
        })
        .collect();
    Ok(Json(json!({"total": result.total, "events": hits})))
}
