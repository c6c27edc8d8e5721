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
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE events (
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
    ) WITHOUT ROWID;",
    "CREATE TABLE issues (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL,
        grouping_version TEXT NOT NULL,
        grouping_hash TEXT NOT NULL,
        rule TEXT NOT NULL,
        components TEXT NOT NULL,
        title TEXT NOT NULL,
        culprit TEXT,
        level TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'unresolved',
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        times_seen INTEGER NOT NULL,
        first_release TEXT,
        last_release TEXT,
        UNIQUE (project_id, grouping_version, grouping_hash)
    );
    CREATE INDEX issues_project_seen ON issues(project_id, last_seen);
    CREATE TABLE issue_users (
        issue_id INTEGER NOT NULL,
        user_key TEXT NOT NULL,
        PRIMARY KEY (issue_id, user_key)
    ) WITHOUT ROWID;
    ALTER TABLE events ADD COLUMN issue_id INTEGER;
    CREATE INDEX events_issue ON events(issue_id, received_at);",
];

/// An issue: events grouped by one key, with its counters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Issue {
    pub id: i64,
    pub project_id: i64,
    pub title: String,
    pub culprit: Option<String>,
    pub level: String,
    pub status: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub times_seen: i64,
    pub users: i64,
    pub first_release: Option<String>,
    pub last_release: Option<String>,
    pub grouping: GroupingInfo,
}

/// Which rule grouped an issue's events, and what went into the key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GroupingInfo {
    pub version: String,
    pub rule: String,
    pub components: Vec<String>,
}

