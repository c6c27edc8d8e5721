//! The JSON decoder, what both decoders drop, and the responses. The protobuf decoder is
//! tested against a protobuf encoder in `tests/it/otlp_metrics.rs`.

use super::*;

fn attrs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn one_metric(req: &MetricsRequest) -> &Metric {
    assert_eq!(req.resources.len(), 1);
    assert_eq!(req.resources[0].metrics.len(), 1);
    &req.resources[0].metrics[0]
}

#[test]
fn json_requests_of_every_kind() {
    let body = br#"{"resourceMetrics":[{"resource":{"attributes":[
        {"key":"service.name","value":{"stringValue":"shop"}},
        {"key":"pid","value":{"intValue":"4242"}},
        {"key":"ratio","value":{"doubleValue":0.5}},
        {"key":"on","value":{"boolValue":true}},
        {"key":"id","value":{"bytesValue":"3q2+7w=="}},
        {"key":"list","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":1}]}}}]},
      "schemaUrl":"x","unknownKey":{"ignored":true},
      "scopeMetrics":[{"scope":{"name":"checkout","version":"1.2"},"metrics":[
        {"name":"orders","unit":"1","description":"Orders","sum":{"aggregationTemporality":2,
          "isMonotonic":true,"dataPoints":[{"startTimeUnixNano":"1000","timeUnixNano":2000,
          "asInt":"-7","attributes":[{"key":"route","value":{"stringValue":"/pay"}}]}]}},
        {"name":"temp","gauge":{"dataPoints":[{"timeUnixNano":"2000","asDouble":"NaN"},
          {"timeUnixNano":"2000","asDouble":21.5,"flags":0}]}},
        {"name":"latency","histogram":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_DELTA",
          "dataPoints":[{"timeUnixNano":"2000","count":"3","sum":1.5,"bucketCounts":["1",2],
          "explicitBounds":[0.5],"min":0.1,"max":null}]}},
        {"name":"size","exponentialHistogram":{"aggregationTemporality":1,"dataPoints":[
          {"timeUnixNano":"2000","count":"3","scale":-2,"zeroCount":"1","zeroThreshold":1e-9,
          "positive":{"offset":-1,"bucketCounts":["2"]},"negative":{}}]}},
        {"name":"rpc","summary":{"dataPoints":[{"timeUnixNano":"2000","count":4,"sum":"8",
          "quantileValues":[{"quantile":0.5,"value":1},{"value":3}]}]}}]}]}]}"#;
    let req = decode_json(body).unwrap();
    assert_eq!((req.rejected, req.no_recorded_value), (0, 0));
    let resource = &req.resources[0];
    assert_eq!(
        resource.attributes,
        attrs(&[
            ("id", "deadbeef"),
            ("list", r#"["a",1]"#),
            ("on", "true"),
            ("pid", "4242"),
            ("ratio", "0.5"),
            ("service.name", "shop"),
        ])
    );
    let m = &resource.metrics;
    assert_eq!(m.len(), 5);
    assert_eq!(
        (
            m[0].name.as_str(),
            m[0].unit.as_str(),
            m[0].description.as_str()
        ),
        ("orders", "1", "Orders")
    );
    assert_eq!(m[0].scope, "checkout");
    assert_eq!(
        m[0].data,
        Data::Sum {
            temporality: Temporality::Cumulative,
            monotonic: true,
            points: vec![NumberPoint {
                attributes: attrs(&[("route", "/pay")]),
                start_time_unix_nano: 1000,
                time_unix_nano: 2000,
                value: -7.0,
            }],
        }
    );
    let Data::Gauge(points) = &m[1].data else {
        panic!("{:?}", m[1].data)
    };
    assert!(points[0].value.is_nan());
    assert_eq!(points[1].value, 21.5);
    assert_eq!(
        m[2].data,
        Data::Histogram {
            temporality: Temporality::Delta,
            points: vec![HistogramPoint {
                attributes: Vec::new(),
                start_time_unix_nano: 0,
                time_unix_nano: 2000,
                count: 3,
                sum: Some(1.5),
                bucket_counts: vec![1, 2],
                explicit_bounds: vec![0.5],
                min: Some(0.1),
                max: None,
            }],
        }
    );
    assert_eq!(
        m[3].data,
        Data::ExponentialHistogram {
            temporality: Temporality::Delta,
            points: vec![ExponentialHistogramPoint {
                attributes: Vec::new(),
                start_time_unix_nano: 0,
                time_unix_nano: 2000,
                count: 3,
                sum: None,
                scale: -2,
                zero_count: 1,
                zero_threshold: 1e-9,
                positive: Buckets {
                    offset: -1,
                    bucket_counts: vec![2],
                },
                negative: Buckets::default(),
                min: None,
                max: None,
            }],
        }
    );
    assert_eq!(
        m[4].data,
        Data::Summary(vec![SummaryPoint {
            attributes: Vec::new(),
            start_time_unix_nano: 0,
            time_unix_nano: 2000,
            count: 4,
            sum: 8.0,
            quantile_values: vec![
                ValueAtQuantile {
                    quantile: 0.5,
                    value: 1.0
                },
                ValueAtQuantile {
                    quantile: 0.0,
                    value: 3.0
                },
            ],
        }])
    );
}

