//! Segment files: the immutable, compressed form of one partition's points from one generation.
//!
//! Layout (integers little-endian):
//! - `SLTSEG01`, the magic;
//! - one block per series, in id order: its points, Gorilla or decimal coded (see
//!   `gorilla::encode_block`);
//! - the index: per series `id u32, offset u64, len u32, count u32, first_slot i64,
//!   last_slot i64` (36 bytes), sorted by id;
//! - the sparse index: the id of every 64th index entry;
//! - the footer (44 bytes): `generation u64, partition_start i64, step u32, entry_count u32,
//!   index_offset u64, version u32, crc32 u32` of the index, sparse index and footer before the
//!   crc, then the magic `SLTE`.
//!
//! Files are written to a temporary name, fsynced, renamed into place and the directory
//! fsynced, so a file with its final name is always whole. Opening one reads only the footer
//! and the sparse index; a lookup reads at most 64 index entries and one block.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::gorilla::{decode_block_with, encode_block};
use crate::index::SeriesId;
use crate::wal::sync_dir;

/// The segment format this binary writes and reads.
pub(crate) const SEGMENT_VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"SLTSEG01";
const FOOTER_MAGIC: u32 = u32::from_le_bytes(*b"SLTE");
const ENTRY_SIZE: usize = 36;
const FOOTER_SIZE: usize = 44;
const SPARSE_EVERY: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    id: SeriesId,
    offset: u64,
    len: u32,
    count: u32,
    first_slot: i64,
    last_slot: i64,
}

impl Entry {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.first_slot.to_le_bytes());
        out.extend_from_slice(&self.last_slot.to_le_bytes());
    }

    fn decode(b: &[u8]) -> Entry {
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        Entry {
            id: u32_at(0),
            offset: u64_at(4),
            len: u32_at(12),
            count: u32_at(16),
            first_slot: u64_at(20) as i64,
            last_slot: u64_at(28) as i64,
        }
    }
}

/// Writes one segment file.
#[derive(Debug)]
pub(crate) struct SegmentWriter {
    out: BufWriter<File>,
    tmp: PathBuf,
    path: PathBuf,
    entries: Vec<Entry>,
    offset: u64,
    generation: u64,
    partition_start: i64,
    step: u32,
}

