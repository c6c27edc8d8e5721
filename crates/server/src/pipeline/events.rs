//! The event sink: every write into the event store goes through here. It adds batches on the
//! blocking pool, commits on a timer (sooner when a request waits to read what it wrote), feeds
//! the live tails, and answers read-after-write waits (`refresh`).

use std::sync::Arc;
use std::time::Duration;

use events::{EventStore, EventsError};
use model::LogEvent;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::refresh::{Refresh, RefreshMode};

/// How many events a slow tail may fall behind before it is told it skipped some.
const TAIL_BUFFER: usize = 4096;

/// The positions in a batch the store refused, and why.
pub type Refused = Vec<(usize, String)>;

/// Why a batch was not stored.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error(transparent)]
    Store(#[from] EventsError),
    #[error("the event writer stopped: {0}")]
    Stopped(String),
}

/// A stored batch: what the store refused, and the store's batch count once it was added
/// (what [`EventSink::searchable`] waits for).
#[derive(Debug)]
pub struct Stored {
    pub refused: Refused,
    pub batch: u64,
}

/// The way into the event store, shared by every listener and route.
#[derive(Debug, Clone)]
pub struct EventSink {
    store: Arc<EventStore>,
    refresh: Arc<Refresh>,
    tail: broadcast::Sender<Arc<LogEvent>>,
}

impl EventSink {
    /// The sink over `store`, and its commit task (which ends at shutdown).
    pub fn start(
        store: Arc<EventStore>,
        shutdown: CancellationToken,
    ) -> Result<(EventSink, tokio::task::JoinHandle<()>), EventsError> {
        let (tail, _) = broadcast::channel(TAIL_BUFFER);
        let feed = tail.clone();
        store.on_added(Box::new(move |batch| {
            if feed.receiver_count() > 0 {
                for event in batch {
                    let _ = feed.send(Arc::new((*event).clone()));
                }
            }
        }))?;
        let refresh = Refresh::new();
        let task = tokio::spawn(commit_events(
            Arc::clone(&store),
            Arc::clone(&refresh),
            shutdown,
        ));
        Ok((
            EventSink {
                store,
                refresh,
                tail,
            },
            task,
        ))
    }

    /// Stores `events`: durable when this returns.
    pub async fn add(&self, events: Vec<LogEvent>) -> Result<Stored, AddError> {
        if events.is_empty() {
            return Ok(Stored {
                refused: Vec::new(),
                batch: 0,
            });
        }
        let store = Arc::clone(&self.store);
        let (refused, batch) = tokio::task::spawn_blocking(move || {
            store
                .add(events)
                .map(|refused| (refused, store.added_batches()))
        })
        .await
        .map_err(|e| AddError::Stopped(e.to_string()))??;
        Ok(Stored { refused, batch })
    }

    /// Waits as `mode` asks until a stored batch is searchable; false if the wait ran out.
    pub async fn searchable(&self, stored: &Stored, mode: RefreshMode) -> bool {
        self.refresh.wait(stored.batch, mode).await
    }

    /// [`EventSink::add`] from a thread that may block, without waiting to be searchable.
    pub fn add_blocking(&self, events: Vec<LogEvent>) -> Result<Refused, EventsError> {
        self.store.add(events)
    }

    /// Every event stored from now on, for a live tail.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LogEvent>> {
        self.tail.subscribe()
    }
}

/// More events than this pending at a tick is a bulk load, committed every
/// [`EVENTS_BULK_COMMIT_INTERVAL`] rather than every tick.
const EVENTS_BURST: u64 = 20_000;
const EVENTS_BULK_COMMIT_INTERVAL: Duration = Duration::from_secs(5);

/// How often added events become searchable (they are durable in the WAL before that).
const EVENTS_COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// Commits the event store on a timer until shutdown, sooner when a request waits to read
/// what it wrote (`refresh`).
async fn commit_events(
    store: Arc<events::EventStore>,
    refresh: Arc<Refresh>,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(EVENTS_COMMIT_INTERVAL);
    let mut last = tokio::time::Instant::now();
    loop {
        let urgent = tokio::select! {
            _ = ticks.tick() => refresh.take_soon(),
            () = refresh.wanted_now() => true,
            () = shutdown.cancelled() => return,
        };
        // A trickle is searchable within a second; a bulk load commits every few seconds, so
        // it makes fewer, larger segments (each commit is a segment that merges later).
        let pending = store.pending().unwrap_or(0);
        let bulk = pending >= EVENTS_BURST && last.elapsed() < EVENTS_BULK_COMMIT_INTERVAL;
        if !urgent && (pending == 0 || bulk) {
            continue;
        }
        last = tokio::time::Instant::now();
        let committing = Arc::clone(&store);
        match tokio::task::spawn_blocking(move || committing.commit()).await {
            Ok(Ok(())) => refresh.committed(store.visible_batches()),
            Ok(Err(e)) => tracing::error!(error = %e, "could not commit the event store"),
            Err(e) => tracing::error!(error = %e, "event store commit failed"),
        }
    }
}
