//! SQL for users, sessions and tokens: plain functions over a [`Connection`].
//!
//! Both the server (through `ControlDb::call`) and the CLI (directly) use these, so a token made
//! with `sightline token create` and one made over the API are the same row. Times are Unix
//! seconds. Nothing here hashes passwords; callers pass the finished hash.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::{Role, TokenKind};

/// A user as the API shows it; the password hash never leaves this module's callers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub created_at: i64,
}

/// A token as listings show it: never the secret, only its hint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub kind: TokenKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub hint: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Whether an insert failed because the row already exists.
pub fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get("role")?;
    Ok(User {
        id: row.get("id")?,
        username: row.get("username")?,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        created_at: row.get("created_at")?,
    })
}

pub fn count_users(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))
}

pub fn insert_user(
    conn: &Connection,
    username: &str,
    password_hash: &str,
    role: Role,
    now: i64,
) -> rusqlite::Result<User> {
    conn.execute(
        "INSERT INTO users (username, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![username, password_hash, role.as_str(), now],
    )?;
    Ok(User {
        id: conn.last_insert_rowid(),
        username: username.to_owned(),
        role,
        created_at: now,
    })
}

/// The user and their password hash, for checking a login.
pub fn user_with_hash(
    conn: &Connection,
    username: &str,
) -> rusqlite::Result<Option<(User, String)>> {
    conn.query_row(
        "SELECT id, username, role, created_at, password_hash FROM users WHERE username = ?1",
        [username],
        |row| Ok((user_from_row(row)?, row.get("password_hash")?)),
    )
    .optional()
}

pub fn list_users(conn: &Connection) -> rusqlite::Result<Vec<User>> {
    let mut stmt = conn.prepare("SELECT id, username, role, created_at FROM users ORDER BY id")?;
    let rows = stmt.query_map([], user_from_row)?;
    rows.collect()
}

pub fn delete_user(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM users WHERE id = ?1", [id])? > 0)
}

/// Replaces a user's password hash and ends all their sessions.
pub fn set_password(conn: &mut Connection, username: &str, hash: &str) -> rusqlite::Result<bool> {
    let tx = conn.transaction()?;
    let id: Option<i64> = tx
        .query_row(
            "SELECT id FROM users WHERE username = ?1",
            [username],
            |r| r.get(0),
        )
        .optional()?;
    let Some(id) = id else { return Ok(false) };
    tx.execute(
        "UPDATE users SET password_hash = ?1 WHERE id = ?2",
        params![hash, id],
    )?;
    tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
    tx.commit()?;
    Ok(true)
}

pub fn insert_session(
    conn: &Connection,
    hash: &[u8; 32],
    user_id: i64,
    now: i64,
    expires_at: i64,
) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?;
    conn.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![hash.as_slice(), user_id, now, expires_at],
    )?;
    Ok(())
}

/// The user a live session belongs to.
pub fn session_user(
    conn: &Connection,
    hash: &[u8; 32],
    now: i64,
) -> rusqlite::Result<Option<User>> {
    conn.query_row(
        "SELECT u.id, u.username, u.role, u.created_at FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ?1 AND s.expires_at > ?2",
        params![hash.as_slice(), now],
        user_from_row,
    )
    .optional()
}

pub fn delete_session(conn: &Connection, hash: &[u8; 32]) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "DELETE FROM sessions WHERE token_hash = ?1",
        [hash.as_slice()],
    )? > 0)
}

const TOKEN_COLUMNS: &str = "t.id, t.name, t.kind, t.role, t.hint, u.username AS created_by, \
     t.created_at, t.last_used_at, t.revoked_at FROM tokens t LEFT JOIN users u ON u.id = t.created_by";

fn token_from_row(row: &Row<'_>) -> rusqlite::Result<TokenInfo> {
    let kind: String = row.get("kind")?;
    let role: Option<String> = row.get("role")?;
    Ok(TokenInfo {
        id: row.get("id")?,
        name: row.get("name")?,
        kind: TokenKind::parse(&kind).unwrap_or(TokenKind::Ingest),
        role: role.as_deref().and_then(Role::parse),
        hint: row.get("hint")?,
        created_by: row.get("created_by")?,
        created_at: row.get("created_at")?,
        last_used_at: row.get("last_used_at")?,
        revoked_at: row.get("revoked_at")?,
    })
}

/// The fields of a new token row.
#[derive(Debug)]
pub struct NewToken<'a> {
    pub name: &'a str,
    pub kind: TokenKind,
    pub role: Option<Role>,
    pub hash: &'a [u8; 32],
    pub hint: &'a str,
    pub created_by: Option<i64>,
}

pub fn insert_token(
    conn: &Connection,
    token: &NewToken<'_>,
    now: i64,
) -> rusqlite::Result<TokenInfo> {
    conn.execute(
        "INSERT INTO tokens (name, kind, role, token_hash, hint, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            token.name,
            token.kind.as_str(),
            token.role.map(Role::as_str),
            token.hash.as_slice(),
            token.hint,
            token.created_by,
            now
        ],
    )?;
    let id = conn.last_insert_rowid();
    conn.query_row(
        &format!("SELECT {TOKEN_COLUMNS} WHERE t.id = ?1"),
        [id],
        token_from_row,
    )
}

/// The token with this hash, marking it used if it is live (a revoked one is returned as it
/// is, so the caller can say it was revoked). `last_used_at` is written at most once a minute
/// per token, so a busy ingest client does not turn reads into writes.
pub fn use_token(
    conn: &Connection,
    hash: &[u8; 32],
    now: i64,
) -> rusqlite::Result<Option<TokenInfo>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} WHERE t.token_hash = ?1");
    let Some(token) = conn
        .query_row(&sql, [hash.as_slice()], token_from_row)
        .optional()?
    else {
        return Ok(None);
    };
    if token.revoked_at.is_none() && token.last_used_at.is_none_or(|t| t + 60 <= now) {
        conn.execute(
            "UPDATE tokens SET last_used_at = ?1 WHERE id = ?2",
            params![now, token.id],
        )?;
    }
    Ok(Some(token))
}

/// Whether a live (unrevoked) token has this name.
pub fn live_token_named(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM tokens WHERE name = ?1 AND revoked_at IS NULL)",
        [name],
        |row| row.get(0),
    )
}

pub fn list_tokens(conn: &Connection) -> rusqlite::Result<Vec<TokenInfo>> {
    let mut stmt = conn.prepare(&format!("SELECT {TOKEN_COLUMNS} ORDER BY t.id"))?;
    let rows = stmt.query_map([], token_from_row)?;
    rows.collect()
}

/// Revokes a token; false if there is no such live token.
pub fn revoke_token(conn: &Connection, id: i64, now: i64) -> rusqlite::Result<bool> {
    let changed = conn.execute(
        "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        params![now, id],
    )?;
    Ok(changed > 0)
}
