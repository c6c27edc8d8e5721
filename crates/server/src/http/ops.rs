//! Operational endpoints: `/healthz`, `/readyz` and `/metrics`.
//!
//! These need no credentials, as load balancers and Prometheus call them; they reveal counters,
//! never data. `/healthz` answers while the process serves HTTP at all; `/readyz` only once
//! start-up has finished and until shutdown begins.

use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use crate::telemetry::{PromWriter, resident_memory_bytes};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let body = render_metrics(&state);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

fn render_metrics(state: &AppState) -> String {
    let mut w = PromWriter::default();
    w.family("sightline_build_info", "gauge", "The running version.");
    w.sample(
        "sightline_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1,
    );
    w.single(
        "sightline_uptime_seconds",
        "gauge",
        "Seconds since this process started serving.",
        state.started.elapsed().as_secs(),
    );
    if let Some(rss) = resident_memory_bytes() {
        w.single(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            rss,
        );
    }
    state.telemetry.write_listeners(&mut w);
    w.family(
        "sightline_http_responses_total",
        "counter",
        "HTTP responses by status class.",
    );
    for (class, count) in state.responses.snapshot() {
        w.sample("sightline_http_responses_total", &[("class", class)], count);
    }
    let auth = &state.auth.stats;
    let counters = [
        (
            "sightline_auth_logins_total",
            "Successful logins.",
            &auth.logins,
        ),
        (
            "sightline_auth_login_failures_total",
            "Failed logins.",
            &auth.login_failures,
        ),
        (
            "sightline_auth_login_rate_limited_total",
            "Logins refused by the per-IP limit.",
            &auth.login_rate_limited,
        ),
        (
            "sightline_auth_rejected_credentials_total",
            "Requests with a bad token or session.",
            &auth.rejected_credentials,
        ),
    ];
    for (name, help, counter) in counters {
        w.single(name, "counter", help, counter.load(Ordering::Relaxed));
    }
    w.finish()
}
