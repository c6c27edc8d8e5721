//! [`EventStore`]: day partitions of events, each a tantivy index under `<dir>/<YYYY-MM-DD>`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use model::LogEvent;
use serde_json::{Map, Value};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query};
use tantivy::schema::Value as _;
use tantivy::{DateTime, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument};

use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::aggregation::{
    AggContextParams, AggregationLimitsGuard, DistributedAggregationCollector,
};

use crate::aggregate::{Aggregate, AggregateResult};
use crate::schema::Fields;

const DAY_NS: i64 = 86_400 * 1_000_000_000;

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("event store: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("event store directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid query at position {position}: {message}")]
    Query { position: usize, message: String },
    #[error("invalid aggregation: {message}")]
    Aggregate { message: String },
    #[error("event store lock poisoned")]
    Poisoned,
}

pub type Result<T, E = EventsError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The indexing arena of each partition's writer. A segment is flushed when it fills, so a
    /// small arena means many small segments and more merging: 32 MiB cost a fifth of the
    /// ingest CPU against 96 MiB in `bench/events.py`.
    pub writer_memory: usize,
    /// The most distinct field paths one day may hold; an event adding more is refused.
    pub max_fields_per_partition: usize,
    /// A larger event is cut down and marked (`LogEvent::truncate`), never refused.
    pub max_event_size: usize,
    /// Stored events are compressed with zstd at this level, in blocks of this many bytes. A
    /// search decompresses one block per hit, so blocks stay small (the ratio barely changes
    /// from 64 KiB to 1 MiB); level 6 stores 10 % less than level 3 for 5 % more ingest CPU.
    pub docstore_zstd_level: i32,
    pub docstore_block_size: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            writer_memory: 96 << 20,
            max_fields_per_partition: 1000,
            max_event_size: 256 << 10,
            docstore_zstd_level: 6,
            docstore_block_size: 64 << 10,
        }
    }
}

struct Partition {
    /// The last WAL generation this partition's committed index holds in full.
    committed: std::sync::atomic::AtomicU64,
    writer: Mutex<IndexWriter>,
    reader: IndexReader,
    /// Field paths seen, for the per-partition cap.
    paths: Mutex<BTreeSet<String>>,
    /// Documents added since the last commit.
    pending: std::sync::atomic::AtomicU64,
}

impl Partition {
    /// Adds a document to the writer; searchable after the next commit.
    fn index(&self, doc: TantivyDocument) -> Result<()> {
        self.writer
            .lock()
            .map_err(|_| EventsError::Poisoned)?
            .add_document(doc)?;
        self.pending
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// The event store. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct EventStore {
    dir: PathBuf,
    fields: Fields,
    config: StoreConfig,
    partitions: RwLock<BTreeMap<i64, Arc<Partition>>>,
    /// Held across `add` and `commit`, so a commit seals exactly what its indexes hold.
    wal: Mutex<crate::wal::Wal>,
    /// Called with every batch of accepted events once durable (live tail).
    on_added: RwLock<Option<AddedHook>>,
    /// Batches added so far, and the last of them a commit made searchable (read-after-write).
    added: std::sync::atomic::AtomicU64,
    visible: std::sync::atomic::AtomicU64,
    /// The first day kept: events of an earlier day were dropped by retention, and new ones
    /// for it are refused.
    first_kept_day: std::sync::atomic::AtomicI64,
}

/// A function told of every batch of events the store accepted.
pub type AddedHook = Box<dyn Fn(&[&LogEvent]) + Send + Sync>;

impl std::fmt::Debug for EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("dir", &self.dir)
            .finish()
    }
}

/// A search: a query string (empty matches everything), a time range, and how many to return.
#[derive(Debug, Clone)]
pub struct Search {
    pub query: String,
    pub from_ns: i64,
    pub until_ns: i64,
    pub limit: usize,
    /// Oldest first instead of newest first.
    pub ascending: bool,
    /// A page boundary: hits are at or before it (newest first) or at or after it (oldest
    /// first), while `total` still counts the whole range.
    pub cursor_ns: Option<i64>,
}

