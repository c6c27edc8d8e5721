//! [`Tsdb`]: the store as the rest of Sightline sees it.
//!
//! Path of a point: [`Tsdb::write`] finds or creates its series (resolving the schema and
//! aggregation rules once, at creation), picks the first tier whose retention covers the
//! point's age as whisper does, aligns the timestamp to that tier's step, queues it in the WAL
//! and appends it to the head. The committer thread makes the WAL durable every
//! `commit_interval`. The compactor thread freezes the head when it is big or old enough and
//! writes it out as segments (`flush`), merges a partition's segments, rolls expired
//! partitions into the next tier and drops them (`compact`). Reads (`read`) merge segments,
//! frozen heads and the live head, and compute coarser tiers from finer ones until the finer
//! data is rolled.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use model::{PointBatch, SharedClock};

use crate::catalog::Catalog;
use crate::config::TsdbConfig;
use crate::error::{Error, IoContext, Result};
use crate::head::Head;
use crate::index::{PathEntry, SeriesId, SeriesIndex};
use crate::schema::Rules;
use crate::wal::{self, SeriesDef, Wal, WalPoint};

/// The on-disk layout version of a store directory.
pub const FORMAT_VERSION: u32 = 1;
const FORMAT_PREFIX: &str = "sightline-tsdb ";

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

/// Counters of what the store has done, for self-telemetry.
#[derive(Debug, Default)]
pub struct TsdbStats {
    pub points_written: AtomicU64,
    pub points_too_old: AtomicU64,
    pub points_in_future: AtomicU64,
    pub points_over_series_limit: AtomicU64,
    pub series_created: AtomicU64,
    pub wal_commits: AtomicU64,
    pub wal_errors: AtomicU64,
    pub flushes: AtomicU64,
    pub merges: AtomicU64,
    pub partitions_rolled: AtomicU64,
    pub partitions_dropped: AtomicU64,
    pub background_errors: AtomicU64,
}

/// How much the store holds right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub series: usize,
    pub head_bytes: usize,
    pub head_points: u64,
    pub index_bytes: usize,
    pub segments: usize,
    pub disk_bytes: u64,
}

/// What one write did with its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOutcome {
    pub accepted: usize,
    /// Older than the series' longest retention.
    pub too_old: usize,
    /// Further ahead of now than `future_tolerance`.
    pub in_future: usize,
    /// Of a new series when the store already holds `max_series`.
    pub over_series_limit: usize,
    /// The WAL sequence to wait for with [`Tsdb::wait_durable`].
    pub seq: u64,
}

/// A frozen head being written to segments, and the WAL files it makes redundant.
#[derive(Debug)]
pub(crate) struct Frozen {
    pub head: Head,
    pub wal_files: Vec<PathBuf>,
}

/// Writers' shared scratch space and bookkeeping, behind one lock so writes are serialised.
#[derive(Debug, Default)]
pub(crate) struct WriteSide {
    pub points: Vec<WalPoint>,
    /// WAL files whose points are all in the live head.
    pub covered_wal: Vec<PathBuf>,
    /// When the live head received its first point, in clock seconds.
    pub head_since: Option<i64>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub config: TsdbConfig,
    pub rules: Rules,
    pub clock: SharedClock,
    pub index: RwLock<SeriesIndex>,
    pub head: RwLock<Head>,
    pub frozen: RwLock<Vec<Arc<Frozen>>>,
    pub catalog: RwLock<Catalog>,
    pub wal: Wal,
    pub write_side: Mutex<WriteSide>,
    pub next_generation: AtomicU64,
    pub stats: TsdbStats,
    pub shutdown: AtomicBool,
    pub wake: (Mutex<bool>, Condvar),
    /// Serialises flushes and compactions with each other.
    pub maintenance: Mutex<()>,
    /// Makes segment file names unique.
    pub file_counter: AtomicU64,
}

