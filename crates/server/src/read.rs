//! The read side: the handles through which the HTTP API (and the alerts to come) query the
//! stores. They offer reads only; every write goes through [`crate::pipeline`]. A handle's
//! methods may block on the store: call them off the async workers.

use std::sync::Arc;
use std::time::Instant;

use graphite::catalog::{self, Catalog, FindNode};
use graphite::glob::PathPattern;
use graphite::tagexpr::TagExpr;
use tsdb::{Tsdb, TsdbStats, Usage};

use crate::graphite_source::TsdbSource;

/// Reads of the metric store: Graphite's fetches, finds and tag queries, and its figures.
#[derive(Debug, Clone)]
pub struct MetricsReader {
    tsdb: Tsdb,
}

impl MetricsReader {
    pub fn new(tsdb: Tsdb) -> MetricsReader {
        MetricsReader { tsdb }
    }

    /// The store as the Graphite engine's source, reading until `deadline`.
    pub fn source(&self, deadline: Instant) -> TsdbSource {
        TsdbSource::new(self.tsdb.clone()).with_deadline(deadline)
    }

    /// Whisper's fetch of one series.
    pub fn fetch(&self, name: &str, from: i64, until: i64) -> tsdb::Result<Option<tsdb::Fetched>> {
        self.tsdb.fetch(name, from, until)
    }

    /// The store's series index, with Graphite's meaning of patterns and tag expressions.
    fn catalog(&self) -> TsdbSource {
        TsdbSource::new(self.tsdb.clone())
    }

    /// The branches and leaves a Graphite path pattern matches, sorted by path.
    pub fn find(&self, pattern: &PathPattern) -> Vec<FindNode> {
        catalog::find(&self.catalog(), pattern)
    }

    /// The series names a Graphite path pattern matches, sorted.
    pub fn matching(&self, pattern: &PathPattern) -> Vec<String> {
        let found = catalog::matching(&self.catalog(), pattern);
        found.into_iter().map(|(_, name)| name).collect()
    }

    /// A series' name and rules.
    pub fn info(&self, name: &str) -> Option<tsdb::SeriesInfo> {
        self.tsdb.info(name)
    }

    /// Every series name, unsorted.
    pub fn names(&self) -> Vec<String> {
        self.catalog().names()
    }

    /// Every tag key, sorted.
    pub fn tag_keys(&self) -> Vec<String> {
        self.catalog().tag_keys()
    }

    /// A tag's values with how many series hold each, sorted.
    pub fn tag_values(&self, tag: &str) -> Vec<(String, usize)> {
        self.catalog().tag_values(tag)
    }

    /// The tagged series names matching every expression, sorted.
    pub fn tagged_names(&self, exprs: &[TagExpr]) -> Vec<String> {
        let found = catalog::find_tagged(&self.catalog(), exprs);
        found.into_iter().map(|(_, name)| name).collect()
    }

    pub fn stats(&self) -> &TsdbStats {
        self.tsdb.stats()
    }

    pub fn usage(&self) -> Usage {
        self.tsdb.usage()
    }

    /// The WAL sequence written and made durable.
    pub fn wal_sequences(&self) -> (u64, u64) {
        self.tsdb.wal_sequences()
    }
}

/// Reads of the event store (any backend that answers `events::EventQuery`): searches and
/// aggregations.
#[derive(Debug, Clone)]
pub struct EventsReader {
    store: Arc<dyn events::EventQuery>,
    /// What one aggregation may hold (`[query] memory_per_query`).
    memory_per_query: u64,
}

impl EventsReader {
    pub fn new(store: Arc<dyn events::EventQuery>, memory_per_query: u64) -> EventsReader {
        EventsReader {
            store,
            memory_per_query,
        }
    }

    pub fn search(&self, search: &events::Search) -> events::store::Result<events::SearchResult> {
        self.store.search(search)
    }

    pub fn aggregate(
        &self,
        agg: &events::Aggregate,
    ) -> events::store::Result<events::AggregateResult> {
        self.store.aggregate_within(agg, self.memory_per_query)
    }

    pub fn disk_bytes(&self) -> u64 {
        self.store.disk_bytes()
    }
}

/// Reads of the issue store (any backend that answers `issues::IssueQuery`): issues, their
/// history and sample events.
#[derive(Debug, Clone)]
pub struct IssuesReader {
    store: Arc<dyn issues::IssueQuery>,
}

impl IssuesReader {
    pub fn new(store: Arc<dyn issues::IssueQuery>) -> IssuesReader {
        IssuesReader { store }
    }

    pub fn issues(
        &self,
        filter: &issues::IssueFilter,
    ) -> issues::store::Result<Vec<issues::Issue>> {
        self.store.issues(filter)
    }

    pub fn issue(&self, id: i64) -> issues::store::Result<Option<issues::Issue>> {
        self.store.issue(id)
    }

    pub fn changes(&self, id: i64) -> issues::store::Result<Vec<issues::Change>> {
        self.store.changes(id)
    }

    pub fn hourly(&self, id: i64, since: i64) -> issues::store::Result<Vec<(i64, i64)>> {
        self.store.hourly(id, since)
    }

    pub fn top_tags(
        &self,
        id: i64,
        per_key: usize,
    ) -> issues::store::Result<Vec<issues::store::TagValues>> {
        self.store.top_tags(id, per_key)
    }

    pub fn issue_events(
        &self,
        id: i64,
        limit: usize,
    ) -> issues::store::Result<Vec<issues::StoredEvent>> {
        self.store.issue_events(id, limit)
    }
}
