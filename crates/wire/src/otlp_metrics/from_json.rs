//! The OTLP/JSON reading of `ExportMetricsServiceRequest`: the proto3 JSON mapping with
//! OTLP's rules. Keys are lowerCamelCase; 64-bit integers come as decimal strings or numbers;
//! doubles as numbers or strings (`"NaN"`, `"Infinity"`, `"-Infinity"`); enums as integers
//! (their names are accepted too); `null` is an absent field and unknown keys are ignored. A
//! known field of the wrong type makes the request malformed.

use serde_json::{Map, Value};

use super::{
    Buckets, Candidate, Data, ExponentialHistogramPoint, HistogramPoint, Metric, MetricsRequest,
    NumberPoint, Point, ResourceMetrics, SummaryPoint, Tally, Temporality, ValueAtQuantile,
};
use crate::ParseError;
use crate::error::snippet;
use crate::otlp_common::{JsonAny, attribute_list, json_double, json_key_values};

type Object = Map<String, Value>;

pub(super) fn request(body: &[u8]) -> Result<MetricsRequest, ParseError> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    let doc = object(&doc, "the request")?;
    let mut tally = Tally::default();
    let mut resources = Vec::new();
    for rm in list(doc, "resourceMetrics")? {
        resources.push(resource_metrics(
            object(rm, "resourceMetrics")?,
            &mut tally,
        )?);
    }
    Ok(tally.finish(resources))
}

fn resource_metrics(rm: &Object, tally: &mut Tally) -> Result<ResourceMetrics, ParseError> {
    let attributes = match get(rm, "resource") {
        Some(resource) => attributes(object(resource, "resource")?)?,
        None => Vec::new(),
    };
    let mut metrics = Vec::new();
    for sm in list(rm, "scopeMetrics")? {
        let sm = object(sm, "scopeMetrics")?;
        let scope = match get(sm, "scope") {
            Some(scope) => string(object(scope, "scope")?, "name")?,
            None => String::new(),
        };
        for m in list(sm, "metrics")? {
            metrics.extend(metric(object(m, "metrics")?, &scope, tally)?);
        }
    }
    Ok(ResourceMetrics {
        attributes,
        metrics,
    })
}

const KINDS: [&str; 5] = [
    "gauge",
    "sum",
    "histogram",
    "exponentialHistogram",
    "summary",
];

fn metric(m: &Object, scope: &str, tally: &mut Tally) -> Result<Option<Metric>, ParseError> {
    let name = string(m, "name")?;
    let mut found = None;
    for kind in KINDS {
        let Some(data) = get(m, kind) else { continue };
        if found.is_some() {
            return Err(ParseError::Json(format!(
                "metric `{}` has more than one of {}",
                snippet(&name),
                KINDS.join(", ")
            )));
        }
        found = Some((kind, object(data, kind)?));
    }
    let Some((kind, d)) = found else {
        return Ok(None);
    };
    let data = match kind {
        "gauge" => Data::Gauge(points(d, &name, tally, number_point)?),
        "sum" => Data::Sum {
            temporality: temporality(d)?,
            monotonic: boolean(d, "isMonotonic")?,
            points: points(d, &name, tally, number_point)?,
        },
        "histogram" => Data::Histogram {
            temporality: temporality(d)?,
            points: points(d, &name, tally, histogram_point)?,
        },
        "exponentialHistogram" => Data::ExponentialHistogram {
            temporality: temporality(d)?,
            points: points(d, &name, tally, exponential_point)?,
        },
        _ => Data::Summary(points(d, &name, tally, summary_point)?),
    };
    Ok(Some(Metric {
        description: string(m, "description")?,
        unit: string(m, "unit")?,
        name,
        scope: scope.to_owned(),
        data,
    }))
}

fn points<P: Point>(
    data: &Object,
    metric: &str,
    tally: &mut Tally,
    point: fn(&Object) -> Result<Candidate<P>, ParseError>,
) -> Result<Vec<P>, ParseError> {
    let mut out = Vec::new();
    for p in list(data, "dataPoints")? {
        tally.admit(metric, point(object(p, "dataPoints")?)?, &mut out);
    }
    Ok(out)
}

