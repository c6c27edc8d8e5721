//! OTLP/HTTP: `POST /v1/logs` and `POST /v1/metrics`, protobuf (`application/x-protobuf`) or
//! JSON, with an ingest token. Records the store refuses, and data points that cannot be used,
//! are reported as `partial_success`, as the spec asks. Metrics become Graphite points by the
//! mapping in `wire::otlp_metrics`, and are answered once durable.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::AppState;
use super::extract::IngestKey;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/logs", post(logs))
        .route("/v1/metrics", post(metrics))
}

/// How long a metrics request waits for its points to be durable before it is answered 503.
const DURABLE_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether the body is OTLP/JSON (otherwise protobuf).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"))
}

/// The request body, decompressed within the ingest budget, or the answer refusing it.
async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<super::body::Received, Response> {
    let limits = super::body::Limits::of(&state.config.http);
    match super::body::receive(&state.ingest_gate, headers, body, limits).await {
        Ok(received) => Ok(received),
        // OTLP/HTTP: 429 is retryable, after Retry-After; 413 and 400 are not. A full disk
        // is a 429 too: 507 is not among the codes exporters retry.
        Err(e) if e.status() == StatusCode::INSUFFICIENT_STORAGE => {
            let mut r = e.plain_text();
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            Err(r)
        }
        Err(e) => Err(e.plain_text()),
    }
}

fn count_parse_errors(state: &AppState, n: u64) {
    state
        .http_stats
        .parse_errors
        .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
}

async fn metrics(
    State(state): State<AppState>,
    _: IngestKey,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let json = is_json(&headers);
    let received = match receive(&state, &headers, body).await {
        Ok(received) => received,
        Err(refused) => return refused,
    };
    let decoded = if json {
        wire::otlp_metrics::decode_json(&received.bytes)
    } else {
        wire::otlp_metrics::decode_protobuf(&received.bytes)
    };
    let request = match decoded {
        Ok(request) => request,
        Err(e) => {
            count_parse_errors(&state, 1);
            return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
        }
    };
    let batch = state.sinks.metrics.translate_otlp(&request);
    let rejected = request.rejected;
    drop(request);
    match state
        .sinks
        .metrics
        .send_durable(batch, &state.http_stats, DURABLE_WITHIN)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                "the points were not durable in time; retry",
            )
                .into_response();
        }
        Err(_) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the metric store is shutting down",
            )
                .into_response();
        }
    }
    drop(received); // stored: its share of the ingest budget goes back
    count_parse_errors(&state, rejected);
    let message = if rejected == 0 {
        ""
    } else {
        "data points without a usable value, time or bucket layout were dropped"
    };
    if json {
        (
            [(header::CONTENT_TYPE, "application/json")],
            wire::otlp_metrics::encode_response_json(rejected, message),
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            wire::otlp_metrics::encode_response(rejected, message),
        )
            .into_response()
    }
}

async fn logs(
    State(state): State<AppState>,
    _: IngestKey,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let json = is_json(&headers);
    let received_ns = state.clock.now().as_nanos();
    let received = match receive(&state, &headers, body).await {
        Ok(received) => received,
        Err(refused) => return refused,
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
            count_parse_errors(&state, 1);
            return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
        }
    };
    let refused = match state.sinks.events.add(events).await {
        Ok(stored) => stored.refused,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    };
    drop(received); // stored: its share of the ingest budget goes back
    let rejected = refused.len() as u64;
    count_parse_errors(&state, rejected);
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
