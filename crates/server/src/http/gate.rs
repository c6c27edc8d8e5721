//! Backpressure for the HTTP ingest routes: one budget of bytes held by ingest requests at
//! once, shared by every route (NDJSON, `_bulk`, OTLP, Sentry). A request holds a
//! [`Reservation`] that grows as its body is read and decompressed (`super::body::receive`)
//! and is kept until what it carried is stored. A request that would exceed the budget is
//! refused at once, before anything is written, with the peer's own "try again" answer (429),
//! rather than queueing without bound in memory. No body may hold more than the whole budget
//! (it is answered 413, as too large for this server).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use model::ByteSize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

use crate::disk::DiskGuard;

/// Seconds a refused sender is asked to wait.
pub(crate) const RETRY_AFTER_SECS: u64 = 1;

#[derive(Debug)]
pub struct IngestGate {
    /// One permit per KiB.
    permits: Arc<Semaphore>,
    capacity_kib: u32,
    /// Requests refused for capacity.
    pub refused: AtomicU64,
    /// Closed while free disk space is under the floor.
    pub disk: Arc<DiskGuard>,
}

/// A share of the budget that grows as a body arrives; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    permits: Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
    kib: u32,
    capacity_kib: u32,
}

fn kib_of(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}

impl IngestGate {
    pub fn new(capacity: ByteSize, disk: Arc<DiskGuard>) -> IngestGate {
        let kib = u32::try_from(capacity.as_usize() / 1024)
            .unwrap_or(u32::MAX)
            .clamp(1, Semaphore::MAX_PERMITS as u32);
        IngestGate {
            permits: Arc::new(Semaphore::new(kib as usize)),
            capacity_kib: kib,
            refused: AtomicU64::new(0),
            disk,
        }
    }

    /// The whole budget in bytes.
    pub fn capacity(&self) -> usize {
        self.capacity_kib as usize * 1024
    }

    /// An empty share, to grow with [`Reservation::cover`].
    pub fn reserve(&self) -> Reservation {
        Reservation {
            permits: Arc::clone(&self.permits),
            held: None,
            kib: 0,
            capacity_kib: self.capacity_kib,
        }
    }

    /// A share of `bytes` at once; `None` when the requests already in flight leave too little.
    pub fn try_enter(&self, bytes: usize) -> Option<SemaphorePermit<'_>> {
        let kib = kib_of(bytes).clamp(1, self.capacity_kib);
        match self.permits.try_acquire_many(kib) {
            Ok(permit) => Some(permit),
            Err(_) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

impl Reservation {
    /// Holds at least `bytes` of the budget; false, holding what it held, when other requests
    /// leave too little or `bytes` is more than the whole budget.
    pub fn cover(&mut self, bytes: usize) -> bool {
        let want = kib_of(bytes);
        if want > self.capacity_kib {
            return false;
        }
        if want <= self.kib {
            return true;
        }
        match Arc::clone(&self.permits).try_acquire_many_owned(want - self.kib) {
            Ok(more) => {
                match &mut self.held {
                    Some(held) => held.merge(more),
                    None => self.held = Some(more),
                }
                self.kib = want;
                true
            }
            Err(_) => false,
        }
    }

    /// Gives back what is held beyond `bytes`.
    pub fn release_to(&mut self, bytes: usize) {
        let keep = kib_of(bytes);
        if keep < self.kib
            && let Some(held) = &mut self.held
        {
            drop(held.split((self.kib - keep) as usize));
            self.kib = keep;
        }
    }

    /// The bytes held.
    pub fn bytes(&self) -> usize {
        self.kib as usize * 1024
    }
}

/// A gate's disk guard with no floor (tests).
#[cfg(test)]
pub(crate) fn no_floor() -> Arc<DiskGuard> {
    Arc::new(DiskGuard::new(std::env::temp_dir(), 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refuses_what_does_not_fit_and_frees_on_drop() {
        let gate = IngestGate::new(ByteSize::kib(10), no_floor());
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

    #[test]
    fn a_reservation_grows_within_the_budget_and_gives_back_on_drop() {
        let gate = IngestGate::new(ByteSize::kib(10), no_floor());
        let mut a = gate.reserve();
        assert!(a.cover(3 * 1024) && a.bytes() == 3 * 1024);
        assert!(a.cover(1000), "less than held is held already");
        assert!(
            a.cover(6 * 1024 + 1) && a.bytes() == 7 * 1024,
            "rounded up to whole KiB"
        );
        let mut b = gate.reserve();
        assert!(!b.cover(4 * 1024), "7 + 4 KiB > 10 KiB");
        assert!(b.cover(3 * 1024));
        assert!(!a.cover(8 * 1024));
        assert_eq!(a.bytes(), 7 * 1024, "a refusal keeps what was held");
        drop(b);
        assert!(
            !a.cover(10 * 1024 + 1),
            "more than the whole budget is never held"
        );
        a.release_to(2 * 1024);
        assert_eq!(a.bytes(), 2 * 1024);
        assert!(
            gate.try_enter(8 * 1024).is_some(),
            "what is released is free at once"
        );
        assert!(a.cover(10 * 1024) && a.bytes() == 10 * 1024);
        assert!(gate.try_enter(1).is_none());
        drop(a);
        assert!(gate.try_enter(10 * 1024).is_some());
    }
}
