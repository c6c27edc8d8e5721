//! Saved event searches: a name, a query and a time range, shared by everyone who can log in.

use rusqlite::{Connection, params};
use serde::Serialize;

use super::{DashboardError, Result};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SavedSearch {
    pub id: i64,
    pub name: String,
    pub query: String,
    pub from: String,
    pub until: String,
    pub created_by: String,
    pub created_at: i64,
}

pub fn list(conn: &Connection) -> Result<Vec<SavedSearch>> {
    let mut stmt = conn.prepare(
        "SELECT id, name, query, range_from, range_until, created_by, created_at
         FROM saved_searches ORDER BY name COLLATE NOCASE, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(SavedSearch {
            id: r.get(0)?,
            name: r.get(1)?,
            query: r.get(2)?,
            from: r.get(3)?,
            until: r.get(4)?,
            created_by: r.get(5)?,
            created_at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn create(
    conn: &Connection,
    name: &str,
    query: &str,
    from: &str,
    until: &str,
    author: &str,
    now: i64,
) -> Result<SavedSearch> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(DashboardError::Invalid(
            "a saved search needs a name of 1 to 200 characters".into(),
        ));
    }
    if query.len() > 10_000 || from.len() > 100 || until.len() > 100 {
        return Err(DashboardError::Invalid(
            "a saved search's query is at most 10000 bytes and its times 100".into(),
        ));
    }
    conn.execute(
        "INSERT INTO saved_searches (name, query, range_from, range_until, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![name, query, from, until, author, now],
    )?;
    Ok(SavedSearch {
        id: conn.last_insert_rowid(),
        name: name.to_owned(),
        query: query.to_owned(),
        from: from.to_owned(),
        until: until.to_owned(),
        created_by: author.to_owned(),
        created_at: now,
    })
}

pub fn delete(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn.execute("DELETE FROM saved_searches WHERE id = ?1", params![id])? > 0)
}
