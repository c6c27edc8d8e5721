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

/// Everything a handler can reach: read handles and sinks, never a store itself.
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
    /// Reads of the stores; every write goes through `sinks`.
    pub metrics: crate::read::MetricsReader,
    pub events: crate::read::EventsReader,
    pub issues: crate::read::IssuesReader,
    /// The way into each store.
    pub sinks: crate::pipeline::Sinks,
    /// What the Sentry endpoints count.
    pub sentry: Arc<sentry::SentryCounters>,
    /// The control database (users, tokens, projects).
    pub db: crate::db::ControlDb,
    /// The byte budget of ingest requests being stored at once (429 beyond it).
    pub ingest_gate: Arc<gate::IngestGate>,
    /// The memory every query in flight draws from (`[query] memory_total`).
    pub query_memory: Arc<model::budget::MemoryPool>,
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

/// What each connection may take: how many at once, how long its headers may take to
/// arrive, and how much of its input is buffered at a time.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_read_timeout: std::time::Duration,
}

impl ConnectionLimits {
    pub fn of(config: &Config) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: config.http.max_connections,
            header_read_timeout: config.http.header_read_timeout.get(),
        }
    }
}

/// The most of a connection's input read ahead of its handler. hyper's own default grows to
/// about 400 KiB, which a thousand uploads at once turn into 400 MB.
const MAX_READ_BUFFER: usize = 16 << 10;

/// Serves `router` on `listener` until `shutdown` fires, then drains open connections.
///
/// HTTP/1.1 with hyper, one task per connection. At most `max_connections` are served at
/// once: the next waits in the kernel's accept queue until one closes. A client whose request
/// headers have not all arrived within `header_read_timeout` is disconnected (slowloris); the
/// body and the handler are bounded by `http.request_timeout` (`middleware::timeout`).
pub async fn serve(
    listener: std::net::TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let connections = tokio_util::task::TaskTracker::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_READ_BUFFER);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.map_err(std::io::Error::other)?,
            () = shutdown.cancelled() => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or a connection reset before it was accepted: the
                    // listener goes on; a short pause lets descriptors free.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(remote));
                router.clone().oneshot(req.map(axum::body::Body::new))
            },
        );
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            let served = tokio::select! {
                served = connection.as_mut() => served,
                () = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = served {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
        });
    }
    connections.close();
    connections.wait().await;
    Ok(())
}
