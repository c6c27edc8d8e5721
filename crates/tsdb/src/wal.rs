//! The write-ahead log: what makes a received point survive a crash before it reaches a segment.
//!
//! Two append-only files use the same framing, `len u32 | crc32 u32 | payload`, little-endian:
//! - `series.log` holds every series definition (id, schema, aggregation, name), forever;
//! - `wal/<generation>.wal` holds point batches for one head generation, and is deleted once
//!   that generation has been written to segments.
//!
//! Writers only append to an in-memory buffer ([`Wal::append_points`]). The committer thread
//! calls [`Wal::commit`] every `commit_interval`: it writes the buffer and fdatasyncs, then
//! publishes the committed sequence, which [`Wal::wait_committed`] waits for. Commit and
//! rotation take the buffer lock before the file lock and hold it until they have the file,
//! so bytes reach the files in the order they were appended.
//!
//! Replay reads records until the end or the first record that is short or fails its CRC: a
//! torn tail from a crash mid-write. The file is truncated there and nothing before is lost.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::error::{Error, IoContext, Result};
use crate::index::SeriesId;
use crate::schema::{Aggregation, Archive, Method, Schema};

/// One point as the WAL keeps it: already assigned to a tier and aligned to its step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WalPoint {
    pub id: SeriesId,
    pub tier: u8,
    pub timestamp: i64,
    pub value: f64,
}

/// A series definition as `series.log` keeps it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeriesDef {
    pub id: SeriesId,
    pub name: String,
    pub schema: Schema,
    pub aggregation: Aggregation,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug, Default)]
struct Pending {
    points: Vec<u8>,
    series: Vec<u8>,
    /// Appends so far; the sequence number of the last one.
    seq: u64,
}

#[derive(Debug)]
struct Files {
    wal: File,
    wal_path: PathBuf,
    series: File,
    series_path: PathBuf,
}

/// The write-ahead log of one store.
#[derive(Debug)]
pub(crate) struct Wal {
    dir: PathBuf,
    pending: Mutex<Pending>,
    files: Mutex<Files>,
    committed: Mutex<u64>,
    committed_cv: Condvar,
}

pub(crate) fn wal_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join("wal").join(format!("{generation:020}.wal"))
}

