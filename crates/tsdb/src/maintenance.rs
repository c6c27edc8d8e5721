//! Background work: writing the head out, merging segments, rolling up and dropping partitions.
//!
//! - **Flush.** The live head is frozen (swapped for an empty one of the next generation, with
//!   the WAL rotated in the same critical section so every point is in exactly one head's WAL
//!   files), then written as one segment per (class, partition) it touches. Once the segments
//!   are in the catalog the frozen head and its WAL files are dropped.
//! - **Merge.** A partition with several segments is rewritten as one, later generations
//!   winning, once it is closed to new writes (or sooner if the segments pile up).
//! - **Roll and drop.** When a partition is entirely older than its class's retention (plus a
//!   slack that lets heads flush), the rollups of its data are written into the next tier as
//!   generation-0 segments, so a point later written straight into that tier still wins, as in
//!   whisper; the partition is marked rolled, then its directory is deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::catalog::{Class, Partition};
use crate::engine::{Frozen, Tsdb, lock, read, write};
use crate::error::{IoContext, Result};
use crate::head::Head;
use crate::index::SeriesId;
use crate::segment::{Segment, SegmentWriter};

impl Tsdb {
    /// Writes the head out if it is over its size or age limit.
    pub(crate) fn flush_if_due(&self) -> Result<()> {
        let inner = &self.inner;
        let bytes = read(&inner.head).bytes() as u64;
        let since = lock(&inner.write_side).head_since;
        let now = inner.clock.now().as_secs();
        let old =
            since.is_some_and(|s| now - s >= inner.config.head_max_age.get().as_secs() as i64);
        if bytes > inner.config.head_max_size.get() || old || !read(&inner.frozen).is_empty() {
            self.flush()?;
        }
        Ok(())
    }

    /// Freezes the live head and writes it, and any head a failed flush left, to segments.
    pub fn flush(&self) -> Result<()> {
        let inner = &self.inner;
        let _maintenance = lock(&inner.maintenance);
        self.freeze()?;
        let pending: Vec<Arc<Frozen>> = read(&inner.frozen).clone();
        for frozen in pending {
            self.write_frozen(&frozen)?;
            write(&inner.frozen).retain(|f| !Arc::ptr_eq(f, &frozen));
            for path in &frozen.wal_files {
                std::fs::remove_file(path).at(path)?;
            }
            inner.stats.flushes.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn freeze(&self) -> Result<()> {
        let inner = &self.inner;
        let mut side = lock(&inner.write_side);
        let mut head = write(&inner.head);
        if head.is_empty() {
            return Ok(());
        }
        let generation = inner.next_generation.fetch_add(1, Ordering::SeqCst);
        let closed = inner.wal.rotate(generation)?;
        let old = std::mem::replace(&mut *head, Head::new(generation));
        let mut wal_files = std::mem::take(&mut side.covered_wal);
        wal_files.push(closed);
        side.head_since = None;
        write(&inner.frozen).push(Arc::new(Frozen {
            head: old,
            wal_files,
        }));
        Ok(())
    }

    fn write_frozen(&self, frozen: &Frozen) -> Result<()> {
        let generation = frozen.head.generation;
        let mut writers: BTreeMap<(Class, i64), SegmentWriter> = BTreeMap::new();
        for (id, tier, chunk) in frozen.head.chunks() {
            let Some(archive) = read(&self.inner.index)
                .schema(id)
                .map(|s| s.archives()[usize::from(tier)])
            else {
                continue;
            };
            self.add_split(
                &mut writers,
                Class::of(archive),
                generation,
                id,
                &chunk.points(),
            )?;
        }
        self.finish_writers(writers)
    }

    /// Adds one series' points to the writers of the partitions they fall in.
    fn add_split(
        &self,
        writers: &mut BTreeMap<(Class, i64), SegmentWriter>,
        class: Class,
        generation: u64,
        id: SeriesId,
        points: &[(i64, f64)],
    ) -> Result<()> {
        let mut rest = points;
        while let Some(first) = rest.first() {
            let start = class.partition_of(first.0);
            let cut = rest.partition_point(|p| p.0 < start + class.partition_len());
            let writer = match writers.entry((class, start)) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let path = self.segment_path(class, start, generation);
                    e.insert(SegmentWriter::create(&path, generation, start, class.step)?)
                }
            };
            writer.add(id, &rest[..cut])?;
            rest = &rest[cut..];
        }
        Ok(())
    }

    fn finish_writers(&self, writers: BTreeMap<(Class, i64), SegmentWriter>) -> Result<()> {
        let mut done = Vec::with_capacity(writers.len());
        for ((class, _), writer) in writers {
            if !writer.is_empty() {
                done.push((class, Arc::new(writer.finish()?)));
            }
        }
        let mut catalog = write(&self.inner.catalog);
        for (class, segment) in done {
            catalog.add(class, segment);
        }
        Ok(())
    }

