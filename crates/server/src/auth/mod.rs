//! Who may do what: users, login sessions, API tokens and ingest tokens.
//!
//! - **Users** have an argon2id password hash and a [`Role`]. The first start creates an admin
//!   ([`Auth::bootstrap`]) whose password comes from config or is generated and handed back to
//!   the caller, once, to print.
//! - **Sessions** come from a login and travel in an HttpOnly cookie.
//! - **API tokens** (`sl_api_…`) are bearer tokens for scripts, acting with the role given at
//!   creation. **Ingest tokens** (`sl_ing_…`) are a separate kind that only the HTTP ingest
//!   routes accept.
//! - Failed logins are limited per client address ([`ratelimit::LoginLimiter`]).
//!
//! Secrets are stored only as hashes, and no function here logs one.

pub mod password;
mod ratelimit;
pub mod secrets;
pub mod store;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use model::SharedClock;
use serde::{Deserialize, Serialize};

pub use password::MIN_PASSWORD_CHARS;
use ratelimit::LoginLimiter;
use secrets::SecretKind;
pub use store::{TokenInfo, User};

use crate::config::{AuthConfig, Secret};
use crate::db::ControlDb;
use crate::error::{Error, Result};

/// What a user or token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including users, tokens and projects.
    Admin,
    /// What a viewer can, and change what people work on: resolve and ignore issues, edit
    /// dashboards and saved searches, silence alerts. Not users, tokens or projects.
    Editor,
    /// Read every query API and the UI.
    Viewer,
}

impl Role {
    /// Every role, from the most to the least allowed.
    pub const ALL: [Role; 3] = [Role::Admin, Role::Editor, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether this role may do what `needed` may.
    pub fn includes(self, needed: Role) -> bool {
        let rank = |r: Role| match r {
            Role::Admin => 2,
            Role::Editor => 1,
            Role::Viewer => 0,
        };
        rank(self) >= rank(needed)
    }
}

/// The two kinds of long-lived token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// Bearer access to the query and admin APIs, with a role.
    Api,
    /// Access to the HTTP ingest routes only.
    Ingest,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::Ingest => "ingest",
        }
    }

    pub fn parse(text: &str) -> Option<TokenKind> {
        match text {
            "api" => Some(TokenKind::Api),
            "ingest" => Some(TokenKind::Ingest),
            _ => None,
        }
    }

    fn secret_kind(self) -> SecretKind {
        match self {
            TokenKind::Api => SecretKind::ApiToken,
            TokenKind::Ingest => SecretKind::IngestToken,
        }
    }
}

/// Why a presented token was refused, to say what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Neither `sl_api_…` nor `sl_ing_…`.
    NotAToken,
    /// A token of the other kind.
    WrongKind(TokenKind),
    /// A token that was revoked.
    Revoked { id: i64, name: String },
    /// A well-formed token this server does not know (never issued here, or from another data
    /// directory).
    Unknown,
}

impl TokenRefusal {
    /// The answer for a route that needs a token of kind `needed`.
    pub fn message(&self, needed: TokenKind) -> String {
        let (what, prefix, create) = match needed {
            TokenKind::Api => ("an API token", "sl_api_…", "sightline token create NAME"),
            TokenKind::Ingest => (
                "an ingest token",
                "sl_ing_…",
                "sightline token create NAME --kind ingest",
            ),
        };
        let make = format!("make one with `{create}`");
        match self {
            TokenRefusal::NotAToken => format!(
                "this route needs {what} ({prefix}), and the credential sent is not a Sightline token (they start with sl_api_ or sl_ing_); {make}"
            ),
            TokenRefusal::WrongKind(sent) => {
                let sent = match sent {
                    TokenKind::Api => {
                        "an API token (sl_api_…), which is for queries and administration"
                    }
                    TokenKind::Ingest => "an ingest token (sl_ing_…), which can only send data",
                };
                format!("this route needs {what} ({prefix}), but {sent} was sent; {make}")
            }
            TokenRefusal::Revoked { id, name } => format!(
                "token {id} `{name}` was revoked; {make} (`sightline token list` shows the live ones)"
            ),
            TokenRefusal::Unknown => format!(
                "this server does not know the token sent (it was not made with this data directory, or was mistyped); this route needs {what} ({prefix}); {make}"
            ),
        }
    }
}

/// An authenticated caller of the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The user, or for a token the user who created it (absent for CLI-made tokens).
    pub user_id: Option<i64>,
    /// The username, or `token:<name>`.
    pub name: String,
    pub role: Role,
    /// `session` or `token`.
    pub via: &'static str,
}

/// Why a login or an authenticated operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("too many failed logins from this address; try again in {}s", .0.as_secs())]
    RateLimited(Duration),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Internal(#[from] Error),
}

