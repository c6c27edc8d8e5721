//! The data directory: created on first start, versioned, and locked to one process.
//!
//! Layout (it grows as stores arrive):
//! - `LOCK` holds an exclusive OS file lock for the life of the process, and its pid as text;
//! - `FORMAT` names the on-disk layout version, so a newer layout is refused, not misread;
//! - `control.db` is the SQLite control-plane database (see `db`).
//!
//! The lock is advisory but taken by every `sightline serve`; a second one exits with a message
//! naming the first one's pid. CLI commands that only touch SQLite (tokens, users) do not take
//! it, because SQLite coordinates its own writers.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The data directory layout version this binary writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;
const FORMAT_FILE: &str = "FORMAT";
/// Written by a running server: its pid and the base URL its DSNs use; removed at shutdown.
const RUNNING_FILE: &str = "RUNNING";
const FORMAT_PREFIX: &str = "sightline-data ";

/// An open, locked data directory. The lock is released when this is dropped.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Creates the directory if needed, takes the process lock, and checks the layout version.
    pub fn open(path: &Path) -> Result<DataDir> {
        let fail = |reason: String| Error::DataDir {
            path: path.to_owned(),
            reason,
        };
        fs::create_dir_all(path).map_err(|e| fail(format!("cannot create: {e}")))?;
        let meta = fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        if !meta.is_dir() {
            return Err(fail("not a directory".to_owned()));
        }
        let lock = take_lock(path)?;
        check_format(path)?;
        Ok(DataDir {
            path: path.to_owned(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of the control-plane database inside this directory.
    pub fn control_db_path(&self) -> PathBuf {
        control_db_path(&self.path)
    }

    /// Records that this process serves the directory at `url` (`http.public_url`, or the
    /// address it bound), for CLI commands run beside it.
    pub fn record_running(&self, url: &str) -> std::io::Result<()> {
        let text = format!("{} {url}\n", std::process::id());
        let tmp = self.path.join(format!("{RUNNING_FILE}.tmp"));
        fs::write(&tmp, text)?;
        fs::rename(tmp, self.path.join(RUNNING_FILE))
    }

    /// Removes the record at a clean shutdown.
    pub fn clear_running(&self) {
        let _ = fs::remove_file(self.path.join(RUNNING_FILE));
    }
}

/// The base URL of the server running on the data directory `dir`, if one is: the record it
/// wrote at start, when the process that wrote it still runs.
pub fn running_server_url(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join(RUNNING_FILE)).ok()?;
    let (pid, url) = text.trim().split_once(' ')?;
    let pid: u32 = pid.parse().ok()?;
    let lock_pid: u32 = fs::read_to_string(dir.join("LOCK"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let alive = Path::new(&format!("/proc/{pid}")).exists();
    (pid == lock_pid && alive).then(|| url.to_owned())
}

/// Where the control database of the data directory at `dir` lives, locked or not.
pub fn control_db_path(dir: &Path) -> PathBuf {
    dir.join("control.db")
}

fn take_lock(dir: &Path) -> Result<File> {
    let lock_path = dir.join("LOCK");
    let fail = |reason: String| Error::DataDir {
        path: dir.to_owned(),
        reason,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| fail(format!("cannot open {}: {e}", lock_path.display())))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let pid = file
                .read_to_string(&mut text)
                .ok()
                .and_then(|_| text.trim().parse().ok());
            return Err(Error::DataDirLocked {
                path: dir.to_owned(),
                pid,
            });
        }
        Err(TryLockError::Error(e)) => return Err(fail(format!("cannot lock: {e}"))),
    }
    let write_pid = |file: &mut File| -> std::io::Result<()> {
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        write!(file, "{}", std::process::id())?;
        file.sync_all()
    };
    write_pid(&mut file).map_err(|e| fail(format!("cannot write {}: {e}", lock_path.display())))?;
    Ok(file)
}

fn check_format(dir: &Path) -> Result<()> {
    let path = dir.join(FORMAT_FILE);
    let fail = |reason: String| Error::DataDir {
        path: dir.to_owned(),
        reason,
    };
    match fs::read_to_string(&path) {
        Ok(text) => {
            let version = text
                .trim()
                .strip_prefix(FORMAT_PREFIX)
                .and_then(|v| v.parse::<u32>().ok())
                .ok_or_else(|| fail(format!("{FORMAT_FILE} is unreadable: {:?}", text.trim())))?;
            if version > FORMAT_VERSION {
                return Err(fail(format!(
                    "layout version {version} is newer than this binary supports ({FORMAT_VERSION}); upgrade sightline"
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::write(&path, format!("{FORMAT_PREFIX}{FORMAT_VERSION}\n"))
                .map_err(|e| fail(format!("cannot write {FORMAT_FILE}: {e}")))
        }
        Err(e) => Err(fail(format!("cannot read {FORMAT_FILE}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_and_locks() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("nested/data");
        let first = DataDir::open(&path).unwrap();
        assert!(path.join("FORMAT").is_file());
        let second = DataDir::open(&path).unwrap_err();
        match second {
            Error::DataDirLocked { pid, .. } => assert_eq!(pid, Some(std::process::id())),
            other => panic!("unexpected {other}"),
        }
        drop(first);
        DataDir::open(&path).unwrap();
    }

    #[test]
    fn refuses_a_file_and_a_newer_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("plain");
        fs::write(&file, "x").unwrap();
        let err = DataDir::open(&file).unwrap_err().to_string();
        assert!(
            err.contains("cannot create") || err.contains("not a directory"),
            "{err}"
        );

        let dir = tmp.path().join("future");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("FORMAT"), "sightline-data 99\n").unwrap();
        let err = DataDir::open(&dir).unwrap_err().to_string();
        assert!(err.contains("newer than this binary"), "{err}");
    }
}
