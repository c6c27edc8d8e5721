//! A read-only view of the metric store, before (and beside) the Graphite API.
//!
//! - `GET /api/v1/series?match=<glob>&limit=<n>` lists plain series whose name matches the
//!   Graphite glob (`servers.*.cpu`), or the series named exactly by `name=`, tagged or not,
//!   with the retentions and rollup they were created with.
//! - `GET /api/v1/series/fetch?name=<series>&from=<time>&until=<time>` returns what whisper's
//!   fetch would: `start`, `end`, `step` and one value (or `null`) per step. Times are epoch
//!   seconds, `now`, or `-<n><unit>` with `s`, `min`, `h`, `d`, `w`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::params::ApiQuery;
use crate::auth::Principal;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/series", get(list))
        .route("/api/v1/series/fetch", get(fetch))
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "match")]
    pattern: Option<String>,
    name: Option<String>,
    limit: Option<usize>,
}

async fn list(
    State(state): State<AppState>,
    _: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(1000).min(100_000);
    let metrics = state.metrics.clone();
    let names: Vec<String> = match (&q.name, &q.pattern) {
        (Some(name), _) => vec![name.clone()],
        (None, pattern) => {
            let pattern = pattern.as_deref().unwrap_or("*");
            let compiled =
                graphite::glob::PathPattern::parse(pattern).map_err(ApiError::bad_request)?;
            metrics.matching(&compiled)
        }
    };
    let truncated = names.len() > limit;
    let series: Vec<Value> = names
        .iter()
        .take(limit)
        .filter_map(|n| metrics.info(n))
        .map(|i| json!({"name": i.name.as_ref(), "retentions": i.retentions, "aggregation": i.method, "x_files_factor": i.x_files_factor}))
        .collect();
    Ok(Json(json!({"series": series, "truncated": truncated})))
}

#[derive(Deserialize)]
struct FetchQuery {
    name: String,
    from: Option<String>,
    until: Option<String>,
}

async fn fetch(
    State(state): State<AppState>,
    _: Principal,
    ApiQuery(q): ApiQuery<FetchQuery>,
) -> Result<Json<Value>, ApiError> {
    let now = state.clock.now().as_secs();
    let from =
        parse_time(q.from.as_deref().unwrap_or("-1d"), now).map_err(ApiError::bad_request)?;
    let until =
        parse_time(q.until.as_deref().unwrap_or("now"), now).map_err(ApiError::bad_request)?;
    let metrics = state.metrics.clone();
    let name = q.name.clone();
    let fetched = tokio::task::spawn_blocking(move || metrics.fetch(&name, from, until))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))?;
    let Some(f) = fetched else {
        return Err(ApiError::not_found(format!(
            "no data for `{}` in that range",
            q.name
        )));
    };
    let values: Vec<Value> = f
        .values
        .iter()
        .map(|v| {
            v.filter(|x| x.is_finite())
                .map_or(Value::Null, |x| json!(x))
        })
        .collect();
    Ok(Json(
        json!({"name": q.name, "start": f.start, "end": f.end, "step": f.step, "values": values}),
    ))
}

/// A native time (`super::time`) in epoch seconds.
fn parse_time(text: &str, now: i64) -> Result<i64, String> {
    super::time::parse_ns(text, now.saturating_mul(1_000_000_000))
        .map(|ns| ns.div_euclid(1_000_000_000))
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn times() {
        assert_eq!(parse_time("now", 1000), Ok(1000));
        assert_eq!(parse_time("500", 1000), Ok(500));
        assert_eq!(parse_time("-5min", 1000), Ok(700));
        assert_eq!(parse_time("-5m", 1000), Ok(700));
        assert_eq!(parse_time("-1h", 10_000), Ok(6_400));
        assert!(parse_time("whenever", 1000).is_err());
    }
}
