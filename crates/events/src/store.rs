//! [`EventStore`]: day partitions of events, each a tantivy index under `<dir>/<YYYY-MM-DD>`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use model::LogEvent;
use serde_json::{Map, Value};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, RangeQuery};
use tantivy::schema::Value as _;
use tantivy::{
    DateTime, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term,
};

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
    #[error("event store lock poisoned")]
    Poisoned,
}

pub type Result<T, E = EventsError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The indexing arena of each partition's writer.
    pub writer_memory: usize,
    /// The most distinct field paths one day may hold; an event adding more is refused.
    pub max_fields_per_partition: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            writer_memory: 32 << 20,
            max_fields_per_partition: 1000,
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
}

/// The event store. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct EventStore {
    dir: PathBuf,
    fields: Fields,
    config: StoreConfig,
    partitions: RwLock<BTreeMap<i64, Arc<Partition>>>,
    /// Held across `add` and `commit`, so a commit seals exactly what its indexes hold.
    wal: Mutex<crate::wal::Wal>,
}

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
}

/// One event found, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub event: LogEvent,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    /// Newest first.
    pub hits: Vec<Hit>,
    /// How many events matched in the range.
    pub total: usize,
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

/// Every field path of a JSON object, dotted (as expand_dots indexes them).
fn paths(prefix: &str, obj: &Map<String, Value>, out: &mut BTreeSet<String>) {
    for (k, v) in obj {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(inner) => paths(&path, inner, out),
            _ => {
                out.insert(path);
            }
        }
    }
}

/// The schema's own fields; any other `name:` in a query is a sender field, under `fields.`.
const CORE: [&str; 6] = ["timestamp", "message", "level", "service", "host", "fields"];

