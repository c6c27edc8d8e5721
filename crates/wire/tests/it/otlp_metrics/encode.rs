//! Encoders for the tests: a typed request as protobuf and as OTLP/JSON, written in any of
//! the ways real encoders write them.

use serde_json::{Value, json};
use wire::otlp_metrics::{
    Buckets, Data, ExponentialHistogramPoint, HistogramPoint, Metric, MetricsRequest, NumberPoint,
    SummaryPoint, Temporality,
};

/// How the encoders write a request: every choice a real encoder may make.
#[derive(Debug, Clone, Copy)]
pub(super) struct Style {
    /// Repeated numbers packed (else one field each).
    pub(super) packed: bool,
    /// Zero and empty fields left out, as proto3 encoders do (else written).
    pub(super) sparse: bool,
    /// Unknown fields of every wire type sprinkled in.
    pub(super) noise: bool,
    /// Integral values as `as_int` (else `as_double`).
    pub(super) ints: bool,
    /// 64-bit integers in JSON as strings (else numbers).
    pub(super) strings: bool,
}

/// A protobuf encoder, just enough for the metrics messages.
pub(super) struct Pb {
    pub(super) out: Vec<u8>,
    pub(super) style: Style,
}

impl Pb {
    pub(super) fn new(style: Style) -> Self {
        Pb {
            out: Vec::new(),
            style,
        }
    }

    fn raw_varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    pub(super) fn key(&mut self, field: u64, wire: u64) {
        self.raw_varint((field << 3) | wire);
    }

    fn noise(&mut self) {
        if self.style.noise {
            self.key(99, 0);
            self.raw_varint(u64::MAX);
            self.key(98, 1);
            self.out.extend_from_slice(&[7; 8]);
            self.bytes(97, b"\x08\x01");
            self.key(96, 5);
            self.out.extend_from_slice(&[1, 2, 3, 4]);
        }
    }

    pub(super) fn varint(&mut self, field: u64, v: u64) {
        if v != 0 || !self.style.sparse {
            self.key(field, 0);
            self.raw_varint(v);
        }
    }

    fn sint32(&mut self, field: u64, v: i32) {
        self.varint(field, u64::from(((v << 1) ^ (v >> 31)) as u32));
    }

    pub(super) fn fixed64(&mut self, field: u64, v: u64) {
        if v != 0 || !self.style.sparse {
            self.key(field, 1);
            self.out.extend_from_slice(&v.to_le_bytes());
        }
    }

    pub(super) fn double(&mut self, field: u64, v: f64) {
        self.fixed64(field, v.to_bits());
    }

    /// An optional double: written whenever present, even when zero.
    fn some_double(&mut self, field: u64, v: Option<f64>) {
        if let Some(v) = v {
            self.key(field, 1);
            self.out.extend_from_slice(&v.to_bits().to_le_bytes());
        }
    }

    pub(super) fn bytes(&mut self, field: u64, b: &[u8]) {
        self.key(field, 2);
        self.raw_varint(b.len() as u64);
        self.out.extend_from_slice(b);
    }

    pub(super) fn string(&mut self, field: u64, s: &str) {
        if !s.is_empty() || !self.style.sparse {
            self.bytes(field, s.as_bytes());
        }
    }

    pub(super) fn message(&mut self, field: u64, f: impl FnOnce(&mut Pb)) {
        let mut inner = Pb::new(self.style);
        inner.noise();
        f(&mut inner);
        self.bytes(field, &inner.out);
    }

    /// A repeated fixed64 (`wire` 1) or varint (`wire` 0), packed or not.
    fn repeated(&mut self, field: u64, wire: u64, values: &[u64]) {
        if self.style.packed {
            if values.is_empty() {
                return;
            }
            let mut packed = Pb::new(self.style);
            for &v in values {
                match wire {
                    1 => packed.out.extend_from_slice(&v.to_le_bytes()),
                    _ => packed.raw_varint(v),
                }
            }
            self.bytes(field, &packed.out);
        } else {
            for &v in values {
                self.key(field, wire);
                match wire {
                    1 => self.out.extend_from_slice(&v.to_le_bytes()),
                    _ => self.raw_varint(v),
                }
            }
        }
    }

    fn attributes(&mut self, field: u64, attributes: &[(String, String)]) {
        for (k, v) in attributes {
            self.message(field, |kv| {
                kv.string(1, k);
                kv.message(2, |any| any.bytes(1, v.as_bytes()));
            });
        }
    }
}

fn temporality_number(t: Temporality) -> u64 {
    match t {
        Temporality::Unspecified => 0,
        Temporality::Delta => 1,
        Temporality::Cumulative => 2,
    }
}

fn exact_int(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0).then_some(v as i64)
}