impl SegmentWriter {
    pub(crate) fn create(
        path: &Path,
        generation: u64,
        partition_start: i64,
        step: u32,
    ) -> Result<Self> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).at(dir)?;
        }
        let tmp = path.with_extension("seg.tmp");
        let file = File::create(&tmp).at(&tmp)?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        out.write_all(MAGIC).at(&tmp)?;
        Ok(SegmentWriter {
            out,
            tmp,
            path: path.to_owned(),
            entries: Vec::new(),
            offset: MAGIC.len() as u64,
            generation,
            partition_start,
            step,
        })
    }

    /// Adds a series' points, sorted by slot with one point per slot. Ids must ascend.
    pub(crate) fn add(&mut self, id: SeriesId, points: &[(i64, f64)]) -> Result<()> {
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            return Ok(());
        };
        debug_assert!(
            self.entries.last().is_none_or(|e| e.id < id),
            "ids must ascend"
        );
        let bytes = encode_block(points);
        self.out.write_all(&bytes).at(&self.tmp)?;
        self.entries.push(Entry {
            id,
            offset: self.offset,
            len: bytes.len() as u32,
            count: points.len() as u32,
            first_slot: first.0,
            last_slot: last.0,
        });
        self.offset += bytes.len() as u64;
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes the index and footer, makes the file durable under its final name, and opens it.
    pub(crate) fn finish(mut self) -> Result<Segment> {
        let mut tail = Vec::with_capacity(self.entries.len() * ENTRY_SIZE + FOOTER_SIZE);
        for e in &self.entries {
            e.encode(&mut tail);
        }
        for e in self.entries.iter().step_by(SPARSE_EVERY) {
            tail.extend_from_slice(&e.id.to_le_bytes());
        }
        tail.extend_from_slice(&self.generation.to_le_bytes());
        tail.extend_from_slice(&self.partition_start.to_le_bytes());
        tail.extend_from_slice(&self.step.to_le_bytes());
        tail.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        tail.extend_from_slice(&self.offset.to_le_bytes());
        tail.extend_from_slice(&SEGMENT_VERSION.to_le_bytes());
        let crc = crc32fast::hash(&tail);
        tail.extend_from_slice(&crc.to_le_bytes());
        tail.extend_from_slice(&FOOTER_MAGIC.to_le_bytes());
        self.out.write_all(&tail).at(&self.tmp)?;
        let file = self.out.into_inner().map_err(|e| Error::Io {
            path: self.tmp.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().at(&self.tmp)?;
        fs::rename(&self.tmp, &self.path).at(&self.path)?;
        if let Some(dir) = self.path.parent() {
            sync_dir(dir)?;
        }
        Segment::open(&self.path)
    }
}

/// An open segment file.
#[derive(Debug)]
pub(crate) struct Segment {
    path: PathBuf,
    file: File,
    pub generation: u64,
    pub partition_start: i64,
    pub step: u32,
    entry_count: usize,
    index_offset: u64,
    sparse: Vec<SeriesId>,
    bytes: u64,
}

impl Segment {
    pub(crate) fn open(path: &Path) -> Result<Segment> {
        let file = File::open(path).at(path)?;
        let len = file.metadata().at(path)?.len();
        let corrupt = |reason: &str| Error::Corrupt {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        if len < (MAGIC.len() + FOOTER_SIZE) as u64 {
            return Err(corrupt("shorter than a header and footer"));
        }
        let mut footer = [0u8; FOOTER_SIZE];
        file.read_exact_at(&mut footer, len - FOOTER_SIZE as u64)
            .at(path)?;
        let mut r = crate::wal::Reader(&footer);
        let (generation, partition_start) = (r.u64().unwrap_or(0), r.u64().unwrap_or(0) as i64);
        let (step, entry_count, index_offset) = (
            r.u32().unwrap_or(0),
            r.u32().unwrap_or(0) as usize,
            r.u64().unwrap_or(0),
        );
        let (version, crc, magic) = (
            r.u32().unwrap_or(0),
            r.u32().unwrap_or(0),
            r.u32().unwrap_or(0),
        );
        if magic != FOOTER_MAGIC {
            return Err(corrupt("bad footer magic"));
        }
        if version > SEGMENT_VERSION {
            return Err(Error::TooNew {
                path: path.to_owned(),
                found: version,
                supported: SEGMENT_VERSION,
            });
        }
        let sparse_count = entry_count.div_ceil(SPARSE_EVERY);
        let tail_len = entry_count * ENTRY_SIZE + sparse_count * 4;
        if index_offset + (tail_len + FOOTER_SIZE) as u64 != len {
            return Err(corrupt("index does not fit the file"));
        }
        let mut tail = vec![0u8; tail_len + FOOTER_SIZE - 8];
        file.read_exact_at(&mut tail, index_offset).at(path)?;
        if crc32fast::hash(&tail) != crc {
            return Err(corrupt("index checksum mismatch"));
        }
        let sparse = tail[entry_count * ENTRY_SIZE..tail_len]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Segment {
            path: path.to_owned(),
            file,
            generation,
            partition_start,
            step,
            entry_count,
            index_offset,
            sparse,
            bytes: len,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes on disk.
    pub(crate) fn size(&self) -> u64 {
        self.bytes
    }

    fn entries(&self, from: usize, to: usize) -> Result<Vec<Entry>> {
        let mut buf = vec![0u8; (to - from) * ENTRY_SIZE];
        self.file
            .read_exact_at(&mut buf, self.index_offset + (from * ENTRY_SIZE) as u64)
            .at(&self.path)?;
        Ok(buf.chunks_exact(ENTRY_SIZE).map(Entry::decode).collect())
    }

    /// The index entry of one series: the sparse index names its group of entries, one read
    /// brings the group, and only the entry found is decoded.
    fn find(&self, id: SeriesId) -> Result<Option<Entry>> {
        let group = match self.sparse.binary_search(&id) {
            Ok(i) => i,
            Err(0) => return Ok(None),
            Err(i) => i - 1,
        };
        let from = group * SPARSE_EVERY;
        let to = (from + SPARSE_EVERY).min(self.entry_count);
        let mut buf = [0u8; SPARSE_EVERY * ENTRY_SIZE];
        let buf = &mut buf[..(to - from) * ENTRY_SIZE];
        self.file
            .read_exact_at(buf, self.index_offset + (from * ENTRY_SIZE) as u64)
            .at(&self.path)?;
        let entry = |i: usize| &buf[i * ENTRY_SIZE..(i + 1) * ENTRY_SIZE];
        let (mut lo, mut hi) = (0, to - from);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let e = entry(mid);
            match u32::from_le_bytes([e[0], e[1], e[2], e[3]]).cmp(&id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(Entry::decode(e))),
            }
        }
        Ok(None)
    }

    /// One series' points, if this segment has any, handed to `visit` in slot order as they
    /// are decoded. A block that does not decode whole is an error (after `visit` has seen
    /// what did).
    pub(crate) fn read_with(&self, id: SeriesId, visit: &mut impl FnMut(i64, f64)) -> Result<bool> {
        let Some(entry) = self.find(id)? else {
            return Ok(false);
        };
        let mut block = vec![0u8; entry.len as usize];
        self.file
            .read_exact_at(&mut block, entry.offset)
            .at(&self.path)?;
        match decode_block_with(&block, entry.count, entry.first_slot, visit) {
            Some((n, last)) if n == entry.count && last == Some(entry.last_slot) => Ok(true),
            _ => Err(Error::Corrupt {
                path: self.path.clone(),
                reason: format!("block of series {} does not decode", entry.id),
            }),
        }
    }

    /// One series' points, if this segment has any.
    pub(crate) fn read(&self, id: SeriesId) -> Result<Option<Vec<(i64, f64)>>> {
        let mut points = Vec::new();
        let found = self.read_with(id, &mut |slot, value| points.push((slot, value)))?;
        Ok(found.then_some(points))
    }

    /// The ids of every series in this segment, ascending.
    pub(crate) fn ids(&self) -> Result<Vec<SeriesId>> {
        let mut ids = Vec::with_capacity(self.entry_count);
        for from in (0..self.entry_count).step_by(4096) {
            ids.extend(
                self.entries(from, (from + 4096).min(self.entry_count))?
                    .iter()
                    .map(|e| e.id),
            );
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_every_series() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("p/00000000000000000003.seg");
        let mut w = SegmentWriter::create(&path, 3, 1_699_999_200, 10).unwrap();
        let series: Vec<(SeriesId, Vec<(i64, f64)>)> = (0..500)
            .map(|id| {
                (
                    id * 2,
                    (0..(id % 7 + 1))
                        .map(|i| (170_000_000 + i64::from(i), f64::from(id + i)))
                        .collect(),
                )
            })
            .collect();
        for (id, points) in &series {
            w.add(*id, points).unwrap();
        }
        let segment = w.finish().unwrap();
        assert!(!tmp.path().join("p/00000000000000000003.seg.tmp").exists());
        let segment2 = Segment::open(&path).unwrap();
        assert_eq!(
            (segment2.generation, segment2.partition_start, segment2.step),
            (3, 1_699_999_200, 10)
        );
        for (id, points) in &series {
            assert_eq!(
                segment.read(*id).unwrap().as_ref(),
                Some(points),
                "series {id}"
            );
            assert_eq!(segment.read(id + 1).unwrap(), None);
        }
        assert_eq!(segment.read(10_000).unwrap(), None);
        assert_eq!(
            segment.ids().unwrap(),
            series.iter().map(|(id, _)| *id).collect::<Vec<_>>()
        );
        assert_eq!(segment2.step, 10);
    }

    #[test]
    fn damage_is_detected_not_misread() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.seg");
        let mut w = SegmentWriter::create(&path, 1, 0, 60).unwrap();
        w.add(1, &[(5, 1.0), (6, 2.0)]).unwrap();
        w.finish().unwrap();
        let good = fs::read(&path).unwrap();
        let mut bad = good.clone();
        let at = bad.len() - FOOTER_SIZE - 10;
        bad[at] ^= 0xff;
        fs::write(&path, &bad).unwrap();
        assert!(
            Segment::open(&path)
                .unwrap_err()
                .to_string()
                .contains("index checksum mismatch")
        );
        fs::write(&path, &good[..good.len() - 3]).unwrap();
        assert!(Segment::open(&path).is_err());
        let mut future = good.clone();
        let v = future.len() - 12;
        future[v..v + 4].copy_from_slice(&99u32.to_le_bytes());
        fs::write(&path, &future).unwrap();
        assert!(
            Segment::open(&path)
                .unwrap_err()
                .to_string()
                .contains("newer than this binary")
        );
    }
}
