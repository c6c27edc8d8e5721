//! Logging set-up: `tracing` to stderr, as text for people or JSON for shippers.
//!
//! Nothing logged anywhere carries a password, token or session id: those values live in
//! `server::Secret`, whose `Debug` and `Display` forms are redacted, and the access log omits
//! query strings.

use std::io::IsTerminal;

use server::config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. The filter was validated when the config loaded.
pub(crate) fn init(config: &LogConfig) {
    let filter = EnvFilter::builder().parse_lossy(&config.level);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let installed = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    if let Err(e) = installed {
        eprintln!("warning: logging was already set up: {e}");
    }
}
