//! Events over HTTP: NDJSON and JSON-array ingest, search, aggregation and live tail.
//!
//! - `POST /api/v1/ingest` (an ingest token): one JSON object per line, or a JSON array of
//!   objects, identity, gzip or deflate; structlog's, ECS's and most shippers' keys are
//!   recognised (`wire::jsonlog`). The answer counts what was accepted and lists (the first 100)
//!   refused lines with why; the good lines of a request are stored whatever the bad ones hold.
//!   The answer comes after the events are fsynced to the store's WAL; they become searchable
//!   within its commit interval (a second), or before the answer with `?refresh=wait_for`
//!   (`crate::pipeline::refresh`). An event over `logs.max_record_size` is cut down
//!   and marked `_truncated` (see `model::LogEvent::truncate`).
//! - `GET /api/v1/events/search?q=&from=&until=&limit=&sort=&cursor=`: newest first (or
//!   `sort=asc`), with the total count, highlights, and a `next_cursor` to page on. A query
//!   with a pipe (`… | stats …`) answers as the aggregate route does.
//! - `GET /api/v1/events/aggregate?q=&from=&until=&stats=&by=&interval=&size=`: a table of
//!   buckets (time and up to two group-by fields) with counts and metrics; the pipe form in
//!   `q` says the same thing in one string.
//! - `GET /api/v1/events/tail?q=`: server-sent events, one `event` per matching event as it is
//!   acknowledged (before it is searchable), and a comment every 15 s to keep proxies open.
//!
//! Times (`from`, `until`) are `now`, `-30m`, `-24h`, RFC 3339 or epoch seconds, or anything
//! Graphite's `from=` takes (`super::time`).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use events::aggregate::{self, Interval};
use events::{Aggregate, EventsError};
use http_body_util::channel::Channel;
use model::LogEvent;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::IngestKey;
use super::params::ApiQuery;
use crate::auth::Principal;
use crate::pipeline::refresh::RefreshMode;

/// The most refused lines an ingest answer lists.
const MAX_ERRORS_LISTED: usize = 100;
/// The most events one search page returns.
const MAX_PAGE: usize = 10_000;
/// How often an idle tail stream sends a comment.
const TAIL_KEEPALIVE: Duration = Duration::from_secs(15);

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/ingest", post(ingest))
        .route("/api/v1/events/search", get(search))
        .route("/api/v1/events/aggregate", get(aggregate_route))
        .route("/api/v1/events/tail", get(tail))
}

#[derive(Deserialize)]
struct IngestQuery {
    /// `wait_for` (or `true`): answer once the events are searchable.
    refresh: Option<String>,
}

async fn ingest(
    State(state): State<AppState>,
    _: IngestKey,
    ApiQuery(q): ApiQuery<IngestQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let refresh: RefreshMode = q
        .refresh
        .as_deref()
        .unwrap_or("false")
        .parse()
        .map_err(ApiError::bad_request)?;
    let limits = super::body::Limits::of(&state.config.http);
    let received = super::body::receive(&state.ingest_gate, &headers, body, limits).await?;
    let body = &received.bytes;
    let received_ns = state.clock.now().as_nanos();
    let mut good = Vec::new();
    let mut errors = Vec::new();
    let mut index = 0usize;
    wire::jsonlog::decode_body(body, received_ns, &mut |record| {
        match record {
            Ok(event) => good.push((index, event)),
            Err(e) => errors.push((index, e.to_string())),
        }
        index += 1;
    });
    let (positions, events): (Vec<usize>, Vec<LogEvent>) = good.into_iter().unzip();
    let stored = state
        .sinks
        .events
        .add(events)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    drop(received); // stored: its share of the ingest budget goes back
    let searchable = state.sinks.events.searchable(&stored, refresh).await;
    for (i, why) in stored.refused {
        errors.push((positions[i], why));
    }
    errors.sort_by_key(|(i, _)| *i);
    let rejected = errors.len();
    state
        .http_stats
        .parse_errors
        .fetch_add(rejected as u64, std::sync::atomic::Ordering::Relaxed);
    let listed: Vec<Value> = errors
        .iter()
        .take(MAX_ERRORS_LISTED)
        .map(|(i, e)| json!({"index": i, "error": e}))
        .collect();
    let mut answer = json!({"accepted": index - rejected, "rejected": rejected, "errors": listed});
    if refresh != RefreshMode::No {
        answer["searchable"] = json!(searchable);
    }
    Ok(Json(answer))
}

