//! Backpressure for the HTTP ingest routes: a budget of bytes being stored at once. A request
//! that would exceed it is refused at once, before anything is written, with the peer's own
//! "try again" answer (429 for `_bulk` items, the NDJSON route and OTLP), rather than queueing
//! without bound in memory. One request alone always fits, however large (the body limits
//! bound it already).

use std::sync::atomic::{AtomicU64, Ordering};

use model::ByteSize;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Seconds a refused sender is asked to wait.
pub(crate) const RETRY_AFTER_SECS: u64 = 1;

#[derive(Debug)]
pub struct IngestGate {
    permits: Semaphore,
    capacity_kib: u32,
    /// Requests refused for capacity.
    pub refused: AtomicU64,
}

impl IngestGate {
    pub fn new(capacity: ByteSize) -> IngestGate {
        let kib = u32::try_from(capacity.as_usize() / 1024)
            .unwrap_or(u32::MAX)
            .clamp(1, Semaphore::MAX_PERMITS as u32);
        IngestGate {
            permits: Semaphore::new(kib as usize),
            capacity_kib: kib,
            refused: AtomicU64::new(0),
        }
    }

    /// A share of the budget for a body of `bytes`, held while it is stored; `None` when the
    /// requests already in flight leave too little.
    pub fn try_enter(&self, bytes: usize) -> Option<SemaphorePermit<'_>> {
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.capacity_kib);
        match self.permits.try_acquire_many(kib) {
            Ok(permit) => Some(permit),
            Err(_) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refuses_what_does_not_fit_and_frees_on_drop() {
        let gate = IngestGate::new(ByteSize::kib(10));
        let big = gate.try_enter(8 * 1024).expect("fits");
        assert!(gate.try_enter(4 * 1024).is_none(), "8 + 4 KiB > 10 KiB");
        let small = gate.try_enter(2 * 1024).expect("8 + 2 fits");
        drop(big);
        assert!(gate.try_enter(4 * 1024).is_some());
        drop(small);
        // One request larger than the whole budget still goes through alone…
        let huge = gate.try_enter(1 << 30).expect("alone, anything fits");
        // …and nothing beside it.
        assert!(gate.try_enter(1).is_none());
        drop(huge);
        assert_eq!(gate.refused.load(Ordering::Relaxed), 2);
    }
}