impl From<rusqlite::Error> for AuthError {
    fn from(e: rusqlite::Error) -> Self {
        AuthError::Internal(Error::Query(e))
    }
}

/// A new login session: the cookie value and when it expires.
#[derive(Debug)]
pub struct NewSession {
    pub token: Secret,
    pub user: User,
    pub expires_at: i64,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct AuthStats {
    pub logins: AtomicU64,
    pub login_failures: AtomicU64,
    pub login_rate_limited: AtomicU64,
    pub rejected_credentials: AtomicU64,
}

/// The authentication service shared by every request.
#[derive(Debug)]
pub struct Auth {
    db: ControlDb,
    clock: SharedClock,
    session_ttl: Duration,
    limiter: LoginLimiter,
    pub stats: AuthStats,
}

impl Auth {
    pub fn new(db: ControlDb, clock: SharedClock, config: &AuthConfig) -> Arc<Auth> {
        let limiter = LoginLimiter::new(
            clock.clone(),
            config.login_max_failures,
            config.login_window.get(),
        );
        Arc::new(Auth {
            db,
            clock,
            session_ttl: config.session_ttl.get(),
            limiter,
            stats: AuthStats::default(),
        })
    }

    fn now(&self) -> i64 {
        self.clock.now().as_secs()
    }

    /// On a database with no users, creates the admin. Returns the password if it was generated,
    /// for the caller to show once; `None` if a password was given or users already exist.
    pub fn bootstrap(&self, config: &AuthConfig) -> Result<Option<Secret>> {
        let now = self.now();
        let username = config.admin_user.clone();
        let given = config.admin_password.clone();
        self.db.call_blocking(move |conn| {
            if store::count_users(conn)? > 0 {
                return Ok(None);
            }
            let generated = given.is_none().then(password::generate);
            let chosen = given.as_ref().map(|s| s.expose().to_owned());
            let Some(plain) = chosen.or_else(|| generated.clone()) else {
                return Ok(None);
            };
            store::insert_user(conn, &username, &password::hash(&plain)?, Role::Admin, now)?;
            tracing::info!(user = %username, "created the first admin user");
            Ok(generated.map(Secret::new))
        })
    }

    /// Checks a username and password from `ip` and opens a session.
    pub async fn login(
        &self,
        ip: IpAddr,
        username: String,
        password: Secret,
    ) -> Result<NewSession, AuthError> {
        if let Err(wait) = self.limiter.check(ip) {
            self.stats
                .login_rate_limited
                .fetch_add(1, Ordering::Relaxed);
            return Err(AuthError::RateLimited(wait));
        }
        let now = self.now();
        let expires_at = now.saturating_add(self.session_ttl.as_secs() as i64);
        let outcome = self
            .db
            .call(move |conn| {
                let found = store::user_with_hash(conn, &username)?;
                let stored = found
                    .as_ref()
                    .map_or(password::decoy_hash(), |(_, h)| h.as_str());
                let matches = password::verify(password.expose(), stored);
                let Some((user, _)) = found.filter(|_| matches) else {
                    return Ok(None);
                };
                let minted = secrets::mint(SecretKind::Session);
                store::insert_session(conn, &minted.hash, user.id, now, expires_at)?;
                Ok(Some(NewSession {
                    token: Secret::new(minted.text),
                    user,
                    expires_at,
                }))
            })
            .await?;
        match outcome {
            Some(session) => {
                self.limiter.succeed(ip);
                self.stats.logins.fetch_add(1, Ordering::Relaxed);
                tracing::info!(user = %session.user.username, %ip, "login");
                Ok(session)
            }
            None => {
                self.limiter.fail(ip);
                self.stats.login_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%ip, "failed login");
                Err(AuthError::InvalidCredentials)
            }
        }
    }

    /// Ends the session with this cookie value, if it exists.
    pub async fn logout(&self, session: &str) -> Result<()> {
        let hash = secrets::hash(session);
        self.db
            .call(move |conn| Ok(store::delete_session(conn, &hash).map(|_| ())?))
            .await
    }

    /// The caller behind a session cookie value.
    pub async fn session_principal(&self, session: &str) -> Result<Option<Principal>> {
        let hash = secrets::hash(session);
        let now = self.now();
        let user = self
            .db
            .call(move |conn| Ok(store::session_user(conn, &hash, now)?))
            .await?;
        Ok(user.map(|u| Principal {
            user_id: Some(u.id),
            name: u.username,
            role: u.role,
            via: "session",
        }))
    }