impl Wal {
    /// Opens the log for appending, with `generation` as the current point file.
    pub(crate) fn open(dir: &Path, generation: u64) -> Result<Wal> {
        fs::create_dir_all(dir.join("wal")).at(&dir.join("wal"))?;
        let series_path = dir.join("series.log");
        let series = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&series_path)
            .at(&series_path)?;
        let wal_path = wal_path(dir, generation);
        let wal = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&wal_path)
            .at(&wal_path)?;
        sync_dir(&dir.join("wal"))?;
        Ok(Wal {
            dir: dir.to_owned(),
            pending: Mutex::new(Pending::default()),
            files: Mutex::new(Files {
                wal,
                wal_path,
                series,
                series_path,
            }),
            committed: Mutex::new(0),
            committed_cv: Condvar::new(),
        })
    }

    /// Queues a new series definition; it is committed with the next points.
    pub(crate) fn append_series(&self, def: &SeriesDef) {
        let mut pending = lock(&self.pending);
        let payload = encode_series(def);
        frame(&mut pending.series, &payload);
    }

    /// Queues points; returns the sequence number to wait for.
    pub(crate) fn append_points(&self, points: &[WalPoint]) -> u64 {
        let mut payload = Vec::with_capacity(4 + points.len() * 14);
        encode_points(points, &mut payload);
        let mut pending = lock(&self.pending);
        frame(&mut pending.points, &payload);
        pending.seq += 1;
        pending.seq
    }

    /// Writes and fsyncs everything queued, then wakes whoever waits for it. When it returns,
    /// everything appended before the call is durable, even what a concurrent commit took.
    pub(crate) fn commit(&self) -> Result<()> {
        let mut pending = lock(&self.pending);
        if pending.points.is_empty() && pending.series.is_empty() {
            // A commit in flight holds the file lock until it has published.
            drop(lock(&self.files));
            return Ok(());
        }
        let points = std::mem::take(&mut pending.points);
        let series = std::mem::take(&mut pending.series);
        let seq = pending.seq;
        let mut files = lock(&self.files);
        drop(pending);
        write_and_sync(&mut files, &series, &points)?;
        self.publish(seq);
        Ok(())
    }

    fn publish(&self, seq: u64) {
        let mut committed = lock(&self.committed);
        *committed = (*committed).max(seq);
        self.committed_cv.notify_all();
    }

    /// The sequence of the last points appended, and of the last ones durable.
    pub(crate) fn sequences(&self) -> (u64, u64) {
        let written = lock(&self.pending).seq;
        (written, *lock(&self.committed))
    }

    /// Waits until `seq` is durable, at most `timeout`; whether it is.
    pub(crate) fn wait_committed(&self, seq: u64, timeout: Duration) -> bool {
        let committed = lock(&self.committed);
        let (committed, _) = self
            .committed_cv
            .wait_timeout_while(committed, timeout, |c| *c < seq)
            .unwrap_or_else(|p| p.into_inner());
        *committed >= seq
    }

    /// Commits what is queued to the current file, then starts `generation`'s file. Returns the
    /// path of the file just closed.
    pub(crate) fn rotate(&self, generation: u64) -> Result<PathBuf> {
        let mut pending = lock(&self.pending);
        let points = std::mem::take(&mut pending.points);
        let series = std::mem::take(&mut pending.series);
        let seq = pending.seq;
        let mut files = lock(&self.files);
        write_and_sync(&mut files, &series, &points)?;
        let new_path = wal_path(&self.dir, generation);
        let wal = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&new_path)
            .at(&new_path)?;
        sync_dir(&self.dir.join("wal"))?;
        let old = std::mem::replace(&mut files.wal_path, new_path);
        files.wal = wal;
        self.publish(seq);
        Ok(old)
    }
}

fn write_and_sync(files: &mut Files, series: &[u8], points: &[u8]) -> Result<()> {
    if !series.is_empty() {
        files.series.write_all(series).at(&files.series_path)?;
        files.series.sync_data().at(&files.series_path)?;
    }
    if !points.is_empty() {
        files.wal.write_all(points).at(&files.wal_path)?;
        files.wal.sync_data().at(&files.wal_path)?;
    }
    Ok(())
}

/// Makes a directory's entries (new or renamed files) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

fn frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The payloads of the whole records in `bytes`, and the length they cover.
fn unframe(bytes: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut records = Vec::new();
    let mut pos = 0;
    while let Some(header) = bytes.get(pos..pos + 8) {
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let Some(payload) = bytes.get(pos + 8..pos + 8 + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        records.push(payload);
        pos += 8 + len;
    }
    (records, pos)
}

/// Reads a log file's records; a torn tail is cut off the file. Returns the payloads' owner.
fn read_log(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => f.read_to_end(&mut bytes).at(path)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(bytes),
        Err(e) => {
            return Err(Error::Io {
                path: path.to_owned(),
                source: e,
            });
        }
    };
    let (_, valid) = unframe(&bytes);
    if valid < bytes.len() {
        tracing::warn!(file = %path.display(), kept = valid, dropped = bytes.len() - valid, "cut a torn tail off the log");
        let f = OpenOptions::new().write(true).open(path).at(path)?;
        f.set_len(valid as u64).at(path)?;
        f.sync_all().at(path)?;
        bytes.truncate(valid);
    }
    Ok(bytes)
}

/// Every series definition in `dir/series.log`, in order.
pub(crate) fn replay_series(dir: &Path) -> Result<Vec<SeriesDef>> {
    let path = dir.join("series.log");
    let bytes = read_log(&path)?;
    let mut defs = Vec::new();
    for payload in unframe(&bytes).0 {
        match decode_series(payload) {
            Some(def) => defs.push(def),
            None => {
                return Err(Error::Corrupt {
                    path,
                    reason: "undecodable series record".into(),
                });
            }
        }
    }
    Ok(defs)
}