    fn segment_path(&self, class: Class, start: i64, generation: u64) -> std::path::PathBuf {
        let nonce = self.inner.next_generation.load(Ordering::Relaxed)
            ^ self.inner.clock.now().as_nanos() as u64;
        let n = self.inner.file_counter.fetch_add(1, Ordering::Relaxed);
        read(&self.inner.catalog)
            .partition_dir(class, start)
            .join(format!("{generation:020}-{nonce:016x}{n:04x}.seg"))
    }

    /// Merges, rolls up and drops partitions as their time comes.
    pub fn compact(&self) -> Result<()> {
        let inner = &self.inner;
        let _maintenance = lock(&inner.maintenance);
        let now = inner.clock.now().as_secs();
        let slack = (inner.config.head_max_age.get() + inner.config.compaction_interval.get())
            .as_secs() as i64;
        // Finer classes come first, so rollups written into a coarser partition are there by
        // the time that partition is looked at; each partition is read afresh for that reason.
        let keys: Vec<(Class, i64)> = read(&inner.catalog)
            .partitions()
            .into_iter()
            .map(|(c, s, _)| (c, s))
            .collect();
        for (class, start) in keys {
            let Some(partition) = read(&inner.catalog).partition(class, start) else {
                continue;
            };
            let end = start + class.partition_len();
            if end + class.retention + slack <= now {
                if !partition.rolled {
                    self.roll(class, start, &partition)?;
                }
                write(&inner.catalog).drop_partition(class, start)?;
                inner
                    .stats
                    .partitions_dropped
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let closed = end + slack <= now;
            if partition.segments.len() > 1 && (closed || partition.segments.len() >= 4) {
                self.merge(class, start, &partition.segments)?;
            }
        }
        Ok(())
    }

    /// Rewrites a partition's segments as one.
    fn merge(&self, class: Class, start: i64, segments: &[Arc<Segment>]) -> Result<()> {
        let generation = segments.iter().map(|s| s.generation).max().unwrap_or(0);
        let mut ids = BTreeSet::new();
        for segment in segments {
            ids.extend(segment.ids()?);
        }
        let path = self.segment_path(class, start, generation);
        let mut writer = SegmentWriter::create(&path, generation, start, class.step)?;
        let mut merged: BTreeMap<i64, f64> = BTreeMap::new();
        for id in ids {
            merged.clear();
            for segment in segments {
                if let Some(points) = segment.read(id)? {
                    merged.extend(points);
                }
            }
            let points: Vec<(i64, f64)> = merged.iter().map(|(t, v)| (*t, *v)).collect();
            writer.add(id, &points)?;
        }
        let new = Arc::new(writer.finish()?);
        write(&self.inner.catalog).replace(class, start, segments, new);
        for segment in segments {
            std::fs::remove_file(segment.path()).at(segment.path())?;
        }
        self.inner.stats.merges.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Writes the rollups of an expiring partition into the next tier and marks it rolled.
    fn roll(&self, class: Class, start: i64, partition: &Partition) -> Result<()> {
        let mut ids = BTreeSet::new();
        for segment in &partition.segments {
            ids.extend(segment.ids()?);
        }
        let end = start + class.partition_len();
        let mut writers = BTreeMap::new();
        for id in ids {
            let (schema, aggregation) = {
                let index = read(&self.inner.index);
                let (Some(s), Some(a)) = (index.schema(id), index.aggregation(id)) else {
                    continue;
                };
                (s.clone(), a)
            };
            let archives = schema.archives();
            let Some(tier) = archives.iter().position(|a| Class::of(*a) == class) else {
                continue;
            };
            let Some(coarse) = archives.get(tier + 1) else {
                continue;
            };
            let step = i64::from(coarse.step);
            let (from, to) = (
                start - start.rem_euclid(step),
                end + (step - end.rem_euclid(step)) % step,
            );
            let fine: Vec<Option<f64>> =
                self.tier_values(id, &schema, aggregation, tier, from, to)?;
            let ratio = (coarse.step / archives[tier].step) as usize;
            let points: Vec<(i64, f64)> = fine
                .chunks(ratio)
                .enumerate()
                .filter_map(|(i, slots)| Some((from + i as i64 * step, aggregation.roll(slots)?)))
                .collect();
            self.add_split(&mut writers, Class::of(*coarse), 0, id, &points)?;
        }
        self.finish_writers(writers)?;
        write(&self.inner.catalog).mark_rolled(class, start)?;
        self.inner
            .stats
            .partitions_rolled
            .fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