#[test]
fn unusable_points_are_dropped_and_counted() {
    let body = br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[
        {"name":"g","gauge":{"dataPoints":[
          {"timeUnixNano":"1"},
          {"timeUnixNano":"1","flags":1},
          {"timeUnixNano":"1","flags":3,"asDouble":1},
          {"asDouble":2},
          {"timeUnixNano":"1","asDouble":3}]}},
        {"name":"h","histogram":{"aggregationTemporality":1,"dataPoints":[
          {"timeUnixNano":"1","bucketCounts":["1","2"],"explicitBounds":[]},
          {"timeUnixNano":"1","bucketCounts":["1","2","3"],"explicitBounds":[2,1]},
          {"timeUnixNano":"1","bucketCounts":["1","2"],"explicitBounds":["Infinity"]},
          {"timeUnixNano":"1","count":"5"},
          {"timeUnixNano":"1","bucketCounts":["1","2"],"explicitBounds":[1]}]}},
        {"name":"e","exponentialHistogram":{"aggregationTemporality":1,"dataPoints":[
          {"timeUnixNano":"1","scale":21},{"timeUnixNano":"1","scale":-10}]}},
        {"name":"nothing"}]}]}]}"#;
    let req = decode_json(body).unwrap();
    assert_eq!(req.rejected, 6);
    assert_eq!(req.no_recorded_value, 2);
    assert_eq!(
        req.rejection.as_deref(),
        Some("metric `g`: a number data point without a value")
    );
    let m = &req.resources[0].metrics;
    assert_eq!(m.len(), 3, "a metric without data is not kept");
    let counts: Vec<usize> = m
        .iter()
        .map(|m| match &m.data {
            Data::Gauge(p) => p.len(),
            Data::Histogram { points, .. } => points.len(),
            Data::ExponentialHistogram { points, .. } => points.len(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(counts, [1, 2, 1]);
}

#[test]
fn malformed_json_is_an_error() {
    for (body, why) in [
        (&b"{"[..], "bad JSON: EOF while parsing an object at line 1 column 1"),
        (b"[]", "bad JSON: `the request` must be an object, not []"),
        (
            br#"{"resourceMetrics":{}}"#,
            "bad JSON: `resourceMetrics` must be an array, not {}",
        ),
        (
            br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","gauge":{"dataPoints":[{"timeUnixNano":"soon"}]}}]}]}]}"#,
            r#"bad JSON: `timeUnixNano` must be an unsigned 64-bit integer, not "soon""#,
        ),
        (
            br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","gauge":{"dataPoints":[{"asDouble":1,"asInt":"1"}]}}]}]}]}"#,
            "bad JSON: a number data point has both `asDouble` and `asInt`",
        ),
        (
            br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","gauge":{},"sum":{}}]}]}]}"#,
            "bad JSON: metric `x` has more than one of gauge, sum, histogram, exponentialHistogram, summary",
        ),
        (
            br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","exponentialHistogram":{"dataPoints":[{"scale":"4294967296"}]}}]}]}]}"#,
            r#"bad JSON: `scale` must be a 32-bit integer, not "4294967296""#,
        ),
        (
            br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","sum":{"isMonotonic":1}}]}]}]}"#,
            "bad JSON: `isMonotonic` must be a boolean, not 1",
        ),
    ] {
        let got = decode_json(body).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(got, Err(why.to_owned()), "{}", String::from_utf8_lossy(body));
    }
}

#[test]
fn json_numbers_in_every_accepted_form() {
    let body = br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","sum":{
        "aggregationTemporality":"2","dataPoints":[
        {"timeUnixNano":1.7e18,"asInt":9007199254740993},
        {"timeUnixNano":"18446744073709551615","asDouble":"-Infinity"},
        {"timeUnixNano":"1","asInt":-3,"flags":"0"}]}}]}]}]}"#;
    let req = decode_json(body).unwrap();
    let Data::Sum {
        temporality,
        points,
        ..
    } = &one_metric(&req).data
    else {
        panic!()
    };
    assert_eq!(*temporality, Temporality::Cumulative);
    assert_eq!(points[0].time_unix_nano, 1_700_000_000_000_000_000);
    assert_eq!(points[0].value, 9_007_199_254_740_992.0);
    assert_eq!(points[1].time_unix_nano, u64::MAX);
    assert_eq!(points[1].value, f64::NEG_INFINITY);
    assert_eq!(points[2].value, -3.0);
}

#[test]
fn unknown_temporalities_are_unspecified() {
    let body = br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x",
        "histogram":{"aggregationTemporality":7}}]}]}]}"#;
    let req = decode_json(body).unwrap();
    assert_eq!(
        one_metric(&req).data,
        Data::Histogram {
            temporality: Temporality::Unspecified,
            points: Vec::new()
        }
    );
}

#[test]
fn responses() {
    assert!(encode_response(0, "").is_empty());
    assert_eq!(encode_response(3, "no"), b"\x0a\x06\x08\x03\x12\x02no");
    assert_eq!(encode_response_json(0, "ignored"), "{}");
    assert_eq!(
        encode_response_json(2, "bad"),
        r#"{"partialSuccess":{"errorMessage":"bad","rejectedDataPoints":"2"}}"#
    );
}
