//! The Sightline server: everything between the sockets and the stores.
//!
//! # Start-up
//! The caller (the `sightline` binary, or [`testkit`] in tests) loads a [`Config`], opens and
//! locks the [`DataDir`], binds the [`Listeners`], and hands all three to [`start`]. `start`
//! opens the control database (migrating it), creates the first admin if there are no users,
//! spawns one task per listener, marks the node ready, and returns a [`Handle`].
//!
//! # Path of a request
//! HTTP requests enter `http::router`: telemetry and the access log (`http::middleware`),
//! the request timeout, authentication (`http::extract`), then a handler. Socket listeners
//! for the ingest protocols join as their own tasks under the same shutdown signal.
//!
//! # Shutdown
//! [`Handle::shutdown`] marks the node not ready, stops accepting, lets in-flight requests
//! finish within `shutdown_grace`, cuts what remains, then flushes the stores and releases the
//! data directory lock.

pub mod auth;
pub mod config;
mod datadir;
pub mod db;
mod error;
pub mod http;
mod listeners;
pub mod telemetry;
#[cfg(feature = "testkit")]
pub mod testkit;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use model::SharedClock;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{Config, Secret};
pub use datadir::{DataDir, control_db_path};
pub use error::{Error, Result};
pub use listeners::{ListenerKind, Listeners};

use auth::Auth;
use db::ControlDb;
use telemetry::Telemetry;

/// A running node.
#[derive(Debug)]
pub struct Handle {
    addresses: Vec<(ListenerKind, SocketAddr)>,
    shutdown: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    ready: Arc<AtomicBool>,
    telemetry: Arc<Telemetry>,
    db: ControlDb,
    generated_admin_password: Option<Secret>,
    grace: Duration,
    data_dir: DataDir,
}

/// How a shutdown went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Tasks that had not finished when the grace period ended and were cut.
    pub cut: Vec<&'static str>,
}

/// Starts serving on `listeners` with `config`, storing under `data_dir`.
pub async fn start(
    config: Config,
    data_dir: DataDir,
    listeners: Listeners,
    clock: SharedClock,
) -> Result<Handle> {
    config.validate().map_err(|e| Error::Config {
        key: e.key,
        reason: e.reason,
    })?;
    let addresses = listeners.addresses()?;
    let db = ControlDb::open(&data_dir.control_db_path())?;
    let auth = Auth::new(db.clone(), clock.clone(), &config.auth);
    let generated_admin_password = auth.bootstrap(&config.auth)?;

    let telemetry = Arc::new(Telemetry::default());
    let ready = Arc::new(AtomicBool::new(false));
    let shutdown = CancellationToken::new();
    let grace = config.shutdown_grace.get();
    let state = http::AppState {
        config: Arc::new(config),
        clock,
        auth,
        http_stats: telemetry.listener(ListenerKind::Http.name()),
        telemetry: Arc::clone(&telemetry),
        responses: Arc::default(),
        ready: Arc::clone(&ready),
        started: Instant::now(),
    };
    let mut tasks = Vec::new();
    let router = http::router(state);
    let token = shutdown.clone();
    let serve = tokio::spawn(async move {
        if let Err(e) = http::serve(listeners.http, router, token).await {
            tracing::error!(listener = "http", error = %e, "listener stopped");
        }
    });
    tasks.push((ListenerKind::Http.name(), serve));

    ready.store(true, Ordering::SeqCst);
    for (kind, addr) in &addresses {
        tracing::info!(listener = kind.name(), %addr, "listening");
    }
    Ok(Handle {
        addresses,
        shutdown,
        tasks,
        ready,
        telemetry,
        db,
        generated_admin_password,
        grace,
        data_dir,
    })
}

impl Handle {
    /// Where the HTTP listener is bound.
    pub fn http_addr(&self) -> SocketAddr {
        self.addr(ListenerKind::Http)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Where listener `kind` is bound, if it runs.
    pub fn addr(&self, kind: ListenerKind) -> Option<SocketAddr> {
        self.addresses
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, a)| *a)
    }

    /// The names of every listener, as their telemetry labels them.
    pub fn listener_names(&self) -> Vec<&'static str> {
        self.telemetry.listener_names()
    }

    /// The first admin's generated password, if this start created it. Returned once.
    pub fn take_generated_admin_password(&mut self) -> Option<Secret> {
        self.generated_admin_password.take()
    }

    /// The data directory this node owns.
    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// A future that completes when shutdown has been requested.
    pub fn shutdown_requested(&self) -> tokio_util::sync::WaitForCancellationFutureOwned {
        self.shutdown.clone().cancelled_owned()
    }

    /// Stops the node: refuse new work, drain within the grace period, flush, unlock.
    pub async fn shutdown(self) -> ShutdownReport {
        self.ready.store(false, Ordering::SeqCst);
        self.shutdown.cancel();
        let deadline = tokio::time::Instant::now() + self.grace;
        let mut cut = Vec::new();
        for (name, mut task) in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                tracing::warn!(
                    task = name,
                    "still busy when the shutdown grace ended; cutting it"
                );
                task.abort();
                cut.push(name);
            }
        }
        if let Err(e) = self.db.checkpoint() {
            tracing::warn!(error = %e, "could not checkpoint the control database");
        }
        tracing::info!("shutdown complete");
        drop(self.data_dir);
        ShutdownReport { cut }
    }
}
