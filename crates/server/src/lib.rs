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
pub mod dashboards;
mod datadir;
pub mod db;
pub mod disk;
mod error;
pub mod graphite_source;
pub mod http;
pub mod ingest;
mod listeners;
pub mod pipeline;
pub mod projects;
pub mod read;
mod selfmon;
pub mod telemetry;
#[cfg(feature = "testkit")]
pub mod testkit;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle as ThreadHandle;
use std::time::{Duration, Instant};

use model::SharedClock;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tsdb::Tsdb;

pub use config::{Config, Secret};
pub use datadir::{DataDir, control_db_path, running_server_url};
pub use error::{Error, Result};
pub use ingest::net::resolve as resolve_listen_addr;
pub use listeners::{ListenerKind, Listeners};

use auth::Auth;
use db::ControlDb;
use ingest::carbon::{self, CarbonContext};
use ingest::statsd::{self as statsd_listener, Statsd};
use ingest::{tcp, udp};
use pipeline::{ErrorSink, EventSink, MetricSink};
use telemetry::Telemetry;

/// A running node.
#[derive(Debug)]
pub struct Handle {
    addresses: Vec<(ListenerKind, SocketAddr)>,
    shutdown: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    connections: TaskTracker,
    threads: Vec<ThreadHandle<()>>,
    writer: Option<ThreadHandle<()>>,
    statsd: Arc<Statsd>,
    ready: Arc<AtomicBool>,
    telemetry: Arc<Telemetry>,
    db: ControlDb,
    tsdb: Tsdb,
    events: Arc<events::EventStore>,
    ingest_gate: Arc<http::gate::IngestGate>,
    issues: Arc<issues::IssueStore>,
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
    mut config: Config,
    data_dir: DataDir,
    listeners: Listeners,
    clock: SharedClock,
) -> Result<Handle> {
    config.validate().map_err(|e| Error::Config {
        key: e.key,
        reason: e.reason,
    })?;
    let addresses = listeners.addresses()?;
    // The address actually bound (port 0 picks one), so DSNs name the port SDKs can reach.
    config.http.addr = listeners.http.local_addr()?;
    // CLI commands run beside this server (`project create`) print its URL, not the config's.
    if let Err(e) = data_dir.record_running(&config.public_url()) {
        tracing::warn!(error = %e, "could not record the running server's URL in the data directory");
    }
    let db = ControlDb::open(&data_dir.control_db_path())?;
    let auth = Auth::new(db.clone(), clock.clone(), &config.auth);
    let generated_admin_password = auth.bootstrap(&config.auth)?;
    let tsdb = open_tsdb(&config, &data_dir, clock.clone()).await?;
    let events = open_events(&config, &data_dir).await?;
    let issues = open_issues(&data_dir).await?;
    let dashboards = Arc::new(
        dashboards::Library::load(config.ui.dashboards_dir.as_deref())
            .map_err(|e| Error::Dashboards(e.to_string()))?,
    );
    let (sink, writer) = pipeline::start_writer(tsdb.clone(), clock.now().as_nanos());

    let telemetry = Arc::new(Telemetry::default());
    let ready = Arc::new(AtomicBool::new(false));
    let shutdown = CancellationToken::new();
    let disk = Arc::new(disk::DiskGuard::new(
        data_dir.path().to_owned(),
        config.min_free_disk.get(),
    ));
    let mut node = Node {
        config: &config,
        clock: clock.clone(),
        telemetry: Arc::clone(&telemetry),
        sink,
        shutdown: shutdown.clone(),
        connections: TaskTracker::new(),
        tasks: Vec::new(),
        threads: Vec::new(),
        disk: Arc::clone(&disk),
    };
    node.tasks.push((
        "disk-guard",
        tokio::spawn(Arc::clone(&disk).run(shutdown.clone())),
    ));
    let http_stats = telemetry.listener(ListenerKind::Http.name());
    let (event_sink, commit_task) = EventSink::start(Arc::clone(&events), shutdown.clone())?;
    node.tasks.push(("events-commit", commit_task));
    let ingest_gate = Arc::new(http::gate::IngestGate::new(
        config.http.max_inflight_ingest,
        Arc::clone(&disk),
    ));
    let (error_sink, [writer_task, copies_task]) =
        ErrorSink::start(Arc::clone(&issues), event_sink.clone());
    node.tasks.push(("sentry-writer", writer_task));
    node.tasks.push(("sentry-copies", copies_task));
    node.start_carbon(&listeners)?;
    node.start_logs(&listeners, &event_sink)?;
    let statsd = node.start_statsd(&listeners)?;
    let state = http::AppState {
        config: Arc::new(config.clone()),
        clock: clock.clone(),
        auth,
        http_stats,
        telemetry: Arc::clone(&telemetry),
        responses: Arc::default(),
        ready: Arc::clone(&ready),
        started: Instant::now(),
        metrics: read::MetricsReader::new(tsdb.clone()),
        events: read::EventsReader::new(events.clone(), config.query.memory_per_query.get()),
        issues: read::IssuesReader::new(issues.clone()),
        sinks: pipeline::Sinks {
            metrics: node.sink.clone(),
            events: event_sink,
            errors: error_sink,
        },
        db: db.clone(),
        sentry: Arc::new(http::sentry::SentryCounters::new(&telemetry)),
        ingest_gate: Arc::clone(&ingest_gate),
        query_memory: model::budget::MemoryPool::new(config.query.memory_total.get()),
        dashboards,
        shutdown: shutdown.clone(),
    };
    node.tasks.push((
        "maintenance",
        tokio::spawn(
            Maintenance {
                events: Arc::clone(&events),
                issues: Arc::clone(&issues),
                config: config.clone(),
                clock: clock.clone(),
                days_dropped: telemetry.counter(
                    "sightline_events_days_dropped_total",
                    "Days of events dropped by the retention ([events] retention).",
                ),
                samples_dropped: telemetry.counter(
                    "sightline_issues_samples_dropped_total",
                    "Sample error events removed by the retention ([issues] sample_retention).",
                ),
            }
            .run(shutdown.clone()),
        ),
    ));
    let monitor = selfmon::SelfMonitor {
        telemetry: Arc::clone(&telemetry),
        responses: Arc::clone(&state.responses),
        tsdb: tsdb.clone(),
        events: Arc::clone(&events),
        data_dir: data_dir.path().to_owned(),
        sink: node.sink.clone(),
        clock,
    };
    node.tasks
        .push(("selfmon", tokio::spawn(monitor.run(shutdown.clone()))));
    let connection_limits = http::ConnectionLimits::of(&state.config);
    let router = http::router(state);
    let token = shutdown.clone();
    let http_listener = listeners.http;
    node.tasks.push((
        ListenerKind::Http.name(),
        tokio::spawn(async move {
            if let Err(e) = http::serve(http_listener, router, connection_limits, token).await {
                tracing::error!(listener = "http", error = %e, "listener stopped");
            }
        }),
    ));

    ready.store(true, Ordering::SeqCst);
    for (kind, addr) in &addresses {
        tracing::info!(listener = kind.name(), %addr, "listening");
    }
    let Node {
        tasks,
        threads,
        connections,
        ..
    } = node;
    Ok(Handle {
        addresses,
        shutdown,
        tasks,
        connections,
        threads,
        writer: Some(writer),
        statsd,
        ready,
        telemetry,
        db,
        tsdb,
        events,
        ingest_gate,
        issues,
        generated_admin_password,
        grace: config.shutdown_grace.get(),
        data_dir,
    })
}

