//! graphite-web's HTTP API, so Grafana's Graphite data source and graphite-web's own clients
//! work unchanged.
//!
//! - `GET|POST /render` (and `/render/`): targets evaluated by the `graphite` crate, answered as
//!   `json` (with `maxDataPoints`, `noNullPoints`, `jsonp`), `csv`, `raw` (which, as in
//!   graphite-web, ignores `maxDataPoints` unless Sightline's own `consolidate=true` asks: the
//!   web UI reads its graphs that way), or a graph as `svg` or `png` (the default, as in
//!   graphite-web).
//! - `GET|POST /metrics/find` (graphite-web's `/metrics` alias is not served: that path is
//!   Sightline's own Prometheus metrics): `treejson` (the default), `completer`, `json`,
//!   `nodelist`; `/metrics/expand`; `/metrics/index.json`.
//! - `/tags`, `/tags/<tag>`, `/tags/findSeries`, `/tags/autoComplete/{tags,values}`.
//! - `/functions`, `/functions/<name>`, `/version`, `/events/get_data`.
//!
//! Parameters come from the query string and a form body together, as Django's merged
//! `QueryDict`: a single-valued lookup takes the last value (the body's), a list takes all.
//! Every endpoint needs a session or an API token (bearer, or basic auth with the token as the
//! password). Errors are graphite-web's plain text: a 400 for the client's mistakes (a query
//! past its memory budget included), 503 when the store or the shared query memory is busy,
//! 500 when the store fails, 504 past the request's deadline.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use graphite::eval::{self, Request as EvalRequest};
use graphite::glob::PathPattern;
use graphite::render;
use graphite::tagexpr;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

use super::AppState;
use crate::auth::Principal;

/// What `/version` answers: the graphite-web release whose API this follows, high enough for
/// Grafana to enable tags and `/functions`.
const VERSION: &str = "1.1.10";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/render", get(render_view).post(render_view))
        .route("/render/", get(render_view).post(render_view))
        .route("/metrics/find", get(find_view).post(find_view))
        .route("/metrics/find/", get(find_view).post(find_view))
        .route("/metrics/expand", get(expand_view).post(expand_view))
        .route("/metrics/index.json", get(index_view))
        .route("/tags", get(tag_list))
        .route("/tags/", get(tag_list))
        .route("/tags/findSeries", get(find_series).post(find_series))
        .route(
            "/tags/autoComplete/tags",
            get(auto_complete_tags).post(auto_complete_tags),
        )
        .route(
            "/tags/autoComplete/values",
            get(auto_complete_values).post(auto_complete_values),
        )
        .route("/tags/{tag}", get(tag_details))
        .route("/functions", get(function_list))
        .route("/functions/", get(function_list))
        .route("/functions/{name}", get(function_details))
        .route("/version", get(version))
        .route("/version/", get(version))
        .route("/events/get_data", get(events))
}

/// The merged query string and form body.
#[derive(Debug, Default)]
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `key` or, when absent, `key[]` (jQuery's spelling of a list).
    fn list(&self, key: &str) -> Vec<&str> {
        let plain = self.all(key);
        if plain.is_empty() {
            self.all(&format!("{key}[]"))
        } else {
            plain
        }
    }

    fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| !matches!(v, "" | "0" | "false" | "False"))
    }
}

impl FromRequest<AppState> for Params {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let mut pairs = Vec::new();
        if let Some(query) = req.uri().query() {
            pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
                .map_err(|e| bad(format!("invalid query string: {e}")))?;
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if !body.is_empty() {
            let form = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
                .map_err(|e| bad(format!("invalid form body: {e}")))?;
            pairs.extend(form);
        }
        Ok(Params(pairs))
    }
}

/// graphite-web's error answer: 400 and the message as text.
fn bad(message: impl Into<String>) -> Response {
    Bad(message.into()).into_response()
}

/// A request graphite-web would refuse, with its message.
#[derive(Debug)]
pub(super) struct Bad(String);

impl IntoResponse for Bad {
    fn into_response(self) -> Response {
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.0,
        )
            .into_response()
    }
}

fn json_response(value: &Value, params: &Params) -> Response {
    let body = if params.flag("pretty") {
        serde_json::to_string_pretty(value).unwrap_or_default()
    } else {
        value.to_string()
    };
    with_jsonp(body, params.get("jsonp"))
}

