//! Request extractors: who is calling, from where, and a JSON body with our error shape.
//!
//! A [`Principal`] comes from `Authorization: Bearer sl_api_…` or, failing that, from the
//! `sightline_session` cookie. A present but bad credential is a 401 even if the other one
//! would have been valid, so a revoked token never silently falls back to a cookie.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::auth::{Principal, Role};

/// The name of the login session cookie.
pub const SESSION_COOKIE: &str = "sightline_session";

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = &state.auth;
        if let Some(token) = bearer_token(&parts.headers) {
            return match auth.api_token_principal(token).await? {
                Some(principal) => Ok(principal),
                None => {
                    auth.stats
                        .rejected_credentials
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    Err(ApiError::unauthorized(
                        "invalid, revoked or wrong kind of token",
                    ))
                }
            };
        }
        let Some(session) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ApiError::unauthorized(
                "authentication required: log in or send a bearer token",
            ));
        };
        match auth.session_principal(session).await? {
            Some(principal) => Ok(principal),
            None => {
                auth.stats
                    .rejected_credentials
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Err(ApiError::unauthorized(
                    "session expired or logged out; log in again",
                ))
            }
        }
    }
}

/// A caller with the admin role.
#[derive(Debug)]
pub struct Admin(pub Principal);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if principal.role != Role::Admin {
            return Err(ApiError::forbidden("this needs the admin role"));
        }
        Ok(Admin(principal))
    }
}

/// The text after `Bearer ` in the Authorization header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The value of cookie `name`, from any `Cookie` header.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((key, val)) = pair.trim().split_once('=')
                && key == name
            {
                return Some(val);
            }
        }
    }
    None
}

/// The client's address, as the socket saw it.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let info = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        let ip = info.map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(addr)| addr.ip());
        Ok(ClientIp(ip))
    }
}

/// `axum::Json`, answering malformed bodies in our error shape.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}
