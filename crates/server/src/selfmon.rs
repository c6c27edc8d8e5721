//! Self-monitoring: Sightline's own counters, written into its own metric store.
//!
//! Every 10 seconds the counters of `/metrics` are also stored as Graphite series under
//! `sightline.*`, as carbon stores `carbon.agents.*`, so the UI, Grafana and alert rules can
//! graph and watch Sightline itself: `sightline.listeners.<name>.<counter>`,
//! `sightline.tsdb.<counter>`, `sightline.http.responses.<class>`, `sightline.process.rss`,
//! and `sightline.<store>.disk_bytes` for each store ([`disk_usage`]).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use model::{PointBatch, SharedClock};
use tokio_util::sync::CancellationToken;
use tsdb::Tsdb;

use crate::http::ResponseStats;
use crate::ingest::MetricSink;
use crate::telemetry::{ListenerStats, Telemetry, resident_memory_bytes};

/// How often the counters are stored.
pub(crate) const INTERVAL: Duration = Duration::from_secs(10);

/// What the self-monitor reads.
#[derive(Debug, Clone)]
pub(crate) struct SelfMonitor {
    pub telemetry: Arc<Telemetry>,
    pub responses: Arc<ResponseStats>,
    pub tsdb: Tsdb,
    pub events: Arc<events::EventStore>,
    pub data_dir: std::path::PathBuf,
    pub sink: MetricSink,
    pub clock: SharedClock,
}

/// Bytes each store takes on disk, by name: the TSDB's files, the event store's indexes and
/// WAL, and the SQLite databases of issues and of the control plane (with their WAL files).
/// It reads the file system: call it off the async workers.
pub(crate) fn disk_usage(
    tsdb_bytes: u64,
    events_bytes: u64,
    data_dir: &std::path::Path,
) -> [(&'static str, u64); 4] {
    let sqlite = |name: &str| -> u64 {
        ["", "-wal", "-shm"]
            .iter()
            .map(|suffix| {
                std::fs::metadata(data_dir.join(format!("{name}{suffix}"))).map_or(0, |m| m.len())
            })
            .sum()
    };
    [
        ("tsdb", tsdb_bytes),
        ("events", events_bytes),
        ("issues", sqlite("issues.db")),
        ("control", sqlite("control.db")),
    ]
}

impl SelfMonitor {
    /// The counters as points stamped `ts`, with the stores' disk use.
    pub(crate) fn batch(&self, ts: i64, disk: &[(&'static str, u64)]) -> PointBatch {
        let mut batch = PointBatch::with_capacity(64);
        self.telemetry.for_each_listener(|l: &ListenerStats| {
            let counters = [
                ("received", l.received.load(Ordering::Relaxed) as f64),
                ("bytes", l.bytes.load(Ordering::Relaxed) as f64),
                (
                    "parse_errors",
                    l.parse_errors.load(Ordering::Relaxed) as f64,
                ),
                ("dropped", l.dropped.load(Ordering::Relaxed) as f64),
                ("queue_depth", l.queue_depth.load(Ordering::Relaxed) as f64),
            ];
            for (what, value) in counters {
                batch.push(&format!("sightline.listeners.{}.{what}", l.name), ts, value);
            }
        });
        let s = self.tsdb.stats();
        let usage = self.tsdb.usage();
        let tsdb = [
            (
                "points_written",
                s.points_written.load(Ordering::Relaxed) as f64,
            ),
            (
                "points_too_old",
                s.points_too_old.load(Ordering::Relaxed) as f64,
            ),
            (
                "points_in_future",
                s.points_in_future.load(Ordering::Relaxed) as f64,
            ),
            (
                "series_created",
                s.series_created.load(Ordering::Relaxed) as f64,
            ),
            ("wal_errors", s.wal_errors.load(Ordering::Relaxed) as f64),
            ("flushes", s.flushes.load(Ordering::Relaxed) as f64),
            ("merges", s.merges.load(Ordering::Relaxed) as f64),
            ("series", usage.series as f64),
            ("head_bytes", usage.head_bytes as f64),
            ("disk_bytes", usage.disk_bytes as f64),
        ];
        for (what, value) in tsdb {
            batch.push(&format!("sightline.tsdb.{what}"), ts, value);
        }
        for (class, count) in self.responses.snapshot() {
            batch.push(
                &format!("sightline.http.responses.{class}"),
                ts,
                count as f64,
            );
        }
        if let Some(rss) = resident_memory_bytes() {
            batch.push("sightline.process.rss", ts, rss as f64);
        }
        for (store, bytes) in disk {
            batch.push(&format!("sightline.{store}.disk_bytes"), ts, *bytes as f64);
        }
        batch
    }

    /// Stores the counters every [`INTERVAL`] until shutdown.
    pub(crate) async fn run(self, shutdown: CancellationToken) {
        let origin = Arc::new(ListenerStats::new("selfmon"));
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + INTERVAL, INTERVAL);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = shutdown.cancelled() => return,
            }
            let me = self.clone();
            let disk = tokio::task::spawn_blocking(move || {
                disk_usage(
                    me.tsdb.usage().disk_bytes,
                    me.events.disk_bytes(),
                    &me.data_dir,
                )
            })
            .await
            .unwrap_or_default();
            let batch = self.batch(self.clock.now().as_secs(), &disk);
            if self.sink.send(batch, &origin).await.is_err() {
                return;
            }
        }
    }
}
