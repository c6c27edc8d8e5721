//! Error-tracking projects, as Sentry SDKs address them: an integer id and one or more public
//! keys (32 lowercase hex characters, which every SDK's DSN parser accepts), shown as DSNs.
//!
//! Plain functions over a [`Connection`], shared by the server and the CLI (like
//! `auth::store`), so `sightline project create` and the API make the same rows.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::auth::secrets::fill_random;
use crate::auth::store::is_unique_violation;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    /// Public keys in use, oldest first.
    pub keys: Vec<String>,
    /// Rate-limit categories SDKs are told not to send (`transaction`, `span`, …): the data
    /// Sightline does not keep, so SDKs stop spending bandwidth on it.
    pub refused_categories: Vec<String>,
    /// Error events taken per minute before SDKs are answered 429 (0: no limit).
    pub events_per_minute: u32,
}

/// What ingest needs to know of the project a public key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProject {
    pub project_id: i64,
    pub refused_categories: Vec<String>,
    pub events_per_minute: u32,
}

fn categories(text: &str) -> Vec<String> {
    text.split(';')
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("{0}")]
    Invalid(String),
    #[error("a project named `{0}` already exists")]
    Exists(String),
    #[error("control database: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// A new public key: 128 random bits as 32 lowercase hex digits.
pub fn new_public_key() -> String {
    let mut raw = [0u8; 16];
    fill_random(&mut raw);
    hex::encode(raw)
}

