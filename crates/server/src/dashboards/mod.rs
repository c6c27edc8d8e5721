//! The UI's dashboards: stored in the control database with every saved version (who, when,
//! why), plus read-only ones built into the binary (the Overview) and provisioned from a
//! folder of JSON files (`[ui] dashboards_dir`, read at start). Saved event searches live in
//! `searches.rs`.
//!
//! A dashboard body is the UI's JSON model (`ui/src/dashboard.ts`): this module checks only
//! what it relies on (a title, panel and variable lists, a size bound) and keeps the rest as
//! sent, so the UI can grow panel options without a migration. Saving names the version it
//! was edited from; a save over a newer version is a conflict, never a silent overwrite.

pub mod searches;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The built-in Overview dashboard, made for what `sightline demo` sends.
const OVERVIEW: &str = include_str!("overview.json");
/// The longest dashboard body kept, in bytes of JSON.
pub const MAX_BODY: usize = 1024 * 1024;
const MAX_PANELS: usize = 300;

/// `[ui]`: the web UI.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// A folder of dashboard JSON files (ours, or Grafana exports), served read-only.
    pub dashboards_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("{0}")]
    Invalid(String),
    #[error("no dashboard {0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    ReadOnly(String),
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    #[error("dashboard file {path}: {message}")]
    File { path: PathBuf, message: String },
}

pub type Result<T> = std::result::Result<T, DashboardError>;

/// Where a dashboard comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Builtin,
    Provisioned,
    Saved,
}

/// A dashboard as the API answers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stored {
    pub dashboard: Value,
    pub version: i64,
    pub read_only: bool,
    pub source: Source,
    pub updated_at: Option<i64>,
    pub updated_by: Option<String>,
}

/// One line of the dashboard list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listed {
    pub uid: String,
    pub title: String,
    pub version: i64,
    pub read_only: bool,
    pub source: Source,
    pub updated_at: Option<i64>,
    pub updated_by: Option<String>,
}

/// One saved version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionInfo {
    pub version: i64,
    pub at: i64,
    pub author: String,
    pub message: String,
}

/// The read-only dashboards: built in, and provisioned from a folder.
#[derive(Debug, Clone, Default)]
pub struct Library {
    fixed: Vec<(Source, Value)>,
}

impl Library {
    /// The built-in dashboards and those in `dir` (`*.json`, sorted by name).
    pub fn load(dir: Option<&Path>) -> Result<Library> {
        let overview: Value = serde_json::from_str(OVERVIEW).map_err(|e| DashboardError::File {
            path: "overview.json".into(),
            message: e.to_string(),
        })?;
        let mut fixed = vec![(Source::Builtin, overview)];
        if let Some(dir) = dir {
            fixed.extend(
                provisioned(dir)?
                    .into_iter()
                    .map(|v| (Source::Provisioned, v)),
            );
        }
        Ok(Library { fixed })
    }

    fn get(&self, uid: &str) -> Option<&(Source, Value)> {
        self.fixed.iter().find(|(_, v)| v["uid"] == uid)
    }
}

fn provisioned(dir: &Path) -> Result<Vec<Value>> {
    let file_err = |path: &Path, message: String| DashboardError::File {
        path: path.to_owned(),
        message,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| file_err(dir, e.to_string()))?;
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| file_err(&path, e.to_string()))?;
        let mut body: Value =
            serde_json::from_str(&text).map_err(|e| file_err(&path, e.to_string()))?;
        if body
            .get("uid")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            body["uid"] = Value::String(slug(&stem.unwrap_or_default()));
        }
        let uid = body["uid"].as_str().unwrap_or_default().to_owned();
        check_uid(&uid).map_err(|e| file_err(&path, e.to_string()))?;
        checked(body, &uid)
            .map(|(_, b)| out.push(b))
            .map_err(|e| file_err(&path, e.to_string()))?;
    }
    Ok(out)
}

/// `Shop KPIs!` → `shop-kpis`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out: String = out.trim_end_matches('-').chars().take(60).collect();
    if out.is_empty() {
        "dashboard".into()
    } else {
        out
    }
}

fn check_uid(uid: &str) -> Result<()> {
    let ok = !uid.is_empty()
        && uid.len() <= 64
        && !uid.starts_with('_')
        && uid
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(DashboardError::Invalid(format!(
            "a dashboard uid is 1 to 64 lower-case letters, digits, - and _, not starting with _; `{uid}` is not"
        )))
    }
}