/// `from`/`until` as a half-open nanosecond range (`until` includes its whole second).
fn range(
    state: &AppState,
    from: Option<&str>,
    until: Option<&str>,
) -> Result<(i64, i64), ApiError> {
    let now_ns = state.clock.now().as_secs().saturating_mul(1_000_000_000);
    let time = |text: Option<&str>, default: &str| {
        super::time::parse_ns(text.unwrap_or(default), now_ns).map_err(ApiError::bad_request)
    };
    let from_ns = time(from, "-24h")?;
    let until_ns = time(until, "now")?.saturating_add(1_000_000_000);
    if until_ns <= from_ns {
        return Err(ApiError::bad_request("`until` must be after `from`"));
    }
    Ok((from_ns, until_ns))
}

fn store_error(e: EventsError) -> ApiError {
    match e {
        EventsError::Query { position, message } => ApiError::bad_query(
            format!("invalid query at position {position}: {message}"),
            position,
        ),
        EventsError::Aggregate { message } => {
            ApiError::bad_request(format!("invalid aggregation: {message}"))
        }
        other => ApiError::internal(&other),
    }
}

/// An event as the API shows it.
pub(crate) fn event_json(e: &LogEvent) -> Value {
    json!({
        "timestamp": rfc3339(e.timestamp_ns),
        "timestamp_ns": e.timestamp_ns,
        "message": e.message,
        "level": e.level,
        "service": e.service,
        "host": e.host,
        "fields": e.fields,
    })
}

fn rfc3339(ns: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(ns))
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
    from: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
    sort: Option<String>,
    cursor: Option<String>,
    // The aggregate parameters, for a piped query.
    stats: Option<String>,
    by: Option<String>,
    interval: Option<String>,
    size: Option<usize>,
}

#[derive(Deserialize)]
struct AggregateQuery {
    q: Option<String>,
    from: Option<String>,
    until: Option<String>,
    stats: Option<String>,
    by: Option<String>,
    interval: Option<String>,
    size: Option<usize>,
}

/// A page boundary: the timestamp of the last event returned, and how many events at exactly
/// that timestamp were returned so far (they are skipped on the next page).
fn parse_cursor(text: &str) -> Result<(i64, usize), ApiError> {
    let bad = || ApiError::bad_request(format!("invalid cursor `{text}`"));
    let (ts, skip) = text.split_once('.').ok_or_else(bad)?;
    Ok((
        ts.parse().map_err(|_| bad())?,
        skip.parse().map_err(|_| bad())?,
    ))
}

