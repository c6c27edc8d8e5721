//! [`IssueStore`]: the error tracker's SQLite database.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

#[derive(Debug, thiserror::Error)]
pub enum IssuesError {
    #[error("issues database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("issues database lock poisoned")]
    Poisoned,
}

pub type Result<T, E = IssuesError> = std::result::Result<T, E>;

/// Append-only: each entry runs once, in order, tracked by `user_version`.
const MIGRATIONS: &[&str] = &["CREATE TABLE events (
        project_id INTEGER NOT NULL,
        event_id TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        payload BLOB NOT NULL,
        PRIMARY KEY (project_id, event_id)
    ) WITHOUT ROWID;
    CREATE TABLE attachments (
        project_id INTEGER NOT NULL,
        event_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        filename TEXT NOT NULL,
        content_type TEXT,
        attachment_type TEXT,
        data BLOB NOT NULL,
        PRIMARY KEY (project_id, event_id, seq)
    ) WITHOUT ROWID;"];

/// A received event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub project_id: i64,
    pub event_id: String,
    pub received_at: i64,
    pub payload: Vec<u8>,
}

/// An attachment to store with its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: Option<String>,
    pub attachment_type: Option<String>,
    pub data: Vec<u8>,
}

#[derive(Debug)]
pub struct IssueStore {
    conn: Mutex<Connection>,
}

impl IssueStore {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> Result<IssueStore> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(IssueStore {
            conn: Mutex::new(conn),
        })
    }

    /// Stores an event and its attachments in one transaction, durable when this returns.
    /// Returns false when the project already has an event with this id (it is kept once).
    pub fn add_event(
        &self,
        project_id: i64,
        event_id: &str,
        received_at: i64,
        payload: &[u8],
        attachments: &[Attachment],
    ) -> Result<bool> {
        let mut conn = self.conn.lock().map_err(|_| IssuesError::Poisoned)?;
        let tx = conn.transaction()?;
        let added = tx.execute(
            "INSERT OR IGNORE INTO events (project_id, event_id, received_at, payload)
             VALUES (?1, ?2, ?3, ?4)",
            params![project_id, event_id, received_at, payload],
        )? == 1;
        if added {
            for (seq, a) in attachments.iter().enumerate() {
                tx.execute(
                    "INSERT INTO attachments
                     (project_id, event_id, seq, filename, content_type, attachment_type, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        project_id,
                        event_id,
                        seq as i64,
                        a.filename,
                        a.content_type,
                        a.attachment_type,
                        a.data
                    ],
                )?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// One stored event.
    pub fn event(&self, project_id: i64, event_id: &str) -> Result<Option<StoredEvent>> {
        let conn = self.conn.lock().map_err(|_| IssuesError::Poisoned)?;
        Ok(conn
            .query_row(
                "SELECT received_at, payload FROM events WHERE project_id = ?1 AND event_id = ?2",
                params![project_id, event_id],
                |r| {
                    Ok(StoredEvent {
                        project_id,
                        event_id: event_id.to_owned(),
                        received_at: r.get(0)?,
                        payload: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// A project's events, newest first.
    pub fn events(&self, project_id: i64, limit: usize) -> Result<Vec<StoredEvent>> {
        let conn = self.conn.lock().map_err(|_| IssuesError::Poisoned)?;
        let mut stmt = conn.prepare(
            "SELECT event_id, received_at, payload FROM events WHERE project_id = ?1
             ORDER BY received_at DESC, event_id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![project_id, limit as i64], |r| {
            Ok(StoredEvent {
                project_id,
                event_id: r.get(0)?,
                received_at: r.get(1)?,
                payload: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The attachments of an event: (filename, bytes).
    pub fn attachments(&self, project_id: i64, event_id: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let conn = self.conn.lock().map_err(|_| IssuesError::Poisoned)?;
        let mut stmt = conn.prepare(
            "SELECT filename, data FROM attachments WHERE project_id = ?1 AND event_id = ?2
             ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![project_id, event_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_kept_once_with_their_attachments_across_reopens() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("issues.db");
        let store = IssueStore::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let a = Attachment {
            filename: "log.txt".into(),
            content_type: Some("text/plain".into()),
            attachment_type: None,
            data: b"line\n".to_vec(),
        };
        assert!(
            store
                .add_event(1, "e1", 10, b"{}", std::slice::from_ref(&a))
                .unwrap_or(false)
        );
        assert!(
            !store
                .add_event(1, "e1", 11, b"{\"x\":1}", &[])
                .unwrap_or(true),
            "a duplicate"
        );
        assert!(
            store.add_event(2, "e1", 12, b"{}", &[]).unwrap_or(false),
            "another project"
        );
        drop(store);
        let store = IssueStore::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let e = store
            .event(1, "e1")
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("stored"));
        assert_eq!((e.received_at, e.payload.as_slice()), (10, &b"{}"[..]));
        assert_eq!(store.events(1, 10).map(|v| v.len()).ok(), Some(1));
        assert_eq!(
            store.attachments(1, "e1").ok(),
            Some(vec![("log.txt".to_owned(), b"line\n".to_vec())])
        );
    }
}