/// The body with its uid set, and its title, if it is a dashboard the UI can draw.
fn checked(mut body: Value, uid: &str) -> Result<(String, Value)> {
    let invalid = |m: &str| Err(DashboardError::Invalid(m.to_owned()));
    let Some(obj) = body.as_object_mut() else {
        return invalid("a dashboard is a JSON object");
    };
    let title = match obj.get("title").and_then(Value::as_str).map(str::trim) {
        Some(t) if !t.is_empty() && t.chars().count() <= 200 => t.to_owned(),
        _ => return invalid("a dashboard needs a title of 1 to 200 characters"),
    };
    for (key, max) in [("panels", MAX_PANELS), ("variables", 50)] {
        match obj.get(key) {
            None => {
                obj.insert(key.into(), Value::Array(Vec::new()));
            }
            Some(Value::Array(items)) if items.len() <= max => {
                if items.iter().any(|i| !i.is_object()) {
                    return invalid(&format!("every item of `{key}` is an object"));
                }
            }
            Some(Value::Array(_)) => {
                return invalid(&format!("a dashboard has at most {max} {key}"));
            }
            Some(_) => return invalid(&format!("`{key}` is a list")),
        }
    }
    obj.insert("uid".into(), Value::String(uid.to_owned()));
    obj.insert("title".into(), Value::String(title.clone()));
    let size = body.to_string().len();
    if size > MAX_BODY {
        return Err(DashboardError::Invalid(format!(
            "a dashboard is at most {MAX_BODY} bytes of JSON; this one is {size}"
        )));
    }
    Ok((title, body))
}

pub fn list(conn: &Connection, lib: &Library) -> Result<Vec<Listed>> {
    let mut out: Vec<Listed> = lib
        .fixed
        .iter()
        .map(|(source, v)| Listed {
            uid: v["uid"].as_str().unwrap_or_default().to_owned(),
            title: v["title"].as_str().unwrap_or_default().to_owned(),
            version: 1,
            read_only: true,
            source: *source,
            updated_at: None,
            updated_by: None,
        })
        .collect();
    let mut stmt = conn.prepare(
        "SELECT uid, title, version, updated_at, updated_by FROM dashboards ORDER BY title COLLATE NOCASE",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Listed {
            uid: r.get(0)?,
            title: r.get(1)?,
            version: r.get(2)?,
            read_only: false,
            source: Source::Saved,
            updated_at: Some(r.get(3)?),
            updated_by: Some(r.get(4)?),
        })
    })?;
    for row in rows {
        out.push(row?);
    }
    Ok(out)
}

pub fn get(conn: &Connection, lib: &Library, uid: &str) -> Result<Option<Stored>> {
    if let Some((source, body)) = lib.get(uid) {
        return Ok(Some(Stored {
            dashboard: body.clone(),
            version: 1,
            read_only: true,
            source: *source,
            updated_at: None,
            updated_by: None,
        }));
    }
    let row = conn
        .query_row(
            "SELECT body, version, updated_at, updated_by FROM dashboards WHERE uid = ?1",
            params![uid],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get::<_, String>(3)?,
                ))
            },
        )
        .optional()?;
    Ok(row.map(|(body, version, at, by)| Stored {
        dashboard: serde_json::from_str(&body).unwrap_or(Value::Null),
        version,
        read_only: false,
        source: Source::Saved,
        updated_at: Some(at),
        updated_by: Some(by),
    }))
}

/// Saves a new dashboard. Without a uid it gets one from its title, made unique; a uid given
/// that is taken is a conflict.
pub fn create(
    conn: &mut Connection,
    lib: &Library,
    body: Value,
    author: &str,
    now: i64,
) -> Result<Stored> {
    let given = body
        .get("uid")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .map(str::to_owned);
    let tx = conn.transaction()?;
    let taken = |uid: &str| -> Result<bool> {
        let stored: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM dashboards WHERE uid = ?1",
                params![uid],
                |r| r.get(0),
            )
            .optional()?;
        Ok(stored.is_some() || lib.get(uid).is_some())
    };
    let uid = match given {
        Some(uid) => {
            check_uid(&uid)?;
            if taken(&uid)? {
                return Err(DashboardError::Conflict(format!(
                    "a dashboard with uid `{uid}` exists already"
                )));
            }
            uid
        }
        None => {
            let title = body.get("title").and_then(Value::as_str).unwrap_or("");
            let base = slug(title);
            let mut uid = base.clone();
            let mut n = 2;
            while taken(&uid)? {
                uid = format!("{base}-{n}");
                n += 1;
            }
            uid
        }
    };
    let (title, body) = checked(body, &uid)?;
    let text = body.to_string();
    tx.execute(
        "INSERT INTO dashboards (uid, title, version, body, updated_at, updated_by) VALUES (?1, ?2, 1, ?3, ?4, ?5)",
        params![uid, title, text, now, author],
    )?;
    tx.execute(
        "INSERT INTO dashboard_versions (uid, version, body, at, author, message) VALUES (?1, 1, ?2, ?3, ?4, 'created')",
        params![uid, text, now, author],
    )?;
    tx.commit()?;
    Ok(Stored {
        dashboard: body,
        version: 1,
        read_only: false,
        source: Source::Saved,
        updated_at: Some(now),
        updated_by: Some(author.to_owned()),
    })
}