async fn open_tsdb(config: &Config, data_dir: &DataDir, clock: SharedClock) -> Result<Tsdb> {
    let dir = data_dir.path().join("tsdb");
    let tsdb_config = config.tsdb.clone();
    tokio::task::spawn_blocking(move || Tsdb::open(&dir, &tsdb_config, clock))
        .await
        .map_err(|e| Error::Task(e.to_string()))?
        .map_err(Error::from)
}

async fn open_issues(data_dir: &DataDir) -> Result<Arc<issues::IssueStore>> {
    let path = data_dir.path().join("issues.db");
    tokio::task::spawn_blocking(move || issues::IssueStore::open(&path))
        .await
        .map_err(|e| Error::Task(e.to_string()))?
        .map(Arc::new)
        .map_err(Error::from)
}

async fn open_events(config: &Config, data_dir: &DataDir) -> Result<Arc<events::EventStore>> {
    let dir = data_dir.path().join("events");
    let store_config = events::StoreConfig {
        max_event_size: config.logs.max_record_size.as_usize(),
        ..events::StoreConfig::default()
    };
    tokio::task::spawn_blocking(move || events::EventStore::open(&dir, store_config))
        .await
        .map_err(|e| Error::Task(e.to_string()))?
        .map(Arc::new)
        .map_err(Error::from)
}

