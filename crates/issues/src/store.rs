//! [`IssueStore`]: the error tracker's SQLite database.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use crate::lifecycle::{Arrival, State};

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
    "ALTER TABLE issues ADD COLUMN resolved_at INTEGER;
    ALTER TABLE issues ADD COLUMN resolved_release TEXT;
    ALTER TABLE issues ADD COLUMN resolved_in_next_release INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE issues ADD COLUMN ignored_until INTEGER;
    ALTER TABLE issues ADD COLUMN ignored_until_events INTEGER;
    CREATE TABLE releases (
        project_id INTEGER NOT NULL,
        release TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (project_id, release)
    ) WITHOUT ROWID;
    CREATE TABLE issue_changes (
        id INTEGER PRIMARY KEY,
        issue_id INTEGER NOT NULL,
        at INTEGER NOT NULL,
        status TEXT NOT NULL,
        detail TEXT NOT NULL,
        by TEXT
    );
    CREATE INDEX issue_changes_issue ON issue_changes(issue_id, id);",
    "CREATE TABLE issue_hours (
        issue_id INTEGER NOT NULL,
        hour INTEGER NOT NULL,
        events INTEGER NOT NULL,
        PRIMARY KEY (issue_id, hour)
    ) WITHOUT ROWID;
    CREATE TABLE issue_tags (
        issue_id INTEGER NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        events INTEGER NOT NULL,
        PRIMARY KEY (issue_id, key, value)
    ) WITHOUT ROWID;",
    "CREATE TABLE check_ins (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL,
        monitor_slug TEXT NOT NULL,
        check_in_id TEXT,
        status TEXT NOT NULL,
        duration REAL,
        environment TEXT,
        received_at INTEGER NOT NULL
    );
    CREATE INDEX check_ins_monitor ON check_ins(project_id, monitor_slug, received_at);",
    "CREATE INDEX events_received ON events(received_at);",
];

/// A cron monitor's check-in, as an SDK reported it (`in_progress`, `ok`, `error`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CheckIn {
    pub monitor_slug: String,
    pub check_in_id: Option<String>,
    pub status: String,
    pub duration: Option<f64>,
    pub environment: Option<String>,
    pub received_at: i64,
}

/// A tag key and its most frequent values with their event counts.
pub type TagValues = (String, Vec<(String, i64)>);

/// Tag keys kept per issue, and the longest value kept (longer ones are cut).
const MAX_TAG_KEYS: usize = 50;
const MAX_TAG_VALUE: usize = 200;

/// A change of an issue's state, by a person or by an event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub at: i64,
    /// The state after the change.
    pub status: String,
    /// `resolved`, `resolved in the release after …`, `ignored …`, `regressed: event …`, …
    pub detail: String,
    /// Who made it, or none for a change an event caused.
    pub by: Option<String>,
}

/// What a person does to an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChange {
    Unresolve,
    /// Fixed now: a later event regresses it, unless its release is older than the last one
    /// seen before the resolution.
    Resolve,
    /// Fixed in the release after the last one seen: events of that release or older do not
    /// regress it, a newer release's do.
    ResolveInNextRelease,
    /// Not shown as unresolved: forever, until a time, or until this many more events.
    Ignore {
        until: Option<i64>,
        more_events: Option<i64>,
    },
}

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
    pub resolved_at: Option<i64>,
    pub resolved_in_next_release: bool,
    pub ignored_until: Option<i64>,
    pub ignored_until_events: Option<i64>,
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
    /// Issues with an event in this environment, or of this release.
    pub environment: Option<String>,
    pub release: Option<String>,
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

/// An event to store, for [`IssueStore::add_events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub project_id: i64,
    pub event_id: String,
    pub received_at: i64,
    /// The payload as received (stored), and parsed (grouped): parsed once by the caller.
    pub payload: Vec<u8>,
    pub event: serde_json::Value,
    pub attachments: Vec<Attachment>,
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
    /// Events kept per issue: its first, and the newest up to this many (the counters count
    /// every event).
    samples_per_issue: usize,
}

/// The default number of sample events an issue keeps.
pub const SAMPLES_PER_ISSUE: usize = 100;