async fn search(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Response, ApiError> {
    let text = q.q.clone().unwrap_or_default();
    // A pipe makes an aggregation, whose parser also reports a pipe that is wrong.
    if aggregate::pipe_position(&text).is_some() {
        let q = AggregateQuery {
            q: q.q,
            from: q.from,
            until: q.until,
            stats: q.stats,
            by: q.by,
            interval: q.interval,
            size: q.size,
        };
        return aggregate_route(State(state), principal, ApiQuery(q))
            .await
            .map(IntoResponse::into_response);
    }
    let (from_ns, until_ns) = range(&state, q.from.as_deref(), q.until.as_deref())?;
    let ascending = match q.sort.as_deref().unwrap_or("desc") {
        "desc" | "newest" => false,
        "asc" | "oldest" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "sort is `asc` or `desc`, not `{other}`"
            )));
        }
    };
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let mut skip_at: Option<(i64, usize)> = None;
    if let Some(cursor) = q.cursor.as_deref() {
        skip_at = Some(parse_cursor(cursor)?);
    }
    let search = events::Search {
        query: text,
        from_ns,
        until_ns,
        limit: limit + skip_at.map_or(0, |(_, s)| s),
        ascending,
        cursor_ns: skip_at.map(|(ts, _)| ts),
    };
    let store = state.events.clone();
    let result = tokio::task::spawn_blocking(move || store.search(&search))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(store_error)?;
    let mut hits = result.hits;
    if let Some((ts, skip)) = skip_at {
        let drop = hits
            .iter()
            .take(skip)
            .take_while(|h| h.event.timestamp_ns == ts)
            .count();
        hits.drain(..drop);
    }
    hits.truncate(limit);
    let next_cursor = (hits.len() == limit).then(|| {
        let last = hits.last().map_or(0, |h| h.event.timestamp_ns);
        let mut same = hits
            .iter()
            .rev()
            .take_while(|h| h.event.timestamp_ns == last)
            .count();
        if let Some((ts, skip)) = skip_at
            && ts == last
            && same == hits.len()
        {
            same += skip;
        }
        format!("{last}.{same}")
    });
    let events: Vec<Value> = hits
        .iter()
        .map(|h| {
            let mut v = event_json(&h.event);
            v["highlight"] = json!({"message": h.highlights, "fields": h.matched_fields});
            v
        })
        .collect();
    Ok(
        Json(json!({"total": result.total, "events": events, "next_cursor": next_cursor}))
            .into_response(),
    )
}

/// The aggregation a request asks for: the pipe in `q`, or the `stats`/`by`/`interval`
/// parameters.
fn aggregation(q: &AggregateQuery, from_ns: i64, until_ns: i64) -> Result<Aggregate, ApiError> {
    let text = q.q.clone().unwrap_or_default();
    let piped = aggregate::parse_pipe(&text).map_err(|(position, message)| {
        ApiError::bad_query(
            format!("invalid query at position {position}: {message}"),
            position,
        )
    })?;
    let (query, mut spec) = match piped {
        Some((query, spec)) => {
            if q.stats.is_some() || q.by.is_some() {
                return Err(ApiError::bad_request(
                    "give the statistics either as a pipe in `q` or as `stats`/`by`, not both",
                ));
            }
            (query, spec)
        }
        None => {
            let mut pipe = format!("| stats {}", q.stats.as_deref().unwrap_or("count()"));
            if let Some(by) = q.by.as_deref().filter(|b| !b.trim().is_empty()) {
                pipe.push_str(" by ");
                pipe.push_str(by);
            }
            let (_, spec) = aggregate::parse_pipe(&pipe)
                .map_err(|(_, message)| {
                    ApiError::bad_request(format!("invalid stats/by: {message}"))
                })?
                .ok_or_else(|| ApiError::bad_request("invalid stats"))?;
            (text, spec)
        }
    };
    match q.interval.as_deref() {
        None | Some("") => {}
        Some("auto") => spec.interval = Some(Interval::Auto),
        Some("none") => spec.interval = None,
        Some(d) => {
            let ns = aggregate::parse_duration(d).ok_or_else(|| {
                ApiError::bad_request(format!("invalid interval `{d}`; use auto, 30s, 5m, 1h, 1d"))
            })?;
            spec.interval = Some(Interval::Fixed(ns));
        }
    }
    Ok(Aggregate {
        query,
        from_ns,
        until_ns,
        metrics: spec.metrics,
        group_by: spec.group_by,
        size: q
            .size
            .unwrap_or(aggregate::DEFAULT_GROUPS)
            .clamp(1, aggregate::MAX_GROUPS),
        interval: spec.interval,
    })
}

