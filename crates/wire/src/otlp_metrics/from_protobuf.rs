//! The protobuf reading of `ExportMetricsServiceRequest`, field numbers as in
//! opentelemetry-proto's `collector/metrics/v1` and `metrics/v1`.

use serde_json::Map;

use super::{
    Buckets, Candidate, Data, ExponentialHistogramPoint, HistogramPoint, Metric, MetricsRequest,
    NumberPoint, ResourceMetrics, SummaryPoint, Tally, Temporality, ValueAtQuantile,
};
use crate::ParseError;
use crate::otlp_common::{attribute_list, key_value, key_values, text};
use crate::protobuf::{Field, Reader, packed_fixed64, packed_varint, zigzag32};

pub(super) fn request(body: &[u8]) -> Result<MetricsRequest, ParseError> {
    let mut tally = Tally::default();
    let mut resources = Vec::new();
    let mut r = Reader::new(body);
    while let Some((n, f)) = r.next()? {
        if let (1, Field::Bytes(b)) = (n, f) {
            resources.push(resource_metrics(b, &mut tally)?);
        }
    }
    Ok(tally.finish(resources))
}

fn resource_metrics(buf: &[u8], tally: &mut Tally) -> Result<ResourceMetrics, ParseError> {
    let mut attributes = Map::new();
    let mut scopes = Vec::new();
    let mut r = Reader::new(buf);
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Bytes(resource)) => key_values(resource, 1, &mut attributes)?,
            (2, Field::Bytes(scope_metrics)) => scopes.push(scope_metrics),
            _ => {}
        }
    }
    let mut metrics = Vec::new();
    for scope_metrics in scopes {
        let mut scope = String::new();
        let mut found = Vec::new();
        let mut r = Reader::new(scope_metrics);
        while let Some((n, f)) = r.next()? {
            match (n, f) {
                (1, Field::Bytes(s)) => scope = scope_name(s)?,
                (2, Field::Bytes(m)) => found.push(m),
                _ => {}
            }
        }
        for m in found {
            metrics.extend(metric(m, &scope, tally)?);
        }
    }
    Ok(ResourceMetrics {
        attributes: attribute_list(attributes),
        metrics,
    })
}

fn scope_name(buf: &[u8]) -> Result<String, ParseError> {
    let mut name = String::new();
    let mut r = Reader::new(buf);
    while let Some((n, f)) = r.next()? {
        if let (1, Field::Bytes(b)) = (n, f) {
            name = text(b);
        }
    }
    Ok(name)
}

fn metric(buf: &[u8], scope: &str, tally: &mut Tally) -> Result<Option<Metric>, ParseError> {
    let (mut name, mut description, mut unit) = (String::new(), String::new(), String::new());
    let mut data = None;
    let mut r = Reader::new(buf);
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Bytes(b)) => name = text(b),
            (2, Field::Bytes(b)) => description = text(b),
            (3, Field::Bytes(b)) => unit = text(b),
            (5 | 7 | 9 | 10 | 11, Field::Bytes(b)) => data = Some((n, b)),
            _ => {}
        }
    }
    let Some((kind, buf)) = data else {
        return Ok(None);
    };
    let data = match kind {
        5 => Data::Gauge(points(buf, &name, tally, number_point)?.points),
        7 => {
            let s = points(buf, &name, tally, number_point)?;
            Data::Sum {
                temporality: s.temporality,
                monotonic: s.monotonic,
                points: s.points,
            }
        }
        9 => {
            let h = points(buf, &name, tally, histogram_point)?;
            Data::Histogram {
                temporality: h.temporality,
                points: h.points,
            }
        }
        10 => {
            let h = points(buf, &name, tally, exponential_point)?;
            Data::ExponentialHistogram {
                temporality: h.temporality,
                points: h.points,
            }
        }
        _ => Data::Summary(points(buf, &name, tally, summary_point)?.points),
    };
    Ok(Some(Metric {
        name,
        description,
        unit,
        scope: scope.to_owned(),
        data,
    }))
}