/// The metric store. Cheap to clone; every clone is the same store.
#[derive(Debug, Clone)]
pub struct Tsdb {
    pub(crate) inner: Arc<Inner>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Tsdb {
    /// Opens (creating if needed) the store in `dir`, replays its WAL, and starts its threads.
    pub fn open(dir: &Path, config: &TsdbConfig, clock: SharedClock) -> Result<Tsdb> {
        std::fs::create_dir_all(dir).at(dir)?;
        check_format(dir)?;
        let rules = config.rules()?;
        let mut index = SeriesIndex::default();
        for def in wal::replay_series(dir)? {
            if !index.insert(def.id, &def.name, def.schema, def.aggregation) {
                tracing::warn!(id = def.id, name = %def.name, "skipping a series definition out of sequence");
            }
        }
        let catalog = Catalog::open(&dir.join("data"))?;
        let wal_files = wal::wal_files(dir)?;
        let last_wal = wal_files.last().map_or(0, |(g, _)| *g);
        let generation = catalog.max_generation().max(last_wal) + 1;
        let mut head = Head::new(generation);
        let mut replayed = 0;
        for (_, path) in &wal_files {
            replayed += wal::replay_points(path, |p| {
                if (p.id as usize) < index.len() {
                    head.append(p.id, p.tier, p.timestamp, p.value);
                }
            })?;
        }
        if replayed > 0 {
            tracing::info!(
                points = replayed,
                files = wal_files.len(),
                "replayed the metric WAL"
            );
        }
        let wal = Wal::open(dir, generation)?;
        let head_since = (!head.is_empty()).then(|| clock.now().as_secs());
        let write_side = WriteSide {
            points: Vec::new(),
            covered_wal: wal_files.into_iter().map(|(_, p)| p).collect(),
            head_since,
        };
        let inner = Arc::new(Inner {
            config: config.clone(),
            rules,
            clock,
            index: RwLock::new(index),
            head: RwLock::new(head),
            frozen: RwLock::new(Vec::new()),
            catalog: RwLock::new(catalog),
            wal,
            write_side: Mutex::new(write_side),
            next_generation: AtomicU64::new(generation + 1),
            stats: TsdbStats::default(),
            shutdown: AtomicBool::new(false),
            wake: (Mutex::new(false), Condvar::new()),
            maintenance: Mutex::new(()),
            file_counter: AtomicU64::new(0),
        });
        let threads = vec![
            spawn("tsdb-commit", &inner, committer),
            spawn("tsdb-compact", &inner, compactor),
        ];
        Ok(Tsdb {
            inner,
            threads: Arc::new(Mutex::new(threads)),
        })
    }

    /// Stores a batch of points; they are durable once [`Tsdb::wait_durable`] says so.
    pub fn write(&self, batch: &PointBatch) -> Result<WriteOutcome> {
        let inner = &self.inner;
        if inner.shutdown.load(Ordering::Relaxed) {
            return Err(Error::Closed);
        }
        let now = inner.clock.now().as_secs();
        let future_limit = now + inner.config.future_tolerance.get().as_secs() as i64;
        let mut side = lock(&inner.write_side);
        let mut outcome = WriteOutcome::default();
        side.points.clear();
        let mut index = read(&inner.index);
        for point in batch.iter() {
            let id = match index.get(point.name) {
                Some(id) => id,
                None => {
                    drop(index);
                    let created = self.create_series(point.name);
                    index = read(&inner.index);
                    let Some(id) = created else {
                        outcome.over_series_limit += 1;
                        continue;
                    };
                    id
                }
            };
            if point.timestamp > future_limit {
                outcome.in_future += 1;
                continue;
            }
            let Some(schema) = index.schema(id) else {
                continue;
            };
            let age = now - point.timestamp;
            let Some(tier) = schema.archives().iter().position(|a| a.retention() >= age) else {
                outcome.too_old += 1;
                continue;
            };
            let step = i64::from(schema.archives()[tier].step);
            let timestamp = point.timestamp - point.timestamp.rem_euclid(step);
            side.points.push(WalPoint {
                id,
                tier: tier as u8,
                timestamp,
                value: point.value,
            });
        }
        drop(index);
        outcome.accepted = side.points.len();
        if outcome.accepted > 0 {
            outcome.seq = inner.wal.append_points(&side.points);
            let mut head = write(&inner.head);
            for p in &side.points {
                head.append(p.id, p.tier, p.timestamp, p.value);
            }
            side.head_since.get_or_insert(now);
        }
        drop(side);
        let stats = &inner.stats;
        stats
            .points_written
            .fetch_add(outcome.accepted as u64, Ordering::Relaxed);
        stats
            .points_too_old
            .fetch_add(outcome.too_old as u64, Ordering::Relaxed);
        stats
            .points_in_future
            .fetch_add(outcome.in_future as u64, Ordering::Relaxed);
        stats
            .points_over_series_limit
            .fetch_add(outcome.over_series_limit as u64, Ordering::Relaxed);
        self.wake_if_head_full();
        Ok(outcome)
    }

    /// Creates the series `name` (logging its definition), or finds it if another writer did.
    fn create_series(&self, name: &str) -> Option<SeriesId> {
        let (schema, aggregation) = self.inner.rules.resolve(name);
        let mut index = write(&self.inner.index);
        if let Some(id) = index.get(name) {
            return Some(id);
        }
        if index.len() >= self.inner.config.max_series {
            return None;
        }
        let id = index.next_id();
        let def = SeriesDef {
            id,
            name: name.to_owned(),
            schema: schema.clone(),
            aggregation,
        };
        if !index.insert(id, name, schema, aggregation) {
            return None;
        }
        self.inner.wal.append_series(&def);
        self.inner
            .stats
            .series_created
            .fetch_add(1, Ordering::Relaxed);
        Some(id)
    }

    fn wake_if_head_full(&self) {
        let bytes = read(&self.inner.head).bytes();
        if bytes as u64 > self.inner.config.head_max_size.get() {
            self.inner.wake();
        }
    }

    /// Waits until the write that returned `seq` is durable, at most `timeout`.
    pub fn wait_durable(&self, seq: u64, timeout: Duration) -> bool {
        seq == 0 || self.inner.wal.wait_committed(seq, timeout)
    }

    /// The WAL sequence of the last write, and of the last write made durable: a point whose
    /// write returned sequence `n` is acknowledged once the second reaches `n`.
    pub fn wal_sequences(&self) -> (u64, u64) {
        self.inner.wal.sequences()
    }

    /// Makes everything written so far durable now.
    pub fn commit(&self) -> Result<()> {
        self.inner.wal.commit()
    }

    pub fn stats(&self) -> &TsdbStats {
        &self.inner.stats
    }

    pub fn usage(&self) -> Usage {
        let inner = &self.inner;
        let index = read(&inner.index);
        let head = read(&inner.head);
        let (segments, disk_bytes) = read(&inner.catalog).disk_usage();
        Usage {
            series: index.len(),
            head_bytes: head.bytes(),
            head_points: head.points(),
            index_bytes: index.heap_size(),
            segments,
            disk_bytes,
        }
    }

    /// The series index, held only within this crate: readers outside it ask through the
    /// methods below, each of which takes the lock for one call and never hands it out.
    pub(crate) fn index(&self) -> RwLockReadGuard<'_, SeriesIndex> {
        read(&self.inner.index)
    }