fn number_point(p: &Object) -> Result<Candidate<NumberPoint>, ParseError> {
    let value = match (get(p, "asDouble"), get(p, "asInt")) {
        (Some(_), Some(_)) => {
            return Err(ParseError::Json(
                "a number data point has both `asDouble` and `asInt`".into(),
            ));
        }
        (Some(d), None) => Some(json_double(d).ok_or_else(|| wrong("asDouble", "a double", d))?),
        (None, Some(i)) => Some(as_i64(i).ok_or_else(|| wrong("asInt", "an int64", i))? as f64),
        (None, None) => None,
    };
    let Head {
        attributes,
        start,
        time,
    } = head(p)?;
    let point = value
        .map(|value| NumberPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: time,
            value,
        })
        .ok_or("a number data point without a value");
    Ok(Candidate {
        flags: flags(p)?,
        point,
    })
}

fn histogram_point(p: &Object) -> Result<Candidate<HistogramPoint>, ParseError> {
    let Head {
        attributes,
        start,
        time,
    } = head(p)?;
    let mut bucket_counts = Vec::new();
    for c in list(p, "bucketCounts")? {
        bucket_counts.push(as_u64(c).ok_or_else(|| wrong("bucketCounts", "uint64s", c))?);
    }
    let mut explicit_bounds = Vec::new();
    for b in list(p, "explicitBounds")? {
        explicit_bounds.push(json_double(b).ok_or_else(|| wrong("explicitBounds", "doubles", b))?);
    }
    let point = HistogramPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        count: uint64(p, "count")?,
        sum: double(p, "sum")?,
        bucket_counts,
        explicit_bounds,
        min: double(p, "min")?,
        max: double(p, "max")?,
    };
    Ok(Candidate {
        flags: flags(p)?,
        point: Ok(point),
    })
}

fn exponential_point(p: &Object) -> Result<Candidate<ExponentialHistogramPoint>, ParseError> {
    let Head {
        attributes,
        start,
        time,
    } = head(p)?;
    let point = ExponentialHistogramPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        count: uint64(p, "count")?,
        sum: double(p, "sum")?,
        scale: int32(p, "scale")?,
        zero_count: uint64(p, "zeroCount")?,
        zero_threshold: double(p, "zeroThreshold")?.unwrap_or(0.0),
        positive: buckets(p, "positive")?,
        negative: buckets(p, "negative")?,
        min: double(p, "min")?,
        max: double(p, "max")?,
    };
    Ok(Candidate {
        flags: flags(p)?,
        point: Ok(point),
    })
}

fn buckets(p: &Object, key: &str) -> Result<Buckets, ParseError> {
    let Some(b) = get(p, key) else {
        return Ok(Buckets::default());
    };
    let b = object(b, key)?;
    let mut bucket_counts = Vec::new();
    for c in list(b, "bucketCounts")? {
        bucket_counts.push(as_u64(c).ok_or_else(|| wrong("bucketCounts", "uint64s", c))?);
    }
    Ok(Buckets {
        offset: int32(b, "offset")?,
        bucket_counts,
    })
}

fn summary_point(p: &Object) -> Result<Candidate<SummaryPoint>, ParseError> {
    let Head {
        attributes,
        start,
        time,
    } = head(p)?;
    let mut quantile_values = Vec::new();
    for q in list(p, "quantileValues")? {
        let q = object(q, "quantileValues")?;
        quantile_values.push(ValueAtQuantile {
            quantile: double(q, "quantile")?.unwrap_or(0.0),
            value: double(q, "value")?.unwrap_or(0.0),
        });
    }
    let point = SummaryPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        count: uint64(p, "count")?,
        sum: double(p, "sum")?.unwrap_or(0.0),
        quantile_values,
    };
    Ok(Candidate {
        flags: flags(p)?,
        point: Ok(point),
    })
}

/// What every kind of data point has.
struct Head {
    attributes: Vec<(String, String)>,
    start: u64,
    time: u64,
}