/// The fields Gauge, Sum, Histogram, ExponentialHistogram and Summary share, each reading
/// those of them it has.
struct Points<P> {
    points: Vec<P>,
    temporality: Temporality,
    monotonic: bool,
}

fn points<P: super::Point>(
    buf: &[u8],
    metric: &str,
    tally: &mut Tally,
    point: fn(&[u8]) -> Result<Candidate<P>, ParseError>,
) -> Result<Points<P>, ParseError> {
    let mut out = Points {
        points: Vec::new(),
        temporality: Temporality::Unspecified,
        monotonic: false,
    };
    let mut r = Reader::new(buf);
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Bytes(b)) => tally.admit(metric, point(b)?, &mut out.points),
            (2, Field::Varint(t)) => out.temporality = Temporality::from_number(t),
            (3, Field::Varint(m)) => out.monotonic = m != 0,
            _ => {}
        }
    }
    Ok(out)
}

/// `NumberDataPoint`.
fn number_point(buf: &[u8]) -> Result<Candidate<NumberPoint>, ParseError> {
    let mut attributes = Map::new();
    let (mut start, mut time, mut value, mut flags) = (0, 0, None, 0);
    let mut r = Reader::new(buf);
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (7, Field::Bytes(kv)) => key_value(kv, &mut attributes)?,
            (2, Field::Fixed64(t)) => start = t,
            (3, Field::Fixed64(t)) => time = t,
            (4, Field::Fixed64(v)) => value = Some(f64::from_bits(v)),
            (6, Field::Fixed64(v)) => value = Some(v as i64 as f64),
            (8, Field::Varint(v)) => flags = v as u32,
            _ => {}
        }
    }
    let point = value
        .map(|value| NumberPoint {
            attributes: attribute_list(attributes),
            start_time_unix_nano: start,
            time_unix_nano: time,
            value,
        })
        .ok_or("a number data point without a value");
    Ok(Candidate { flags, point })
}

/// `HistogramDataPoint`.
fn histogram_point(buf: &[u8]) -> Result<Candidate<HistogramPoint>, ParseError> {
    let mut attributes = Map::new();
    let mut p = HistogramPoint {
        attributes: Vec::new(),
        start_time_unix_nano: 0,
        time_unix_nano: 0,
        count: 0,
        sum: None,
        bucket_counts: Vec::new(),
        explicit_bounds: Vec::new(),
        min: None,
        max: None,
    };
    let (mut bounds, mut flags) = (Vec::new(), 0);
    let mut r = Reader::new(buf);
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (9, Field::Bytes(kv)) => key_value(kv, &mut attributes)?,
            (2, Field::Fixed64(t)) => p.start_time_unix_nano = t,
            (3, Field::Fixed64(t)) => p.time_unix_nano = t,
            (4, Field::Fixed64(c)) => p.count = c,
            (5, Field::Fixed64(s)) => p.sum = Some(f64::from_bits(s)),
            (6, Field::Fixed64(c)) => p.bucket_counts.push(c),
            (6, Field::Bytes(b)) => packed_fixed64(b, &mut p.bucket_counts)?,
            (7, Field::Fixed64(b)) => bounds.push(b),
            (7, Field::Bytes(b)) => packed_fixed64(b, &mut bounds)?,
            (10, Field::Varint(v)) => flags = v as u32,
            (11, Field::Fixed64(m)) => p.min = Some(f64::from_bits(m)),
            (12, Field::Fixed64(m)) => p.max = Some(f64::from_bits(m)),
            _ => {}
        }
    }
    p.attributes = attribute_list(attributes);
    p.explicit_bounds = bounds.into_iter().map(f64::from_bits).collect();
    Ok(Candidate {
        flags,
        point: Ok(p),
    })
}