    /// The id of the series with exactly this name.
    pub fn series_id(&self, name: &str) -> Option<SeriesId> {
        self.index().get(name)
    }

    /// The path tree's node at a dotted path (`""` is the root).
    pub fn path_node(&self, path: &str) -> Option<PathEntry> {
        self.index().node(path)
    }

    /// Calls `visit` with each child of the branch at `path`, in name order. The index is
    /// locked for reading meanwhile: `visit` must not call back into the store.
    pub fn path_children(&self, path: &str, visit: &mut dyn FnMut(&str, PathEntry)) {
        self.index().children(path, visit);
    }

    /// Calls `visit` with the name of each of `ids` the store knows, in order (same rule).
    pub fn visit_names(&self, ids: &[SeriesId], visit: &mut dyn FnMut(SeriesId, &str)) {
        let index = self.index();
        for &id in ids {
            if let Some(name) = index.name(id) {
                visit(id, name);
            }
        }
    }

    /// Every series name, in id order.
    pub fn series_names(&self) -> Vec<String> {
        let index = self.index();
        (0..index.next_id())
            .filter_map(|id| index.name(id).map(|n| n.to_string()))
            .collect()
    }

    /// Every tag key, sorted.
    pub fn tag_keys(&self) -> Vec<Arc<str>> {
        self.index().tag_keys()
    }

    /// A tag's values, sorted, with how many series carry each.
    pub fn tag_values(&self, key: &str) -> Vec<(Arc<str>, usize)> {
        self.index().tag_values(key)
    }

    /// The series tagged `key=value`, in id order.
    pub fn tagged(&self, key: &str, value: &str) -> Vec<SeriesId> {
        self.index().with_tag(key, value).to_vec()
    }

