//! The event store's write-ahead log: events are appended and fsynced here before a sender is
//! answered, and replayed into the index after a crash.
//!
//! The log is a series of generations, `wal-<gen>.log`, each a run of records
//! `[len u32 LE][crc32 u32 LE][JSON event]`. A commit seals the current generation (new events
//! go to the next one) and stores the sealed number in every partition's commit payload; a
//! generation is deleted once every partition has committed it. On open, each record of a
//! generation later than its partition's payload is added again, so nothing acknowledged is
//! lost and nothing committed is added twice. A torn last record (a crash mid-append, before
//! the sender was answered) ends the replay of its file.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use model::LogEvent;
use serde_json::{Map, Value};

#[derive(Debug)]
pub(crate) struct Wal {
    dir: PathBuf,
    generation: u64,
    file: File,
}

fn path_of(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("wal-{generation:012}.log"))
}

/// The generations present, oldest first.
fn generations(dir: &Path) -> std::io::Result<Vec<u64>> {
    let mut out: Vec<u64> = std::fs::read_dir(dir)?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix("wal-")?
                .strip_suffix(".log")?
                .parse()
                .ok()
        })
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// Appends the event as one JSON object (`t`, `m`, `l`, `s`, `h`, `f`), written from borrowed
/// parts so nothing is cloned.
fn encode_into(out: &mut Vec<u8>, event: &LogEvent) {
    // Writing into a Vec cannot fail; serialising strings and JSON values cannot either.
    let _ = write!(out, "{{\"t\":{},\"m\":", event.timestamp_ns);
    let _ = serde_json::to_writer(&mut *out, &event.message);
    for (key, value) in [
        ("l", &event.level),
        ("s", &event.service),
        ("h", &event.host),
    ] {
        let _ = write!(out, ",\"{key}\":");
        let _ = serde_json::to_writer(&mut *out, value);
    }
    out.extend_from_slice(b",\"f\":");
    let _ = serde_json::to_writer(&mut *out, &event.fields);
    out.push(b'}');
}

fn decode(bytes: &[u8]) -> Option<LogEvent> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(LogEvent {
        timestamp_ns: v.get("t")?.as_i64()?,
        message: text("m").unwrap_or_default(),
        level: text("l"),
        service: text("s"),
        host: text("h"),
        fields: match v.get("f") {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        },
    })
}

impl Wal {
    /// Opens the log under `dir`, returning every record still held (with its generation), and
    /// starts a new generation for appends.
    pub(crate) fn open(dir: &Path) -> std::io::Result<(Wal, Vec<(u64, LogEvent)>)> {
        std::fs::create_dir_all(dir)?;
        let mut replay = Vec::new();
        let gens = generations(dir)?;
        for &generation in &gens {
            let mut bytes = Vec::new();
            File::open(path_of(dir, generation))?.read_to_end(&mut bytes)?;
            let mut pos = 0;
            while let Some(header) = bytes.get(pos..pos + 8) {
                let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
                let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
                let Some(body) = bytes.get(pos + 8..pos + 8 + len) else {
                    break;
                };
                if crc32fast::hash(body) != crc {
                    break;
                }
                if let Some(event) = decode(body) {
                    replay.push((generation, event));
                }
                pos += 8 + len;
            }
        }
        let generation = gens.last().map_or(1, |g| g + 1);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path_of(dir, generation))?;
        Ok((
            Wal {
                dir: dir.to_owned(),
                generation,
                file,
            },
            replay,
        ))
    }

    /// Appends events and waits until they are on disk.
    pub(crate) fn append(&mut self, events: &[&LogEvent]) -> std::io::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(events.len() * 512);
        for event in events {
            let start = buf.len();
            buf.extend_from_slice(&[0; 8]);
            encode_into(&mut buf, event);
            let len = (buf.len() - start - 8) as u32;
            let crc = crc32fast::hash(&buf[start + 8..]);
            buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
            buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()
    }

    /// Seals the current generation and starts the next; returns the sealed one.
    pub(crate) fn rotate(&mut self) -> std::io::Result<u64> {
        let sealed = self.generation;
        let next = sealed + 1;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path_of(&self.dir, next))?;
        self.generation = next;
        Ok(sealed)
    }

    /// The generation appends go to.
    pub(crate) fn current(&self) -> u64 {
        self.generation
    }

    /// Deletes every generation up to `through`.
    pub(crate) fn remove_through(&self, through: u64) -> std::io::Result<()> {
        for generation in generations(&self.dir)? {
            if generation <= through {
                std::fs::remove_file(path_of(&self.dir, generation))?;
            }
        }
        Ok(())
    }
}
