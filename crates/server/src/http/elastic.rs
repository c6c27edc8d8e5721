//! The Elasticsearch ingest surface shippers speak: `_bulk` and the probes they make first.
//!
//! - `POST|PUT /_bulk` and `/{index}/_bulk`: NDJSON action/source pairs. `index` and `create`
//!   store the source as an event (`_index` and `_id` kept as fields); `delete` and `update`
//!   answer 400 per item (an event store appends). Items are answered positionally: 201, or
//!   400 with an `error.type` for a document we will never accept, so shippers drop it rather
//!   than retry. The good documents of a request are stored whatever the bad ones hold.
//! - Probes: `GET|HEAD /` (an 8.x version), `/_cluster/health`, `/_license`, and `{}` for
//!   `_ilm`, `_index_template`, `_template`, `_ingest`, `_nodes`, `_data_stream`.
//!
//! Every answer carries `X-Elastic-Product: Elasticsearch` (elasticsearch-py refuses a server
//! without it). Credentials: an ingest token as `Authorization: ApiKey`, `Bearer`, or the basic
//! auth password.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::IngestKey;
use crate::pipeline::refresh::RefreshMode;

/// The Elasticsearch version reported: a recent 8.x, which every current shipper accepts.
const ES_VERSION: &str = "8.19.3";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root).head(root))
        .route("/_bulk", post(bulk_default).put(bulk_default))
        .route("/{index}/_bulk", post(bulk_index).put(bulk_index))
        .route("/_cluster/health", get(health))
        .route("/_cluster/health/{*rest}", get(health))
        .route("/_license", get(license))
        .route("/_ilm/{*rest}", get(empty).put(empty))
        .route("/_index_template/{*rest}", get(empty).put(empty))
        .route("/_template/{*rest}", get(empty).put(empty))
        .route("/_ingest/{*rest}", get(empty).put(empty))
        .route("/_nodes", get(empty))
        .route("/_nodes/{*rest}", get(empty))
        .route("/_data_stream/{*rest}", get(empty).put(empty))
}

fn es(status: StatusCode, body: Value) -> Response {
    let mut response = (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response();
    response.headers_mut().insert(
        "x-elastic-product",
        HeaderValue::from_static("Elasticsearch"),
    );
    response
}

/// The cluster's identity for shippers; a browser asking for `/` gets the web UI instead.
/// Elasticsearch's answer for a body not taken: 413 as for `http.max_content_length`, 429 as
/// its in-flight requests circuit breaker answers (a transient error that shippers retry), 400
/// or 415 for what cannot be read.
fn body_refused(e: &super::error::ApiError) -> Response {
    // Elasticsearch past its flood-stage disk watermark: 429 with a cluster block, which
    // shippers retry.
    let status = if e.status() == StatusCode::INSUFFICIENT_STORAGE {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        e.status()
    };
    let kind = match e.status().as_u16() {
        413 => "content_too_long_exception",
        429 => "circuit_breaking_exception",
        507 => "cluster_block_exception",
        415 => "illegal_argument_exception",
        _ => "parse_exception",
    };
    let mut error = json!({"type": kind, "reason": e.message()});
    if e.status().as_u16() == 429 {
        error["durability"] = json!("TRANSIENT");
    }
    let mut outer = error.clone();
    outer["root_cause"] = json!([error]);
    let mut response = es(status, json!({"error": outer, "status": status.as_u16()}));
    if status.as_u16() == 429 {
        let secs = if e.status().as_u16() == 507 {
            super::body::DISK_RETRY_AFTER_SECS
        } else {
            super::gate::RETRY_AFTER_SECS
        };
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(secs),
        );
    }
    response
}

async fn root(headers: HeaderMap, key: Result<IngestKey, ApiError>) -> Response {
    if super::ui::wants_page(&headers) {
        return super::ui::index_page("/", &headers);
    }
    if let Err(refused) = key {
        return refused.into_response();
    }
    es(
        StatusCode::OK,
        json!({
            "name": "sightline",
            "cluster_name": "sightline",
            "cluster_uuid": "sightline-events",
            "version": {
                "number": ES_VERSION,
                "build_flavor": "default",
                "build_type": "sightline",
                "lucene_version": "9.12.0",
                "minimum_wire_compatibility_version": "7.17.0",
                "minimum_index_compatibility_version": "7.0.0"
            },
            "tagline": "You Know, for Search"
        }),
    )
}

async fn health(_: IngestKey) -> Response {
    es(
        StatusCode::OK,
        json!({"cluster_name": "sightline", "status": "green", "timed_out": false, "number_of_nodes": 1,
               "number_of_data_nodes": 1, "active_primary_shards": 1, "active_shards": 1,
               "relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": 0}),
    )
}

async fn license(_: IngestKey) -> Response {
    es(
        StatusCode::OK,
        json!({"license": {"uid": "sightline", "type": "basic", "status": "active", "expiry_date_in_millis": 4_000_000_000_000u64}}),
    )
}