    /// The series whose value of tag `key` passes `keep`, unsorted (same rule for `keep`).
    pub fn tagged_where(&self, key: &str, keep: &mut dyn FnMut(&str) -> bool) -> Vec<SeriesId> {
        let index = self.index();
        index
            .tag_entries(key)
            .filter(|(value, _)| keep(value))
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect()
    }

    /// Stops the threads without committing or flushing: what a crash leaves behind, for
    /// tests of recovery.
    #[doc(hidden)]
    pub fn abandon(&self) {
        self.inner.shutdown.store(true, Ordering::SeqCst);
        self.inner.wake();
        for handle in lock(&self.threads).drain(..) {
            let _ = handle.join();
        }
    }

    /// Stops the threads, commits the WAL and writes the head out. Idempotent.
    pub fn close(&self) -> Result<()> {
        if self.inner.shutdown.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.inner.wake();
        for handle in lock(&self.threads).drain(..) {
            let _ = handle.join();
        }
        self.inner.wal.commit()?;
        self.flush()
    }
}

impl Inner {
    pub(crate) fn wake(&self) {
        let (flag, cv) = &self.wake;
        *lock(flag) = true;
        cv.notify_all();
    }

    /// Sleeps up to `timeout` or until woken; false once shutting down.
    fn nap(&self, timeout: Duration) -> bool {
        let (flag, cv) = &self.wake;
        let guard = lock(flag);
        let (mut guard, _) = cv
            .wait_timeout_while(guard, timeout, |woken| !*woken)
            .unwrap_or_else(|p| p.into_inner());
        *guard = false;
        !self.shutdown.load(Ordering::SeqCst)
    }
}

fn spawn(name: &str, inner: &Arc<Inner>, body: fn(Tsdb)) -> JoinHandle<()> {
    let tsdb = Tsdb {
        inner: Arc::clone(inner),
        threads: Arc::new(Mutex::new(Vec::new())),
    };
    #[allow(clippy::expect_used)] // Failing to start a thread at start-up is not recoverable.
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || body(tsdb))
        .expect("spawn a tsdb thread")
}

/// Commits the WAL every `commit_interval`.
fn committer(tsdb: Tsdb) {
    let inner = &tsdb.inner;
    let interval = inner.config.commit_interval.get();
    // Slept in slices, so stopping never waits out a long interval.
    let slice = interval.min(Duration::from_millis(50));
    let mut slept = Duration::ZERO;
    loop {
        std::thread::sleep(slice);
        // Stopping: `close` commits what is left itself, and `abandon` (a crash) must not.
        if inner.shutdown.load(Ordering::SeqCst) {
            return;
        }
        slept += slice;
        if slept < interval {
            continue;
        }
        slept = Duration::ZERO;
        match inner.wal.commit() {
            Ok(()) => inner.stats.wal_commits.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                tracing::error!(error = %e, "metric WAL commit failed");
                inner.stats.wal_errors.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
}

/// Flushes the head when due, and compacts every `compaction_interval`.
fn compactor(tsdb: Tsdb) {
    let inner = &tsdb.inner;
    let interval = inner.config.compaction_interval.get();
    let mut since_compaction = Duration::ZERO;
    let tick = Duration::from_secs(1).min(interval);
    while inner.nap(tick) {
        since_compaction += tick;
        let due = since_compaction >= interval;
        let result = tsdb
            .flush_if_due()
            .and_then(|()| if due { tsdb.compact() } else { Ok(()) });
        if due {
            since_compaction = Duration::ZERO;
        }
        if let Err(e) = result {
            tracing::error!(error = %e, "metric store maintenance failed");
            inner
                .stats
                .background_errors
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn check_format(dir: &Path) -> Result<()> {
    let path = dir.join("FORMAT");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let version = text
                .trim()
                .strip_prefix(FORMAT_PREFIX)
                .and_then(|v| v.parse::<u32>().ok());
            let version = version.ok_or_else(|| Error::Corrupt {
                path: path.clone(),
                reason: "unreadable".into(),
            })?;
            if version > FORMAT_VERSION {
                return Err(Error::TooNew {
                    path,
                    found: version,
                    supported: FORMAT_VERSION,
                });
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::write(&path, format!("{FORMAT_PREFIX}{FORMAT_VERSION}\n")).at(&path)
        }
        Err(e) => Err(Error::Io { path, source: e }),
    }
}