/// One event found, as stored, with what matched: byte ranges of the message's matching
/// words, and the sender fields the query tested.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub event: LogEvent,
    pub highlights: Vec<(usize, usize)>,
    pub matched_fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    /// Newest first.
    pub hits: Vec<Hit>,
    /// How many events matched in the whole range, whatever the cursor.
    pub total: usize,
}

/// An aggregation may hold this much memory, and this many buckets, before it fails.
const AGGREGATION_MEMORY: u64 = 512 << 20;
const AGGREGATION_BUCKETS: u32 = 200_000;

/// tantivy's aggregation errors (an unknown field, a limit) are the request's fault.
fn aggregate_error(e: tantivy::TantivyError) -> EventsError {
    match e {
        tantivy::TantivyError::AggregationError(a) => EventsError::Aggregate {
            message: a.to_string(),
        },
        tantivy::TantivyError::InvalidArgument(m) => EventsError::Aggregate { message: m },
        other => EventsError::Index(other),
    }
}

/// The UTC day (days since the epoch) of a timestamp.
fn day_of(ns: i64) -> i64 {
    ns.div_euclid(DAY_NS)
}

fn day_name(day: i64) -> String {
    let (y, m, d) = model::civil::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The day a partition directory (`YYYY-MM-DD`) is named for.
fn parse_day_name(name: &str) -> Option<i64> {
    let mut parts = name.split('-');
    let (y, m, d): (i32, u8, u8) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    let day = model::civil::days_from_civil(y, m, d);
    (parts.next().is_none() && day_name(day) == name).then_some(day)
}

/// Calls `visit` with every leaf of a JSON object and its dotted path (as expand_dots indexes
/// them): objects are walked, anything else (arrays too) is a leaf.
pub(crate) fn visit_leaves(
    prefix: &str,
    obj: &Map<String, Value>,
    visit: &mut dyn FnMut(String, &Value),
) {
    for (k, v) in obj {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(inner) => visit_leaves(&path, inner, visit),
            leaf => visit(path, leaf),
        }
    }
}

/// Every field path of a JSON object, dotted.
fn paths(prefix: &str, obj: &Map<String, Value>, out: &mut BTreeSet<String>) {
    visit_leaves(prefix, obj, &mut |path, _| {
        out.insert(path);
    });
}

/// The schema's own fields; any other `name:` in a query is a sender field, under `fields.`.
pub(crate) const CORE: [&str; 6] = ["timestamp", "message", "level", "service", "host", "fields"];

