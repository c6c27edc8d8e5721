//! The HTTP listener: one axum router for the API, ingest routes, operations and the web UI.
//!
//! Path of a request: [`middleware::track`] counts it and starts the access log line, then
//! [`middleware::timeout`] bounds it, then the route's extractors authenticate the caller
//! (`extract`) and read a size-limited body, then the handler answers, mapping failures
//! through `error::ApiError`, the one place status codes are decided.

mod auth;
mod body;
mod dashboards;
mod elastic;
pub mod error;
mod events;
pub mod extract;
pub mod gate;
mod graphite;
mod issues;
mod middleware;
mod ops;
mod otlp;
pub mod params;
mod projects;
pub mod sentry;
mod series;
pub mod time;
pub mod ui;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use model::SharedClock;
use tokio_util::sync::CancellationToken;

use crate::auth::Auth;
use crate::config::Config;
use crate::telemetry::{ListenerStats, Telemetry};
use error::ApiError;
pub use middleware::ResponseStats;

/// Everything a handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub clock: SharedClock,
    pub auth: Arc<Auth>,
    pub telemetry: Arc<Telemetry>,
    pub http_stats: Arc<ListenerStats>,
    pub responses: Arc<ResponseStats>,
    pub ready: Arc<AtomicBool>,
    pub started: Instant,
    pub tsdb: tsdb::Tsdb,
    /// Into the metric store (Sentry sessions, client reports and trace metrics).
    pub sink: crate::ingest::MetricSink,
    /// Received Sentry events.
    pub issues: Arc<::issues::IssueStore>,
    /// Copies of Sentry error events on their way to the event store.
    pub sentry_copies: tokio::sync::mpsc::Sender<model::LogEvent>,
    /// Group commits of Sentry events.
    pub sentry_writer: sentry::EventWriter,
    /// What the Sentry endpoints count.
    pub sentry: Arc<sentry::SentryCounters>,
    /// The control database (users, tokens, projects).
    pub db: crate::db::ControlDb,
    pub events: Arc<::events::EventStore>,
    /// Read-after-write: requests with `refresh` wait here until their events are searchable.
    pub refresh: Arc<crate::ingest::refresh::Refresh>,
    /// Every event the store accepts, for live tails (sent only while someone listens).
    pub tail: tokio::sync::broadcast::Sender<Arc<model::LogEvent>>,
    /// The byte budget of ingest requests being stored at once (429 beyond it).
    pub ingest_gate: Arc<gate::IngestGate>,
    /// The read-only dashboards (built in and provisioned).
    pub dashboards: Arc<crate::dashboards::Library>,
    /// Fires at shutdown: long-lived responses (tails) end on it.
    pub shutdown: CancellationToken,
}

/// The full router, with middleware, for `state`.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.http.max_body_size.as_usize();
    Router::new()
        .merge(ops::routes())
        .merge(auth::routes())
        .merge(series::routes())
        .merge(graphite::routes())
        .merge(events::routes())
        .merge(elastic::routes())
        .merge(otlp::routes())
        .merge(projects::routes())
        .merge(issues::routes())
        .merge(dashboards::routes())
        .merge(ui::routes())
        .merge(sentry::routes(&public_path_prefix(&state.config)))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(middleware::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::track,
        ))
        .with_state(state)
}

/// The path of `http.public_url` (`/visibility` in `https://host/visibility`), if any: SDKs
/// with such a DSN post under it when the proxy in front keeps it.
fn public_path_prefix(config: &Config) -> String {
    let url = config.public_url();
    let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    after_scheme.find('/').map_or(String::new(), |i| {
        after_scheme[i..].trim_end_matches('/').to_owned()
    })
}

async fn not_found(uri: axum::http::Uri) -> impl IntoResponse {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

/// Serves `router` on `listener` until `shutdown` fires, then drains open connections.
pub async fn serve(
    listener: std::net::TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}
