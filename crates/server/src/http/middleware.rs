//! Middleware on every HTTP request: self-telemetry, the access log, and the request timeout.
//!
//! [`track`] counts each request as received, counts its body bytes as they are read, holds
//! the in-flight gauge, and classifies the response: 400/415/422 are parse errors, 413/429/503
//! are drops. The access log names the method, the path without its query string (query strings
//! can carry keys, such as Sentry's `sentry_key`), the status and the latency. [`json_errors`]
//! rewraps the errors of `/api/v1/…` that did not come from our handlers (axum's rejections,
//! a 405) in the native API's JSON shape.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use super::AppState;
use super::error::ApiError;
use crate::telemetry::ListenerStats;

/// HTTP responses counted by status class.
#[derive(Debug, Default)]
pub struct ResponseStats {
    classes: [AtomicU64; 5],
}

impl ResponseStats {
    fn record(&self, status: StatusCode) {
        let index = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        self.classes[index].fetch_add(1, Ordering::Relaxed);
    }

    /// Pairs of (`"2xx"`, count).
    pub fn snapshot(&self) -> [(&'static str, u64); 5] {
        let names = ["1xx", "2xx", "3xx", "4xx", "5xx"];
        std::array::from_fn(|i| (names[i], self.classes[i].load(Ordering::Relaxed)))
    }
}

/// Decrements the in-flight gauge however the request ends, even if it is cancelled.
struct InFlight(Arc<ListenerStats>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.queue_depth.fetch_sub(1, Ordering::Relaxed);
    }
}

pub(super) async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let stats = Arc::clone(&state.http_stats);
    stats.received.fetch_add(1, Ordering::Relaxed);
    stats.queue_depth.fetch_add(1, Ordering::Relaxed);
    let _in_flight = InFlight(Arc::clone(&stats));
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();

    let (parts, body) = req.into_parts();
    let counted = Arc::clone(&stats);
    let body = Body::new(body.map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            counted
                .bytes
                .fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        frame
    }));
    let response = next.run(Request::from_parts(parts, body)).await;

    let status = response.status();
    state.responses.record(status);
    match status.as_u16() {
        400 | 415 | 422 => stats.parse_errors.fetch_add(1, Ordering::Relaxed),
        413 | 429 | 503 | 507 => stats.dropped.fetch_add(1, Ordering::Relaxed),
        _ => 0,
    };
    let ms = started.elapsed().as_secs_f64() * 1e3;
    if status.is_server_error() {
        tracing::warn!(target: "sightline::access", %method, %path, status = status.as_u16(), ms, "request");
    } else {
        tracing::debug!(target: "sightline::access", %method, %path, status = status.as_u16(), ms, "request");
    }
    response
}

/// Answers 408 if the handler has not produced a response within the configured timeout.
pub(super) async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit: Duration = state.config.http.request_timeout.get();
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::timeout().into_response(),
    }
}

/// The longest error body [`json_errors`] reads to rewrap.
const MAX_REWRAPPED_BODY: usize = 4096;

/// Every error of Sightline's own API (`/api/v1/…`) answers in its JSON shape, including those
/// axum produces before a handler runs: a path that does not parse (plain text), a method the
/// route does not take (an empty 405). A JSON error passes through unchanged.
pub(super) async fn json_errors(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/v1/");
    let method = req.method().clone();
    let response = next.run(req).await;
    let status = response.status();
    if !api || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/event-stream"));
    if is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_REWRAPPED_BODY).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_lowercase(),
        Err(_) => String::new(),
    };
    let allow = parts
        .headers
        .get(axum::http::header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let message = if status == StatusCode::METHOD_NOT_ALLOWED {
        let takes = if allow.is_empty() {
            String::new()
        } else {
            format!("; it takes {allow}")
        };
        format!("this route does not take {method}{takes}")
    } else if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase()
    } else {
        text
    };
    let mut wrapped = ApiError::with_status(status, message).into_response();
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            wrapped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    wrapped
}