impl EventStore {
    /// Opens (creating if needed) the store under `dir`, with every day partition found there.
    pub fn open(dir: &Path, config: StoreConfig) -> Result<EventStore> {
        std::fs::create_dir_all(dir).map_err(|source| EventsError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let wal_dir = dir.join("wal");
        let (wal, replay) = crate::wal::Wal::open(&wal_dir).map_err(|source| EventsError::Io {
            path: wal_dir.clone(),
            source,
        })?;
        let store = EventStore {
            dir: dir.to_owned(),
            fields: Fields::new(),
            config,
            partitions: RwLock::new(BTreeMap::new()),
            wal: Mutex::new(wal),
            on_added: RwLock::new(None),
            added: std::sync::atomic::AtomicU64::new(0),
            visible: std::sync::atomic::AtomicU64::new(0),
            first_kept_day: std::sync::atomic::AtomicI64::new(i64::MIN),
        };
        let entries = std::fs::read_dir(dir).map_err(|source| EventsError::Io {
            path: dir.to_owned(),
            source,
        })?;
        for entry in entries.flatten() {
            if let Some(day) = entry.file_name().to_str().and_then(parse_day_name) {
                store.partition(day)?;
            }
        }
        // What was acknowledged but not committed before the last stop.
        for (generation, event) in replay {
            let partition = store.partition(day_of(event.timestamp_ns))?;
            if generation
                > partition
                    .committed
                    .load(std::sync::atomic::Ordering::Relaxed)
            {
                let mut known = partition.paths.lock().map_err(|_| EventsError::Poisoned)?;
                paths("", &event.fields, &mut known);
                drop(known);
                partition.index(store.document(event))?;
            }
        }
        store.commit()?;
        Ok(store)
    }

    /// The partition of `day`, opened or created.
    fn partition(&self, day: i64) -> Result<Arc<Partition>> {
        if let Some(p) = self
            .partitions
            .read()
            .map_err(|_| EventsError::Poisoned)?
            .get(&day)
        {
            return Ok(Arc::clone(p));
        }
        let mut partitions = self.partitions.write().map_err(|_| EventsError::Poisoned)?;
        if let Some(p) = partitions.get(&day) {
            return Ok(Arc::clone(p));
        }
        let path = self.dir.join(day_name(day));
        std::fs::create_dir_all(&path).map_err(|source| EventsError::Io {
            path: path.clone(),
            source,
        })?;
        let directory = tantivy::directory::MmapDirectory::open(&path)
            .map_err(|e| EventsError::Index(tantivy::TantivyError::from(e)))?;
        let settings = tantivy::IndexSettings {
            docstore_compression: tantivy::store::Compressor::Zstd(
                tantivy::store::ZstdCompressor {
                    compression_level: Some(self.config.docstore_zstd_level),
                },
            ),
            docstore_blocksize: self.config.docstore_block_size,
            ..tantivy::IndexSettings::default()
        };
        let index = Index::builder()
            .schema(self.fields.schema.clone())
            .settings(settings)
            .open_or_create(directory)?;
        let settings_writer = index.writer_with_num_threads::<TantivyDocument>(
            1,
            self.config.writer_memory.max(15 << 20),
        )?;
        settings_writer.set_merge_policy(Box::new(tantivy::indexer::LogMergePolicy::default()));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let committed = index
            .load_metas()?
            .payload
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        // The field paths the committed segments hold count towards the cap after a restart.
        let known: BTreeSet<String> = index
            .fields_metadata()?
            .into_iter()
            .filter_map(|m| m.field_name.strip_prefix("fields.").map(str::to_owned))
            .collect();
        let partition = Arc::new(Partition {
            committed: std::sync::atomic::AtomicU64::new(committed),
            writer: Mutex::new(settings_writer),
            reader,
            paths: Mutex::new(known),
            pending: std::sync::atomic::AtomicU64::new(0),
        });
        partitions.insert(day, Arc::clone(&partition));
        Ok(partition)
    }

    fn document(&self, event: LogEvent) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::new();
        doc.add_date(
            f.timestamp,
            DateTime::from_timestamp_nanos(event.timestamp_ns),
        );
        doc.add_text(f.message, event.message);
        for (field, value) in [
            (f.level, event.level),
            (f.service, event.service),
            (f.host, event.host),
        ] {
            if let Some(v) = value {
                doc.add_text(field, v);
            }
        }
        let object: BTreeMap<String, tantivy::schema::OwnedValue> = event
            .fields
            .into_iter()
            .map(|(k, v)| (k, tantivy::schema::OwnedValue::from(v)))
            .collect();
        doc.add_object(f.fields, object);
        doc
    }

