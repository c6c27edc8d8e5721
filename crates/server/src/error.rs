//! The one error type of the `server` crate.
//!
//! Start-up errors (binding, the data directory, the control database) carry enough context to
//! be printed as one line by the binary. Request-time errors are mapped to HTTP answers in
//! `http::error`, not here.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The message says the reason once (the I/O error is not repeated as a source) and, for an
    /// address in use, which setting moves the listener.
    #[error(
        "cannot bind the {listener} listener to {addr}: {}",
        bind_reason(listener, error)
    )]
    Bind {
        listener: &'static str,
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error("data directory {}: {reason}", path.display())]
    DataDir { path: PathBuf, reason: String },
    #[error(
        "data directory {} is in use by another sightline process{}; stop it or choose another --data-dir",
        path.display(),
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    DataDirLocked { path: PathBuf, pid: Option<u32> },
    #[error("control database {}: {source}", path.display())]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "control database {} has schema version {found}, newer than this binary supports ({supported}); upgrade sightline",
        path.display()
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("control database: {0}")]
    Query(#[from] rusqlite::Error),
    #[error("invalid setting `{key}`: {reason}")]
    Config { key: &'static str, reason: String },
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    Dashboards(String),
    #[error("metric store: {0}")]
    Metrics(#[from] tsdb::Error),
    #[error("event store: {0}")]
    Events(#[from] events::EventsError),
    #[error("issue store: {0}")]
    Issues(#[from] issues::IssuesError),
    #[error("background task failed: {0}")]
    Task(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a bind failed, with what to do about an address in use.
fn bind_reason(listener: &str, e: &std::io::Error) -> String {
    if e.kind() != std::io::ErrorKind::AddrInUse {
        return e.to_string();
    }
    let setting = match crate::ListenerKind::ALL
        .iter()
        .find(|k| k.name() == listener)
    {
        Some(kind) => kind.setting(),
        None => (String::new(), String::new()),
    };
    let (key, env) = setting;
    let flag = if listener == "http" {
        "--http-addr, "
    } else {
        ""
    };
    format!(
        "the address is already in use (another sightline, or a peer such as carbon-cache?); choose another with {flag}the config key `{key}` or {env}{}",
        if listener == "http" {
            ""
        } else {
            ", or switch it off with \"off\""
        }
    )
}
