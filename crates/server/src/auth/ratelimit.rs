//! Per-IP limiting of failed logins.
//!
//! Each address may fail `max_failures` times within a fixed window that starts at its first
//! failure; after that it is refused, without its password being checked, until the window
//! ends. A successful login clears the address. The table is bounded: when it is full, expired
//! entries are pruned, and if none has expired the new address is refused rather than letting
//! memory grow under a spray of source addresses.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use model::{SharedClock, Timestamp};

const MAX_TRACKED_ADDRESSES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Timestamp,
    failures: u32,
}

/// Counts failed logins per client address.
#[derive(Debug)]
pub(super) struct LoginLimiter {
    clock: SharedClock,
    max_failures: u32,
    window: Duration,
    table: Mutex<HashMap<IpAddr, Window>>,
}

impl LoginLimiter {
    pub(super) fn new(clock: SharedClock, max_failures: u32, window: Duration) -> Self {
        LoginLimiter {
            clock,
            max_failures,
            window,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` if `ip` must wait before trying again.
    pub(super) fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let now = self.clock.now();
        let table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let Some(entry) = table.get(&ip) else {
            return Ok(());
        };
        let ends = entry.started.saturating_add(self.window);
        if entry.failures >= self.max_failures && now < ends {
            return Err(ends.duration_since(now).max(Duration::from_secs(1)));
        }
        Ok(())
    }

    /// Records a failed attempt from `ip`.
    pub(super) fn fail(&self, ip: IpAddr) {
        let now = self.clock.now();
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if table.len() >= MAX_TRACKED_ADDRESSES && !table.contains_key(&ip) {
            let window = self.window;
            table.retain(|_, w| w.started.saturating_add(window) > now);
        }
        let fresh = Window {
            started: now,
            failures: 0,
        };
        let entry = table.entry(ip).or_insert(fresh);
        if entry.started.saturating_add(self.window) <= now {
            *entry = fresh;
        }
        entry.failures = entry.failures.saturating_add(1);
    }

    /// Forgets `ip` after a successful login.
    pub(super) fn succeed(&self, ip: IpAddr) {
        self.table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use model::{ManualClock, Timestamp};

    use super::*;

    #[test]
    fn locks_out_after_max_failures_until_the_window_ends() {
        let clock = Arc::new(ManualClock::new(Timestamp::from_secs(1_000)));
        let limiter = LoginLimiter::new(clock.clone(), 3, Duration::from_secs(60));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(ip).is_ok());
            limiter.fail(ip);
        }
        assert_eq!(limiter.check(ip), Err(Duration::from_secs(60)));
        assert!(limiter.check(other).is_ok(), "limits are per address");
        clock.advance(Duration::from_secs(59));
        assert_eq!(limiter.check(ip), Err(Duration::from_secs(1)));
        clock.advance(Duration::from_secs(1));
        assert!(limiter.check(ip).is_ok(), "the window has ended");
        limiter.fail(ip);
        assert!(
            limiter.check(ip).is_ok(),
            "a new window started with one failure"
        );
    }

    #[test]
    fn success_clears_the_address() {
        let clock = Arc::new(ManualClock::new(Timestamp::from_secs(0)));
        let limiter = LoginLimiter::new(clock, 1, Duration::from_secs(60));
        let ip: IpAddr = "::1".parse().unwrap();
        limiter.fail(ip);
        assert!(limiter.check(ip).is_err());
        limiter.succeed(ip);
        assert!(limiter.check(ip).is_ok());
    }
}
