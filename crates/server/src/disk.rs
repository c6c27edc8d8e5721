//! The free-space floor (`min_free_disk`): below it, ingest stops taking data before the disk
//! fills, and what is stored stays whole.
//!
//! [`DiskGuard::run`] reads the data directory's file system (`statvfs`) every second. While
//! its free space is under the floor, the HTTP ingest routes answer in their protocols' own
//! "not now" (`super::http::body::receive` asks the guard first), TCP listeners stop reading
//! (senders block on their full socket buffers), and UDP datagrams are dropped and counted.
//! When space returns, everything resumes on the next check.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often free space is read.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Whether the data directory's file system is below the free-space floor.
#[derive(Debug)]
pub struct DiskGuard {
    dir: PathBuf,
    floor: u64,
    low: AtomicBool,
    /// Free bytes at the last check.
    pub free: AtomicU64,
    /// Requests and datagrams refused, and reads paused, for low disk.
    pub refused: AtomicU64,
}

impl DiskGuard {
    /// A guard of `dir` with a floor of `floor` bytes (0: none), checked once now.
    pub fn new(dir: PathBuf, floor: u64) -> DiskGuard {
        let guard = DiskGuard {
            dir,
            floor,
            low: AtomicBool::new(false),
            free: AtomicU64::new(u64::MAX),
            refused: AtomicU64::new(0),
        };
        guard.check();
        guard
    }

    /// Whether ingest must wait: free space is under the floor.
    pub fn is_low(&self) -> bool {
        self.low.load(Ordering::Relaxed)
    }

    /// The floor, in bytes.
    pub fn floor(&self) -> u64 {
        self.floor
    }

    /// Reads the free space now and updates the state, saying so when it changes.
    pub fn check(&self) {
        if self.floor == 0 {
            return;
        }
        let free = match rustix::fs::statvfs(&self.dir) {
            Ok(s) => s.f_bavail.saturating_mul(s.f_frsize),
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), error = %e, "cannot read the free disk space");
                return;
            }
        };
        self.free.store(free, Ordering::Relaxed);
        let low = free < self.floor;
        if self.low.swap(low, Ordering::Relaxed) != low {
            if low {
                tracing::error!(
                    free,
                    floor = self.floor,
                    "free disk space is below min_free_disk: ingest is paused"
                );
            } else {
                tracing::warn!(
                    free,
                    floor = self.floor,
                    "free disk space is back above min_free_disk: ingest resumes"
                );
            }
        }
    }

    /// Counts one thing refused or held for low disk.
    pub fn refuse(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Checks every second until shutdown.
    pub async fn run(self: std::sync::Arc<Self>, shutdown: CancellationToken) {
        if self.floor == 0 {
            return;
        }
        let mut ticks = tokio::time::interval(CHECK_EVERY);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = shutdown.cancelled() => return,
            }
            let guard = std::sync::Arc::clone(&self);
            let _ = tokio::task::spawn_blocking(move || guard.check()).await;
        }
    }

    /// Waits while free space is low (a TCP reader pausing); false if shutdown came first.
    pub async fn wait_for_space(&self, shutdown: &CancellationToken) -> bool {
        if !self.is_low() {
            return true;
        }
        self.refuse();
        while self.is_low() {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
                () = shutdown.cancelled() => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_floor_above_the_free_space_is_low_and_none_never_is() {
        let dir = std::env::temp_dir();
        assert!(DiskGuard::new(dir.clone(), u64::MAX).is_low());
        let none = DiskGuard::new(dir.clone(), 0);
        assert!(!none.is_low());
        let small = DiskGuard::new(dir, 1);
        assert!(!small.is_low());
        assert!(small.free.load(Ordering::Relaxed) > 0);
    }
}
