//! What a translator remembers: the last totals of each cumulative series, at most so many
//! series, the least recently seen forgotten first.

use std::collections::{BTreeMap, HashMap};
use std::mem::discriminant;
use std::sync::Arc;

use super::super::Buckets;

/// The series' states, with their ages for eviction.
#[derive(Debug)]
pub(super) struct Memory {
    created_unix_nano: u64,
    max_series: usize,
    tick: u64,
    series: HashMap<Arc<str>, Entry>,
    /// The series by when they were last seen, oldest first.
    by_age: BTreeMap<u64, Arc<str>>,
}

/// What is remembered of a cumulative series.
#[derive(Debug)]
struct Entry {
    start: u64,
    time: u64,
    seen: u64,
    state: State,
}

/// A cumulative series' last totals, by kind.
#[derive(Debug)]
pub(super) enum State {
    Counter(f64),
    Histogram {
        count: u64,
        sum: Option<f64>,
        bounds: Vec<f64>,
        buckets: Vec<u64>,
    },
    Exponential {
        count: u64,
        sum: Option<f64>,
        counts: ExpCounts,
    },
    Summary {
        count: u64,
        sum: f64,
    },
}

/// An exponential histogram's bucket counts.
#[derive(Debug, Clone)]
pub(super) struct ExpCounts {
    pub(super) scale: i32,
    pub(super) zero: u64,
    pub(super) positive: Buckets,
    pub(super) negative: Buckets,
}

/// Where the interval a point covers starts.
pub(super) enum Interval {
    /// Not known: a baseline, or a point no newer than the last one seen.
    Unknown,
    /// At the series' start: the point's own counts are the interval's (a delta point, a
    /// reset, a series that started after the translator did).
    FromStart,
    /// At the previous point of the series, whose totals these are.
    Since(State),
}

impl Memory {
    pub(super) fn new(created_unix_nano: u64, max_series: usize) -> Self {
        Memory {
            created_unix_nano,
            max_series: max_series.max(1),
            tick: 0,
            series: HashMap::new(),
            by_age: BTreeMap::new(),
        }
    }

    /// Remember at most `max_series` series (at least one) from now on.
    pub(super) fn set_max_series(&mut self, max_series: usize) {
        self.max_series = max_series.max(1);
        while self.series.len() > self.max_series {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            self.series.remove(&*oldest);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.series.len()
    }

    /// Records the totals of a cumulative point of series `key` and says where its interval
    /// starts. A point no newer than the last one leaves the state as it was.
    pub(super) fn advance(&mut self, key: &str, start: u64, time: u64, state: State) -> Interval {
        self.tick += 1;
        let tick = self.tick;
        let fresh = if start != 0 && start >= self.created_unix_nano {
            Interval::FromStart
        } else {
            Interval::Unknown
        };
        if let Some(entry) = self.series.get_mut(key) {
            if let Some(name) = self.by_age.remove(&entry.seen) {
                self.by_age.insert(tick, name);
            }
            entry.seen = tick;
            if time <= entry.time {
                return Interval::Unknown;
            }
            let restarted = entry.start != start;
            entry.start = start;
            entry.time = time;
            let previous = std::mem::replace(&mut entry.state, state);
            return if discriminant(&previous) != discriminant(&entry.state) {
                fresh
            } else if restarted {
                Interval::FromStart
            } else {
                Interval::Since(previous)
            };
        }
        if self.series.len() >= self.max_series
            && let Some((_, oldest)) = self.by_age.pop_first()
        {
            self.series.remove(&*oldest);
        }
        let name: Arc<str> = Arc::from(key);
        self.by_age.insert(tick, Arc::clone(&name));
        self.series.insert(
            name,
            Entry {
                start,
                time,
                seen: tick,
                state,
            },
        );
        fresh
    }
}