async fn aggregate_route(
    State(state): State<AppState>,
    _: Principal,
    ApiQuery(q): ApiQuery<AggregateQuery>,
) -> Result<Json<Value>, ApiError> {
    let (from_ns, until_ns) = range(&state, q.from.as_deref(), q.until.as_deref())?;
    let agg = aggregation(&q, from_ns, until_ns)?;
    // A bare `count()` is the `count` column already; every other metric is a column of its
    // own, named as the pipe spells it.
    let names: Vec<Option<String>> = agg
        .metrics
        .iter()
        .map(|m| m.field.is_some().then(|| m.to_string()))
        .collect();
    let group_by = agg.group_by.clone();
    let store = state.events.clone();
    let result = tokio::task::spawn_blocking(move || store.aggregate(&agg))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(store_error)?;
    let metric_values = |values: &[Option<f64>]| -> Map<String, Value> {
        names
            .iter()
            .zip(values)
            .filter_map(|(n, v)| Some((n.clone()?, v.map_or(Value::Null, |x| json!(x)))))
            .collect()
    };
    let rows: Vec<Value> = result
        .rows
        .iter()
        .map(|row| {
            let mut obj = Map::new();
            if let Some(t) = row.time_ns {
                obj.insert("time".into(), json!(rfc3339(t)));
            }
            for (field, key) in group_by.iter().zip(&row.key) {
                obj.insert(field.clone(), key.clone());
            }
            obj.insert("count".into(), json!(row.count));
            obj.extend(metric_values(&row.values));
            Value::Object(obj)
        })
        .collect();
    let mut columns: Vec<String> = Vec::new();
    if result.interval_ns.is_some() {
        columns.push("time".into());
    }
    columns.extend(group_by.iter().cloned());
    columns.push("count".into());
    columns.extend(names.iter().flatten().cloned());
    let mut totals = Map::new();
    totals.insert("count".into(), json!(result.total));
    totals.extend(metric_values(&result.totals));
    Ok(Json(json!({
        "total": result.total,
        "interval_seconds": result.interval_ns.map(|ns| ns as f64 / 1e9),
        "columns": columns,
        "rows": rows,
        "totals": totals,
        "other": result.other,
    })))
}

#[derive(Deserialize)]
struct TailQuery {
    q: Option<String>,
}

async fn tail(
    State(state): State<AppState>,
    _: Principal,
    ApiQuery(q): ApiQuery<TailQuery>,
) -> Result<Response, ApiError> {
    let text = q.q.unwrap_or_default();
    if let Some(p) = aggregate::pipe_position(&text) {
        return Err(ApiError::bad_query(
            "a tail streams events; it takes no pipe",
            p,
        ));
    }
    let node = events::query::parse(&text).map_err(|e| {
        ApiError::bad_query(
            format!("invalid query at position {}: {}", e.position, e.message),
            e.position,
        )
    })?;
    // Compiling checks the query the way a search would (a range on the message, …).
    let fields = events::schema::Fields::new();
    events::query::compile(&node, &fields, &Default::default()).map_err(|e| {
        ApiError::bad_query(
            format!("invalid query at position {}: {}", e.position, e.message),
            e.position,
        )
    })?;
    let mut receiver = state.sinks.events.subscribe();
    let (mut sender, body) = Channel::<Bytes, Infallible>::new(64);
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        // An opening comment, so clients see the stream is live at once.
        if sender
            .send_data(Bytes::from_static(b": tailing\n\n"))
            .await
            .is_err()
        {
            return;
        }
        let mut keepalive = tokio::time::interval(TAIL_KEEPALIVE);
        keepalive.tick().await;
        loop {
            let frame = tokio::select! {
                () = shutdown.cancelled() => return,
                _ = keepalive.tick() => Bytes::from_static(b": keep-alive\n\n"),
                received = receiver.recv() => match received {
                    Ok(event) => {
                        if !events::query::matches(&node, &event) {
                            continue;
                        }
                        Bytes::from(format!("event: event\ndata: {}\n\n", event_json(&event)))
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        Bytes::from(format!("event: lagged\ndata: {{\"skipped\":{n}}}\n\n"))
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
            };
            if sender.send_data(frame).await.is_err() {
                return;
            }
        }
    });
    let mut response = Body::new(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}