/// Creates a project with one public key.
pub fn create(conn: &mut Connection, now: i64, name: &str) -> Result<Project, ProjectError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(ProjectError::Invalid(
            "a project name is 1 to 100 printable characters".into(),
        ));
    }
    let tx = conn.transaction()?;
    match tx.execute(
        "INSERT INTO projects (name, created_at) VALUES (?1, ?2)",
        params![name, now],
    ) {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(ProjectError::Exists(name.to_owned())),
        Err(e) => return Err(e.into()),
    }
    let id = tx.last_insert_rowid();
    let key = new_public_key();
    tx.execute(
        "INSERT INTO project_keys (public_key, project_id, created_at) VALUES (?1, ?2, ?3)",
        params![key, id, now],
    )?;
    let (refused, events_per_minute): (String, u32) = tx.query_row(
        "SELECT refused_categories, events_per_minute FROM projects WHERE id = ?1",
        params![id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    tx.commit()?;
    Ok(Project {
        id,
        name: name.to_owned(),
        created_at: now,
        keys: vec![key],
        refused_categories: categories(&refused),
        events_per_minute,
    })
}

/// Every project, by id, with its live keys.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<Project>> {
    let mut projects: Vec<Project> = conn
        .prepare(
            "SELECT id, name, created_at, refused_categories, events_per_minute FROM projects
             ORDER BY id",
        )?
        .query_map([], |r| {
            Ok(Project {
                id: r.get(0)?,
                name: r.get(1)?,
                created_at: r.get(2)?,
                keys: Vec::new(),
                refused_categories: categories(&r.get::<_, String>(3)?),
                events_per_minute: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut keys = conn.prepare(
        "SELECT project_id, public_key FROM project_keys WHERE revoked_at IS NULL
         ORDER BY created_at, public_key",
    )?;
    let rows = keys.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (project, key) = row?;
        if let Some(p) = projects.iter_mut().find(|p| p.id == project) {
            p.keys.push(key);
        }
    }
    Ok(projects)
}

/// Adds a public key to a project; `None` if there is no such project.
pub fn add_key(conn: &Connection, now: i64, project_id: i64) -> rusqlite::Result<Option<String>> {
    let exists: Option<i64> = conn
        .query_row(
            "SELECT id FROM projects WHERE id = ?1",
            params![project_id],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_none() {
        return Ok(None);
    }
    let key = new_public_key();
    conn.execute(
        "INSERT INTO project_keys (public_key, project_id, created_at) VALUES (?1, ?2, ?3)",
        params![key, project_id, now],
    )?;
    Ok(Some(key))
}

/// The project a live public key belongs to.
pub fn project_for_key(conn: &Connection, public_key: &str) -> rusqlite::Result<Option<i64>> {
    Ok(key_project(conn, public_key)?.map(|p| p.project_id))
}

/// The project a live public key belongs to, with what ingest applies to it.
pub fn key_project(conn: &Connection, public_key: &str) -> rusqlite::Result<Option<KeyProject>> {
    conn.query_row(
        "SELECT k.project_id, p.refused_categories, p.events_per_minute FROM project_keys k
         JOIN projects p ON p.id = k.project_id
         WHERE k.public_key = ?1 AND k.revoked_at IS NULL",
        params![public_key],
        |r| {
            Ok(KeyProject {
                project_id: r.get(0)?,
                refused_categories: categories(&r.get::<_, String>(1)?),
                events_per_minute: r.get(2)?,
            })
        },
    )
    .optional()
}

/// Sets a project's limit on error events per minute (0: none); `false` if there is no such
/// project.
pub fn set_events_per_minute(
    conn: &Connection,
    project_id: i64,
    events_per_minute: u32,
) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE projects SET events_per_minute = ?1 WHERE id = ?2",
        params![events_per_minute, project_id],
    )? == 1)
}

/// Sets the categories a project refuses; `false` if there is no such project. A category is
/// a word of letters, digits and `_` (Sentry's names: `transaction`, `span`, `log_item`, …).
pub fn set_refused_categories(
    conn: &Connection,
    project_id: i64,
    refused: &[String],
) -> Result<bool, ProjectError> {
    if let Some(bad) = refused
        .iter()
        .find(|c| c.is_empty() || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
    {
        return Err(ProjectError::Invalid(format!(
            "`{bad}` is not a category name (letters, digits and _)"
        )));
    }
    Ok(conn.execute(
        "UPDATE projects SET refused_categories = ?1 WHERE id = ?2",
        params![refused.join(";"), project_id],
    )? == 1)
}

/// The DSN of a key: the server's public URL (scheme, host, optional path prefix) with the key
/// as the user and the project id as the last path segment.
pub fn dsn(public_url: &str, public_key: &str, project_id: i64) -> String {
    let base = public_url.trim_end_matches('/');
    match base.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{public_key}@{rest}/{project_id}"),
        None => format!("http://{public_key}@{base}/{project_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, crate::db::ControlDb) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = crate::db::ControlDb::open(&dir.path().join("control.db"))
            .unwrap_or_else(|e| panic!("{e}"));
        (dir, db)
    }

    #[test]
    fn projects_keys_and_dsns() {
        let (_dir, db) = db();
        db.call_blocking(|conn| {
            let shop = create(conn, 100, "shop").unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(shop.id, 1);
            assert_eq!(shop.keys[0].len(), 32);
            assert!(
                shop.keys[0]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            );
            assert!(matches!(
                create(conn, 101, "SHOP"),
                Err(ProjectError::Exists(_))
            ));
            assert!(matches!(
                create(conn, 101, "  "),
                Err(ProjectError::Invalid(_))
            ));
            let api = create(conn, 102, "api").unwrap_or_else(|e| panic!("{e}"));
            let second = add_key(conn, 103, shop.id)?.unwrap_or_default();
            assert_eq!(add_key(conn, 103, 99)?, None);
            let all = list(conn)?;
            assert_eq!(all.len(), 2);
            assert_eq!(all[0].keys, vec![shop.keys[0].clone(), second.clone()]);
            assert_eq!(project_for_key(conn, &second)?, Some(shop.id));
            assert_eq!(project_for_key(conn, &api.keys[0])?, Some(api.id));
            assert_eq!(project_for_key(conn, "nope")?, None);
            assert_eq!(
                shop.refused_categories,
                ["transaction", "span", "profile", "profile_chunk", "replay"]
            );
            assert!(set_refused_categories(conn, api.id, &["log_item".into()]).unwrap_or(false));
            assert!(set_refused_categories(conn, api.id, &["a;b".into()]).is_err());
            assert!(set_events_per_minute(conn, api.id, 120)?);
            assert!(!set_events_per_minute(conn, 99, 120)?);
            assert_eq!(
                key_project(conn, &api.keys[0])?,
                Some(KeyProject {
                    project_id: api.id,
                    refused_categories: vec!["log_item".to_owned()],
                    events_per_minute: 120,
                })
            );
            assert_eq!(shop.events_per_minute, 0, "no limit unless one is set");
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            dsn("http://127.0.0.1:8080", "k", 3),
            "http://k@127.0.0.1:8080/3"
        );
        assert_eq!(
            dsn("https://errors.example.com/visibility/", "k", 42),
            "https://k@errors.example.com/visibility/42"
        );
        let parsed = wire::sentry::Dsn::parse(&dsn("https://h.example/visibility", "abc", 7))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (parsed.path_prefix.as_str(), parsed.project_id),
            ("/visibility", 7)
        );
    }
}
