//! Sentry's ingest endpoints, for SDKs pointed at a Sightline DSN: `POST /api/{id}/envelope/`
//! and the legacy `/api/{id}/store/` (also under `http.public_url`'s path prefix).
//!
//! - Credentials: `X-Sentry-Auth` (or `Authorization: Sentry …`), the `sentry_key` query
//!   parameter (the JS SDKs), or the DSN in the envelope header (the JS `tunnel` option); the
//!   secret is ignored. None: 401; a key unknown or of another project: 403. Errors are Sentry's
//!   `{"detail": …}`.
//! - Bodies: identity, gzip, deflate or br, with or without a Content-Type, capped before and
//!   after decoding (413).
//! - Items: `event` is stored durably (with the envelope's `attachment`s, each up to
//!   [`MAX_ATTACHMENT`]) before the answer, `200 {"id": …}`; `log` records go to the event store;
//!   `client_report`, `session(s)` and `trace_metric` become points in the metric store under
//!   `sentry.<project id>.` (dropped events by category and reason, sessions by status, the
//!   SDK's metrics); `check_in`s are recorded for cron monitors; performance and replay items
//!   are dropped and counted; unknown types skipped and counted; a malformed item is
//!   skipped and counted while the others are processed.
//! - Rate limits, as Relay's: a project's `events_per_minute` (0: none) holds error events to
//!   so many per calendar minute. An event over it is dropped with its attachments: 429 with
//!   `Retry-After` and `X-Sentry-Rate-Limits: <s>:error;default:project` when nothing else in
//!   the envelope is taken, else 200 with that header beside the rest.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use wire::sentry::{self, Envelope};

use super::AppState;
use crate::telemetry::Telemetry;

/// The largest attachment kept; a bigger one is dropped (and counted), its event kept.
pub const MAX_ATTACHMENT: usize = 20 << 20;

/// What the endpoints count (on `/metrics`).
#[derive(Debug)]
pub struct SentryCounters {
    events: Arc<AtomicU64>,
    duplicates: Arc<AtomicU64>,
    attachments: Arc<AtomicU64>,
    attachments_dropped: Arc<AtomicU64>,
    logs: Arc<AtomicU64>,
    counted: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
    unknown: Arc<AtomicU64>,
    malformed: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
    copies_dropped: Arc<AtomicU64>,
    rate_limited: Arc<AtomicU64>,
    /// Each project's error events in the current minute, for its rate limit.
    limits: EventLimits,
}

/// Relay's per-project quota on error events, over fixed one-minute windows: each project
/// takes at most its `events_per_minute` in a calendar minute of the server's clock.
#[derive(Debug, Default)]
struct EventLimits {
    windows: std::sync::Mutex<std::collections::HashMap<i64, (i64, u32)>>,
}

impl EventLimits {
    /// Takes one event of `project` at `now_s` under `per_minute` (0: no limit); when the
    /// minute's are spent, `Err` with the seconds until the next minute.
    fn take(&self, project: i64, per_minute: u32, now_s: i64) -> Result<(), u64> {
        if per_minute == 0 {
            return Ok(());
        }
        let minute = now_s.div_euclid(60);
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let window = windows.entry(project).or_insert((minute, 0));
        if window.0 != minute {
            *window = (minute, 0);
        }
        if window.1 >= per_minute {
            return Err(u64::try_from(60 - now_s.rem_euclid(60)).unwrap_or(60));
        }
        window.1 += 1;
        Ok(())
    }
}

/// `X-Sentry-Rate-Limits` for error events held back `seconds` by the project's quota.
fn quota_limit(seconds: u64) -> String {
    sentry::rate_limits_header(seconds, &["error", "default"])
}

/// 429 for an event over its project's quota, as Relay answers: SDKs hold error events back
/// for `Retry-After` seconds (and say so in their next client report).
fn over_quota(seconds: u64, per_minute: u32) -> Response {
    let mut r = detail(
        StatusCode::TOO_MANY_REQUESTS,
        format!("this project takes at most {per_minute} error events a minute"),
    );
    let h = r.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    if let Ok(v) = HeaderValue::from_str(&quota_limit(seconds)) {
        h.insert("x-sentry-rate-limits", v);
    }
    r
}

