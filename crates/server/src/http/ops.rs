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
    let (metrics, events, dir) = (
        state.metrics.clone(),
        state.events.clone(),
        state.config.data_dir.clone(),
    );
    let disk = tokio::task::spawn_blocking(move || {
        crate::selfmon::disk_usage(metrics.usage().disk_bytes, events.disk_bytes(), &dir)
    })
    .await
    .unwrap_or_default();
    let body = render_metrics(&state, &disk);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

fn render_metrics(state: &AppState, disk: &[(&'static str, u64)]) -> String {
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
    state.telemetry.write_counters(&mut w);
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
    w.single(
        "sightline_http_ingest_busy_total",
        "counter",
        "Ingest requests answered 429: the bytes in flight (http.max_inflight_ingest) left no room.",
        state.ingest_gate.refused.load(Ordering::Relaxed),
    );
    let disk_guard = &state.ingest_gate.disk;
    w.single(
        "sightline_disk_free_bytes",
        "gauge",
        "Free bytes on the data directory's file system at the last check (when min_free_disk is set).",
        disk_guard.free.load(Ordering::Relaxed),
    );
    w.single(
        "sightline_disk_below_floor",
        "gauge",
        "1 while free disk space is under min_free_disk and ingest is paused.",
        u8::from(disk_guard.is_low()),
    );
    w.single(
        "sightline_disk_refusals_total",
        "counter",
        "Ingest requests, datagrams and TCP reads refused or paused for low disk.",
        disk_guard.refused.load(Ordering::Relaxed),
    );
    w.family(
        "sightline_store_disk_bytes",
        "gauge",
        "Bytes each store takes on disk (files, indexes, WAL).",
    );
    for (store, bytes) in disk {
        w.sample("sightline_store_disk_bytes", &[("store", store)], bytes);
    }
    write_tsdb(&mut w, &state.metrics);
    w.finish()
}

fn write_tsdb(w: &mut PromWriter, tsdb: &crate::read::MetricsReader) {
    let s = tsdb.stats();
    let counters = [
        (
            "sightline_tsdb_points_written_total",
            "Metric points stored.",
            &s.points_written,
        ),
        (
            "sightline_tsdb_points_too_old_total",
            "Points older than their series' retention.",
            &s.points_too_old,
        ),
        (
            "sightline_tsdb_points_in_future_total",
            "Points too far in the future.",
            &s.points_in_future,
        ),
        (
            "sightline_tsdb_points_over_series_limit_total",
            "Points of new series refused at tsdb.max_series.",
            &s.points_over_series_limit,
        ),
        (
            "sightline_tsdb_series_created_total",
            "Series created.",
            &s.series_created,
        ),
        (
            "sightline_tsdb_wal_commits_total",
            "WAL group commits.",
            &s.wal_commits,
        ),
        (
            "sightline_tsdb_wal_errors_total",
            "Failed WAL commits.",
            &s.wal_errors,
        ),
        (
            "sightline_tsdb_flushes_total",
            "Heads written to segments.",
            &s.flushes,
        ),
        (
            "sightline_tsdb_merges_total",
            "Partitions merged.",
            &s.merges,
        ),
        (
            "sightline_tsdb_partitions_rolled_total",
            "Partitions rolled into the next tier.",
            &s.partitions_rolled,
        ),
        (
            "sightline_tsdb_partitions_dropped_total",
            "Partitions dropped by retention.",
            &s.partitions_dropped,
        ),
        (
            "sightline_tsdb_background_errors_total",
            "Failed background maintenance runs.",
            &s.background_errors,
        ),
    ];
    for (name, help, counter) in counters {
        w.single(name, "counter", help, counter.load(Ordering::Relaxed));
    }
    let (written, durable) = tsdb.wal_sequences();
    w.single(
        "sightline_tsdb_wal_sequence_written",
        "gauge",
        "Sequence number of the last write into the WAL.",
        written,
    );
    w.single(
        "sightline_tsdb_wal_sequence_durable",
        "gauge",
        "Sequence number of the last write made durable (fsynced): writes up to it are acknowledged.",
        durable,
    );
    let u = tsdb.usage();
    w.single("sightline_tsdb_series", "gauge", "Series known.", u.series);
    w.single(
        "sightline_tsdb_head_bytes",
        "gauge",
        "Bytes held by the in-memory head.",
        u.head_bytes,
    );
    w.single(
        "sightline_tsdb_head_points",
        "gauge",
        "Points in the in-memory head.",
        u.head_points,
    );
    w.single(
        "sightline_tsdb_index_bytes",
        "gauge",
        "Bytes held by the series index.",
        u.index_bytes,
    );
    w.single(
        "sightline_tsdb_segments",
        "gauge",
        "Segment files.",
        u.segments,
    );
    w.single(
        "sightline_tsdb_disk_bytes",
        "gauge",
        "Bytes of segment files.",
        u.disk_bytes,
    );
}
