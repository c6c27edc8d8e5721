//! Memory budgets for queries: a [`MemoryPool`] shared by every query a server answers, and a
//! [`Lease`] per query that grows from it, up to the query's own limit, before the memory is
//! used. A lease gives its bytes back to the pool when dropped. Growing past either limit is an
//! error, never a wait, so a query that cannot fit is answered at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The bytes all queries in flight may hold together.
#[derive(Debug)]
pub struct MemoryPool {
    limit: u64,
    used: AtomicU64,
    /// Leases refused because the pool was full.
    refused: AtomicU64,
}

impl MemoryPool {
    pub fn new(limit: u64) -> Arc<MemoryPool> {
        Arc::new(MemoryPool {
            limit,
            used: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        })
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes held by leases now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Growths refused since start because the pool was full.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn try_take(&self, bytes: u64) -> bool {
        let taken = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .is_ok();
        if !taken {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        taken
    }

    fn give_back(&self, bytes: u64) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Why a lease could not grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetError {
    /// The query alone would need more than its limit: the client must ask for less.
    Query { limit: u64 },
    /// The queries in flight hold the whole pool: the client may retry shortly.
    Pool { limit: u64 },
}

impl std::fmt::Display for BudgetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BudgetError::Query { limit } => write!(
                f,
                "the query needs more than its memory budget of {}",
                crate::ByteSize::bytes(*limit)
            ),
            BudgetError::Pool { limit } => write!(
                f,
                "the queries in flight hold all of the server's query memory ({}); retry shortly",
                crate::ByteSize::bytes(*limit)
            ),
        }
    }
}

impl std::error::Error for BudgetError {}

/// One query's share of a pool.
#[derive(Debug)]
pub struct Lease {
    pool: Option<Arc<MemoryPool>>,
    limit: u64,
    held: u64,
}

impl Lease {
    /// An empty lease of at most `limit` bytes, drawn from `pool` when there is one.
    pub fn new(pool: Option<Arc<MemoryPool>>, limit: u64) -> Lease {
        Lease {
            pool,
            limit,
            held: 0,
        }
    }

    /// A lease with no pool and no limit (tools and tests).
    pub fn unlimited() -> Lease {
        Lease::new(None, u64::MAX)
    }

    pub fn held(&self) -> u64 {
        self.held
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Takes `bytes` more, or refuses without taking anything.
    pub fn grow(&mut self, bytes: u64) -> Result<(), BudgetError> {
        let total = self.held.saturating_add(bytes);
        if total > self.limit {
            return Err(BudgetError::Query { limit: self.limit });
        }
        if let Some(pool) = &self.pool
            && !pool.try_take(bytes)
        {
            return Err(BudgetError::Pool { limit: pool.limit });
        }
        self.held = total;
        Ok(())
    }

    /// Gives back up to `bytes` (memory the query no longer holds).
    pub fn shrink(&mut self, bytes: u64) {
        let bytes = bytes.min(self.held);
        self.held -= bytes;
        if let Some(pool) = &self.pool {
            pool.give_back(bytes);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.shrink(self.held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_stops_at_its_limit_and_at_the_pool() {
        let pool = MemoryPool::new(100);
        let mut a = Lease::new(Some(Arc::clone(&pool)), 60);
        a.grow(50).unwrap();
        assert_eq!(a.grow(20), Err(BudgetError::Query { limit: 60 }));
        assert_eq!(a.held(), 50);
        let mut b = Lease::new(Some(Arc::clone(&pool)), 60);
        assert_eq!(b.grow(60), Err(BudgetError::Pool { limit: 100 }));
        b.grow(50).unwrap();
        assert_eq!(pool.used(), 100);
        assert_eq!(pool.refused(), 1);
        drop(a);
        assert_eq!(pool.used(), 50);
        b.shrink(20);
        assert_eq!(pool.used(), 30);
        drop(b);
        assert_eq!(pool.used(), 0);
    }
}
