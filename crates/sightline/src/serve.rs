//! `sightline serve`: load config, lock the data directory, bind, start, wait for a signal.
//!
//! The order matters: the data directory lock is taken before any socket is bound, so a second
//! process on the same directory reports the lock (and the first process's pid), not a busy
//! port. The first SIGINT or SIGTERM starts a graceful shutdown bounded by `shutdown_grace`; a
//! second one exits at once.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use model::SystemClock;
use server::{DataDir, Listeners};

use crate::{ConfigArgs, logging};

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Address for the HTTP API and UI (config key `http.addr`).
    #[arg(long, value_name = "ADDR")]
    http_addr: Option<String>,
}

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.config.load(args.http_addr)?;
    logging::init(&config.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sightline")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: server::Config) -> anyhow::Result<()> {
    let data = DataDir::open(&config.data_dir)?;
    let listeners = Listeners::bind(&config)?;
    let admin_user = config.auth.admin_user.clone();
    let mut handle = server::start(config, data, listeners, Arc::new(SystemClock)).await?;
    if let Some(password) = handle.take_generated_admin_password() {
        // Printed, not logged: it must reach the operator once and never a log pipeline.
        eprintln!(
            "\nsightline: created user `{admin_user}` with password: {}\n\
             sightline: it is shown only this once; log in at http://{}/ and keep it safe.\n",
            password.expose(),
            handle.http_addr()
        );
    }
    let signal = wait_for_signal().await?;
    tracing::info!(
        signal,
        "shutting down; send the signal again to exit at once"
    );
    let shutdown = handle.shutdown();
    tokio::pin!(shutdown);
    tokio::select! {
        report = &mut shutdown => {
            if !report.cut.is_empty() {
                tracing::warn!(cut = ?report.cut, "shutdown grace ended with work still running");
            }
            Ok(())
        }
        second = wait_for_signal() => {
            anyhow::bail!("second {} during shutdown; exiting at once", second?)
        }
    }
}

/// Waits for SIGINT or SIGTERM and names it.
async fn wait_for_signal() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    Ok(tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    })
}