fn with_jsonp(body: String, jsonp: Option<&str>) -> Response {
    match jsonp.filter(|j| !j.is_empty()) {
        Some(callback) => {
            if !callback
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'$')
            {
                return bad("jsonp callback must be a JavaScript identifier");
            }
            (
                [(header::CONTENT_TYPE, "text/javascript")],
                format!("{callback}({body})"),
            )
                .into_response()
        }
        None => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
    }
}

fn no_cache(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `tz`, `now`, `from` and `until` of a render: graphite-web's defaults (`-1d` to `now`),
/// swapped when reversed, an error when empty.
fn time_range(params: &Params, clock_now: i64) -> Result<(TimeZone, i64, i64, i64), Bad> {
    let tz = graphite::attime::time_zone(params.get("tz"));
    let parse = |name: &str, text: &str, now: i64| {
        graphite::attime::parse_at_time(text, &tz, now)
            .map_err(|e| Bad(format!("Invalid value '{text}' for param {name}: {e}")))
    };
    let now = match params.get("now") {
        Some(text) => parse("now", text, clock_now)?,
        None => clock_now,
    };
    let mut from = parse("from", params.get("from").unwrap_or("-1d"), now)?;
    let mut until = parse("until", params.get("until").unwrap_or("now"), now)?;
    if from > until {
        std::mem::swap(&mut from, &mut until);
    }
    if from == until {
        return Err(Bad("Invalid empty time range".into()));
    }
    Ok((tz, now, from, until))
}

async fn render_view(State(state): State<AppState>, _: Principal, params: Params) -> Response {
    let clock_now = state.clock.now().as_secs();
    let (tz, now, from, until) = match time_range(&params, clock_now) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let mut targets: Vec<String> = params
        .list("target")
        .into_iter()
        .map(str::to_owned)
        .collect();
    targets.retain(|t| !t.trim().is_empty());
    let format = if params.get("rawData").is_some_and(|v| !v.is_empty()) {
        "raw".to_owned()
    } else {
        params.get("format").unwrap_or("png").to_owned()
    };
    if !matches!(format.as_str(), "json" | "csv" | "raw" | "svg" | "png") {
        return bad(format!(
            "format `{format}` is not supported; use json, csv, raw, svg or png"
        ));
    }
    let graph = graphite::chart::GraphOptions::from_params(
        |k| params.get(k).map(str::to_owned),
        from,
        until,
        tz.clone(),
    );
    let templates = params
        .0
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix("template[")?.strip_suffix(']')?.to_owned(),
                v.clone(),
            ))
        })
        .collect();
    let request = EvalRequest {
        from,
        until,
        now,
        tz: tz.clone(),
        templates,
        max_bytes: state.config.query.memory_per_query.get(),
        pool: Some(Arc::clone(&state.query_memory)),
        xff: params.get("xFilesFactor").and_then(|v| v.parse().ok()),
    };
    let max_data_points = params
        .get("maxDataPoints")
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0);
    // Sightline's extension: graphite-web's raw output is never consolidated.
    let consolidate_raw = params.flag("consolidate");
    let options = render::Options {
        max_data_points,
        no_null_points: params.get("noNullPoints").is_some(),
        pretty: params.flag("pretty"),
    };
    let deadline = std::time::Instant::now() + state.config.http.request_timeout.get();
    let source = state.metrics.source(deadline);
    let evaluated = tokio::task::spawn_blocking(move || {
        let mut series =
            eval::evaluate(&source, &request, &targets).map_err(|e| render_error(&e, &targets))?;
        let body = match format.as_str() {
            "json" => {
                if let Some(max) = options.max_data_points {
                    render::apply_max_data_points(&mut series, max);
                }
                render::json(&series, &options).into_bytes()
            }
            "csv" => render::csv(&series, &tz).into_bytes(),
            "raw" => {
                if let Some(max) = options.max_data_points.filter(|_| consolidate_raw) {
                    render::apply_max_data_points(&mut series, max);
                }
                render::raw(&series).into_bytes()
            }
            "svg" => graphite::chart::svg(&series, &graph).into_bytes(),
            "png" => graphite::chart::png(&graphite::chart::svg(&series, &graph))
                .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))?,
            _ => unreachable!("the format was checked above"),
        };
        Ok::<_, (StatusCode, String)>((format, body))
    })
    .await;
    match evaluated {
        Ok(Ok((format, body))) => match format.as_str() {
            "json" => with_jsonp(
                String::from_utf8(body).unwrap_or_default(),
                params.get("jsonp"),
            ),
            "csv" => ([(header::CONTENT_TYPE, "text/csv")], body).into_response(),
            "svg" => ([(header::CONTENT_TYPE, "image/svg+xml")], body).into_response(),
            "png" => ([(header::CONTENT_TYPE, "image/png")], body).into_response(),
            _ => ([(header::CONTENT_TYPE, "text/plain")], body).into_response(),
        },
        Ok(Err((StatusCode::BAD_REQUEST, message))) => bad(message),
        Ok(Err((status, message))) => {
            let mut response = (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                message,
            )
                .into_response();
            if status == StatusCode::SERVICE_UNAVAILABLE {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            response
        }
        Err(e) => super::error::ApiError::internal(&e).into_response(),
    }
}

