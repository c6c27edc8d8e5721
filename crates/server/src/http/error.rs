//! The one place where the Sightline API decides status codes and error bodies.
//!
//! Every error answers `{"error": {"code": "...", "message": "..."}}` with a lowercase message.
//! Peer-compatible surfaces (Graphite, Elasticsearch, Sentry) get their own error shapes in
//! their own modules as they arrive; this one is for Sightline's native API.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::AuthError;
use crate::error::Error;

/// An API failure, ready to become a response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
    /// Where in the request's query the problem is (byte offset).
    position: Option<usize>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            position: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same status (and Retry-After) with the message as plain text, for protocols whose
    /// errors are not our JSON (OTLP/HTTP).
    pub fn plain_text(&self) -> Response {
        let mut response = (self.status, self.message.clone()).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }

    /// A query the caller wrote that does not parse, with the byte offset of the problem.
    pub fn bad_query(message: impl Into<String>, position: usize) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, "bad_query", message);
        e.position = Some(position);
        e
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// An error for a status some layer chose, with the code our API uses for it.
    pub fn with_status(status: StatusCode, message: impl Into<String>) -> Self {
        let code = match status.as_u16() {
            400 => "bad_request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            405 => "method_not_allowed",
            408 => "timeout",
            409 => "conflict",
            413 => "payload_too_large",
            415 => "unsupported_media_type",
            422 => "unprocessable",
            429 => "rate_limited",
            503 => "unavailable",
            s if s >= 500 => "internal",
            _ => "bad_request",
        };
        Self::new(status, code, message)
    }

    /// A 400 with a more precise code than `bad_request`, such as `unknown_parameter`.
    pub fn bad_request_with_code(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    pub fn timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "the request took too long",
        )
    }

    /// 507: the disk is below its free-space floor; retry after `retry_after_secs`.
    pub fn insufficient_storage(message: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "insufficient_storage",
            message,
        );
        e.retry_after = Some(retry_after_secs);
        e
    }

    pub fn rate_limited(message: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message);
        e.retry_after = Some(retry_after_secs);
        e
    }

    /// A failure that is ours, not the caller's. The detail goes to the log, not the client.
    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error answering a request");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": {"code": self.code, "message": self.message}});
        if let Some(p) = self.position {
            body["error"]["position"] = json!(p);
        }
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sightline\""),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::internal(&e)
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidCredentials => ApiError::unauthorized(e.to_string()),
            AuthError::RateLimited(wait) => ApiError::rate_limited(e.to_string(), wait.as_secs()),
            AuthError::Invalid(m) => ApiError::bad_request(m),
            AuthError::Conflict(m) => ApiError::conflict(m),
            AuthError::NotFound(m) => ApiError::not_found(m),
            AuthError::Internal(inner) => ApiError::internal(&inner),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::payload_too_large(
                "request body is larger than this endpoint accepts",
            );
        }
        let status = rejection.status();
        let code = if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            "unsupported_media_type"
        } else {
            "bad_request"
        };
        let message = rejection.body_text().to_lowercase();
        ApiError::new(status, code, message)
    }
}
