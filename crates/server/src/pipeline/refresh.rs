//! Read-after-write for events: `?refresh=wait_for` (Elasticsearch's meaning) on `_bulk` and
//! `/api/v1/ingest` answers only once the request's events are searchable.
//!
//! Events are durable when `EventStore::add` returns and searchable after the next commit: the
//! commit task runs every second for a trickle and every five seconds during a bulk load. A
//! waiting request makes the next tick commit whatever the load (`wait_for`), or asks for a
//! commit at once (`true`, as Elasticsearch's `refresh=true` refreshes at once); either way it
//! then waits until the store says a commit covered its batch. Many waiters share one commit.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};

/// The longest a request waits for its events to become searchable before answering anyway.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// What a request asks of `refresh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefreshMode {
    /// Answer once durable (the default).
    #[default]
    No,
    /// Answer once searchable, at the next commit tick.
    WaitFor,
    /// Commit now, then answer.
    Now,
}

impl FromStr for RefreshMode {
    type Err = String;

    /// Elasticsearch's values: `false`, `wait_for`, and `true` or an empty value.
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "false" => Ok(RefreshMode::No),
            "wait_for" => Ok(RefreshMode::WaitFor),
            "true" | "" => Ok(RefreshMode::Now),
            other => Err(format!(
                "refresh is `true`, `false` or `wait_for`, not `{other}`"
            )),
        }
    }
}

/// Shared by the commit task and the ingest routes.
#[derive(Debug)]
pub struct Refresh {
    /// The store's `visible_batches` after the last commit.
    visible: watch::Sender<u64>,
    /// Set by a `wait_for` request: the next tick commits whatever the load.
    soon: AtomicBool,
    /// Woken by a `true` request: the commit task commits at once.
    now: Notify,
}

impl Default for Refresh {
    fn default() -> Self {
        Refresh {
            visible: watch::Sender::new(0),
            soon: AtomicBool::new(false),
            now: Notify::new(),
        }
    }
}

impl Refresh {
    pub fn new() -> Arc<Refresh> {
        Arc::new(Refresh::default())
    }

    /// Called by the commit task after each commit with the store's visible batches.
    pub fn committed(&self, visible: u64) {
        self.visible.send_if_modified(|v| {
            let changed = visible > *v;
            *v = (*v).max(visible);
            changed
        });
    }

    /// Whether a waiter wants the next tick to commit (and clears the wish).
    pub fn take_soon(&self) -> bool {
        self.soon.swap(false, Ordering::SeqCst)
    }

    /// Resolves when a request asks for a commit at once.
    pub async fn wanted_now(&self) {
        self.now.notified().await;
    }

    /// Waits until batch `seq` (the store's `added_batches` after the request's `add`) is
    /// searchable, at most [`MAX_WAIT`]; false if it is not by then.
    pub async fn wait(&self, seq: u64, mode: RefreshMode) -> bool {
        match mode {
            RefreshMode::No => return true,
            RefreshMode::WaitFor => self.soon.store(true, Ordering::SeqCst),
            RefreshMode::Now => self.now.notify_one(),
        }
        let mut visible = self.visible.subscribe();
        tokio::time::timeout(MAX_WAIT, visible.wait_for(|v| *v >= seq))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_as_elasticsearch_writes_them() {
        assert_eq!("wait_for".parse(), Ok(RefreshMode::WaitFor));
        assert_eq!("true".parse(), Ok(RefreshMode::Now));
        assert_eq!("".parse(), Ok(RefreshMode::Now));
        assert_eq!("false".parse(), Ok(RefreshMode::No));
        assert!("soon".parse::<RefreshMode>().is_err());
    }

    #[tokio::test]
    async fn a_waiter_returns_once_a_commit_covers_its_batch() {
        let refresh = Refresh::new();
        let waiter = {
            let refresh = Arc::clone(&refresh);
            tokio::spawn(async move { refresh.wait(3, RefreshMode::WaitFor).await })
        };
        tokio::task::yield_now().await;
        refresh.committed(2);
        assert!(refresh.take_soon(), "the waiter asked for the next tick");
        refresh.committed(3);
        assert!(waiter.await.unwrap());
        assert!(refresh.wait(1, RefreshMode::Now).await, "already visible");
    }
}