/// An evaluation error as graphite-web answers it: the client's mistakes (and a query too big
/// for its memory budget) are 400 "Invalid parameters"; a busy or unavailable store 503, a
/// failed one 500, and a deadline 504, each with the message as text.
fn render_error(e: &eval::Error, targets: &[String]) -> (StatusCode, String) {
    match e.kind {
        eval::ErrorKind::Input | eval::ErrorKind::TooLarge => {
            let quoted: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
            (
                StatusCode::BAD_REQUEST,
                format!("Invalid parameters ({e}); targets: {}", quoted.join(", ")),
            )
        }
        eval::ErrorKind::Busy | eval::ErrorKind::Unavailable => {
            (StatusCode::SERVICE_UNAVAILABLE, e.message.clone())
        }
        eval::ErrorKind::Failed => (StatusCode::INTERNAL_SERVER_ERROR, e.message.clone()),
        eval::ErrorKind::Deadline => (StatusCode::GATEWAY_TIMEOUT, e.message.clone()),
    }
}

/// Answers an index query on the blocking pool: a find or tag query over a large index is CPU
/// work that must not stall the async workers.
async fn blocking<R: IntoResponse + Send + 'static>(
    answer: impl FnOnce() -> R + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(answer).await {
        Ok(r) => r.into_response(),
        Err(e) => super::error::ApiError::internal(&e).into_response(),
    }
}