    /// The live token with this text, if it is of `kind`; else why not.
    pub async fn token(
        &self,
        text: &str,
        kind: TokenKind,
    ) -> Result<std::result::Result<TokenInfo, TokenRefusal>> {
        let sent = [TokenKind::Api, TokenKind::Ingest]
            .into_iter()
            .find(|k| text.starts_with(k.secret_kind().prefix()));
        match sent {
            None => return Ok(Err(TokenRefusal::NotAToken)),
            Some(other) if other != kind => return Ok(Err(TokenRefusal::WrongKind(other))),
            Some(_) => {}
        }
        let hash = secrets::hash(text);
        let now = self.now();
        let found = self
            .db
            .call(move |conn| Ok(store::use_token(conn, &hash, now)?))
            .await?;
        Ok(match found {
            None => Err(TokenRefusal::Unknown),
            Some(t) if t.revoked_at.is_some() => Err(TokenRefusal::Revoked {
                id: t.id,
                name: t.name,
            }),
            Some(t) => Ok(t),
        })
    }

    /// The caller behind an API token, or why the token was refused.
    pub async fn api_token_principal(
        &self,
        text: &str,
    ) -> Result<std::result::Result<Principal, TokenRefusal>> {
        let token = match self.token(text, TokenKind::Api).await? {
            Ok(token) => token,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let role = token.role.unwrap_or(Role::Viewer);
        let name = format!("token:{}", token.name);
        Ok(Ok(Principal {
            user_id: None,
            name,
            role,
            via: "token",
        }))
    }

    /// Creates a token; the returned text is shown once and never stored.
    pub async fn create_token(
        &self,
        creator: Option<i64>,
        name: String,
        kind: TokenKind,
        role: Option<Role>,
    ) -> Result<(TokenInfo, Secret), AuthError> {
        let now = self.now();
        self.db
            .call(move |conn| Ok(create_token(conn, now, &name, kind, role, creator)))
            .await?
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        self.db.call(|conn| Ok(store::list_tokens(conn)?)).await
    }

    /// Revokes token `id`; from then on it authenticates nothing.
    pub async fn revoke_token(&self, id: i64) -> Result<bool> {
        let now = self.now();
        self.db
            .call(move |conn| Ok(store::revoke_token(conn, id, now)?))
            .await
    }

    pub async fn create_user(
        &self,
        username: String,
        password: Secret,
        role: Role,
    ) -> Result<User, AuthError> {
        let now = self.now();
        self.db
            .call(move |conn| Ok(create_user(conn, now, &username, &password, role)))
            .await?
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        self.db.call(|conn| Ok(store::list_users(conn)?)).await
    }

    pub async fn delete_user(&self, id: i64) -> Result<bool> {
        self.db
            .call(move |conn| Ok(store::delete_user(conn, id)?))
            .await
    }
}

/// Validates and creates a token; shared by the API and the CLI.
pub fn create_token(
    conn: &rusqlite::Connection,
    now: i64,
    name: &str,
    kind: TokenKind,
    role: Option<Role>,
    creator: Option<i64>,
) -> Result<(TokenInfo, Secret), AuthError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(AuthError::Invalid(
            "token name must be 1 to 100 characters".into(),
        ));
    }
    let role = match kind {
        TokenKind::Api => Some(role.unwrap_or(Role::Viewer)),
        TokenKind::Ingest if role.is_some() => {
            return Err(AuthError::Invalid("ingest tokens take no role".into()));
        }
        TokenKind::Ingest => None,
    };
    if store::live_token_named(conn, name)? {
        return Err(AuthError::Conflict(format!(
            "a live token is already named `{name}`; pick another name, or revoke that one first (`sightline token list` shows it)"
        )));
    }
    let minted = secrets::mint(kind.secret_kind());
    let hint = secrets::hint(&minted.text);
    let row = store::NewToken {
        name,
        kind,
        role,
        hash: &minted.hash,
        hint: &hint,
        created_by: creator,
    };
    let info = store::insert_token(conn, &row, now)?;
    tracing::info!(token = %info.name, id = info.id, kind = kind.as_str(), "created token");
    Ok((info, Secret::new(minted.text)))
}

/// Validates and creates a user; shared by the API and the CLI.
pub fn create_user(
    conn: &rusqlite::Connection,
    now: i64,
    username: &str,
    password: &Secret,
    role: Role,
) -> Result<User, AuthError> {
    let username = username.trim();
    let valid_name = |c: char| c.is_alphanumeric() || "._@-".contains(c);
    if username.is_empty() || username.len() > 64 || !username.chars().all(valid_name) {
        return Err(AuthError::Invalid(
            "username must be 1 to 64 letters, digits or . _ @ -".into(),
        ));
    }
    password::check_strength(password.expose()).map_err(AuthError::Invalid)?;
    let hash = password::hash(password.expose())?;
    match store::insert_user(conn, username, &hash, role, now) {
        Ok(user) => Ok(user),
        Err(e) if store::is_unique_violation(&e) => Err(AuthError::Conflict(format!(
            "user `{username}` already exists"
        ))),
        Err(e) => Err(e.into()),
    }
}
