//! The control-plane database: SQLite (bundled), WAL mode, versioned migrations.
//!
//! It holds users, sessions and tokens now, and projects, dashboards, alert rules and silences
//! as those arrive. The schema version is SQLite's `user_version`; [`MIGRATIONS`] is append-only
//! and each entry runs once, in its own transaction. A database from a newer binary is refused.
//!
//! **Invariant:** async code never touches a [`rusqlite::Connection`] directly; it goes through
//! [`ControlDb::call`], which runs the closure on the blocking pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{Error, Result};

/// Schema migrations, oldest first. Never edit a released entry; append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: users, login sessions, API and ingest tokens.
    "CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE sessions (
        token_hash BLOB PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_expiry ON sessions(expires_at);
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        role TEXT,
        token_hash BLOB NOT NULL UNIQUE,
        hint TEXT NOT NULL,
        created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER,
        revoked_at INTEGER
    );",
    // 2: error-tracking projects and their public (DSN) keys.
    "CREATE TABLE projects (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE project_keys (
        public_key TEXT PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX project_keys_project ON project_keys(project_id);",
    // 3: the categories a project tells SDKs not to send (X-Sentry-Rate-Limits on 200s).
    "ALTER TABLE projects ADD COLUMN refused_categories TEXT NOT NULL
        DEFAULT 'transaction;span;profile;profile_chunk;replay';",
    // 4: the UI's dashboards with every saved version, and saved event searches.
    "CREATE TABLE dashboards (
        uid TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        version INTEGER NOT NULL,
        body TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        updated_by TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE dashboard_versions (
        uid TEXT NOT NULL REFERENCES dashboards(uid) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        body TEXT NOT NULL,
        at INTEGER NOT NULL,
        author TEXT NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (uid, version)
    ) WITHOUT ROWID;
    CREATE TABLE saved_searches (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        query TEXT NOT NULL,
        range_from TEXT NOT NULL,
        range_until TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );",
    // 5: a project's rate limit on error events per minute (0: none), answered as Relay does.
    "ALTER TABLE projects ADD COLUMN events_per_minute INTEGER NOT NULL DEFAULT 0;",
];

/// The schema version this binary migrates to.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A shared handle to the control database.
#[derive(Debug, Clone)]
pub struct ControlDb {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

impl ControlDb {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<ControlDb> {
        let db_err = |source| Error::Database {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open(path).map_err(db_err)?;
        configure(&conn).map_err(db_err)?;
        migrate(&mut conn, path)?;
        Ok(ControlDb {
            path: path.to_owned(),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Opens an existing database; fails if there is none, rather than creating an empty one.
    pub fn open_existing(path: &Path) -> Result<ControlDb> {
        if !path.is_file() {
            return Err(Error::DataDir {
                path: path.parent().unwrap_or(path).to_owned(),
                reason: "holds no control database; start `sightline serve` once first".into(),
            });
        }
        Self::open(path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on the blocking thread pool.
    pub async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))?
    }

    /// Runs `f` with the connection on this thread; for the CLI and start-up only.
    pub fn call_blocking<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut guard = self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// Folds the WAL back into the main file; called at shutdown so the directory is tidy.
    pub fn checkpoint(&self) -> Result<()> {
        self.call_blocking(|conn| {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(())
        })
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // Control-plane writes are rare and must survive power loss once acknowledged.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let db_err = |source| Error::Database {
        path: path.to_owned(),
        source,
    };
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db_err)?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as i64 + 1;
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute_batch(sql).map_err(db_err)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        tracing::info!(version, "migrated control database");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_the_future() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("control.db");
        let db = ControlDb::open(&path).unwrap();
        let version: i64 = db
            .call_blocking(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        drop(db);
        // Reopening applies nothing and succeeds.
        ControlDb::open(&path).unwrap();

        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        let err = ControlDb::open(&path).unwrap_err().to_string();
        assert!(err.contains("newer than this binary"), "{err}");
    }

    #[test]
    fn open_existing_refuses_a_missing_database() {
        let tmp = tempfile::tempdir().unwrap();
        let err = ControlDb::open_existing(&tmp.path().join("control.db")).unwrap_err();
        assert!(
            err.to_string()
                .contains("start `sightline serve` once first"),
            "{err}"
        );
    }
}