    /// Adds events; visible to searches after the next [`EventStore::commit`]. Returns, for each
    /// refused event (its index in `events`), why: a partition at its cap of field names, or a
    /// day already dropped by retention.
    pub fn add(&self, events: Vec<LogEvent>) -> Result<Vec<(usize, String)>> {
        let mut wal = self.wal.lock().map_err(|_| EventsError::Poisoned)?;
        let mut refused = Vec::new();
        let mut accepted: Vec<(LogEvent, Arc<Partition>)> = Vec::with_capacity(events.len());
        let mut new_paths = BTreeSet::new();
        let first_kept = self
            .first_kept_day
            .load(std::sync::atomic::Ordering::SeqCst);
        for (i, mut event) in events.into_iter().enumerate() {
            if event.size() > self.config.max_event_size {
                event.truncate(self.config.max_event_size);
            }
            let day = day_of(event.timestamp_ns);
            if day < first_kept {
                refused.push((
                    i,
                    format!(
                        "{} is past the retention: the store keeps events from {} on",
                        day_name(day),
                        day_name(first_kept)
                    ),
                ));
                continue;
            }
            let partition = self.partition(day)?;
            new_paths.clear();
            paths("", &event.fields, &mut new_paths);
            let mut known = partition.paths.lock().map_err(|_| EventsError::Poisoned)?;
            let added = new_paths.iter().filter(|p| !known.contains(*p)).count();
            if known.len() + added > self.config.max_fields_per_partition {
                refused.push((i, format!(
                    "{} already holds {} distinct field names, the most a day may have; this event would add {added}",
                    day_name(day),
                    known.len()
                )));
                continue;
            }
            if added > 0 {
                known.extend(std::mem::take(&mut new_paths));
            }
            drop(known);
            accepted.push((event, partition));
        }
        // Durable before anything else sees it: the caller acknowledges after this returns.
        {
            let refs: Vec<&LogEvent> = accepted.iter().map(|(e, _)| e).collect();
            let wal_path = self.dir.join("wal");
            wal.append(&refs).map_err(|source| EventsError::Io {
                path: wal_path,
                source,
            })?;
            if let Some(hook) = self
                .on_added
                .read()
                .map_err(|_| EventsError::Poisoned)?
                .as_ref()
            {
                hook(&refs);
            }
        }
        for (event, partition) in accepted {
            partition.index(self.document(event))?;
        }
        self.added.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // Released only now: a commit must never seal a generation the indexes do not hold.
        drop(wal);
        Ok(refused)
    }

    /// Sets the function told of each accepted batch, after it is durable and before `add`
    /// returns; it must be quick (the live tail only hands events to a channel).
    pub fn on_added(&self, hook: AddedHook) -> Result<()> {
        *self.on_added.write().map_err(|_| EventsError::Poisoned)? = Some(hook);
        Ok(())
    }

    /// Makes everything added so far searchable, and committed in the indexes: the WAL
    /// generations it came from are then deleted.
    /// Only partitions with new events commit; with none anywhere this does nothing.
    pub fn commit(&self) -> Result<()> {
        use std::sync::atomic::Ordering::{Relaxed, SeqCst};
        let mut wal = self.wal.lock().map_err(|_| EventsError::Poisoned)?;
        // Every batch counted so far is in the indexes (the WAL lock is held across `add`).
        let through = self.added.load(SeqCst);
        let partitions: Vec<Arc<Partition>> = self
            .partitions
            .read()
            .map_err(|_| EventsError::Poisoned)?
            .values()
            .filter(|p| p.pending.load(Relaxed) > 0)
            .cloned()
            .collect();
        if partitions.is_empty() {
            // Nothing is pending, so older generations (left by a restart) hold only committed
            // events.
            let dir = self.dir.join("wal");
            self.visible.fetch_max(through, SeqCst);
            return wal
                .remove_through(wal.current().saturating_sub(1))
                .map_err(|source| EventsError::Io { path: dir, source });
        }
        let wal_path = self.dir.join("wal");
        let sealed = wal.rotate().map_err(|source| EventsError::Io {
            path: wal_path.clone(),
            source,
        })?;
        for p in &partitions {
            p.pending.store(0, Relaxed);
            let mut writer = p.writer.lock().map_err(|_| EventsError::Poisoned)?;
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(&sealed.to_string());
            prepared.commit()?;
            p.committed
                .store(sealed, std::sync::atomic::Ordering::Relaxed);
        }
        wal.remove_through(sealed)
            .map_err(|source| EventsError::Io {
                path: wal_path,
                source,
            })?;
        drop(wal);
        for p in &partitions {
            p.reader.reload()?;
        }
        self.visible.fetch_max(through, SeqCst);
        Ok(())
    }