pub(super) fn protobuf(req: &MetricsRequest, style: Style) -> Vec<u8> {
    let mut pb = Pb::new(style);
    pb.noise();
    for r in &req.resources {
        pb.message(1, |rm| {
            rm.message(1, |res| res.attributes(1, &r.attributes));
            for m in &r.metrics {
                rm.message(2, |sm| {
                    sm.message(1, |scope| scope.string(1, &m.scope));
                    sm.message(2, |pm| metric(pm, m));
                });
            }
        });
    }
    pb.out
}

fn metric(pb: &mut Pb, m: &Metric) {
    pb.string(1, &m.name);
    pb.string(2, &m.description);
    pb.string(3, &m.unit);
    match &m.data {
        Data::Gauge(points) => pb.message(5, |g| number_points(g, points)),
        Data::Sum {
            temporality,
            monotonic,
            points,
        } => pb.message(7, |s| {
            number_points(s, points);
            s.varint(2, temporality_number(*temporality));
            s.varint(3, u64::from(*monotonic));
        }),
        Data::Histogram {
            temporality,
            points,
        } => pb.message(9, |h| {
            h.varint(2, temporality_number(*temporality));
            for p in points {
                h.message(1, |dp| histogram_point(dp, p));
            }
        }),
        Data::ExponentialHistogram {
            temporality,
            points,
        } => pb.message(10, |h| {
            for p in points {
                h.message(1, |dp| exponential_point(dp, p));
            }
            h.varint(2, temporality_number(*temporality));
        }),
        Data::Summary(points) => pb.message(11, |s| {
            for p in points {
                s.message(1, |dp| summary_point(dp, p));
            }
        }),
    }
}

fn number_points(pb: &mut Pb, points: &[NumberPoint]) {
    for p in points {
        pb.message(1, |dp| {
            dp.fixed64(2, p.start_time_unix_nano);
            dp.fixed64(3, p.time_unix_nano);
            match exact_int(p.value).filter(|_| dp.style.ints) {
                Some(i) => {
                    dp.key(6, 1);
                    dp.out.extend_from_slice(&i.to_le_bytes());
                }
                None => dp.some_double(4, Some(p.value)),
            }
            dp.attributes(7, &p.attributes);
            dp.varint(8, 0);
        });
    }
}

fn histogram_point(pb: &mut Pb, p: &HistogramPoint) {
    pb.attributes(9, &p.attributes);
    pb.fixed64(2, p.start_time_unix_nano);
    pb.fixed64(3, p.time_unix_nano);
    pb.fixed64(4, p.count);
    pb.some_double(5, p.sum);
    pb.repeated(6, 1, &p.bucket_counts);
    let bounds: Vec<u64> = p.explicit_bounds.iter().map(|b| b.to_bits()).collect();
    pb.repeated(7, 1, &bounds);
    pb.some_double(11, p.min);
    pb.some_double(12, p.max);
}

fn exponential_point(pb: &mut Pb, p: &ExponentialHistogramPoint) {
    pb.attributes(1, &p.attributes);
    pb.fixed64(2, p.start_time_unix_nano);
    pb.fixed64(3, p.time_unix_nano);
    pb.fixed64(4, p.count);
    pb.some_double(5, p.sum);
    pb.sint32(6, p.scale);
    pb.fixed64(7, p.zero_count);
    for (field, b) in [(8, &p.positive), (9, &p.negative)] {
        pb.message(field, |buckets| {
            buckets.sint32(1, b.offset);
            buckets.repeated(2, 0, &b.bucket_counts);
        });
    }
    pb.some_double(12, p.min);
    pb.some_double(13, p.max);
    pb.double(14, p.zero_threshold);
}

fn summary_point(pb: &mut Pb, p: &SummaryPoint) {
    pb.attributes(7, &p.attributes);
    pb.fixed64(2, p.start_time_unix_nano);
    pb.fixed64(3, p.time_unix_nano);
    pb.fixed64(4, p.count);
    pb.double(5, p.sum);
    for q in &p.quantile_values {
        pb.message(6, |v| {
            v.double(1, q.quantile);
            v.double(2, q.value);
        });
    }
}

/// The same request in OTLP/JSON.
pub(super) fn json(req: &MetricsRequest, style: Style) -> Vec<u8> {
    let j = Json(style);
    let resources: Vec<Value> = req
        .resources
        .iter()
        .map(|r| {
            let scopes: Vec<Value> = r
                .metrics
                .iter()
                .map(|m| json!({"scope": {"name": m.scope}, "metrics": [j.metric(m)]}))
                .collect();
            json!({"resource": {"attributes": j.attributes(&r.attributes)}, "scopeMetrics": scopes})
        })
        .collect();
    json!({"resourceMetrics": resources})
        .to_string()
        .into_bytes()
}