fn head(p: &Object) -> Result<Head, ParseError> {
    Ok(Head {
        attributes: attributes(p)?,
        start: uint64(p, "startTimeUnixNano")?,
        time: uint64(p, "timeUnixNano")?,
    })
}

fn attributes(obj: &Object) -> Result<Vec<(String, String)>, ParseError> {
    let mut map = Map::new();
    json_key_values(
        Some(list_value(obj, "attributes")?),
        JsonAny::LikeProtobuf,
        &mut map,
    );
    Ok(attribute_list(map))
}

fn temporality(data: &Object) -> Result<Temporality, ParseError> {
    let Some(t) = get(data, "aggregationTemporality") else {
        return Ok(Temporality::Unspecified);
    };
    let named = match t.as_str() {
        Some("AGGREGATION_TEMPORALITY_DELTA") => Some(1),
        Some("AGGREGATION_TEMPORALITY_CUMULATIVE") => Some(2),
        Some("AGGREGATION_TEMPORALITY_UNSPECIFIED") => Some(0),
        _ => as_i64(t),
    };
    match named {
        Some(n) => Ok(u64::try_from(n).map_or(Temporality::Unspecified, Temporality::from_number)),
        None => Err(wrong("aggregationTemporality", "an enum number", t)),
    }
}

/// A field's value, `None` when absent or `null`.
fn get<'a>(obj: &'a Object, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn wrong(key: &str, expected: &str, found: &Value) -> ParseError {
    ParseError::Json(format!(
        "`{key}` must be {expected}, not {}",
        snippet(&found.to_string())
    ))
}

fn object<'a>(v: &'a Value, key: &str) -> Result<&'a Object, ParseError> {
    v.as_object().ok_or_else(|| wrong(key, "an object", v))
}

static EMPTY: Value = Value::Array(Vec::new());

/// A repeated field, as the array value (empty when absent).
fn list_value<'a>(obj: &'a Object, key: &str) -> Result<&'a Value, ParseError> {
    match get(obj, key) {
        None => Ok(&EMPTY),
        Some(v) if v.is_array() => Ok(v),
        Some(v) => Err(wrong(key, "an array", v)),
    }
}

fn list<'a>(obj: &'a Object, key: &str) -> Result<&'a [Value], ParseError> {
    Ok(list_value(obj, key)?.as_array().map_or(&[], Vec::as_slice))
}

fn string(obj: &Object, key: &str) -> Result<String, ParseError> {
    match get(obj, key) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(wrong(key, "a string", v)),
    }
}

fn boolean(obj: &Object, key: &str) -> Result<bool, ParseError> {
    match get(obj, key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(wrong(key, "a boolean", v)),
    }
}

fn uint64(obj: &Object, key: &str) -> Result<u64, ParseError> {
    get(obj, key).map_or(Ok(0), |v| {
        as_u64(v).ok_or_else(|| wrong(key, "an unsigned 64-bit integer", v))
    })
}

fn int32(obj: &Object, key: &str) -> Result<i32, ParseError> {
    get(obj, key).map_or(Ok(0), |v| {
        as_i64(v)
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(|| wrong(key, "a 32-bit integer", v))
    })
}

fn flags(p: &Object) -> Result<u32, ParseError> {
    get(p, "flags").map_or(Ok(0), |v| {
        as_u64(v)
            .and_then(|f| u32::try_from(f).ok())
            .ok_or_else(|| wrong("flags", "an unsigned 32-bit integer", v))
    })
}

fn double(obj: &Object, key: &str) -> Result<Option<f64>, ParseError> {
    get(obj, key)
        .map(|v| json_double(v).ok_or_else(|| wrong(key, "a double", v)))
        .transpose()
}

/// An integer as a decimal string or a number (an integral float too, as JavaScript writes
/// large integers).
fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(f))
                .map(|f| f as u64)
        }),
        _ => None,
    }
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| {
                    f.fract() == 0.0
                        && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(f)
                })
                .map(|f| f as i64)
        }),
        _ => None,
    }
}
