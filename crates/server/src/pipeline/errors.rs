//! The error sink: Sentry events into the issue store in group commits (requests in flight at
//! the same moment share one transaction and one fsync, each answered once durable), their
//! copies into the event store (in batches, after the answers), check-ins, and the status
//! changes people make.

use std::sync::Arc;

use issues::{CheckIn, IssueStore, NewEvent};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::events::EventSink;

/// The most events one group commit takes.
const GROUP: usize = 64;

/// Error events waiting for the writer, at most.
const QUEUE: usize = 1024;

/// Copies waiting for the event store, at most; past it a copy is dropped (the issue keeps the
/// event).
const COPIES_QUEUE: usize = 4096;

/// A reply from the writer: the event's issue (`None` for a duplicate), and the parsed event
/// handed back.
type Reply = (Result<Option<i64>, String>, Value);

/// What became of one error event.
#[derive(Debug)]
pub struct Written {
    /// Its issue, `None` for a duplicate, or why it was not stored.
    pub issue: Result<Option<i64>, String>,
    /// Its copy for the event store was dropped, the queue being full.
    pub copy_dropped: bool,
}

/// The way into the issue store.
#[derive(Debug, Clone)]
pub struct ErrorSink {
    queue: mpsc::Sender<(NewEvent, oneshot::Sender<Reply>)>,
    copies: mpsc::Sender<model::LogEvent>,
    store: Arc<IssueStore>,
}

impl ErrorSink {
    /// The sink, its writer task and its copier task (both end when every sink is dropped).
    pub fn start(
        store: Arc<IssueStore>,
        events: EventSink,
    ) -> (ErrorSink, [tokio::task::JoinHandle<()>; 2]) {
        let (queue, rx) = mpsc::channel(QUEUE);
        let writer = tokio::spawn(write_groups(Arc::clone(&store), rx));
        let (copies, copies_rx) = mpsc::channel(COPIES_QUEUE);
        let copier = tokio::spawn(copy_batches(events, copies_rx));
        (
            ErrorSink {
                queue,
                copies,
                store,
            },
            [writer, copier],
        )
    }

    /// Stores one event (answered once durable), then queues its copy for the event store.
    pub async fn write(&self, event: NewEvent, now_ns: i64) -> Written {
        let stopped = || (Err("the event writer has stopped".to_owned()), Value::Null);
        let (project_id, event_id) = (event.project_id, event.event_id.clone());
        let (reply, answer) = oneshot::channel();
        let (issue, parsed) = if self.queue.send((event, reply)).await.is_err() {
            stopped()
        } else {
            answer.await.unwrap_or_else(|_| stopped())
        };
        let mut copy_dropped = false;
        if let Ok(Some(issue_id)) = issue {
            // Beside the user's other events: derived from the stored event, written after the
            // answer, in batches.
            let log =
                issues::normalize::log_event(&parsed, project_id, issue_id, &event_id, now_ns);
            copy_dropped = self.copies.try_send(log).is_err();
        }
        Written {
            issue,
            copy_dropped,
        }
    }

    /// Stores check-ins, in one blocking call.
    pub async fn check_ins(&self, project_id: i64, check_ins: Vec<CheckIn>) -> Result<(), String> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            check_ins
                .iter()
                .try_for_each(|ci| store.add_check_in(project_id, ci))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
    }

    /// Changes an issue's status (as `by`, at `at`); `None` for no such issue.
    pub async fn set_status(
        &self,
        id: i64,
        change: issues::store::StatusChange,
        at: i64,
        by: String,
    ) -> issues::store::Result<Option<issues::Issue>> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || store.set_status(id, &change, at, &by))
            .await
            .map_err(|_| issues::IssuesError::Poisoned)?
    }
}

/// Takes events off the queue in groups of up to [`GROUP`], one transaction each.
async fn write_groups(
    store: Arc<IssueStore>,
    mut rx: mpsc::Receiver<(NewEvent, oneshot::Sender<Reply>)>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < GROUP {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (events, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let store = Arc::clone(&store);
        let written = tokio::task::spawn_blocking(move || {
            let result = store.add_events(&events);
            (result, events)
        })
        .await;
        match written {
            Ok((result, events)) => {
                let ids: Vec<Result<Option<i64>, String>> = match result {
                    Ok(ids) => ids.into_iter().map(Ok).collect(),
                    Err(e) => vec![Err(e.to_string()); replies.len()],
                };
                for ((reply, id), e) in replies.into_iter().zip(ids).zip(events) {
                    let _ = reply.send((id, e.event));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send((Err(e.to_string()), Value::Null));
                }
            }
        }
    }
}

/// Writes copies into the event store in batches of up to 1,024.
async fn copy_batches(events: EventSink, mut rx: mpsc::Receiver<model::LogEvent>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < 1024 {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        if let Err(e) = events.add(batch).await {
            tracing::warn!(error = %e, "could not add Sentry events to the event store");
        }
    }
}