/// The OTLP/JSON writer, in one style.
struct Json(Style);

impl Json {
    fn int(&self, v: u64) -> Value {
        if self.0.strings {
            json!(v.to_string())
        } else {
            json!(v)
        }
    }

    fn ints(&self, values: &[u64]) -> Value {
        values.iter().map(|v| self.int(*v)).collect()
    }

    fn attributes(&self, a: &[(String, String)]) -> Value {
        a.iter()
            .map(|(k, v)| json!({"key": k, "value": {"stringValue": v}}))
            .collect()
    }

    /// A data point: the fields every kind has, then `fields` (those that are not `null`).
    fn point(&self, a: &[(String, String)], start: u64, time: u64, fields: Value) -> Value {
        let mut point = json!({
            "attributes": self.attributes(a),
            "startTimeUnixNano": self.int(start),
            "timeUnixNano": self.int(time),
        });
        for (k, v) in fields.as_object().into_iter().flatten() {
            if !v.is_null() {
                point[k] = v.clone();
            }
        }
        point
    }

    fn number(&self, p: &NumberPoint) -> Value {
        let value = match exact_int(p.value).filter(|_| self.0.ints) {
            Some(i) if self.0.strings => json!({"asInt": i.to_string()}),
            Some(i) => json!({"asInt": i}),
            None => json!({"asDouble": p.value}),
        };
        self.point(
            &p.attributes,
            p.start_time_unix_nano,
            p.time_unix_nano,
            value,
        )
    }

    fn histogram(&self, p: &HistogramPoint) -> Value {
        let fields = json!({
            "count": self.int(p.count),
            "sum": p.sum,
            "min": p.min,
            "max": p.max,
            "bucketCounts": self.ints(&p.bucket_counts),
            "explicitBounds": p.explicit_bounds,
        });
        self.point(
            &p.attributes,
            p.start_time_unix_nano,
            p.time_unix_nano,
            fields,
        )
    }

    fn exponential(&self, p: &ExponentialHistogramPoint) -> Value {
        let buckets =
            |b: &Buckets| json!({"offset": b.offset, "bucketCounts": self.ints(&b.bucket_counts)});
        let fields = json!({
            "count": self.int(p.count),
            "sum": p.sum,
            "min": p.min,
            "max": p.max,
            "scale": p.scale,
            "zeroCount": self.int(p.zero_count),
            "zeroThreshold": p.zero_threshold,
            "positive": buckets(&p.positive),
            "negative": buckets(&p.negative),
        });
        self.point(
            &p.attributes,
            p.start_time_unix_nano,
            p.time_unix_nano,
            fields,
        )
    }

    fn summary(&self, p: &SummaryPoint) -> Value {
        let quantiles: Vec<Value> = p
            .quantile_values
            .iter()
            .map(|q| json!({"quantile": q.quantile, "value": q.value}))
            .collect();
        let fields = json!({"count": self.int(p.count), "sum": p.sum, "quantileValues": quantiles});
        self.point(
            &p.attributes,
            p.start_time_unix_nano,
            p.time_unix_nano,
            fields,
        )
    }

    fn metric(&self, m: &Metric) -> Value {
        let (kind, data) = match &m.data {
            Data::Gauge(points) => {
                let points: Vec<Value> = points.iter().map(|p| self.number(p)).collect();
                ("gauge", json!({"dataPoints": points}))
            }
            Data::Sum {
                temporality,
                monotonic,
                points,
            } => {
                let points: Vec<Value> = points.iter().map(|p| self.number(p)).collect();
                let t = temporality_number(*temporality);
                let data = json!({
                    "aggregationTemporality": t,
                    "isMonotonic": monotonic,
                    "dataPoints": points,
                });
                ("sum", data)
            }
            Data::Histogram {
                temporality,
                points,
            } => {
                let points: Vec<Value> = points.iter().map(|p| self.histogram(p)).collect();
                let t = temporality_number(*temporality);
                (
                    "histogram",
                    json!({"aggregationTemporality": t, "dataPoints": points}),
                )
            }
            Data::ExponentialHistogram {
                temporality,
                points,
            } => {
                let points: Vec<Value> = points.iter().map(|p| self.exponential(p)).collect();
                let t = temporality_number(*temporality);
                let data = json!({"aggregationTemporality": t, "dataPoints": points});
                ("exponentialHistogram", data)
            }
            Data::Summary(points) => {
                let points: Vec<Value> = points.iter().map(|p| self.summary(p)).collect();
                ("summary", json!({"dataPoints": points}))
            }
        };
        json!({"name": m.name, "description": m.description, "unit": m.unit, kind: data})
    }
}
