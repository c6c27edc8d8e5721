//! The catalog: which segment files exist, by tier class and time partition.
//!
//! A *class* is one `(step, retention)` pair; every series tier with that pair shares its
//! directory, `data/s<step>-r<retention>/`, so retention can drop a whole partition directory
//! without looking inside. Partitions are fixed spans of time whose length follows from the
//! class ([`Class::partition_len`]: about a sixth of the retention, at least an hour, at most 30
//! days, a multiple of the step). A partition directory `<start>/` holds segment files and, once
//! its rollups are written to the next class, a `ROLLED` marker that lets a crash between
//! rolling and deleting finish cleanly.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{IoContext, Result};
use crate::schema::Archive;
use crate::segment::Segment;

/// One `(step, retention)` pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Class {
    pub step: u32,
    pub retention: i64,
}

impl Class {
    pub(crate) fn of(archive: Archive) -> Class {
        Class {
            step: archive.step,
            retention: archive.retention(),
        }
    }

    fn dir_name(self) -> String {
        format!("s{}-r{}", self.step, self.retention)
    }

    fn parse_dir_name(name: &str) -> Option<Class> {
        let (step, retention) = name.strip_prefix('s')?.split_once("-r")?;
        Some(Class {
            step: step.parse().ok()?,
            retention: retention.parse().ok()?,
        })
    }

    /// The span of one partition, in seconds.
    pub(crate) fn partition_len(self) -> i64 {
        const HOUR: i64 = 3_600;
        const DAY: i64 = 86_400;
        let target = self.retention / 6;
        let base = if target <= HOUR {
            HOUR
        } else if target <= DAY {
            [2, 3, 4, 6, 8, 12, 24]
                .iter()
                .map(|h| h * HOUR)
                .find(|l| *l >= target)
                .unwrap_or(DAY)
        } else {
            (((target + DAY - 1) / DAY) * DAY).min(30 * DAY)
        };
        lcm(base, i64::from(self.step))
    }

    /// The start of the partition holding `timestamp`.
    pub(crate) fn partition_of(self, timestamp: i64) -> i64 {
        let len = self.partition_len();
        timestamp - timestamp.rem_euclid(len)
    }
}

fn lcm(a: i64, b: i64) -> i64 {
    fn gcd(a: i64, b: i64) -> i64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    a / gcd(a, b) * b
}

/// One partition's files.
#[derive(Debug, Clone, Default)]
pub(crate) struct Partition {
    /// Oldest generation first.
    pub segments: Vec<Arc<Segment>>,
    pub rolled: bool,
}

/// Every segment of the store.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    root: PathBuf,
    classes: BTreeMap<Class, BTreeMap<i64, Partition>>,
}