/// The last dotted segment of a path.
fn node_name(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

async fn find_view(State(state): State<AppState>, _: Principal, params: Params) -> Response {
    blocking(move || find_view_now(&state, &params)).await
}

fn find_view_now(state: &AppState, params: &Params) -> Response {
    let Some(query) = params.get("query") else {
        return bad("Missing required parameter 'query'");
    };
    if query.is_empty() {
        return bad("Required parameter 'query' is empty");
    }
    let format = params.get("format").unwrap_or("treejson");
    let wildcards = params.flag("wildcards");
    let leaves_only = params.flag("leavesOnly");
    let base_path = query
        .rsplit_once('.')
        .map_or(String::new(), |(head, _)| format!("{head}."));
    let mut query = query.to_owned();
    if format == "completer" {
        query = query.replace("..", "*.");
        if !query.ends_with('*') {
            query.push('*');
        }
    }
    let pattern = match PathPattern::parse(&query) {
        Ok(p) => p,
        Err(e) => return bad(format!("invalid query `{query}`: {e}")),
    };
    let mut nodes = state.metrics.find(&pattern);
    if leaves_only {
        nodes.retain(|n| n.leaf.is_some());
    }
    nodes.sort_by(|a, b| node_name(&a.path).cmp(node_name(&b.path)));
    let body = match format {
        "treejson" => {
            let mut seen = std::collections::HashSet::new();
            let (mut branches, mut leaves) = (Vec::new(), Vec::new());
            for n in &nodes {
                let name = node_name(&n.path);
                if !seen.insert(name.to_owned()) {
                    continue;
                }
                let id = format!("{base_path}{name}");
                if n.has_children {
                    branches.push(json!({"text": name, "id": id, "allowChildren": 1, "expandable": 1, "leaf": u8::from(n.leaf.is_some())}));
                } else {
                    leaves.push(json!({"text": name, "id": id, "allowChildren": 0, "expandable": 0, "leaf": 1}));
                }
            }
            let mut out = Vec::new();
            if nodes.len() > 1 && wildcards {
                let branch = nodes.iter().any(|n| n.has_children);
                out.push(json!({"text": "*", "id": format!("{base_path}*"), "allowChildren": u8::from(branch), "expandable": u8::from(branch), "leaf": u8::from(!branch)}));
            }
            out.extend(branches);
            out.extend(leaves);
            Value::Array(out)
        }
        "completer" => {
            let mut metrics: Vec<Value> = nodes
                .iter()
                .map(|n| {
                    let leaf = n.leaf.is_some() && !n.has_children;
                    let path = if leaf { n.path.clone() } else { format!("{}.", n.path) };
                    json!({"path": path, "name": node_name(&n.path), "is_leaf": if leaf { "1" } else { "0" }})
                })
                .collect();
            if metrics.len() > 1 && wildcards {
                metrics.push(json!({"name": "*"}));
            }
            json!({"metrics": metrics})
        }
        "json" => {
            let mut out: Vec<Value> = nodes
                .iter()
                .map(|n| {
                    if n.leaf.is_some() {
                        json!({"path": n.path, "is_leaf": true, "intervals": []})
                    } else {
                        json!({"path": n.path, "is_leaf": false})
                    }
                })
                .collect();
            out.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
            Value::Array(out)
        }
        "nodelist" => {
            let position: i64 = params
                .get("position")
                .and_then(|p| p.parse().ok())
                .unwrap_or(-1);
            let mut found: Vec<String> = nodes
                .iter()
                .filter_map(|n| {
                    let parts: Vec<&str> = n.path.split('.').collect();
                    let i = if position < 0 {
                        parts.len() as i64 + position
                    } else {
                        position
                    };
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| parts.get(i))
                        .map(|p| (*p).to_owned())
                })
                .collect();
            found.sort();
            found.dedup();
            json!({"nodes": found})
        }
        _ => return bad("Invalid value for 'format' parameter"),
    };
    no_cache(json_response(&body, params))
}

async fn expand_view(State(state): State<AppState>, _: Principal, params: Params) -> Response {
    blocking(move || expand_view_now(&state, &params)).await
}

fn expand_view_now(state: &AppState, params: &Params) -> Response {
    let leaves_only = params.flag("leavesOnly");
    let group = params.flag("groupByExpr");
    let mut grouped = serde_json::Map::new();
    let mut union = std::collections::BTreeSet::new();
    for query in params.all("query") {
        let pattern = match PathPattern::parse(query) {
            Ok(p) => p,
            Err(e) => return bad(format!("invalid query `{query}`: {e}")),
        };
        let mut paths: Vec<String> = state
            .metrics
            .find(&pattern)
            .into_iter()
            .filter(|n| n.leaf.is_some() || !leaves_only)
            .map(|n| n.path)
            .collect();
        paths.sort();
        paths.dedup();
        union.extend(paths.iter().cloned());
        grouped.insert(query.to_owned(), json!(paths));
    }
    let results = if group {
        Value::Object(grouped)
    } else {
        json!(union.into_iter().collect::<Vec<_>>())
    };
    no_cache(json_response(&json!({"results": results}), params))
}

async fn index_view(State(state): State<AppState>, _: Principal, params: Params) -> Response {
    blocking(move || index_view_now(&state, &params)).await
}

fn index_view_now(state: &AppState, params: &Params) -> Response {
    let mut names = state.metrics.names();
    names.sort();
    json_response(&json!(names), params)
}

fn limit_of(params: &Params, default: usize) -> Result<usize, Bad> {
    match params.get("limit") {
        None | Some("") => Ok(default),
        Some(v) => v.parse().map_err(|_| Bad(format!("invalid limit `{v}`"))),
    }
}

fn filter_regex(params: &Params) -> Result<Option<regex::Regex>, Bad> {
    params
        .get("filter")
        .filter(|f| !f.is_empty())
        .map(|f| regex::Regex::new(f).map_err(|e| Bad(format!("invalid filter `{f}`: {e}"))))
        .transpose()
}

async fn tag_list(State(state): State<AppState>, _: Principal, params: Params) -> Response {
    blocking(move || tag_list_now(&state, &params)).await
}

