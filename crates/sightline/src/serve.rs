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
    /// Address for the HTTP API and UI, `IP:port` or `name:port` (config key `http.addr`;
    /// default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    http_addr: Option<String>,
}

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.config.load(args.http_addr)?;
    logging::init(&config.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sightline")
        // Store calls queue for a few threads rather than each start one (tokio's default
        // allows 512): a burst of requests would otherwise cost a thread, its stack and its
        // allocator heap apiece, while they wait on the same SQLite connection.
        .max_blocking_threads(16)
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: server::Config) -> anyhow::Result<()> {
    // Handlers go in before anything listens, so an early signal is a clean shutdown too.
    let mut signals = Signals::install()?;
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
    let signal = signals.next().await;
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
        second = signals.next() => {
            anyhow::bail!("second {second} during shutdown; exiting at once")
        }
    }
}

/// SIGTERM and SIGINT, watched from start-up on.
struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            terminate: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
            interrupt: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
        })
    }

    /// Waits for the next signal and names it.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }
}