    /// How many batches `add` has taken; read after an `add` returns, at least that batch.
    pub fn added_batches(&self) -> u64 {
        self.added.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many of the added batches a commit has made searchable.
    pub fn visible_batches(&self) -> u64 {
        self.visible.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Events added and not yet committed, across partitions.
    pub fn pending(&self) -> Result<u64> {
        Ok(self
            .partitions
            .read()
            .map_err(|_| EventsError::Poisoned)?
            .values()
            .map(|p| p.pending.load(std::sync::atomic::Ordering::Relaxed))
            .sum())
    }

    /// A query over one partition, ANDed with the range: compiled for its field paths, which a
    /// bare word is also looked for in.
    fn query_over(
        &self,
        parsed: &crate::query::Node,
        partition: Option<&Partition>,
        from_ns: i64,
        until_ns: i64,
    ) -> Result<Box<dyn Query>> {
        let f = &self.fields;
        // Nanosecond bounds, which cursors inside one second need.
        let range: Box<dyn Query> = Box::new(crate::query::time_range(
            f,
            Bound::Included(from_ns),
            Bound::Excluded(until_ns),
        ));
        if *parsed == crate::query::Node::All {
            return Ok(range);
        }
        // Only a bare word needs the partition's field paths (a copy: `add` takes the lock).
        let paths = match partition {
            Some(p) if parsed.has_free_text() => {
                p.paths.lock().map_err(|_| EventsError::Poisoned)?.clone()
            }
            _ => BTreeSet::new(),
        };
        let compiled =
            crate::query::compile(parsed, f, &paths).map_err(|e| EventsError::Query {
                position: e.position,
                message: e.message,
            })?;
        Ok(Box::new(BooleanQuery::new(vec![
            (Occur::Must, range),
            (Occur::Must, compiled),
        ])))
    }

    /// Parses a query, and compiles it once without a partition, so an error is reported even
    /// when no day overlaps the range.
    fn parse_checked(&self, text: &str) -> Result<crate::query::Node> {
        let parsed = crate::query::parse(text).map_err(|e| EventsError::Query {
            position: e.position,
            message: e.message,
        })?;
        self.query_over(&parsed, None, 0, 1)?;
        Ok(parsed)
    }

    /// The partitions a time range overlaps, newest first.
    fn partitions_over(&self, from_ns: i64, until_ns: i64) -> Result<Vec<Arc<Partition>>> {
        let (first, last) = (day_of(from_ns), day_of(until_ns.saturating_sub(1)));
        if first > last {
            return Ok(Vec::new());
        }
        Ok(self
            .partitions
            .read()
            .map_err(|_| EventsError::Poisoned)?
            .range(first..=last)
            .rev()
            .map(|(_, p)| Arc::clone(p))
            .collect())
    }

    /// Computes an aggregation over the events its query matches in its range: one tantivy
    /// aggregation per day, merged, then read into rows.
    pub fn aggregate(&self, agg: &Aggregate) -> Result<AggregateResult> {
        self.aggregate_within(agg, AGGREGATION_MEMORY)
    }

    /// [`EventStore::aggregate`] holding at most `memory` bytes of buckets and sketches at once
    /// (one budget shared by every day it reads); past it, an error saying so.
    pub fn aggregate_within(&self, agg: &Aggregate, memory: u64) -> Result<AggregateResult> {
        let invalid = |message: String| EventsError::Aggregate { message };
        let interval_ns = agg.interval_ns().map_err(invalid)?;
        let request_json = agg.request(interval_ns).map_err(invalid)?;
        let request: Aggregations =
            serde_json::from_value(request_json).map_err(|e| invalid(e.to_string()))?;
        let parsed = self.parse_checked(&agg.query)?;
        let partitions = self.partitions_over(agg.from_ns, agg.until_ns)?;
        self.check_fields(agg, &partitions)?;
        let guard = AggregationLimitsGuard::new(Some(memory), Some(AGGREGATION_BUCKETS));
        let limits = || guard.clone();
        let mut merged: Option<IntermediateAggregationResults> = None;
        let mut total = 0u64;
        for p in partitions {
            let query = self.query_over(&parsed, Some(&p), agg.from_ns, agg.until_ns)?;
            let searcher = p.reader.searcher();
            let collector = (
                Count,
                DistributedAggregationCollector::from_aggs(
                    request.clone(),
                    AggContextParams::new(
                        limits(),
                        tantivy::tokenizer::TokenizerManager::default(),
                    ),
                ),
            );
            let (count, part) = searcher
                .search(&query, &collector)
                .map_err(aggregate_error)?;
            total += count as u64;
            match &mut merged {
                Some(m) => m.merge_fruits(part).map_err(aggregate_error)?,
                None => merged = Some(part),
            }
        }
        let result = match merged {
            Some(m) => serde_json::to_value(
                m.into_final_result(request, limits())
                    .map_err(aggregate_error)?,
            )
            .map_err(|e| invalid(e.to_string()))?,
            None => Value::Object(Map::new()),
        };
        Ok(agg.rows(total, interval_ns, &result))
    }

    /// Fields an aggregation names (to group by or compute on) that no event in its range
    /// has: an error naming the closest field that exists, rather than an empty table.
    fn check_fields(&self, agg: &Aggregate, partitions: &[Arc<Partition>]) -> Result<()> {
        if partitions.is_empty() {
            return Ok(());
        }
        let sender_fields: Vec<&String> = agg
            .group_by
            .iter()
            .chain(agg.metrics.iter().filter_map(|m| m.field.as_ref()))
            .filter(|name| {
                let root = name.split('.').next().unwrap_or("");
                !CORE.contains(&root) || name.starts_with("fields.")
            })
            .collect();
        if sender_fields.is_empty() {
            return Ok(());
        }
        let mut known = BTreeSet::new();
        for p in partitions {
            known.extend(
                p.paths
                    .lock()
                    .map_err(|_| EventsError::Poisoned)?
                    .iter()
                    .cloned(),
            );
        }
        for name in sender_fields {
            if known.contains(name.strip_prefix("fields.").unwrap_or(name)) {
                continue;
            }
            let candidates = known
                .iter()
                .map(String::as_str)
                .chain(["level", "service", "host"]);
            return Err(EventsError::Aggregate {
                message: format!(
                    "no event in this time range has a field `{name}`{}",
                    model::suggest::did_you_mean(name, candidates)
                ),
            });
        }
        Ok(())
    }

    /// The newest `limit` events matching, across the days the range overlaps, and how many
    /// matched in all.
    pub fn search(&self, search: &Search) -> Result<SearchResult> {
        let parsed = self.parse_checked(&search.query)?;
        let (mut hits_from, mut hits_until) = (search.from_ns, search.until_ns);
        match search.cursor_ns {
            Some(c) if search.ascending => hits_from = hits_from.max(c),
            Some(c) => hits_until = hits_until.min(c.saturating_add(1)),
            None => {}
        }
        let highlights = crate::query::Highlights::of(&parsed);
        let mut hits: Vec<(i64, Hit)> = Vec::new();
        let mut total = 0;
        for p in self.partitions_over(search.from_ns, search.until_ns)? {
            let searcher = p.reader.searcher();
            let query = self.query_over(&parsed, Some(&p), hits_from, hits_until)?;
            let top_docs = TopDocs::with_limit(search.limit.max(1))
                .order_by_fast_field::<DateTime>(
                    "timestamp",
                    if search.ascending {
                        Order::Asc
                    } else {
                        Order::Desc
                    },
                );
            let top = if search.cursor_ns.is_some() {
                let whole = self.query_over(&parsed, Some(&p), search.from_ns, search.until_ns)?;
                total += searcher.search(&whole, &Count)?;
                searcher.search(&query, &top_docs)?
            } else {
                let (count, top) = searcher.search(&query, &(Count, top_docs))?;
                total += count;
                top
            };
            for (_, address) in top {
                let doc: TantivyDocument = searcher.doc(address)?;
                let event = self.event_of(&doc);
                let matched_fields = highlights.matched_fields(&event.fields);
                hits.push((
                    event.timestamp_ns,
                    Hit {
                        highlights: highlights.message_ranges(&event.message),
                        matched_fields,
                        event,
                    },
                ));
            }
        }
        if search.ascending {
            hits.sort_by_key(|h| h.0);
        } else {
            hits.sort_by_key(|h| std::cmp::Reverse(h.0));
        }
        hits.truncate(search.limit);
        Ok(SearchResult {
            hits: hits.into_iter().map(|(_, h)| h).collect(),
            total,
        })
    }

    fn event_of(&self, doc: &TantivyDocument) -> LogEvent {
        let f = &self.fields;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let fields = match doc
            .get_first(f.fields)
            .map(|v| serde_json::to_value(tantivy::schema::OwnedValue::from(v)))
        {
            Some(Ok(Value::Object(map))) => map,
            _ => Map::new(),
        };
        LogEvent {
            timestamp_ns: doc
                .get_first(f.timestamp)
                .and_then(|v| v.as_datetime())
                .map_or(0, DateTime::into_timestamp_nanos),
            message: text(f.message).unwrap_or_default(),
            level: text(f.level),
            service: text(f.service),
            host: text(f.host),
            fields,
        }
    }

    /// Drops every whole day before the day of `before_ns`, index and files, and refuses
    /// events for those days from then on; returns the days dropped.
    ///
    /// What the WAL holds for them is committed first, so a restart cannot bring them back:
    /// once the cut is raised no new event for them is taken, and the commit seals the rest.
    pub fn drop_before(&self, before_ns: i64) -> Result<Vec<String>> {
        let cut = day_of(before_ns);
        self.first_kept_day
            .fetch_max(cut, std::sync::atomic::Ordering::SeqCst);
        self.commit()?;
        let wal = self.wal.lock().map_err(|_| EventsError::Poisoned)?;
        let mut partitions = self.partitions.write().map_err(|_| EventsError::Poisoned)?;
        let old: Vec<i64> = partitions.range(..cut).map(|(d, _)| *d).collect();
        for day in &old {
            partitions.remove(day);
            let path = self.dir.join(day_name(*day));
            std::fs::remove_dir_all(&path).map_err(|source| EventsError::Io { path, source })?;
        }
        drop(partitions);
        drop(wal);
        Ok(old.iter().map(|d| day_name(*d)).collect())
    }

    /// Bytes the store's files take on disk (indexes and WAL).
    pub fn disk_bytes(&self) -> u64 {
        fn walk(path: &Path) -> u64 {
            let Ok(entries) = std::fs::read_dir(path) else {
                return 0;
            };
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        }
        walk(&self.dir)
    }

    /// The days held, oldest first, as `YYYY-MM-DD`.
    pub fn days(&self) -> Result<Vec<String>> {
        Ok(self
            .partitions
            .read()
            .map_err(|_| EventsError::Poisoned)?
            .keys()
            .map(|d| day_name(*d))
            .collect())
    }
}

/// What the query APIs (and alerts) ask of an event store, so a second backend can answer
/// them: searches, aggregations within a memory budget, and its size on disk.
pub trait EventQuery: Send + Sync + std::fmt::Debug {
    fn search(&self, search: &Search) -> Result<SearchResult>;
    fn aggregate_within(&self, agg: &Aggregate, memory: u64) -> Result<AggregateResult>;
    fn disk_bytes(&self) -> u64;
}

impl EventQuery for EventStore {
    fn search(&self, search: &Search) -> Result<SearchResult> {
        EventStore::search(self, search)
    }

    fn aggregate_within(&self, agg: &Aggregate, memory: u64) -> Result<AggregateResult> {
        EventStore::aggregate_within(self, agg, memory)
    }

    fn disk_bytes(&self) -> u64 {
        EventStore::disk_bytes(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_names_round_trip() {
        for day in [0, 19_844, 20_417, -1] {
            assert_eq!(
                parse_day_name(&day_name(day)),
                Some(day),
                "{}",
                day_name(day)
            );
        }
        assert_eq!(day_name(0), "1970-01-01");
    }
}