fn tag_list_now(state: &AppState, params: &Params) -> Result<Response, Bad> {
    let (filter, limit) = (filter_regex(params)?, limit_of(params, usize::MAX)?);
    let keys = state.metrics.tag_keys();
    let tags: Vec<Value> = keys
        .iter()
        .filter(|k| filter.as_ref().is_none_or(|f| f.is_match(k)))
        .take(limit)
        .map(|k| json!({"tag": k}))
        .collect();
    Ok(json_response(&Value::Array(tags), params))
}

async fn tag_details(
    State(state): State<AppState>,
    _: Principal,
    Path(tag): Path<String>,
    params: Params,
) -> Response {
    blocking(move || tag_details_now(&state, &tag, &params)).await
}

fn tag_details_now(state: &AppState, tag: &str, params: &Params) -> Result<Response, Bad> {
    let (filter, limit) = (filter_regex(params)?, limit_of(params, usize::MAX)?);
    let values: Vec<Value> = state
        .metrics
        .tag_values(tag)
        .into_iter()
        .filter(|(v, _)| filter.as_ref().is_none_or(|f| f.is_match(v)))
        .take(limit)
        .map(|(v, count)| json!({"value": v, "count": count}))
        .collect();
    Ok(json_response(
        &json!({"tag": tag, "values": values}),
        params,
    ))
}

/// The tagged series names matching `exprs`, or the 400 for a bad expression.
fn tagged_names(state: &AppState, exprs: &[&str]) -> Result<Vec<String>, Bad> {
    let parsed = tagexpr::parse_all(exprs).map_err(Bad)?;
    Ok(state.metrics.tagged_names(&parsed))
}

async fn find_series(State(state): State<AppState>, _: Principal, params: Params) -> Response {
    blocking(move || find_series_now(&state, &params)).await
}

fn find_series_now(state: &AppState, params: &Params) -> Result<Response, Bad> {
    let exprs = params.list("expr");
    if exprs.is_empty() {
        return Err(Bad("no tag expressions specified".into()));
    }
    Ok(json_response(&json!(tagged_names(state, &exprs)?), params))
}

async fn auto_complete_tags(
    State(state): State<AppState>,
    _: Principal,
    params: Params,
) -> Response {
    blocking(move || auto_complete_tags_now(&state, &params)).await
}

fn auto_complete_tags_now(state: &AppState, params: &Params) -> Result<Response, Bad> {
    let limit = limit_of(params, 100)?;
    let prefix = params.get("tagPrefix").unwrap_or("");
    let exprs = params.list("expr");
    let mut tags: Vec<String> = if exprs.is_empty() {
        state.metrics.tag_keys().to_vec()
    } else {
        let searched: Vec<String> = exprs
            .iter()
            .filter_map(|e| tagexpr::TagExpr::parse(e).ok())
            .map(|e| e.tag)
            .collect();
        let names = tagged_names(state, &exprs)?;
        let mut set = std::collections::BTreeSet::new();
        for name in names {
            for key in graphite::series::tags_of(&name).into_keys() {
                if !searched.contains(&key) {
                    set.insert(key);
                }
            }
        }
        set.into_iter().collect()
    };
    tags.retain(|t| t.starts_with(prefix));
    tags.sort();
    tags.truncate(limit);
    Ok(json_response(&json!(tags), params))
}

async fn auto_complete_values(
    State(state): State<AppState>,
    _: Principal,
    params: Params,
) -> Response {
    blocking(move || auto_complete_values_now(&state, &params)).await
}

fn auto_complete_values_now(state: &AppState, params: &Params) -> Result<Response, Bad> {
    let Some(tag) = params.get("tag").filter(|t| !t.is_empty()) else {
        return Err(Bad("no tag specified".into()));
    };
    let limit = limit_of(params, 100)?;
    let prefix = params.get("valuePrefix").unwrap_or("");
    let exprs = params.list("expr");
    let mut values: Vec<String> = if exprs.is_empty() {
        state
            .metrics
            .tag_values(tag)
            .into_iter()
            .map(|(v, _)| v)
            .collect()
    } else {
        let names = tagged_names(state, &exprs)?;
        let set: std::collections::BTreeSet<String> = names
            .iter()
            .filter_map(|n| graphite::series::tags_of(n).remove(tag))
            .collect();
        set.into_iter().collect()
    };
    values.retain(|v| v.starts_with(prefix));
    values.sort();
    values.truncate(limit);
    Ok(json_response(&json!(values), params))
}