/// The point files present, oldest generation first.
pub(crate) fn wal_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let wal_dir = dir.join("wal");
    let mut files = Vec::new();
    let entries = match fs::read_dir(&wal_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => {
            return Err(Error::Io {
                path: wal_dir,
                source: e,
            });
        }
    };
    for entry in entries {
        let path = entry.at(&wal_dir)?.path();
        let generation = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse().ok());
        if let (Some(generation), Some("wal")) =
            (generation, path.extension().and_then(|e| e.to_str()))
        {
            files.push((generation, path));
        }
    }
    files.sort();
    Ok(files)
}

/// Feeds every point of one WAL file to `apply`, in order.
pub(crate) fn replay_points(path: &Path, mut apply: impl FnMut(WalPoint)) -> Result<u64> {
    let bytes = read_log(path)?;
    let mut count = 0;
    for payload in unframe(&bytes).0 {
        let Some(points) = decode_points(payload) else {
            return Err(Error::Corrupt {
                path: path.to_owned(),
                reason: "undecodable points record".into(),
            });
        };
        count += points.len() as u64;
        points.into_iter().for_each(&mut apply);
    }
    Ok(count)
}

fn encode_series(def: &SeriesDef) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + def.name.len());
    out.extend_from_slice(&def.id.to_le_bytes());
    out.push(def.schema.archives().len() as u8);
    for a in def.schema.archives() {
        out.extend_from_slice(&a.step.to_le_bytes());
        out.extend_from_slice(&a.points.to_le_bytes());
    }
    out.push(def.aggregation.method.code());
    out.extend_from_slice(&def.aggregation.x_files_factor.to_le_bytes());
    out.extend_from_slice(def.name.as_bytes());
    out
}

fn decode_series(p: &[u8]) -> Option<SeriesDef> {
    let mut r = Reader(p);
    let id = r.u32()?;
    let n = r.u8()?;
    let mut archives = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        archives.push(Archive {
            step: r.u32()?,
            points: r.u32()?,
        });
    }
    let method = Method::from_code(r.u8()?)?;
    let x_files_factor = f32::from_le_bytes(r.take(4)?.try_into().ok()?);
    let name = String::from_utf8(r.0.to_vec()).ok()?;
    let schema = Schema::new(archives).ok()?;
    Some(SeriesDef {
        id,
        name,
        schema,
        aggregation: Aggregation {
            x_files_factor,
            method,
        },
    })
}

fn encode_points(points: &[WalPoint], out: &mut Vec<u8>) {
    out.extend_from_slice(&(points.len() as u32).to_le_bytes());
    let mut prev = 0i64;
    for p in points {
        put_varint(out, u64::from(p.id));
        out.push(p.tier);
        put_varint(out, zigzag(p.timestamp.wrapping_sub(prev)));
        prev = p.timestamp;
        out.extend_from_slice(&p.value.to_le_bytes());
    }
}

fn decode_points(p: &[u8]) -> Option<Vec<WalPoint>> {
    let mut r = Reader(p);
    let count = r.u32()? as usize;
    let mut points = Vec::with_capacity(count.min(p.len() / 10));
    let mut prev = 0i64;
    for _ in 0..count {
        let id = SeriesId::try_from(r.varint()?).ok()?;
        let tier = r.u8()?;
        prev = prev.wrapping_add(unzigzag(r.varint()?));
        let value = f64::from_le_bytes(r.take(8)?.try_into().ok()?);
        points.push(WalPoint {
            id,
            tier,
            timestamp: prev,
            value,
        });
    }
    r.0.is_empty().then_some(points)
}

pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A cursor over a byte slice.
pub(crate) struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    pub(crate) fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
