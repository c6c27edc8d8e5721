//! Request extractors: who is calling, from where, and a JSON body with our error shape.
//!
//! A [`Principal`] comes from `Authorization: Bearer sl_api_…`, from `Authorization: Basic`
//! with an API token as the password (what Grafana's Graphite data source sends when basic auth
//! is configured; the user name is ignored) or, failing those, from the `sightline_session`
//! cookie. A present but bad credential is a 401 even if the other one
//! would have been valid, so a revoked token never silently falls back to a cookie.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::auth::{Principal, Role, TokenKind};

/// The name of the login session cookie.
pub const SESSION_COOKIE: &str = "sightline_session";

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = &state.auth;
        let basic = basic_password(&parts.headers);
        if let Some(token) = bearer_token(&parts.headers).or(basic.as_deref()) {
            return match auth.api_token_principal(token).await? {
                Ok(principal) => Ok(principal),
                Err(refusal) => {
                    auth.stats
                        .rejected_credentials
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    Err(ApiError::unauthorized(refusal.message(TokenKind::Api)))
                }
            };
        }
        let Some(session) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ApiError::unauthorized(
                "authentication required: log in, or send an API token as `Authorization: Bearer sl_api_…` (make one with `sightline token create NAME`)",
            ));
        };
        match auth.session_principal(session).await? {
            Some(principal) => {
                same_origin(parts, state)?;
                Ok(principal)
            }
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

/// Refuses a state-changing request made with the session cookie from another site (CSRF).
/// The cookie is `SameSite=Lax`, so other sites' forms and scripts do not carry it; beyond that,
/// a browser names where a request comes from (`Origin`, else `Referer`, and
/// `Sec-Fetch-Site`), and that must be this server, by the `Host` it was asked for or by
/// `http.public_url`. A client that names no origin is not a browser on another site: scripts
/// holding a cookie pass. Reads always pass.
fn same_origin(parts: &Parts, state: &AppState) -> Result<(), ApiError> {
    use axum::http::Method;
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let header_text = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let refuse = |from: &str| {
        Err(ApiError::forbidden(format!(
            "refused a change from another site ({from}); make changes on this server's own pages, or with an API token"
        )))
    };
    if header_text("sec-fetch-site") == Some("cross-site") {
        return refuse("sec-fetch-site: cross-site");
    }
    let origin = header_text("origin").or_else(|| header_text("referer"));
    match origin {
        None => Ok(()),
        Some(o) if origin_matches(o, header_text("host"), &state.config.public_url()) => Ok(()),
        Some(o) => refuse(o),
    }
}

/// Whether `origin` (`http://host:port`, or a referring URL) is this server.
pub fn origin_matches(origin: &str, host: Option<&str>, public_url: &str) -> bool {
    let authority = |url: &str| -> Option<String> {
        let rest = url.split_once("://")?.1;
        Some(rest.split(['/', '?', '#']).next()?.to_ascii_lowercase())
    };
    let Some(theirs) = authority(origin) else {
        return false;
    };
    host.is_some_and(|h| h.eq_ignore_ascii_case(&theirs))
        || authority(public_url).is_some_and(|ours| ours == theirs)
}

/// A sender holding an ingest token (`Authorization: Bearer sl_ing_…`), for the HTTP ingest
/// routes.
#[derive(Debug)]
pub struct IngestKey {
    pub name: String,
}

impl FromRequestParts<AppState> for IngestKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(text) = ingest_credential(&parts.headers) else {
            return Err(ApiError::unauthorized(
                "an ingest token is required: Authorization: Bearer sl_ing_… (or ApiKey, or as the basic auth password); make one with `sightline token create NAME --kind ingest`",
            ));
        };
        match state.auth.token(&text, TokenKind::Ingest).await? {
            Ok(token) => Ok(IngestKey { name: token.name }),
            Err(refusal) => {
                state
                    .auth
                    .stats
                    .rejected_credentials
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Err(ApiError::unauthorized(refusal.message(TokenKind::Ingest)))
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
        Ok(Admin(with_role(parts, state, Role::Admin).await?))
    }
}

/// A caller with the editor role or above: may change issues, dashboards and silences.
#[derive(Debug)]
pub struct Editor(pub Principal);

impl FromRequestParts<AppState> for Editor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Editor(with_role(parts, state, Role::Editor).await?))
    }
}

/// The caller, if their role includes `needed`; 403 naming both roles otherwise.
async fn with_role(
    parts: &mut Parts,
    state: &AppState,
    needed: Role,
) -> Result<Principal, ApiError> {
    let principal = Principal::from_request_parts(parts, state).await?;
    if !principal.role.includes(needed) {
        let at_least = if needed == Role::Admin {
            ""
        } else {
            " or admin"
        };
        return Err(ApiError::forbidden(format!(
            "this needs the {}{at_least} role; `{}` is a {}",
            needed.as_str(),
            principal.name,
            principal.role.as_str()
        )));
    }
    Ok(principal)
}

/// The text after `Bearer ` in the Authorization header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// An ingest token as shippers send credentials: `Bearer <token>`, `ApiKey <token>` (raw, or
/// Elasticsearch's base64 of `id:token`), or the password of basic auth.
fn ingest_credential(headers: &HeaderMap) -> Option<String> {
    if let Some(token) = bearer_token(headers) {
        return Some(token.to_owned());
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if let Some((scheme, key)) = value.split_once(' ')
        && scheme.eq_ignore_ascii_case("apikey")
    {
        let key = key.trim();
        if key.starts_with("sl_") {
            return Some(key.to_owned());
        }
        let decoded = String::from_utf8(base64_decode(key)?).ok()?;
        return Some(
            decoded
                .split_once(':')
                .map_or(decoded.clone(), |(_, k)| k.to_owned()),
        );
    }
    basic_password(headers)
}

/// The password of `Authorization: Basic base64(user:password)`.
pub fn basic_password(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let (_, password) = decoded.split_once(':')?;
    Some(password.to_owned())
}

/// Standard base64 (padding optional); `None` on any other character.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
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

#[cfg(test)]
mod tests {
    #[test]
    fn origins_match_the_host_or_the_public_url() {
        let public = "https://sightline.example.com/visibility";
        assert!(origin_matches(
            "http://127.0.0.1:8080",
            Some("127.0.0.1:8080"),
            public
        ));
        assert!(origin_matches(
            "https://sightline.example.com",
            Some("10.0.0.5:8080"),
            public
        ));
        assert!(origin_matches(
            "http://127.0.0.1:8080/explore?q=x",
            Some("127.0.0.1:8080"),
            public
        ));
        assert!(!origin_matches(
            "http://evil.example",
            Some("127.0.0.1:8080"),
            public
        ));
        assert!(!origin_matches(
            "http://127.0.0.1:8080.evil.example",
            Some("127.0.0.1:8080"),
            public
        ));
        assert!(!origin_matches("garbage", Some("127.0.0.1:8080"), public));
        assert!(!origin_matches(
            "http://127.0.0.1:9999",
            None,
            "http://127.0.0.1:8080"
        ));
    }

    use super::*;

    #[test]
    fn basic_auth_password() {
        let mut headers = HeaderMap::new();
        // base64("grafana:sl_api_x")
        headers.insert(
            header::AUTHORIZATION,
            "Basic Z3JhZmFuYTpzbF9hcGlfeA==".parse().unwrap(),
        );
        assert_eq!(basic_password(&headers).as_deref(), Some("sl_api_x"));
        headers.insert(header::AUTHORIZATION, "Basic !!".parse().unwrap());
        assert_eq!(basic_password(&headers), None);
    }
}