/// A default as Python would print it in a signature.
fn py_literal(v: &eval::Value) -> String {
    match v {
        eval::Value::Str(s) => format!("'{s}'"),
        eval::Value::Float(f) if f.is_infinite() => "inf".into(),
        other => other.py_str(),
    }
}

/// A parameter default as JSON; infinity is `1e9999`'s value, which serde writes as `null`,
/// so it is spelled out by the caller.
fn default_json(v: &eval::Value) -> Value {
    match v {
        eval::Value::Str(s) => json!(s),
        eval::Value::Int(i) => json!(i),
        eval::Value::Float(f) if f.is_finite() => json!(f),
        eval::Value::Float(_) => Value::String("__INFINITY__".into()),
        eval::Value::Bool(b) => json!(b),
        _ => Value::Null,
    }
}

fn function_info(def: &graphite::functions::FuncDef) -> Value {
    let signature: Vec<String> = def
        .params
        .iter()
        .map(|p| match (&p.default, p.multiple) {
            (_, true) => format!("*{}", p.name),
            (Some(d), false) => format!("{}={}", p.name, py_literal(d)),
            (None, false) if p.required => p.name.clone(),
            (None, false) => format!("{}=None", p.name),
        })
        .collect();
    let params: Vec<Value> = def
        .params
        .iter()
        .map(|p| {
            let mut o = serde_json::Map::new();
            o.insert("name".into(), json!(p.name));
            o.insert("type".into(), json!(p.ty.name()));
            if p.required {
                o.insert("required".into(), json!(true));
            }
            if let Some(d) = p.default.as_ref().filter(|d| **d != eval::Value::None) {
                o.insert("default".into(), default_json(d));
            }
            if p.multiple {
                o.insert("multiple".into(), json!(true));
            }
            let mut options = p.options.clone();
            if matches!(
                p.ty,
                graphite::functions::Ty::AggFunc | graphite::functions::Ty::AggOrSeriesFunc
            ) && options.is_empty()
            {
                options = graphite::aggfunc::NAMES
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect();
                options.sort();
            }
            if !options.is_empty() {
                o.insert("options".into(), json!(options));
            }
            Value::Object(o)
        })
        .collect();
    json!({
        "name": def.name,
        "function": format!("{}({})", def.name, signature.join(", ")),
        "description": graphite::functions::description(def.name),
        "module": format!("graphite.render.functions.{}", def.group.to_lowercase().replace(' ', "_")),
        "group": def.group,
        "params": params,
    })
}

/// Serialises with infinite defaults as `1e9999` (valid JSON; Grafana and graphite-web agree).
fn infinity_json(value: &Value, params: &Params) -> Response {
    let body = value.to_string().replace("\"__INFINITY__\"", "1e9999");
    with_jsonp(body, params.get("jsonp"))
}

async fn function_list(_: Principal, params: Params) -> Response {
    let grouped = matches!(
        params.get("grouped").map(str::to_lowercase).as_deref(),
        Some("1" | "true")
    );
    let group = params.get("group");
    if params.get("type") == Some("pie") {
        return infinity_json(&json!({}), &params);
    }
    let mut result = serde_json::Map::new();
    for def in graphite::functions::all() {
        if group.is_some_and(|g| g != def.group) {
            continue;
        }
        let info = function_info(def);
        if grouped {
            let entry = result
                .entry(def.group.to_owned())
                .or_insert_with(|| json!({}));
            if let Some(map) = entry.as_object_mut() {
                map.insert(def.name.to_owned(), info);
            }
        } else {
            result.insert(def.name.to_owned(), info);
        }
    }
    infinity_json(&Value::Object(result), &params)
}

async fn function_details(_: Principal, Path(name): Path<String>, params: Params) -> Response {
    match graphite::functions::lookup(&name) {
        Some(def) => infinity_json(&function_info(def), &params),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            format!("Function not found: {name}"),
        )
            .into_response(),
    }
}

async fn version(_: Principal) -> Response {
    ([(header::CONTENT_TYPE, "text/plain")], VERSION).into_response()
}

async fn events(_: Principal, params: Params) -> Response {
    // Sightline's own events and alert state changes will feed this once they exist.
    json_response(&json!([]), &params)
}