impl SentryCounters {
    pub fn new(t: &Telemetry) -> SentryCounters {
        SentryCounters {
            events: t.counter(
                "sightline_sentry_events_total",
                "Sentry error events stored.",
            ),
            duplicates: t.counter(
                "sightline_sentry_duplicate_events_total",
                "Sentry events received again with an id already stored (kept once).",
            ),
            attachments: t.counter(
                "sightline_sentry_attachments_total",
                "Sentry attachments stored.",
            ),
            attachments_dropped: t.counter(
                "sightline_sentry_attachments_dropped_total",
                "Sentry attachments over the size cap, dropped (their events kept).",
            ),
            logs: t.counter(
                "sightline_sentry_log_records_total",
                "Sentry log records written to the event store.",
            ),
            counted: t.counter(
                "sightline_sentry_reports_total",
                "Sentry client reports, sessions, check-ins and trace metrics received.",
            ),
            dropped: t.counter(
                "sightline_sentry_items_dropped_total",
                "Sentry transaction, span, profile and replay items received and dropped.",
            ),
            unknown: t.counter(
                "sightline_sentry_items_unknown_total",
                "Sentry envelope items of unknown types, skipped.",
            ),
            malformed: t.counter(
                "sightline_sentry_items_malformed_total",
                "Sentry envelope items that could not be read, skipped.",
            ),
            refused: t.counter(
                "sightline_sentry_requests_refused_total",
                "Sentry requests refused: credentials, size, encoding or a bad envelope.",
            ),
            copies_dropped: t.counter(
                "sightline_sentry_event_copies_dropped_total",
                "Copies of Sentry events for the event store dropped because its queue was full.",
            ),
            rate_limited: t.counter(
                "sightline_sentry_events_rate_limited_total",
                "Sentry error events refused by their project's events_per_minute.",
            ),
            limits: EventLimits::default(),
        }
    }
}

pub(super) fn routes(prefix: &str) -> Router<AppState> {
    let mut router = Router::new();
    let prefixes = if prefix.is_empty() {
        vec![String::new()]
    } else {
        vec![String::new(), prefix.to_owned()]
    };
    for p in prefixes {
        router = router
            .route(&format!("{p}/api/{{project_id}}/envelope/"), post(envelope))
            .route(&format!("{p}/api/{{project_id}}/envelope"), post(envelope))
            .route(&format!("{p}/api/{{project_id}}/store/"), post(store))
            .route(&format!("{p}/api/{{project_id}}/store"), post(store));
    }
    router
}

/// A Sentry-shaped error answer.
fn detail(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    let mut response = (status, Json(json!({ "detail": message }))).into_response();
    if let Ok(v) = HeaderValue::from_str(&message) {
        response.headers_mut().insert("x-sentry-error", v);
    }
    response
}

/// The public key a request authenticates with, wherever the SDK put it.
fn public_key(
    headers: &HeaderMap,
    query: Option<&str>,
    envelope: Option<&Envelope<'_>>,
) -> Option<String> {
    for name in ["x-sentry-auth", "authorization"] {
        if let Some(key) = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(sentry::parse_auth_header)
            .and_then(|a| a.key)
        {
            return Some(key);
        }
    }
    if let Some(key) = query.map(sentry::parse_auth_query).and_then(|a| a.key) {
        return Some(key);
    }
    envelope.and_then(Envelope::dsn).map(|d| d.public_key)
}

