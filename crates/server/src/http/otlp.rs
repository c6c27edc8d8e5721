//! OTLP/HTTP logs: `POST /v1/logs`, protobuf (`application/x-protobuf`) or JSON, with an ingest
//! token. Records the store refuses are reported as `partial_success`, as the spec asks.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::AppState;
use super::extract::IngestKey;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/v1/logs", post(logs))
}

async fn logs(
    State(state): State<AppState>,
    _: IngestKey,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    let received_ns = state.clock.now().as_nanos();
    let limits = super::body::Limits::of(&state.config.http);
    let received = match super::body::receive(&state.ingest_gate, &headers, body, limits).await {
        Ok(received) => received,
        // OTLP/HTTP: 429 is retryable, after Retry-After; 413 and 400 are not. A full disk
        // is a 429 too: 507 is not among the codes exporters retry.
        Err(e) if e.status() == StatusCode::INSUFFICIENT_STORAGE => {
            let mut r = e.plain_text();
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            return r;
        }
        Err(e) => return e.plain_text(),
    };
    let body = &received.bytes;
    let decoded = if json {
        wire::otlp::decode_json(body, received_ns)
    } else {
        wire::otlp::decode_protobuf(body, received_ns)
    };
    let events = match decoded {
        Ok(events) => events,
        Err(e) => {
            state
                .http_stats
                .parse_errors
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
        }
    };
    let store = std::sync::Arc::clone(&state.events);
    let refused = match tokio::task::spawn_blocking(move || store.add(events)).await {
        Ok(Ok(refused)) => refused,
        Ok(Err(e)) => return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    drop(received); // stored: its share of the ingest budget goes back
    let rejected = refused.len() as u64;
    state
        .http_stats
        .parse_errors
        .fetch_add(rejected, std::sync::atomic::Ordering::Relaxed);
    let message = refused.first().map(|(_, why)| why.as_str()).unwrap_or("");
    if json {
        let body = if rejected == 0 {
            "{}".to_owned()
        } else {
            serde_json::json!({"partialSuccess": {"rejectedLogRecords": rejected.to_string(), "errorMessage": message}}).to_string()
        };
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            wire::otlp::encode_response(rejected, message),
        )
            .into_response()
    }
}