/// `ExponentialHistogramDataPoint`.
fn exponential_point(buf: &[u8]) -> Result<Candidate<ExponentialHistogramPoint>, ParseError> {
    let mut attributes = Map::new();
    let mut p = ExponentialHistogramPoint {
        attributes: Vec::new(),
        start_time_unix_nano: 0,
        time_unix_nano: 0,
        count: 0,
        sum: None,
        scale: 0,
        zero_count: 0,
        zero_threshold: 0.0,
        positive: Buckets::default(),
        negative: Buckets::default(),
        min: None,
        max: None,
    };
    let mut flags = 0;
    let mut r = Reader::new(buf);
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Bytes(kv)) => key_value(kv, &mut attributes)?,
            (2, Field::Fixed64(t)) => p.start_time_unix_nano = t,
            (3, Field::Fixed64(t)) => p.time_unix_nano = t,
            (4, Field::Fixed64(c)) => p.count = c,
            (5, Field::Fixed64(s)) => p.sum = Some(f64::from_bits(s)),
            (6, Field::Varint(s)) => p.scale = zigzag32(s),
            (7, Field::Fixed64(z)) => p.zero_count = z,
            (8, Field::Bytes(b)) => buckets(b, &mut p.positive)?,
            (9, Field::Bytes(b)) => buckets(b, &mut p.negative)?,
            (10, Field::Varint(v)) => flags = v as u32,
            (12, Field::Fixed64(m)) => p.min = Some(f64::from_bits(m)),
            (13, Field::Fixed64(m)) => p.max = Some(f64::from_bits(m)),
            (14, Field::Fixed64(z)) => p.zero_threshold = f64::from_bits(z),
            _ => {}
        }
    }
    p.attributes = attribute_list(attributes);
    Ok(Candidate {
        flags,
        point: Ok(p),
    })
}

/// `ExponentialHistogramDataPoint.Buckets`, merged into `out` as protobuf merges a message
/// field that appears twice.
fn buckets(buf: &[u8], out: &mut Buckets) -> Result<(), ParseError> {
    let mut r = Reader::new(buf);
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Varint(o)) => out.offset = zigzag32(o),
            (2, Field::Varint(c)) => out.bucket_counts.push(c),
            (2, Field::Bytes(b)) => packed_varint(b, &mut out.bucket_counts)?,
            _ => {}
        }
    }
    Ok(())
}

/// `SummaryDataPoint`.
fn summary_point(buf: &[u8]) -> Result<Candidate<SummaryPoint>, ParseError> {
    let mut attributes = Map::new();
    let mut p = SummaryPoint {
        attributes: Vec::new(),
        start_time_unix_nano: 0,
        time_unix_nano: 0,
        count: 0,
        sum: 0.0,
        quantile_values: Vec::new(),
    };
    let mut flags = 0;
    let mut r = Reader::new(buf);
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (7, Field::Bytes(kv)) => key_value(kv, &mut attributes)?,
            (2, Field::Fixed64(t)) => p.start_time_unix_nano = t,
            (3, Field::Fixed64(t)) => p.time_unix_nano = t,
            (4, Field::Fixed64(c)) => p.count = c,
            (5, Field::Fixed64(s)) => p.sum = f64::from_bits(s),
            (6, Field::Bytes(q)) => p.quantile_values.push(quantile(q)?),
            (8, Field::Varint(v)) => flags = v as u32,
            _ => {}
        }
    }
    p.attributes = attribute_list(attributes);
    Ok(Candidate {
        flags,
        point: Ok(p),
    })
}

/// `SummaryDataPoint.ValueAtQuantile`.
fn quantile(buf: &[u8]) -> Result<ValueAtQuantile, ParseError> {
    let mut q = ValueAtQuantile {
        quantile: 0.0,
        value: 0.0,
    };
    let mut r = Reader::new(buf);
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Fixed64(v)) => q.quantile = f64::from_bits(v),
            (2, Field::Fixed64(v)) => q.value = f64::from_bits(v),
            _ => {}
        }
    }
    Ok(q)
}