/// The retentions, applied at start and every `maintenance_interval` until shutdown: the
/// event store's whole days past `[events] retention`, and sample error events past
/// `[issues] sample_retention`. A retention of zero keeps everything.
struct Maintenance {
    events: Arc<events::EventStore>,
    issues: Arc<issues::IssueStore>,
    config: Config,
    clock: SharedClock,
    days_dropped: Arc<std::sync::atomic::AtomicU64>,
    samples_dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl Maintenance {
    async fn run(self, shutdown: CancellationToken) {
        let nanos = |d: model::HumanDuration| i64::try_from(d.get().as_nanos()).unwrap_or(i64::MAX);
        let keep_events = nanos(self.config.events.retention);
        let keep_samples = nanos(self.config.issues.sample_retention);
        let mut ticks = tokio::time::interval(self.config.maintenance_interval.get());
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = shutdown.cancelled() => return,
            }
            let now = self.clock.now().as_nanos();
            if keep_events > 0 {
                let store = Arc::clone(&self.events);
                let cut = now.saturating_sub(keep_events);
                match tokio::task::spawn_blocking(move || store.drop_before(cut)).await {
                    Ok(Ok(days)) if !days.is_empty() => {
                        self.days_dropped
                            .fetch_add(days.len() as u64, Ordering::Relaxed);
                        tracing::info!(days = %days.join(", "), "dropped events past the retention");
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "could not drop events past the retention")
                    }
                    Err(e) => tracing::error!(error = %e, "event retention failed"),
                }
            }
            if keep_samples > 0 {
                let store = Arc::clone(&self.issues);
                let cut = now.saturating_sub(keep_samples).div_euclid(1_000_000_000);
                match tokio::task::spawn_blocking(move || store.drop_samples_before(cut)).await {
                    Ok(Ok((0, _))) => {}
                    Ok(Ok((events, attachments))) => {
                        self.samples_dropped.fetch_add(events, Ordering::Relaxed);
                        tracing::info!(
                            events,
                            attachments,
                            "removed sample events past the retention"
                        );
                    }
                    Ok(Err(e)) => tracing::error!(error = %e, "could not remove old sample events"),
                    Err(e) => tracing::error!(error = %e, "sample retention failed"),
                }
            }
        }
    }
}

/// What the listeners are started from.
struct Node<'a> {
    config: &'a Config,
    clock: SharedClock,
    telemetry: Arc<Telemetry>,
    sink: MetricSink,
    shutdown: CancellationToken,
    connections: TaskTracker,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    threads: Vec<ThreadHandle<()>>,
    /// The free-space floor every ingest path stops at.
    disk: Arc<disk::DiskGuard>,
}