async fn empty(_: IngestKey) -> Response {
    es(StatusCode::OK, json!({}))
}

async fn bulk_default(
    State(state): State<AppState>,
    key: IngestKey,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match refresh_mode(&uri) {
        Ok(refresh) => bulk(state, key, None, refresh, &headers, body).await,
        Err(reason) => bad_refresh(&reason),
    }
}

async fn bulk_index(
    State(state): State<AppState>,
    key: IngestKey,
    Path(index): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match refresh_mode(&uri) {
        Ok(refresh) => bulk(state, key, Some(index), refresh, &headers, body).await,
        Err(reason) => bad_refresh(&reason),
    }
}

/// The `refresh` parameter (other parameters, such as `pipeline` or `timeout`, are ignored as
/// shippers send them whatever the server).
fn refresh_mode(uri: &Uri) -> Result<RefreshMode, String> {
    let query = uri.query().unwrap_or("");
    match form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "refresh") {
        Some((_, value)) => value.parse(),
        None => Ok(RefreshMode::No),
    }
}

/// Elasticsearch's answer to a `refresh` value it does not know.
fn bad_refresh(reason: &str) -> Response {
    es(
        StatusCode::BAD_REQUEST,
        json!({"error": {"type": "illegal_argument_exception", "reason": reason}, "status": 400}),
    )
}

async fn bulk(
    state: AppState,
    _: IngestKey,
    default_index: Option<String>,
    refresh: RefreshMode,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let started = std::time::Instant::now();
    let limits = super::body::Limits::of(&state.config.http);
    let received = match super::body::receive(&state.ingest_gate, headers, body, limits).await {
        Ok(received) => received,
        Err(e) => return body_refused(&e),
    };
    let body = &received.bytes;
    let received_ns = state.clock.now().as_nanos();
    let default_index = default_index.unwrap_or_else(|| "default".into());
    let parsed = match wire::bulk::parse(body, &default_index) {
        Ok(parsed) => parsed,
        Err(e) => {
            return es(
                StatusCode::BAD_REQUEST,
                json!({"error": {"type": e.kind(), "reason": e.to_string()}, "status": 400}),
            );
        }
    };
    // Each item's position in the stored batch, or its error.
    let mut events = Vec::new();
    let mut items = Vec::with_capacity(parsed.len());
    for item in parsed {
        let outcome = item.document.map(|mut obj| {
            obj.entry("_index")
                .or_insert_with(|| Value::from(item.index.clone()));
            if let Some(id) = &item.id {
                obj.entry("_id").or_insert_with(|| Value::from(id.clone()));
            }
            events.push(wire::jsonlog::from_object(obj, received_ns));
            events.len() - 1
        });
        items.push((item.action, item.index, item.id, outcome));
    }
    let stored = state.sinks.events.add(events).await;
    drop(received); // stored: its share of the ingest budget goes back
    let refused = match stored {
        Ok(stored) => {
            state.sinks.events.searchable(&stored, refresh).await;
            stored.refused
        }
        Err(e) => {
            return es(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": {"type": "store_exception", "reason": e.to_string()}, "status": 503}),
            );
        }
    };
    let refused: std::collections::HashMap<usize, String> = refused.into_iter().collect();
    let mut errors = false;
    let mut rejected = 0u64;
    let answered: Vec<Value> = items
        .into_iter()
        .enumerate()
        .map(|(seq, (action, index, id, outcome))| {
            let mut body = Map::new();
            body.insert("_index".into(), Value::from(index));
            body.insert(
                "_id".into(),
                Value::from(id.unwrap_or_else(|| format!("sl-{received_ns:x}-{seq}"))),
            );
            let outcome = match outcome {
                Ok(position) => match refused.get(&position) {
                    Some(why) => Err((400, "illegal_argument_exception", why.clone())),
                    None => Ok(()),
                },
                Err(e) => Err((e.status, e.kind, e.reason)),
            };
            match outcome {
                Ok(()) => {
                    body.insert("_version".into(), json!(1));
                    body.insert("result".into(), json!("created"));
                    body.insert("status".into(), json!(201));
                    body.insert(
                        "_shards".into(),
                        json!({"total": 1, "successful": 1, "failed": 0}),
                    );
                    body.insert("_seq_no".into(), json!(seq));
                    body.insert("_primary_term".into(), json!(1));
                }
                Err((status, kind, reason)) => {
                    errors = true;
                    rejected += 1;
                    body.insert("status".into(), json!(status));
                    body.insert("error".into(), json!({"type": kind, "reason": reason}));
                }
            }
            let mut item_obj = Map::new();
            item_obj.insert(action.name().to_owned(), Value::Object(body));
            Value::Object(item_obj)
        })
        .collect();
    state
        .http_stats
        .parse_errors
        .fetch_add(rejected, std::sync::atomic::Ordering::Relaxed);
    es(
        StatusCode::OK,
        json!({"took": started.elapsed().as_millis() as u64, "errors": errors, "items": answered}),
    )
}