impl Catalog {
    /// Scans `root` (the `data` directory), removing leftovers of interrupted writes.
    pub(crate) fn open(root: &Path) -> Result<Catalog> {
        fs::create_dir_all(root).at(root)?;
        let mut catalog = Catalog {
            root: root.to_owned(),
            classes: BTreeMap::new(),
        };
        for class_entry in fs::read_dir(root).at(root)? {
            let class_path = class_entry.at(root)?.path();
            let Some(class) = class_path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(Class::parse_dir_name)
            else {
                continue;
            };
            for part_entry in fs::read_dir(&class_path).at(&class_path)? {
                let part_path = part_entry.at(&class_path)?.path();
                let Some(start) = part_path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.parse().ok())
                else {
                    continue;
                };
                let partition = open_partition(&part_path, class)?;
                catalog
                    .classes
                    .entry(class)
                    .or_default()
                    .insert(start, partition);
            }
        }
        Ok(catalog)
    }

    pub(crate) fn partition_dir(&self, class: Class, start: i64) -> PathBuf {
        self.root.join(class.dir_name()).join(start.to_string())
    }

    pub(crate) fn add(&mut self, class: Class, segment: Arc<Segment>) {
        let partition = self
            .classes
            .entry(class)
            .or_default()
            .entry(segment.partition_start)
            .or_default();
        let at = partition
            .segments
            .partition_point(|s| s.generation <= segment.generation);
        partition.segments.insert(at, segment);
    }

    /// Replaces `old` segments of a partition with `new` (after a merge).
    pub(crate) fn replace(
        &mut self,
        class: Class,
        start: i64,
        old: &[Arc<Segment>],
        new: Arc<Segment>,
    ) {
        if let Some(p) = self.classes.get_mut(&class).and_then(|c| c.get_mut(&start)) {
            p.segments
                .retain(|s| !old.iter().any(|o| Arc::ptr_eq(o, s)));
        }
        self.add(class, new);
    }

    /// The segments of the partitions overlapping `[from, to)`, oldest generation first.
    pub(crate) fn segments(&self, class: Class, from: i64, to: i64) -> Vec<Arc<Segment>> {
        let Some(partitions) = self.classes.get(&class) else {
            return Vec::new();
        };
        let first = class.partition_of(from);
        let mut out: Vec<Arc<Segment>> = partitions
            .range(first..to)
            .flat_map(|(_, p)| p.segments.iter().cloned())
            .collect();
        out.sort_by_key(|s| s.generation);
        out
    }

    /// The start of the oldest partition of `class` not yet rolled up, if any.
    pub(crate) fn oldest_unrolled(&self, class: Class) -> Option<i64> {
        self.classes
            .get(&class)?
            .iter()
            .find(|(_, p)| !p.rolled)
            .map(|(start, _)| *start)
    }

    /// Marks a partition rolled, on disk and here.
    pub(crate) fn mark_rolled(&mut self, class: Class, start: i64) -> Result<()> {
        let dir = self.partition_dir(class, start);
        fs::create_dir_all(&dir).at(&dir)?;
        fs::write(dir.join("ROLLED"), b"").at(&dir)?;
        crate::wal::sync_dir(&dir)?;
        self.classes
            .entry(class)
            .or_default()
            .entry(start)
            .or_default()
            .rolled = true;
        Ok(())
    }

    /// Deletes a partition's directory and forgets it.
    pub(crate) fn drop_partition(&mut self, class: Class, start: i64) -> Result<()> {
        let dir = self.partition_dir(class, start);
        if let Some(c) = self.classes.get_mut(&class) {
            c.remove(&start);
        }
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e).at(&dir),
            _ => {}
        }
        Ok(())
    }

    /// One partition's current state.
    pub(crate) fn partition(&self, class: Class, start: i64) -> Option<Partition> {
        self.classes.get(&class)?.get(&start).cloned()
    }

    /// A snapshot of every partition, for compaction to work through without holding the lock.
    pub(crate) fn partitions(&self) -> Vec<(Class, i64, Partition)> {
        let each = self
            .classes
            .iter()
            .flat_map(|(c, ps)| ps.iter().map(move |(s, p)| (*c, *s, p.clone())));
        each.collect()
    }

    /// The highest generation of any segment.
    pub(crate) fn max_generation(&self) -> u64 {
        let all = self
            .classes
            .values()
            .flat_map(|c| c.values())
            .flat_map(|p| p.segments.iter());
        all.map(|s| s.generation).max().unwrap_or(0)
    }

    /// Segment files and their bytes.
    pub(crate) fn disk_usage(&self) -> (usize, u64) {
        let all = self
            .classes
            .values()
            .flat_map(|c| c.values())
            .flat_map(|p| p.segments.iter());
        all.fold((0, 0), |(n, bytes), s| (n + 1, bytes + s.size()))
    }
}

fn open_partition(dir: &Path, class: Class) -> Result<Partition> {
    let mut partition = Partition::default();
    for entry in fs::read_dir(dir).at(dir)? {
        let path = entry.at(dir)?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name == "ROLLED" {
            partition.rolled = true;
        } else if name.ends_with(".seg.tmp") {
            tracing::warn!(file = %path.display(), "removing a segment left half-written by a crash");
            fs::remove_file(&path).at(&path)?;
        } else if name.ends_with(".seg") {
            let segment = Segment::open(&path)?;
            if segment.step != class.step {
                let reason = format!("step {}s in a directory of {}s", segment.step, class.step);
                return Err(crate::error::Error::Corrupt { path, reason });
            }
            partition.segments.push(Arc::new(segment));
        }
    }
    partition.segments.sort_by_key(|s| s.generation);
    Ok(partition)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_lengths_follow_retention() {
        let len = |step, retention| Class { step, retention }.partition_len();
        assert_eq!(len(10, 6 * 3_600), 3_600);
        assert_eq!(len(60, 30 * 86_400), 5 * 86_400);
        assert_eq!(len(600, 5 * 365 * 86_400), 30 * 86_400);
        assert_eq!(len(60, 7 * 86_400), 2 * 86_400);
        assert_eq!(len(7, 3_600), 25_200, "a multiple of an odd step");
        let c = Class {
            step: 10,
            retention: 21_600,
        };
        assert_eq!(c.partition_of(7_250), 7_200);
        assert_eq!(c.partition_of(-1), -3_600);
        assert_eq!(Class::parse_dir_name(&c.dir_name()), Some(c));
    }
}