/// Rewrites `user_id:42` to `fields.user_id:42` outside quoted phrases, so ranges and terms on
/// sender fields reach the JSON field (tantivy only infers it for plain terms).
fn qualify_fields(query: &str) -> String {
    let mut out = String::with_capacity(query.len() + 16);
    let mut in_quotes = false;
    let mut word_start = true;
    let chars: Vec<char> = query.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            in_quotes = !in_quotes;
        }
        if !in_quotes && word_start && (c.is_alphabetic() || c == '_' || c == '@') {
            let end = chars[i..]
                .iter()
                .position(|c| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '@' | '-')))
                .map_or(chars.len(), |p| i + p);
            if chars.get(end) == Some(&':') {
                let name: String = chars[i..end].iter().collect();
                let root = name.split('.').next().unwrap_or("");
                if !CORE.contains(&root) {
                    out.push_str("fields.");
                }
                out.push_str(&name);
                i = end;
                word_start = false;
                continue;
            }
        }
        word_start = !in_quotes && (c.is_whitespace() || matches!(c, '(' | '+' | '-' | '!'));
        out.push(c);
        i += 1;
    }
    out
}

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
        for (generation, event) in &replay {
            let partition = store.partition(day_of(event.timestamp_ns))?;
            if *generation
                > partition
                    .committed
                    .load(std::sync::atomic::Ordering::Relaxed)
            {
                let mut known = partition.paths.lock().map_err(|_| EventsError::Poisoned)?;
                paths("", &event.fields, &mut known);
                drop(known);
                let doc = store.document(event);
                partition
                    .writer
                    .lock()
                    .map_err(|_| EventsError::Poisoned)?
                    .add_document(doc)?;
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
        let index = Index::open_or_create(directory, self.fields.schema.clone())?;
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
        let partition = Arc::new(Partition {
            committed: std::sync::atomic::AtomicU64::new(committed),
            writer: Mutex::new(settings_writer),
            reader,
            paths: Mutex::new(BTreeSet::new()),
        });
        partitions.insert(day, Arc::clone(&partition));
        Ok(partition)
    }

    fn document(&self, event: &LogEvent) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::new();
        doc.add_date(
            f.timestamp,
            DateTime::from_timestamp_nanos(event.timestamp_ns),
        );
        doc.add_text(f.message, &event.message);
        for (field, value) in [
            (f.level, &event.level),
            (f.service, &event.service),
            (f.host, &event.host),
        ] {
            if let Some(v) = value {
                doc.add_text(field, v);
            }
        }
        let object: BTreeMap<String, tantivy::schema::OwnedValue> = event
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), tantivy::schema::OwnedValue::from(v.clone())))
            .collect();
        doc.add_object(f.fields, object);
        doc
    }

    /// Adds events; visible to searches after the next [`EventStore::commit`]. Returns, for each
    /// refused event (its index in `events`), why: a partition at its cap of field names.
    pub fn add(&self, events: &[LogEvent]) -> Result<Vec<(usize, String)>> {
        let mut wal = self.wal.lock().map_err(|_| EventsError::Poisoned)?;
        let mut refused = Vec::new();
        let mut accepted: Vec<(&LogEvent, Arc<Partition>)> = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            let day = day_of(event.timestamp_ns);
            let partition = self.partition(day)?;
            let mut new_paths = BTreeSet::new();
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
            known.extend(new_paths);
            drop(known);
            accepted.push((event, partition));
        }
        // Durable before anything else sees it: the caller acknowledges after this returns.
        let refs: Vec<&LogEvent> = accepted.iter().map(|(e, _)| *e).collect();
        let wal_path = self.dir.join("wal");
        wal.append(&refs).map_err(|source| EventsError::Io {
            path: wal_path,
            source,
        })?;
        for (event, partition) in accepted {
            let doc = self.document(event);
            partition
                .writer
                .lock()
                .map_err(|_| EventsError::Poisoned)?
                .add_document(doc)?;
        }
        Ok(refused)
    }

    /// Makes everything added so far searchable, and committed in the indexes: the WAL
    /// generations it came from are then deleted.
    pub fn commit(&self) -> Result<()> {
        let mut wal = self.wal.lock().map_err(|_| EventsError::Poisoned)?;
        let wal_path = self.dir.join("wal");
        let sealed = wal.rotate().map_err(|source| EventsError::Io {
            path: wal_path.clone(),
            source,
        })?;
        let partitions: Vec<Arc<Partition>> = self
            .partitions
            .read()
            .map_err(|_| EventsError::Poisoned)?
            .values()
            .cloned()
            .collect();
        for p in &partitions {
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
        Ok(())
    }

    /// The search's query (checked even when no day overlaps its range), ANDed with the range.
    fn query(&self, search: &Search) -> Result<Box<dyn Query>> {
        let f = &self.fields;
        let range: Box<dyn Query> = Box::new(RangeQuery::new(
            Bound::Included(Term::from_field_date_for_search(
                f.timestamp,
                DateTime::from_timestamp_nanos(search.from_ns),
            )),
            Bound::Excluded(Term::from_field_date_for_search(
                f.timestamp,
                DateTime::from_timestamp_nanos(search.until_ns),
            )),
        ));
        let text = search.query.trim();
        if text.is_empty() || text == "*" {
            return Ok(range);
        }
        let mut parser = QueryParser::new(
            f.schema.clone(),
            vec![f.message, f.fields],
            tantivy::tokenizer::TokenizerManager::default(),
        );
        parser.set_conjunction_by_default();
        let parsed = parser
            .parse_query(&qualify_fields(text))
            .map_err(|e| EventsError::Query {
                position: 0,
                message: e.to_string(),
            })?;
        Ok(Box::new(BooleanQuery::new(vec![
            (Occur::Must, range),
            (Occur::Must, parsed),
        ])))
    }

    /// The newest `limit` events matching, across the days the range overlaps, and how many
    /// matched in all.
    pub fn search(&self, search: &Search) -> Result<SearchResult> {
        let (first, last) = (
            day_of(search.from_ns),
            day_of(search.until_ns.saturating_sub(1)),
        );
        let partitions: Vec<Arc<Partition>> = self
            .partitions
            .read()
            .map_err(|_| EventsError::Poisoned)?
            .range(first..=last)
            .rev()
            .map(|(_, p)| Arc::clone(p))
            .collect();
        let query = self.query(search)?;
        let mut hits: Vec<(i64, Hit)> = Vec::new();
        let mut total = 0;
        for p in partitions {
            let searcher = p.reader.searcher();
            let collector = (
                Count,
                TopDocs::with_limit(search.limit.max(1))
                    .order_by_fast_field::<DateTime>("timestamp", Order::Desc),
            );
            let (count, top) = searcher.search(&query, &collector)?;
            total += count;
            for (_, address) in top {
                let doc: TantivyDocument = searcher.doc(address)?;
                let event = self.event_of(&doc);
                hits.push((event.timestamp_ns, Hit { event }));
            }
        }
        hits.sort_by_key(|h| std::cmp::Reverse(h.0));
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

    /// Drops every whole day before `before_ns`; returns how many.
    pub fn drop_before(&self, before_ns: i64) -> Result<usize> {
        let cut = day_of(before_ns);
        let mut partitions = self.partitions.write().map_err(|_| EventsError::Poisoned)?;
        let old: Vec<i64> = partitions.range(..cut).map(|(d, _)| *d).collect();
        for day in &old {
            partitions.remove(day);
            let path = self.dir.join(day_name(*day));
            std::fs::remove_dir_all(&path).map_err(|source| EventsError::Io { path, source })?;
        }
        Ok(old.len())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_fields_are_qualified() {
        assert_eq!(
            qualify_fields("amount:[40 TO *] AND level:error"),
            "fields.amount:[40 TO *] AND level:error"
        );
        assert_eq!(
            qualify_fields("(user.email:a OR -x:1) \"not:this\""),
            "(fields.user.email:a OR -fields.x:1) \"not:this\""
        );
        assert_eq!(
            qualify_fields("fields.a:1 message:hi plain"),
            "fields.a:1 message:hi plain"
        );
    }

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
