//! Ingestion: from the listeners' sockets to the stores.
//!
//! Path of a metric point: a listener task reads bytes, frames and decodes them with `wire`,
//! and packs the good records into a [`PointBatch`]; it counts every record it received, every
//! parse error and every drop in its `ListenerStats`. The batch goes into the bounded
//! [`MetricSink`] channel: TCP listeners wait for room (so reads pause and the sender's kernel
//! buffer fills: backpressure), UDP listeners drop the batch and count it when there is none.
//! One writer thread takes batches off the channel and writes them into the TSDB, whose WAL
//! group commit makes them durable within `tsdb.commit_interval`.

pub mod carbon;
pub mod logs;
pub mod net;
pub mod refresh;
pub mod statsd;
mod statsd_agg;
pub mod tcp;
pub mod udp;

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
        origin
            .queue_depth
            .fetch_add(batch.len() as i64, Ordering::Relaxed);
        let ingest = Ingest {
            batch,
            origin: Arc::clone(origin),
            durable: None,
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
        origin
            .queue_depth
            .fetch_add(batch.len() as i64, Ordering::Relaxed);
        let ingest = Ingest {
            batch,
            origin: Arc::clone(origin),
            durable: Some(tx),
        };
        self.tx.send(ingest).await.map_err(|_| SinkClosed)?;
        Ok(tokio::time::timeout(timeout, rx)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false))
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
/// ends when every sink is dropped and the queue is empty.
pub fn start_writer(tsdb: Tsdb) -> (MetricSink, JoinHandle<()>) {
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
    (MetricSink { tx }, writer)
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