/// Checks the key against the project in the URL, returning what ingest applies to the
/// project (refused categories, rate limit); `Err` is the answer to give.
async fn authorize(
    state: &AppState,
    project_id: i64,
    key: Option<String>,
) -> Result<crate::projects::KeyProject, Box<Response>> {
    let Some(key) = key else {
        return Err(Box::new(detail(
            StatusCode::UNAUTHORIZED,
            "missing authorization information: a sentry_key in X-Sentry-Auth, the query, or the envelope's dsn",
        )));
    };
    let found = state
        .db
        .call(move |conn| Ok(crate::projects::key_project(conn, &key)))
        .await;
    let refusal = match found {
        Ok(Ok(Some(p))) if p.project_id == project_id => return Ok(p),
        Ok(Ok(Some(_))) => detail(StatusCode::FORBIDDEN, "this key belongs to another project"),
        Ok(Ok(None)) => detail(StatusCode::FORBIDDEN, "invalid api key"),
        Ok(Err(e)) => detail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => detail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    Err(Box::new(refusal))
}

/// The body, read and decoded within the shared ingest budget; a refusal in Sentry's shape
/// (a full budget is a 429 SDKs back off from).
async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<super::body::Received, Box<Response>> {
    let limits = super::body::Limits::of(&state.config.http);
    super::body::receive(&state.ingest_gate, headers, body, limits)
        .await
        .map_err(|e| {
            // Overload and a full disk alike: a 429 SDKs back off from (Relay's answer).
            Box::new(
                if matches!(
                    e.status(),
                    StatusCode::TOO_MANY_REQUESTS | StatusCode::INSUFFICIENT_STORAGE
                ) {
                    retry_later()
                } else {
                    detail(e.status(), e.message().to_owned())
                },
            )
        })
}

async fn envelope(
    State(state): State<AppState>,
    Path(project_id): Path<i64>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let answer = envelope_inner(&state, project_id, query.as_deref(), &headers, body).await;
    if !answer.status().is_success() {
        state.sentry.refused.fetch_add(1, Ordering::Relaxed);
    }
    answer
}

async fn envelope_inner(
    state: &AppState,
    project_id: i64,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    // A key in the headers or the query is checked before the body takes any of the ingest
    // budget; one only in the envelope's header (the JS `tunnel`) once it is read.
    let early_key = public_key(headers, query, None);
    let mut refused = None;
    if early_key.is_some() {
        match authorize(state, project_id, early_key).await {
            Ok(r) => refused = Some(r),
            Err(r) => {
                super::body::drain(body, state.config.http.max_body_size.as_usize()).await;
                return *r;
            }
        }
    }
    // Under overload, refused before anything is written, in the way SDKs back off from.
    let received = match receive(state, headers, body).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let envelope = match sentry::parse_envelope(&received.bytes) {
        Ok(e) => e,
        Err(e) => return detail(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let project = match refused {
        Some(r) => r,
        None => match authorize(
            state,
            project_id,
            public_key(headers, query, Some(&envelope)),
        )
        .await
        {
            Ok(r) => r,
            Err(r) => return *r,
        },
    };
    let c = &state.sentry;
    c.malformed
        .fetch_add(envelope.errors.len() as u64, Ordering::Relaxed);
    let received_ns = state.clock.now().as_nanos();
    let header_id = envelope.event_id();
    let mut event: Option<(String, &[u8], Value)> = None;
    let mut attachments = Vec::new();
    let mut logs = Vec::new();
    let mut points = model::PointBatch::new();
    let mut check_ins = Vec::new();
    let now_s = received_ns.div_euclid(1_000_000_000);
    for item in &envelope.items {
        match item.kind.as_str() {
            "event" => {
                // Parsed once, here: the store groups it and the event store copies it.
                let parsed = serde_json::from_slice::<Value>(item.payload)
                    .ok()
                    .filter(Value::is_object);
                let id = header_id.clone().or_else(|| {
                    parsed
                        .as_ref()
                        .and_then(|v| v.get("event_id"))
                        .and_then(Value::as_str)
                        .and_then(sentry::normalize_event_id)
                });
                match (id, parsed) {
                    (Some(id), Some(parsed)) => event = Some((id, item.payload, parsed)),
                    _ => {
                        c.malformed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            "attachment" => {
                if item.payload.len() > MAX_ATTACHMENT {
                    c.attachments_dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let meta = sentry::attachment(item);
                attachments.push(issues::Attachment {
                    filename: meta.filename,
                    content_type: meta.content_type,
                    attachment_type: meta.attachment_type,
                    data: item.payload.to_vec(),
                });
            }
            "log" => match sentry::log_items(item.payload, received_ns) {
                Ok(mut records) => {
                    for r in &mut records {
                        r.fields
                            .insert("sentry.project_id".into(), json!(project_id));
                    }
                    logs.extend(records);
                }
                Err(_) => {
                    c.malformed.fetch_add(1, Ordering::Relaxed);
                }
            },
            "client_report" | "session" | "sessions" | "trace_metric" => {
                let prefix = format!("sentry.{project_id}");
                match sentry::report_points(&item.kind, item.payload, &prefix, now_s, &mut points) {
                    Ok(_) => c.counted.fetch_add(1, Ordering::Relaxed),
                    Err(_) => c.malformed.fetch_add(1, Ordering::Relaxed),
                };
            }
            "check_in" => match sentry::check_in(item.payload) {
                Ok(ci) => {
                    c.counted.fetch_add(1, Ordering::Relaxed);
                    check_ins.push(issues::CheckIn {
                        monitor_slug: ci.monitor_slug,
                        check_in_id: ci.check_in_id,
                        status: ci.status,
                        duration: ci.duration,
                        environment: ci.environment,
                        received_at: now_s,
                    });
                }
                Err(_) => {
                    c.malformed.fetch_add(1, Ordering::Relaxed);
                }
            },
            "transaction" | "span" | "profile" | "profile_chunk" | "replay_event"
            | "replay_recording" | "replay_video" | "statsd" | "metric_buckets" => {
                c.dropped.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                c.unknown.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    // The project's quota: an event over it is dropped with its attachments; the rest of the
    // envelope is still taken, and the answer says what is held back.
    let mut held_back = None;
    if event.is_some()
        && let Err(seconds) = c.limits.take(project_id, project.events_per_minute, now_s)
    {
        c.rate_limited.fetch_add(1, Ordering::Relaxed);
        event = None;
        attachments.clear();
        if logs.is_empty() && points.is_empty() && check_ins.is_empty() {
            return over_quota(seconds, project.events_per_minute);
        }
        held_back = Some(seconds);
    }
    if !logs.is_empty() {
        let n = logs.len() as u64;
        match state.sinks.events.add(logs).await {
            Ok(_) => {
                c.logs.fetch_add(n, Ordering::Relaxed);
            }
            Err(_) => {
                return detail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the event store is unavailable",
                );
            }
        }
    }
    if !points.is_empty()
        && state
            .sinks
            .metrics
            .send(points, &state.http_stats)
            .await
            .is_err()
    {
        return detail(
            StatusCode::SERVICE_UNAVAILABLE,
            "the metric store is shutting down",
        );
    }
    if !check_ins.is_empty()
        && let Err(e) = state.sinks.errors.check_ins(project_id, check_ins).await
    {
        tracing::error!(error = %e, "could not store Sentry check-ins");
        return retry_later();
    }
    let mut answer_id = header_id;
    if let Some((id, payload, parsed)) = event {
        match store_event(state, project_id, &id, payload, parsed, attachments).await {
            Ok(()) => answer_id = Some(id),
            Err(r) => return *r,
        }
    }
    let mut answer = Json(match answer_id {
        Some(id) => json!({ "id": id }),
        None => json!({}),
    })
    .into_response();
    refuse_categories(&mut answer, &project.refused_categories);
    if let Some(seconds) = held_back {
        let limits = match answer.headers().get("x-sentry-rate-limits") {
            Some(v) => format!("{}, {}", v.to_str().unwrap_or(""), quota_limit(seconds)),
            None => quota_limit(seconds),
        };
        if let Ok(v) = HeaderValue::from_str(&limits) {
            answer.headers_mut().insert("x-sentry-rate-limits", v);
        }
    }
    answer
}

/// How long SDKs are told to hold refused categories back; they ask again after it.
const REFUSAL_SECONDS: u64 = 3600;

/// `X-Sentry-Rate-Limits` on a success: SDKs stop sending these categories (and report the
/// drops in their next client report) while errors keep flowing. Never `Retry-After` on a 200:
/// some SDKs would then back off everything.
fn refuse_categories(answer: &mut Response, refused: &[String]) {
    if refused.is_empty() {
        return;
    }
    let names: Vec<&str> = refused.iter().map(String::as_str).collect();
    if let Ok(v) = HeaderValue::from_str(&sentry::rate_limits_header(REFUSAL_SECONDS, &names)) {
        answer.headers_mut().insert("x-sentry-rate-limits", v);
    }
}

async fn store_event(
    state: &AppState,
    project_id: i64,
    id: &str,
    payload: &[u8],
    parsed: Value,
    attachments: Vec<issues::Attachment>,
) -> Result<(), Box<Response>> {
    let n_attachments = attachments.len() as u64;
    let written = state
        .sinks
        .errors
        .write(
            issues::NewEvent {
                project_id,
                event_id: id.to_owned(),
                received_at: state.clock.now().as_secs(),
                payload: payload.to_vec(),
                event: parsed,
                attachments,
            },
            state.clock.now().as_nanos(),
        )
        .await;
    let c = &state.sentry;
    if written.copy_dropped {
        c.copies_dropped.fetch_add(1, Ordering::Relaxed);
    }
    match written.issue {
        Ok(Some(_)) => {
            c.events.fetch_add(1, Ordering::Relaxed);
            c.attachments.fetch_add(n_attachments, Ordering::Relaxed);
            Ok(())
        }
        Ok(None) => {
            c.duplicates.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e, "could not store a Sentry event");
            Err(Box::new(retry_later()))
        }
    }
}

/// 429 with `Retry-After` and `X-Sentry-Rate-Limits`, so SDKs back off rather than lose more:
/// the answer to overload and to a store that cannot write.
fn retry_later() -> Response {
    let mut r = detail(
        StatusCode::TOO_MANY_REQUESTS,
        "the server cannot take this now; retry later",
    );
    let h = r.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    h.insert(
        "x-sentry-rate-limits",
        HeaderValue::from_static("60::project"),
    );
    r
}

/// `/store/`: one event JSON as the body (the pre-envelope protocol).
async fn store(
    State(state): State<AppState>,
    Path(project_id): Path<i64>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let project = match authorize(
        &state,
        project_id,
        public_key(&headers, query.as_deref(), None),
    )
    .await
    {
        Ok(project) => project,
        Err(r) => {
            state.sentry.refused.fetch_add(1, Ordering::Relaxed);
            super::body::drain(body, state.config.http.max_body_size.as_usize()).await;
            return *r;
        }
    };
    let received = match receive(&state, &headers, body).await {
        Ok(b) => b,
        Err(r) => {
            state.sentry.refused.fetch_add(1, Ordering::Relaxed);
            return *r;
        }
    };
    let body = &received.bytes;
    let parsed = match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            state.sentry.refused.fetch_add(1, Ordering::Relaxed);
            return detail(StatusCode::BAD_REQUEST, "the event is not a JSON object");
        }
    };
    let id = parsed
        .get("event_id")
        .and_then(Value::as_str)
        .and_then(sentry::normalize_event_id)
        .unwrap_or_else(|| {
            let mut raw = [0u8; 16];
            crate::auth::secrets::fill_random(&mut raw);
            hex::encode(raw)
        });
    let now_s = state.clock.now().as_nanos().div_euclid(1_000_000_000);
    if let Err(seconds) = state
        .sentry
        .limits
        .take(project_id, project.events_per_minute, now_s)
    {
        state.sentry.rate_limited.fetch_add(1, Ordering::Relaxed);
        return over_quota(seconds, project.events_per_minute);
    }
    match store_event(&state, project_id, &id, body, parsed, Vec::new()).await {
        Ok(()) => {
            let mut answer = Json(json!({ "id": id })).into_response();
            refuse_categories(&mut answer, &project.refused_categories);
            answer
        }
        Err(r) => *r,
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[test]
    fn a_project_takes_its_quota_per_calendar_minute() {
        let limits = EventLimits::default();
        let t = 1_700_000_000 - 1_700_000_000 % 60 + 50; // 50 s into a minute
        assert!(limits.take(1, 2, t).is_ok());
        assert!(limits.take(1, 2, t + 1).is_ok());
        assert_eq!(limits.take(1, 2, t + 2), Err(8), "until the next minute");
        assert!(limits.take(2, 2, t + 2).is_ok(), "each project has its own");
        assert!(limits.take(1, 0, t + 2).is_ok(), "0 is no limit");
        assert!(limits.take(1, 2, t + 10).is_ok(), "a new minute");
    }
}