/// Saves `body` as the next version of `uid`, if `edited_from` is still the latest.
#[allow(clippy::too_many_arguments)]
pub fn save(
    conn: &mut Connection,
    lib: &Library,
    uid: &str,
    body: Value,
    edited_from: i64,
    message: &str,
    author: &str,
    now: i64,
) -> Result<Stored> {
    if lib.get(uid).is_some() {
        return Err(read_only(uid));
    }
    let (title, body) = checked(body, uid)?;
    let tx = conn.transaction()?;
    let current: Option<(i64, i64, String)> = tx
        .query_row(
            "SELECT version, updated_at, updated_by FROM dashboards WHERE uid = ?1",
            params![uid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((version, _, by)) = current else {
        return Err(DashboardError::NotFound(uid.to_owned()));
    };
    if version != edited_from {
        return Err(DashboardError::Conflict(format!(
            "{by} saved version {version} of this dashboard since you opened version {edited_from}; reload it and make your change again"
        )));
    }
    let next = version + 1;
    let text = body.to_string();
    tx.execute(
        "UPDATE dashboards SET title = ?2, version = ?3, body = ?4, updated_at = ?5, updated_by = ?6 WHERE uid = ?1",
        params![uid, title, next, text, now, author],
    )?;
    tx.execute(
        "INSERT INTO dashboard_versions (uid, version, body, at, author, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![uid, next, text, now, author, message],
    )?;
    tx.commit()?;
    Ok(Stored {
        dashboard: body,
        version: next,
        read_only: false,
        source: Source::Saved,
        updated_at: Some(now),
        updated_by: Some(author.to_owned()),
    })
}

fn read_only(uid: &str) -> DashboardError {
    DashboardError::ReadOnly(format!(
        "dashboard `{uid}` is read-only (built in or provisioned); save a copy to change it"
    ))
}

pub fn delete(conn: &mut Connection, lib: &Library, uid: &str) -> Result<bool> {
    if lib.get(uid).is_some() {
        return Err(read_only(uid));
    }
    let tx = conn.transaction()?;
    tx.execute(
        "DELETE FROM dashboard_versions WHERE uid = ?1",
        params![uid],
    )?;
    let n = tx.execute("DELETE FROM dashboards WHERE uid = ?1", params![uid])?;
    tx.commit()?;
    Ok(n > 0)
}

/// Every saved version, newest first.
pub fn versions(conn: &Connection, uid: &str) -> Result<Vec<VersionInfo>> {
    let mut stmt = conn.prepare(
        "SELECT version, at, author, message FROM dashboard_versions WHERE uid = ?1 ORDER BY version DESC",
    )?;
    let rows = stmt.query_map(params![uid], |r| {
        Ok(VersionInfo {
            version: r.get(0)?,
            at: r.get(1)?,
            author: r.get(2)?,
            message: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn version_body(conn: &Connection, uid: &str, version: i64) -> Result<Option<Value>> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM dashboard_versions WHERE uid = ?1 AND version = ?2",
            params![uid, version],
            |r| r.get(0),
        )
        .optional()?;
    Ok(body.map(|b| serde_json::from_str(&b).unwrap_or(Value::Null)))
}

/// Saves an old version's body as the newest version.
pub fn restore(
    conn: &mut Connection,
    lib: &Library,
    uid: &str,
    version: i64,
    author: &str,
    now: i64,
) -> Result<Stored> {
    let body = version_body(conn, uid, version)?
        .ok_or_else(|| DashboardError::NotFound(format!("{uid} version {version}")))?;
    let latest = get(conn, lib, uid)?.ok_or_else(|| DashboardError::NotFound(uid.to_owned()))?;
    save(
        conn,
        lib,
        uid,
        body,
        latest.version,
        &format!("restored version {version}"),
        author,
        now,
    )
}

#[cfg(test)]
mod tests;
