//! The metric sink: one bounded queue into the TSDB, one writer thread, acknowledgements by
//! the WAL commit sequence, and OTLP metrics translated into points on the way in.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use model::PointBatch;
use tokio::sync::{mpsc, oneshot};
use tsdb::Tsdb;

use crate::telemetry::ListenerStats;

/// Batches waiting for the writer, at most. A batch is one read buffer's lines (up to about
/// 1,500 points), so this bounds the queue to about 100,000 points and a few megabytes.
const QUEUE_BATCHES: usize = 64;

/// One batch on its way to the store.
#[derive(Debug)]
struct Ingest {
    batch: PointBatch,
    origin: Arc<ListenerStats>,
    durable: Option<oneshot::Sender<bool>>,
}

/// The way into the metric store, shared by every listener.
#[derive(Debug, Clone)]
pub struct MetricSink {
    tx: mpsc::Sender<Ingest>,
    /// OTLP metrics into points: one translator for every request, since cumulative series
    /// are turned into increases against their previous point, whichever request held it.
    otlp: Arc<std::sync::Mutex<wire::otlp_metrics::Translator>>,
}

/// The store has shut down; nothing more can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkClosed;

impl MetricSink {
    /// Queues a batch, waiting for room: the caller's reads pause while the queue is full.
    pub async fn send(
        &self,
        batch: PointBatch,
        origin: &Arc<ListenerStats>,
    ) -> Result<(), SinkClosed> {
        if batch.is_empty() {
            return Ok(());
        }
        self.enqueue(batch, origin, None).await
    }

    /// Puts a batch on the queue, counted in its origin's queue depth until written.
    async fn enqueue(
        &self,
        batch: PointBatch,
        origin: &Arc<ListenerStats>,
        durable: Option<oneshot::Sender<bool>>,
    ) -> Result<(), SinkClosed> {
        origin
            .queue_depth
            .fetch_add(batch.len() as i64, Ordering::Relaxed);
        let ingest = Ingest {
            batch,
            origin: Arc::clone(origin),
            durable,
        };
        self.tx.send(ingest).await.map_err(|e| {
            e.0.origin
                .queue_depth
                .fetch_sub(e.0.batch.len() as i64, Ordering::Relaxed);
            SinkClosed
        })
    }

    /// Queues a batch and waits until it is durable (in the fsynced WAL); false if it is not
    /// within `timeout`.
    pub async fn send_durable(
        &self,
        batch: PointBatch,
        origin: &Arc<ListenerStats>,
        timeout: Duration,
    ) -> Result<bool, SinkClosed> {
        let (tx, rx) = oneshot::channel();
        self.enqueue(batch, origin, Some(tx)).await?;
        Ok(tokio::time::timeout(timeout, rx)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false))
    }

    /// An OTLP metrics request as Graphite points (the mapping is `wire::otlp_metrics`'s).
    pub fn translate_otlp(&self, request: &wire::otlp_metrics::MetricsRequest) -> PointBatch {
        let mut batch = PointBatch::new();
        let mut translator = self.otlp.lock().unwrap_or_else(|e| e.into_inner());
        translator.translate(request, &mut |name, ts, value| batch.push(name, ts, value));
        batch
    }

    /// Queues a batch if there is room, from any thread; otherwise counts it dropped.
    pub fn try_send(&self, batch: PointBatch, origin: &Arc<ListenerStats>) -> bool {
        if batch.is_empty() {
            return true;
        }
        let len = batch.len();
        origin.queue_depth.fetch_add(len as i64, Ordering::Relaxed);
        match self.tx.try_send(Ingest {
            batch,
            origin: Arc::clone(origin),
            durable: None,
        }) {
            Ok(()) => true,
            Err(_) => {
                origin.queue_depth.fetch_sub(len as i64, Ordering::Relaxed);
                origin.dropped.fetch_add(len as u64, Ordering::Relaxed);
                false
            }
        }
    }
}

/// A batch written, waiting for the WAL commit that makes it durable.
type PendingAck = (u64, oneshot::Sender<bool>);

/// Starts the writer thread (and the thread that acknowledges durable batches); the writer
/// ends when every sink is dropped and the queue is empty. `started_ns` is now: OTLP counters
/// that started after it count whole from their first point.
pub fn start_writer(tsdb: Tsdb, started_ns: i64) -> (MetricSink, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Ingest>(QUEUE_BATCHES);
    let (ack_tx, ack_rx) = std::sync::mpsc::channel::<PendingAck>();
    let acker_store = tsdb.clone();
    let acker = std::thread::Builder::new()
        .name("metric-acker".into())
        .spawn(move || {
            // Sequence numbers only grow, so waiting for each in turn never waits too long.
            for (seq, durable) in ack_rx {
                let _ = durable.send(acker_store.wait_durable(seq, Duration::from_secs(10)));
            }
        });
    let writer = std::thread::Builder::new()
        .name("metric-writer".into())
        .spawn(move || {
            while let Some(ingest) = rx.blocking_recv() {
                write_one(&tsdb, ingest, &ack_tx);
            }
        });
    #[allow(clippy::expect_used)] // Without these threads the node cannot start.
    let (writer, _acker) = (
        writer.expect("start the metric writer thread"),
        acker.expect("start the metric acker thread"),
    );
    let otlp = wire::otlp_metrics::Translator::new(u64::try_from(started_ns).unwrap_or(0));
    let sink = MetricSink {
        tx,
        otlp: Arc::new(std::sync::Mutex::new(otlp)),
    };
    (sink, writer)
}

fn write_one(tsdb: &Tsdb, ingest: Ingest, acks: &std::sync::mpsc::Sender<PendingAck>) {
    let len = ingest.batch.len();
    let origin = ingest.origin;
    match tsdb.write(&ingest.batch) {
        Ok(outcome) => {
            origin.dropped.fetch_add(
                (outcome.too_old + outcome.in_future + outcome.over_series_limit) as u64,
                Ordering::Relaxed,
            );
            if let Some(durable) = ingest.durable {
                let _ = acks.send((outcome.seq, durable));
            }
        }
        Err(e) => {
            origin.dropped.fetch_add(len as u64, Ordering::Relaxed);
            tracing::error!(listener = origin.name, error = %e, points = len, "could not store metric points");
            if let Some(durable) = ingest.durable {
                let _ = durable.send(false);
            }
        }
    }
    origin.queue_depth.fetch_sub(len as i64, Ordering::Relaxed);
}