/// How to list issues.
#[derive(Debug, Clone, Default)]
pub struct IssueFilter {
    pub project_id: Option<i64>,
    pub status: Option<String>,
    /// Words that must all appear in the title (case-insensitive).
    pub query: Option<String>,
    /// `last_seen` (default), `first_seen`, `events` or `users`; newest or largest first.
    pub sort: Option<String>,
    pub limit: usize,
}

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
            let event: serde_json::Value =
                serde_json::from_slice(payload).unwrap_or(serde_json::Value::Null);
            let issue_id = upsert_issue(&tx, project_id, received_at, &event)?;
            tx.execute(
                "UPDATE events SET issue_id = ?1 WHERE project_id = ?2 AND event_id = ?3",
                params![issue_id, project_id, event_id],
            )?;
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

    /// Issues, filtered and sorted.
    pub fn issues(&self, filter: &IssueFilter) -> Result<Vec<Issue>> {
        let conn = self.conn.lock().map_err(|_| IssuesError::Poisoned)?;
        let order = match filter.sort.as_deref() {
            Some("first_seen") => "first_seen DESC",
            Some("events") => "times_seen DESC",
            Some("users") => "users DESC",
            _ => "last_seen DESC",
        };
        let sql = format!(
            "SELECT {ISSUE_COLUMNS} FROM issues i
             WHERE (?1 IS NULL OR project_id = ?1) AND (?2 IS NULL OR status = ?2)
             ORDER BY {order}, id DESC"
        );
        let mut stmt = conn.prepare(&sql)?;
        let words: Vec<String> = filter
            .query
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let rows = stmt.query_map(params![filter.project_id, filter.status], issue_of)?;
        let mut out = Vec::new();
        for row in rows {
            let issue = row?;
            let title = issue.title.to_lowercase();
            if words.iter().all(|w| title.contains(w.as_str())) {
                out.push(issue);
                if out.len() >= filter.limit.max(1) {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// One issue.
    pub fn issue(&self, id: i64) -> Result<Option<Issue>> {
        let conn = self.conn.lock().map_err(|_| IssuesError::Poisoned)?;
        Ok(conn
            .query_row(
                &format!("SELECT {ISSUE_COLUMNS} FROM issues i WHERE id = ?1"),
                params![id],
                issue_of,
            )
            .optional()?)
    }

    /// An issue's events, newest first.
    pub fn issue_events(&self, issue_id: i64, limit: usize) -> Result<Vec<StoredEvent>> {
        let conn = self.conn.lock().map_err(|_| IssuesError::Poisoned)?;
        let mut stmt = conn.prepare(
            "SELECT project_id, event_id, received_at, payload FROM events WHERE issue_id = ?1
             ORDER BY received_at DESC, event_id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![issue_id, limit as i64], |r| {
            Ok(StoredEvent {
                project_id: r.get(0)?,
                event_id: r.get(1)?,
                received_at: r.get(2)?,
                payload: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
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

const ISSUE_COLUMNS: &str = "id, project_id, title, culprit, level, status, first_seen, last_seen,
    times_seen, (SELECT COUNT(*) FROM issue_users u WHERE u.issue_id = i.id) AS users,
    first_release, last_release, grouping_version, rule, components";

fn issue_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Issue> {
    let components: String = r.get(14)?;
    Ok(Issue {
        id: r.get(0)?,
        project_id: r.get(1)?,
        title: r.get(2)?,
        culprit: r.get(3)?,
        level: r.get(4)?,
        status: r.get(5)?,
        first_seen: r.get(6)?,
        last_seen: r.get(7)?,
        times_seen: r.get(8)?,
        users: r.get(9)?,
        first_release: r.get(10)?,
        last_release: r.get(11)?,
        grouping: GroupingInfo {
            version: r.get(12)?,
            rule: r.get(13)?,
            components: serde_json::from_str(&components).unwrap_or_default(),
        },
    })
}

/// Finds or creates the event's issue and counts the event in it; returns its id.
fn upsert_issue(
    tx: &rusqlite::Transaction<'_>,
    project_id: i64,
    received_at: i64,
    event: &serde_json::Value,
) -> Result<i64> {
    let grouping = crate::grouping::group(event);
    let release = event
        .get("release")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    let level = crate::normalize::level(event);
    let existing: Option<i64> = tx
        .query_row(
            "SELECT id FROM issues WHERE project_id = ?1 AND grouping_version = ?2 AND grouping_hash = ?3",
            params![project_id, crate::grouping::VERSION, grouping.hash],
            |r| r.get(0),
        )
        .optional()?;
    let id = match existing {
        Some(id) => {
            tx.execute(
                "UPDATE issues SET last_seen = MAX(last_seen, ?2), times_seen = times_seen + 1,
                 last_release = COALESCE(?3, last_release), level = ?4,
                 first_release = COALESCE(first_release, ?3)
                 WHERE id = ?1",
                params![id, received_at, release, level],
            )?;
            id
        }
        None => {
            let components =
                serde_json::to_string(&grouping.components).unwrap_or_else(|_| "[]".into());
            tx.execute(
                "INSERT INTO issues (project_id, grouping_version, grouping_hash, rule, components,
                 title, culprit, level, first_seen, last_seen, times_seen, first_release, last_release)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, 1, ?10, ?10)",
                params![
                    project_id,
                    crate::grouping::VERSION,
                    grouping.hash,
                    grouping.rule.as_str(),
                    components,
                    crate::normalize::title(event),
                    crate::normalize::culprit(event),
                    level,
                    received_at,
                    release,
                ],
            )?;
            tx.last_insert_rowid()
        }
    };
    if let Some(user) = crate::normalize::user_key(event) {
        tx.execute(
            "INSERT OR IGNORE INTO issue_users (issue_id, user_key) VALUES (?1, ?2)",
            params![id, user],
        )?;
    }
    Ok(id)
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

    #[test]
    fn events_group_into_issues_with_counters() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            IssueStore::open(&dir.path().join("issues.db")).unwrap_or_else(|e| panic!("{e}"));
        let msg = |n: i64, user: &str, release: &str| {
            format!(
                r#"{{"message": "timeout for order {n}", "level": "warning", "user": {{"id": "{user}"}}, "release": "{release}"}}"#
            )
        };
        for (i, (user, release)) in [("u1", "1.0"), ("u2", "1.1"), ("u1", "1.1")]
            .iter()
            .enumerate()
        {
            let id = format!("e{i}");
            let body = msg(i as i64 * 100, user, release);
            assert!(
                store
                    .add_event(1, &id, 10 + i as i64, body.as_bytes(), &[])
                    .unwrap_or(false)
            );
        }
        store
            .add_event(
                1,
                "other",
                20,
                br#"{"exception": {"type": "KeyError", "value": "'x'"}}"#,
                &[],
            )
            .unwrap_or(false);
        let all = store
            .issues(&IssueFilter {
                project_id: Some(1),
                limit: 10,
                ..IssueFilter::default()
            })
            .unwrap_or_default();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].title, "KeyError: 'x'", "newest first");
        let timeout = &all[1];
        assert_eq!((timeout.times_seen, timeout.users), (3, 2));
        assert_eq!((timeout.first_seen, timeout.last_seen), (10, 12));
        assert_eq!(timeout.first_release.as_deref(), Some("1.0"));
        assert_eq!(timeout.last_release.as_deref(), Some("1.1"));
        assert_eq!(timeout.grouping.rule, "message");
        assert_eq!(timeout.grouping.components, ["timeout for order <int>"]);
        let by_events = store
            .issues(&IssueFilter {
                sort: Some("events".into()),
                query: Some("TIMEOUT".into()),
                limit: 10,
                ..IssueFilter::default()
            })
            .unwrap_or_default();
        assert_eq!(by_events.len(), 1);
        assert_eq!(
            store.issue_events(timeout.id, 10).map(|e| e.len()).ok(),
            Some(3)
        );
    }
}