impl Node<'_> {
    /// Serves a TCP listener until shutdown, one task per connection running `handle`.
    fn spawn_tcp<H, F>(
        &mut self,
        kind: ListenerKind,
        listener: &std::net::TcpListener,
        stats: Arc<telemetry::ListenerStats>,
        allow: &[config::Cidr],
        max_connections: usize,
        handle: H,
    ) -> Result<()>
    where
        H: Fn(tokio::net::TcpStream, SocketAddr) -> F + Send + Sync + 'static,
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let serve = tcp::serve(
            listener.try_clone()?,
            stats,
            allow.to_vec(),
            max_connections,
            self.shutdown.clone(),
            self.connections.clone(),
            handle,
        );
        self.tasks.push((kind.name(), tokio::spawn(serve)));
        Ok(())
    }

    fn carbon_context(&self, kind: ListenerKind) -> CarbonContext {
        CarbonContext {
            sink: self.sink.clone(),
            clock: self.clock.clone(),
            stats: self.telemetry.listener(kind.name()),
            max_line: self.config.carbon.max_line_length.as_usize(),
            shutdown: self.shutdown.clone(),
            disk: Arc::clone(&self.disk),
        }
    }

    fn logs_context(&self, kind: ListenerKind, sink: &EventSink) -> ingest::logs::LogsContext {
        ingest::logs::LogsContext {
            sink: sink.clone(),
            clock: self.clock.clone(),
            stats: self.telemetry.listener(kind.name()),
            max_record: self.config.logs.max_record_size.as_usize(),
            shutdown: self.shutdown.clone(),
            tz: jiff::tz::db()
                .get(&self.config.logs.syslog_timezone)
                .unwrap_or(jiff::tz::TimeZone::UTC),
            disk: Arc::clone(&self.disk),
        }
    }

    fn start_logs(&mut self, listeners: &Listeners, sink: &EventSink) -> Result<()> {
        let c = &self.config.logs;
        let tcp = [
            (ListenerKind::SyslogTcp, &listeners.syslog_tcp),
            (ListenerKind::JsonLinesTcp, &listeners.json_lines_tcp),
        ];
        for (kind, listener) in tcp {
            let Some(l) = listener else { continue };
            let ctx = self.logs_context(kind, sink);
            let stats = Arc::clone(&ctx.stats);
            if kind == ListenerKind::SyslogTcp {
                let handle = move |s, p| ingest::logs::syslog_connection(s, p, ctx.clone());
                self.spawn_tcp(kind, l, stats, &c.allow, c.max_connections, handle)?;
            } else {
                let handle = move |s, p| ingest::logs::json_lines_connection(s, p, ctx.clone());
                self.spawn_tcp(kind, l, stats, &c.allow, c.max_connections, handle)?;
            }
        }
        if let Some(socket) = &listeners.syslog_udp {
            let ctx = self.logs_context(ListenerKind::SyslogUdp, sink);
            let mut log = None;
            let stats = Arc::clone(&ctx.stats);
            let thread = udp::spawn(
                socket.try_clone()?,
                stats,
                c.allow.clone(),
                c.udp_receive_buffer.as_usize(),
                Arc::clone(&self.disk),
                self.shutdown.clone(),
                move |d, p| ingest::logs::syslog_datagram(d, p, &ctx, &mut log),
            )?;
            self.threads.push(thread);
        }
        Ok(())
    }

    fn start_carbon(&mut self, listeners: &Listeners) -> Result<()> {
        let c = &self.config.carbon;
        if let Some(l) = &listeners.carbon_tcp {
            let ctx = self.carbon_context(ListenerKind::CarbonTcp);
            let stats = Arc::clone(&ctx.stats);
            let handle = move |s, p| carbon::plaintext_connection(s, p, ctx.clone());
            self.spawn_tcp(
                ListenerKind::CarbonTcp,
                l,
                stats,
                &c.allow,
                c.max_connections,
                handle,
            )?;
        }
        if let Some(l) = &listeners.carbon_pickle {
            let ctx = self.carbon_context(ListenerKind::CarbonPickle);
            let stats = Arc::clone(&ctx.stats);
            let handle = move |s, p| carbon::pickle_connection(s, p, ctx.clone());
            self.spawn_tcp(
                ListenerKind::CarbonPickle,
                l,
                stats,
                &c.allow,
                c.max_connections,
                handle,
            )?;
        }
        if let Some(socket) = &listeners.carbon_udp {
            let ctx = self.carbon_context(ListenerKind::CarbonUdp);
            let mut log = None;
            let stats = Arc::clone(&ctx.stats);
            let thread = udp::spawn(
                socket.try_clone()?,
                stats,
                c.allow.clone(),
                c.udp_receive_buffer.as_usize(),
                Arc::clone(&self.disk),
                self.shutdown.clone(),
                move |d, p| carbon::plaintext_datagram(d, p, &ctx, &mut log),
            )?;
            self.threads.push(thread);
        }
        Ok(())
    }

    fn start_statsd(&mut self, listeners: &Listeners) -> Result<Arc<Statsd>> {
        let c = &self.config.statsd;
        let statsd = Statsd::new(
            c,
            self.sink.clone(),
            self.clock.clone(),
            self.telemetry.listener("statsd_flush"),
            self.telemetry.counter(
                "sightline_statsd_events_total",
                "DogStatsD events received (kept as counts until the events store takes them).",
            ),
        );
        let statsd_for_handle = Arc::clone(&statsd);
        let flusher = statsd_listener::run_flusher(
            Arc::clone(&statsd),
            c.flush_interval.get(),
            self.shutdown.clone(),
        );
        self.tasks.push(("statsd_flush", tokio::spawn(flusher)));
        if let Some(socket) = &listeners.statsd_udp {
            let stats = self.telemetry.listener(ListenerKind::StatsdUdp.name());
            let (sd, st) = (Arc::clone(&statsd), Arc::clone(&stats));
            let mut log = None;
            let thread = udp::spawn(
                socket.try_clone()?,
                stats,
                c.allow.clone(),
                c.udp_receive_buffer.as_usize(),
                Arc::clone(&self.disk),
                self.shutdown.clone(),
                move |d, p| statsd_listener::datagram(&sd, d, p, &st, &mut log),
            )?;
            self.threads.push(thread);
        }
        if let Some(l) = &listeners.statsd_tcp {
            let stats = self.telemetry.listener(ListenerKind::StatsdTcp.name());
            let (max_line, token, st, disk) = (
                c.max_line_length.as_usize(),
                self.shutdown.clone(),
                Arc::clone(&stats),
                Arc::clone(&self.disk),
            );
            let handle = move |s, p| {
                statsd_listener::tcp_connection(
                    s,
                    p,
                    Arc::clone(&statsd),
                    Arc::clone(&st),
                    max_line,
                    Arc::clone(&disk),
                    token.clone(),
                )
            };
            self.spawn_tcp(
                ListenerKind::StatsdTcp,
                l,
                stats,
                &c.allow,
                c.max_connections,
                handle,
            )?;
        }
        Ok(statsd_for_handle)
    }
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

    /// The metric store.
    pub fn tsdb(&self) -> &Tsdb {
        &self.tsdb
    }

    /// The event store.
    pub fn events(&self) -> &events::EventStore {
        &self.events
    }

    /// Received Sentry events.
    pub fn issues(&self) -> &issues::IssueStore {
        &self.issues
    }

    /// The ingest routes' byte budget (tests take from it to stand for requests in flight).
    pub fn ingest_gate(&self) -> &http::gate::IngestGate {
        &self.ingest_gate
    }

    /// Flushes statsd's aggregates now, as the flush interval would (for tests and tooling).
    pub async fn flush_statsd(&self) {
        self.statsd.flush().await;
    }

    /// A future that completes when shutdown has been requested.
    pub fn shutdown_requested(&self) -> tokio_util::sync::WaitForCancellationFutureOwned {
        self.shutdown.clone().cancelled_owned()
    }

    /// Stops the node: refuse new work, drain within the grace period, flush, unlock.
    pub async fn shutdown(mut self) -> ShutdownReport {
        self.ready.store(false, Ordering::SeqCst);
        self.shutdown.cancel();
        let deadline = tokio::time::Instant::now() + self.grace;
        let mut cut = Vec::new();
        for (name, mut task) in std::mem::take(&mut self.tasks) {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                tracing::warn!(
                    task = name,
                    "still busy when the shutdown grace ended; cutting it"
                );
                task.abort();
                cut.push(name);
            }
        }
        self.connections.close();
        if tokio::time::timeout_at(deadline, self.connections.wait())
            .await
            .is_err()
        {
            cut.push("connections");
        }
        let threads = std::mem::take(&mut self.threads);
        let writer = self.writer.take();
        // The last sink: with it and the tasks and threads gone, the writer drains and ends.
        drop(self.statsd);
        let drained = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
            if let Some(w) = writer {
                let _ = w.join();
            }
        });
        if tokio::time::timeout_at(deadline, drained).await.is_err() {
            tracing::warn!("ingest threads still busy when the shutdown grace ended");
            cut.push("ingest");
        }
        let tsdb = self.tsdb.clone();
        let events = Arc::clone(&self.events);
        match tokio::task::spawn_blocking(move || events.commit()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "could not commit the event store"),
            Err(e) => tracing::error!(error = %e, "event store shutdown failed"),
        }
        match tokio::task::spawn_blocking(move || tsdb.close()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "could not close the metric store cleanly"),
            Err(e) => tracing::error!(error = %e, "metric store shutdown failed"),
        }
        if let Err(e) = self.db.checkpoint() {
            tracing::warn!(error = %e, "could not checkpoint the control database");
        }
        self.data_dir.clear_running();
        tracing::info!("shutdown complete");
        ShutdownReport { cut }
    }
}