impl IssueStore {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> Result<IssueStore> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Every event runs the same dozen statements: parse them once.
        conn.set_prepared_statement_cache_capacity(64);
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
            samples_per_issue: SAMPLES_PER_ISSUE,
        })
    }

    /// Removes the sample events received before `before_s` (seconds) and their attachments,
    /// in batches so ingest is never held up for long; issues, their counts, hours, tags and
    /// users stay. Returns how many events and attachments went.
    pub fn drop_samples_before(&self, before_s: i64) -> Result<(u64, u64)> {
        const BATCH: i64 = 5000;
        let (mut events, mut attachments) = (0u64, 0u64);
        loop {
            let mut conn = self.conn.lock().map_err(|_| IssuesError::Poisoned)?;
            let tx = conn.transaction()?;
            tx.execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS doomed (project_id INTEGER, event_id TEXT);
                 DELETE FROM doomed;",
            )?;
            let picked = tx.execute(
                "INSERT INTO doomed SELECT project_id, event_id FROM events
                 WHERE received_at < ?1 LIMIT ?2",
                rusqlite::params![before_s, BATCH],
            )?;
            attachments += tx.execute(
                "DELETE FROM attachments WHERE (project_id, event_id) IN (SELECT * FROM doomed)",
                [],
            )? as u64;
            events += tx.execute(
                "DELETE FROM events WHERE (project_id, event_id) IN (SELECT * FROM doomed)",
                [],
            )? as u64;
            tx.commit()?;
            if (picked as i64) < BATCH {
                return Ok((events, attachments));
            }
        }
    }

    /// Keeps this many sample events per issue (at least one besides the first).
    pub fn with_samples_per_issue(mut self, n: usize) -> IssueStore {
        self.samples_per_issue = n.max(1);
        self
    }

    /// Stores an event and its attachments in one transaction, durable when this returns.
    /// Returns the event's issue, or `None` when the project already has an event with this id
    /// (it is kept once).
    pub fn add_event(
        &self,
        project_id: i64,
        event_id: &str,
        received_at: i64,
        payload: &[u8],
        attachments: &[Attachment],
    ) -> Result<Option<i64>> {
        let mut conn = self.conn.lock().map_err(|_| IssuesError::Poisoned)?;
        let tx = conn.transaction()?;
        let event: serde_json::Value =
            serde_json::from_slice(payload).unwrap_or(serde_json::Value::Null);
        let issue = self.insert_event(
            &tx,
            project_id,
            event_id,
            received_at,
            payload,
            &event,
            attachments,
        )?;
        tx.commit()?;
        Ok(issue)
    }

    /// Stores several events in one transaction (one fsync: a group commit), each as
    /// [`IssueStore::add_event`] would; the answers in order.
    pub fn add_events(&self, batch: &[NewEvent]) -> Result<Vec<Option<i64>>> {
        let mut conn = self.conn.lock().map_err(|_| IssuesError::Poisoned)?;
        let tx = conn.transaction()?;
        let mut out = Vec::with_capacity(batch.len());
        for e in batch {
            out.push(self.insert_event(
                &tx,
                e.project_id,
                &e.event_id,
                e.received_at,
                &e.payload,
                &e.event,
                &e.attachments,
            )?);
        }
        tx.commit()?;
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn insert_event(
        &self,
        tx: &rusqlite::Transaction<'_>,
        project_id: i64,
        event_id: &str,
        received_at: i64,
        payload: &[u8],
        event: &serde_json::Value,
        attachments: &[Attachment],
    ) -> Result<Option<i64>> {
        let mut issue = None;
        let added = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO events (project_id, event_id, received_at, payload)
             VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![project_id, event_id, received_at, payload])?
            == 1;
        if added {
            let issue_id = upsert_issue(tx, project_id, received_at, event)?;
            issue = Some(issue_id);
            tx.prepare_cached(
                "UPDATE events SET issue_id = ?1 WHERE project_id = ?2 AND event_id = ?3",
            )?
            .execute(params![issue_id, project_id, event_id])?;
            // Bounded samples: the issue's first event and its newest ones (and their
            // attachments); the counters keep counting every event.
            let victims: Vec<String> = tx
                .prepare_cached(
                    "SELECT event_id FROM events WHERE issue_id = ?1 AND event_id NOT IN (
                         SELECT event_id FROM events WHERE issue_id = ?1
                         ORDER BY received_at DESC, event_id DESC LIMIT ?2)
                     AND event_id != (SELECT event_id FROM events WHERE issue_id = ?1
                         ORDER BY received_at, event_id LIMIT 1)",
                )?
                .query_map(params![issue_id, self.samples_per_issue as i64], |r| {
                    r.get(0)
                })?
                .collect::<rusqlite::Result<_>>()?;
            for victim in &victims {
                tx.prepare_cached("DELETE FROM events WHERE project_id = ?1 AND event_id = ?2")?
                    .execute(params![project_id, victim])?;
                tx.prepare_cached(
                    "DELETE FROM attachments WHERE project_id = ?1 AND event_id = ?2",
                )?
                .execute(params![project_id, victim])?;
            }
            for (seq, a) in attachments.iter().enumerate() {
                tx.prepare_cached(
                    "INSERT INTO attachments
                     (project_id, event_id, seq, filename, content_type, attachment_type, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    project_id,
                    event_id,
                    seq as i64,
                    a.filename,
                    a.content_type,
                    a.attachment_type,
                    a.data
                ])?;
            }
        }
        Ok(issue)
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
               AND (?3 IS NULL OR EXISTS (SELECT 1 FROM issue_tags t WHERE t.issue_id = i.id
                    AND t.key = 'environment' AND t.value = ?3))
               AND (?4 IS NULL OR EXISTS (SELECT 1 FROM issue_tags t WHERE t.issue_id = i.id
                    AND t.key = 'release' AND t.value = ?4))
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
        let rows = stmt.query_map(
            params![
                filter.project_id,
                filter.status,
                filter.environment,
                filter.release
            ],
            issue_of,
        )?;
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

    /// Changes an issue's state; `None` if there is no such issue.
    pub fn set_status(
        &self,
        id: i64,
        change: &StatusChange,
        at: i64,
        by: &str,
    ) -> Result<Option<Issue>> {
        let mut conn = self.conn.lock().map_err(|_| IssuesError::Poisoned)?;
        let tx = conn.transaction()?;
        let found: Option<(State, Option<String>, i64)> = tx
            .prepare_cached(&format!(
                "SELECT {STATE_COLUMNS}, last_release, times_seen FROM issues WHERE id = ?1"
            ))?
            .query_row(params![id], |r| Ok((state_of(r)?, r.get(6)?, r.get(7)?)))
            .optional()?;
        let Some((state, last_release, times_seen)) = found else {
            return Ok(None);
        };
        let t = state.change(change, at, last_release.as_deref(), times_seen);
        store_state(&tx, id, &t.next)?;
        let (status, detail) = (t.next.status().as_str(), t.detail);
        record(&tx, id, at, status, &detail, Some(by))?;
        tx.commit()?;
        drop(conn);
        self.issue(id)
    }

    /// Records a check-in (for the alerts area's cron monitors).
    pub fn add_check_in(&self, project_id: i64, c: &CheckIn) -> Result<()> {
        let conn = self.conn.lock().map_err(|_| IssuesError::Poisoned)?;
        conn.execute(
            "INSERT INTO check_ins (project_id, monitor_slug, check_in_id, status, duration, environment, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![project_id, c.monitor_slug, c.check_in_id, c.status, c.duration, c.environment, c.received_at],
        )?;
        Ok(())
    }

    /// A monitor's check-ins, newest first.
    pub fn check_ins(
        &self,
        project_id: i64,
        monitor_slug: &str,
        limit: usize,
    ) -> Result<Vec<CheckIn>> {
        let conn = self.conn.lock().map_err(|_| IssuesError::Poisoned)?;
        let mut stmt = conn.prepare(
            "SELECT monitor_slug, check_in_id, status, duration, environment, received_at FROM check_ins
             WHERE project_id = ?1 AND monitor_slug = ?2 ORDER BY received_at DESC, id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![project_id, monitor_slug, limit as i64], |r| {
            Ok(CheckIn {
                monitor_slug: r.get(0)?,
                check_in_id: r.get(1)?,
                status: r.get(2)?,
                duration: r.get(3)?,
                environment: r.get(4)?,
                received_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// An issue's events per hour (start of the hour, count), oldest first, since `since`.
    pub fn hourly(&self, issue_id: i64, since: i64) -> Result<Vec<(i64, i64)>> {
        let conn = self.conn.lock().map_err(|_| IssuesError::Poisoned)?;
        let mut stmt = conn.prepare(
            "SELECT hour, events FROM issue_hours WHERE issue_id = ?1 AND hour >= ?2 ORDER BY hour",
        )?;
        let rows = stmt.query_map(params![issue_id, since], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// An issue's most frequent values of each tag key (up to `per_key`), by key.
    pub fn top_tags(&self, issue_id: i64, per_key: usize) -> Result<Vec<TagValues>> {
        let conn = self.conn.lock().map_err(|_| IssuesError::Poisoned)?;
        let mut stmt = conn.prepare(
            "SELECT key, value, events FROM issue_tags WHERE issue_id = ?1
             ORDER BY key, events DESC, value",
        )?;
        let rows = stmt.query_map(params![issue_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out: Vec<TagValues> = Vec::new();
        for row in rows {
            let (key, value, events) = row?;
            match out.last_mut() {
                Some((k, values)) if *k == key => {
                    if values.len() < per_key {
                        values.push((value, events));
                    }
                }
                _ => out.push((key, vec![(value, events)])),
            }
        }
        Ok(out)
    }

    /// An issue's state changes, oldest first.
    pub fn changes(&self, issue_id: i64) -> Result<Vec<Change>> {
        let conn = self.conn.lock().map_err(|_| IssuesError::Poisoned)?;
        let mut stmt = conn.prepare(
            "SELECT at, status, detail, by FROM issue_changes WHERE issue_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![issue_id], |r| {
            Ok(Change {
                at: r.get(0)?,
                status: r.get(1)?,
                detail: r.get(2)?,
                by: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
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
    first_release, last_release, grouping_version, rule, components, resolved_at,
    resolved_in_next_release, ignored_until, ignored_until_events";

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
        resolved_at: r.get(15)?,
        resolved_in_next_release: r.get::<_, i64>(16)? != 0,
        ignored_until: r.get(17)?,
        ignored_until_events: r.get(18)?,
        grouping: GroupingInfo {
            version: r.get(12)?,
            rule: r.get(13)?,
            components: serde_json::from_str(&components).unwrap_or_default(),
        },
    })
}

/// The tags an issue counts: the event's own, and its level, environment, release, server
/// and user.
fn event_tags(event: &serde_json::Value) -> Vec<(String, String)> {
    let mut tags = crate::normalize::tags(event);
    tags.push(("level".into(), crate::normalize::level(event).into()));
    for key in ["environment", "release", "server_name"] {
        if let Some(v) = event.get(key).and_then(serde_json::Value::as_str) {
            tags.push((key.into(), v.into()));
        }
    }
    if let Some(user) = crate::normalize::user_key(event) {
        tags.push(("user".into(), user));
    }
    tags.sort();
    tags.dedup_by(|a, b| a.0 == b.0);
    for (_, v) in &mut tags {
        if v.len() > MAX_TAG_VALUE {
            let cut = (0..=MAX_TAG_VALUE)
                .rev()
                .find(|i| v.is_char_boundary(*i))
                .unwrap_or(0);
            v.truncate(cut);
        }
    }
    tags
}

/// The order in which a project's releases were first seen (older is smaller).
fn release_seq(
    tx: &rusqlite::Transaction<'_>,
    project_id: i64,
    release: &str,
) -> Result<Option<i64>> {
    Ok(tx
        .prepare_cached("SELECT seq FROM releases WHERE project_id = ?1 AND release = ?2")?
        .query_row(params![project_id, release], |r| r.get(0))
        .optional()?)
}

fn record(
    tx: &rusqlite::Transaction<'_>,
    issue_id: i64,
    at: i64,
    status: &str,
    detail: &str,
    by: Option<&str>,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO issue_changes (issue_id, at, status, detail, by) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![issue_id, at, status, detail, by])?;
    Ok(())
}

/// The columns an issue's [`State`] is stored in, in [`state_of`]'s order.
const STATE_COLUMNS: &str = "status, resolved_at, resolved_release, resolved_in_next_release, \
     ignored_until, ignored_until_events";

/// The state in a row's first columns ([`STATE_COLUMNS`]).
fn state_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<State> {
    Ok(State::from_columns(
        &r.get::<_, String>(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get::<_, i64>(3)? != 0,
        r.get(4)?,
        r.get(5)?,
    ))
}

/// Writes an issue's state into its columns.
fn store_state(tx: &rusqlite::Transaction<'_>, id: i64, state: &State) -> Result<()> {
    let (status, resolved_at, release, next, until, until_events) = state.columns();
    tx.prepare_cached(
        "UPDATE issues SET status = ?2, resolved_at = ?3, resolved_release = ?4,
         resolved_in_next_release = ?5, ignored_until = ?6, ignored_until_events = ?7
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        status,
        resolved_at,
        release,
        i64::from(next),
        until,
        until_events
    ])?;
    Ok(())
}

/// What a new event does to its issue's state (a regression, or the end of an ignore), by
/// the lifecycle's rules.
fn wake(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    project_id: i64,
    received_at: i64,
    release: Option<&str>,
    event: &serde_json::Value,
) -> Result<()> {
    let (state, times_seen): (State, i64) = tx
        .prepare_cached(&format!(
            "SELECT {STATE_COLUMNS}, times_seen FROM issues WHERE id = ?1"
        ))?
        .query_row(params![id], |r| Ok((state_of(r)?, r.get(6)?)))?;
    let against_fix = match (&state, release) {
        (
            State::Resolved {
                release: Some(fixed),
                ..
            },
            Some(r),
        ) => {
            match (
                release_seq(tx, project_id, r)?,
                release_seq(tx, project_id, fixed)?,
            ) {
                (Some(e), Some(f)) => Some(e.cmp(&f)),
                _ => None,
            }
        }
        _ => None,
    };
    let arrival = Arrival {
        received_at,
        release,
        against_fix,
        times_seen,
        event_id: event
            .get("event_id")
            .and_then(serde_json::Value::as_str)
            .unwrap_or(""),
    };
    if let Some(t) = state.on_event(&arrival) {
        store_state(tx, id, &t.next)?;
        record(
            tx,
            id,
            received_at,
            t.next.status().as_str(),
            &t.detail,
            None,
        )?;
    }
    Ok(())
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
    if let Some(r) = &release {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO releases (project_id, release, first_seen, seq)
             VALUES (?1, ?2, ?3, (SELECT COUNT(*) FROM releases WHERE project_id = ?1))",
        )?
        .execute(params![project_id, r, received_at])?;
    }
    let existing: Option<i64> = tx.prepare_cached("SELECT id FROM issues WHERE project_id = ?1 AND grouping_version = ?2 AND grouping_hash = ?3")?.query_row(params![project_id, crate::grouping::VERSION, grouping.hash], |r| r.get(0))
        .optional()?;
    let id = match existing {
        Some(id) => {
            wake(tx, id, project_id, received_at, release.as_deref(), event)?;
            tx.prepare_cached(
                "UPDATE issues SET last_seen = MAX(last_seen, ?2), times_seen = times_seen + 1,
                 last_release = COALESCE(?3, last_release), level = ?4,
                 first_release = COALESCE(first_release, ?3)
                 WHERE id = ?1",
            )?
            .execute(params![id, received_at, release, level])?;
            id
        }
        None => {
            let components =
                serde_json::to_string(&grouping.components).unwrap_or_else(|_| "[]".into());
            tx.prepare_cached("INSERT INTO issues (project_id, grouping_version, grouping_hash, rule, components,
                 title, culprit, level, first_seen, last_seen, times_seen, first_release, last_release)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, 1, ?10, ?10)")?.execute(params![
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
                ])?;
            tx.last_insert_rowid()
        }
    };
    tx.prepare_cached(
        "INSERT INTO issue_hours (issue_id, hour, events) VALUES (?1, ?2, 1)
         ON CONFLICT (issue_id, hour) DO UPDATE SET events = events + 1",
    )?
    .execute(params![id, received_at.div_euclid(3600) * 3600])?;
    for (key, value) in event_tags(event).into_iter().take(MAX_TAG_KEYS) {
        tx.prepare_cached(
            "INSERT INTO issue_tags (issue_id, key, value, events) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (issue_id, key, value) DO UPDATE SET events = events + 1",
        )?
        .execute(params![id, key, value])?;
    }
    if let Some(user) = crate::normalize::user_key(event) {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO issue_users (issue_id, user_key) VALUES (?1, ?2)",
        )?
        .execute(params![id, user])?;
    }
    Ok(id)
}

/// What the query APIs (and alerts) ask of an issue store, so a second backend can answer
/// them: issues, their history, counts by hour, top tags and sample events.
pub trait IssueQuery: Send + Sync + std::fmt::Debug {
    fn issues(&self, filter: &IssueFilter) -> Result<Vec<Issue>>;
    fn issue(&self, id: i64) -> Result<Option<Issue>>;
    fn changes(&self, issue_id: i64) -> Result<Vec<Change>>;
    fn hourly(&self, issue_id: i64, since: i64) -> Result<Vec<(i64, i64)>>;
    fn top_tags(&self, issue_id: i64, per_key: usize) -> Result<Vec<TagValues>>;
    fn issue_events(&self, issue_id: i64, limit: usize) -> Result<Vec<StoredEvent>>;
}

impl IssueQuery for IssueStore {
    fn issues(&self, filter: &IssueFilter) -> Result<Vec<Issue>> {
        IssueStore::issues(self, filter)
    }

    fn issue(&self, id: i64) -> Result<Option<Issue>> {
        IssueStore::issue(self, id)
    }

    fn changes(&self, issue_id: i64) -> Result<Vec<Change>> {
        IssueStore::changes(self, issue_id)
    }

    fn hourly(&self, issue_id: i64, since: i64) -> Result<Vec<(i64, i64)>> {
        IssueStore::hourly(self, issue_id, since)
    }

    fn top_tags(&self, issue_id: i64, per_key: usize) -> Result<Vec<TagValues>> {
        IssueStore::top_tags(self, issue_id, per_key)
    }

    fn issue_events(&self, issue_id: i64, limit: usize) -> Result<Vec<StoredEvent>> {
        IssueStore::issue_events(self, issue_id, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(store: &IssueStore, n: usize, at: i64, release: &str) {
        let body = format!(
            r#"{{"exception": {{"type": "E", "value": "v"}}, "release": "{release}", "event_id": "x{n}"}}"#
        );
        store
            .add_event(1, &format!("x{n}"), at, body.as_bytes(), &[])
            .unwrap_or_else(|e| panic!("{e}"));
    }

    fn status(store: &IssueStore) -> (String, Vec<String>) {
        let issue = &store
            .issues(&IssueFilter {
                limit: 1,
                ..IssueFilter::default()
            })
            .unwrap_or_default()[0];
        let changes = store
            .changes(issue.id)
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.detail)
            .collect();
        (issue.status.clone(), changes)
    }

    #[test]
    fn old_samples_and_their_attachments_go_and_the_issue_stays() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            IssueStore::open(&dir.path().join("issues.db")).unwrap_or_else(|e| panic!("{e}"));
        let file = Attachment {
            filename: "dump.txt".into(),
            content_type: None,
            attachment_type: None,
            data: b"state".to_vec(),
        };
        let body = |n: usize| {
            format!(r#"{{"exception": {{"type": "E", "value": "v"}}, "event_id": "x{n}"}}"#)
        };
        for (n, at) in [(1, 100), (2, 200), (3, 300)] {
            store
                .add_event(
                    1,
                    &format!("x{n}"),
                    at,
                    body(n).as_bytes(),
                    std::slice::from_ref(&file),
                )
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(store.drop_samples_before(250).ok(), Some((2, 2)));
        let left: Vec<String> = store
            .events(1, 10)
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.event_id)
            .collect();
        assert_eq!(left, ["x3"]);
        assert!(store.attachments(1, "x1").unwrap_or_default().is_empty());
        assert_eq!(store.attachments(1, "x3").unwrap_or_default().len(), 1);
        let issues = store.issues(&IssueFilter::default()).unwrap_or_default();
        assert_eq!(issues.len(), 1, "the issue stays");
        assert_eq!(issues[0].times_seen, 3, "and so do its counts");
        assert_eq!(store.drop_samples_before(250).ok(), Some((0, 0)));
    }

    #[test]
    fn resolution_regression_and_ignores() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            IssueStore::open(&dir.path().join("issues.db")).unwrap_or_else(|e| panic!("{e}"));
        err(&store, 1, 100, "1.0");
        err(&store, 2, 110, "1.1");
        let id = store
            .issues(&IssueFilter {
                limit: 1,
                ..IssueFilter::default()
            })
            .unwrap_or_default()[0]
            .id;

        // Resolved now: an event of an older release does not reopen it; one of 1.1 does.
        store
            .set_status(id, &StatusChange::Resolve, 120, "alice")
            .unwrap_or_else(|e| panic!("{e}"));
        err(&store, 3, 130, "1.0");
        assert_eq!(
            status(&store).0,
            "resolved",
            "an old deployment still running"
        );
        err(&store, 4, 140, "1.1");
        let (s, changes) = status(&store);
        assert_eq!(s, "unresolved");
        assert_eq!(changes, ["resolved", "regressed: event x4 in release 1.1"]);

        // Resolved in the next release: 1.1 again does not regress, 1.2 does.
        store
            .set_status(id, &StatusChange::ResolveInNextRelease, 150, "alice")
            .unwrap_or_else(|e| panic!("{e}"));
        err(&store, 5, 160, "1.1");
        assert_eq!(status(&store).0, "resolved");
        err(&store, 6, 170, "1.2");
        assert_eq!(status(&store).0, "unresolved");

        // Ignored for two more events, then until a time.
        store
            .set_status(
                id,
                &StatusChange::Ignore {
                    until: None,
                    more_events: Some(2),
                },
                180,
                "bob",
            )
            .unwrap_or_else(|e| panic!("{e}"));
        err(&store, 7, 181, "1.2");
        assert_eq!(status(&store).0, "ignored");
        err(&store, 8, 182, "1.2");
        assert_eq!(status(&store).0, "unresolved");
        store
            .set_status(
                id,
                &StatusChange::Ignore {
                    until: Some(300),
                    more_events: None,
                },
                190,
                "bob",
            )
            .unwrap_or_else(|e| panic!("{e}"));
        err(&store, 9, 200, "1.2");
        assert_eq!(status(&store).0, "ignored");
        err(&store, 10, 300, "1.2");
        let (s, changes) = status(&store);
        assert_eq!(s, "unresolved");
        assert_eq!(
            changes.last().map(String::as_str),
            Some("no longer ignored: its time passed")
        );
        assert_eq!(
            store.set_status(999, &StatusChange::Resolve, 1, "x").ok(),
            Some(None)
        );
    }

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
                .unwrap_or_else(|e| panic!("{e}"))
                .is_some()
        );
        assert!(
            store
                .add_event(1, "e1", 11, b"{\"x\":1}", &[])
                .unwrap_or_else(|e| panic!("{e}"))
                .is_none(),
            "a duplicate"
        );
        assert!(
            store
                .add_event(2, "e1", 12, b"{}", &[])
                .unwrap_or_else(|e| panic!("{e}"))
                .is_some(),
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
                    .unwrap_or_else(|e| panic!("{e}"))
                    .is_some()
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
            .unwrap_or_else(|e| panic!("{e}"));
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
        let of_release = |r: &str| {
            store
                .issues(&IssueFilter {
                    release: Some(r.into()),
                    limit: 10,
                    ..IssueFilter::default()
                })
                .unwrap_or_default()
                .len()
        };
        assert_eq!((of_release("1.0"), of_release("9.9")), (1, 0));
        assert_eq!(
            store.issue_events(timeout.id, 10).map(|e| e.len()).ok(),
            Some(3)
        );
    }
}
