//! Routes for logging in and out, and for managing tokens and users.
//!
//! - `POST /api/v1/auth/login` `{username, password}` sets the session cookie.
//! - `POST /api/v1/auth/logout` ends the session and clears the cookie.
//! - `GET /api/v1/auth/whoami` says who the caller is.
//! - `GET|POST /api/v1/tokens`, `DELETE /api/v1/tokens/{id}` (admin): API and ingest tokens.
//! - `GET|POST /api/v1/users`, `DELETE /api/v1/users/{id}` (admin).

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use super::extract::{Admin, ApiJson, ClientIp, SESSION_COOKIE, cookie, origin_matches};
use super::params::NoQuery;
use crate::auth::{Principal, Role, TokenKind};
use crate::config::Secret;

/// Bodies on these routes are small JSON objects.
const AUTH_BODY_LIMIT: usize = 64 * 1024;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/whoami", get(whoami))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{id}", delete(delete_user))
        .layer(DefaultBodyLimit::max(AUTH_BODY_LIMIT))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: Secret,
}

async fn login(
    State(state): State<AppState>,
    _: NoQuery,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    // A login form posted from another site would sign the browser in as someone else.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        if !origin_matches(origin, host, &state.config.public_url()) {
            return Err(ApiError::forbidden(format!(
                "refused a login from another site ({origin})"
            )));
        }
    }
    let session = state.auth.login(ip, body.username, body.password).await?;
    let max_age = state.config.auth.session_ttl.get().as_secs() as i64;
    let cookie = session_cookie(
        session.token.expose(),
        max_age,
        state.config.auth.cookie_secure,
    );
    let body = Json(json!({"user": session.user, "expires_at": session.expires_at}));
    Ok(([(header::SET_COOKIE, cookie)], body).into_response())
}

async fn logout(
    State(state): State<AppState>,
    _: NoQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(session) = cookie(&headers, SESSION_COOKIE) {
        state.auth.logout(session).await?;
    }
    let cookie = session_cookie("", 0, state.config.auth.cookie_secure);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

fn session_cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    );
    HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

async fn whoami(principal: Principal, _: NoQuery) -> Json<Principal> {
    Json(principal)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateToken {
    name: String,
    #[serde(default = "default_kind")]
    kind: TokenKind,
    role: Option<Role>,
}

fn default_kind() -> TokenKind {
    TokenKind::Api
}

async fn create_token(
    State(state): State<AppState>,
    _: NoQuery,
    Admin(admin): Admin,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<Response, ApiError> {
    let (info, secret) = state
        .auth
        .create_token(admin.user_id, body.name, body.kind, body.role)
        .await?;
    let mut value = serde_json::to_value(&info).map_err(|e| ApiError::internal(&e))?;
    value["token"] = json!(secret.expose());
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

async fn list_tokens(
    State(state): State<AppState>,
    _: Admin,
    _: NoQuery,
) -> Result<Response, ApiError> {
    Ok(Json(json!({"tokens": state.auth.list_tokens().await?})).into_response())
}

async fn revoke_token(
    State(state): State<AppState>,
    _: NoQuery,
    _: Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if !state.auth.revoke_token(id).await? {
        return Err(ApiError::not_found(format!("no live token with id {id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    username: String,
    password: Secret,
    #[serde(default = "default_role")]
    role: Role,
}

fn default_role() -> Role {
    Role::Viewer
}

async fn create_user(
    State(state): State<AppState>,
    _: NoQuery,
    _: Admin,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<Response, ApiError> {
    let user = state
        .auth
        .create_user(body.username, body.password, body.role)
        .await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

async fn list_users(
    State(state): State<AppState>,
    _: Admin,
    _: NoQuery,
) -> Result<Response, ApiError> {
    Ok(Json(json!({"users": state.auth.list_users().await?})).into_response())
}

async fn delete_user(
    State(state): State<AppState>,
    _: NoQuery,
    Admin(admin): Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if admin.user_id == Some(id) {
        return Err(ApiError::bad_request("you cannot delete your own user"));
    }
    if !state.auth.delete_user(id).await? {
        return Err(ApiError::not_found(format!("no user with id {id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}
