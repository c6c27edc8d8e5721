use super::*;

fn decode(line: &str) -> Vec<Result<StatsdRecord<'_>, String>> {
    let mut out = Vec::new();
    decode_line(line.as_bytes(), &mut |r| {
        out.push(r.map_err(|e| e.to_string()))
    });
    out
}

fn metric(
    key: &str,
    value: StatsdValue<'static>,
    rate: f64,
) -> Result<StatsdRecord<'static>, String> {
    Ok(StatsdRecord::Metric(StatsdMetric {
        key: Cow::Owned(key.to_owned()),
        value,
        sample_rate: rate,
    }))
}

#[test]
fn etsy_examples() {
    // The examples of etsy statsd's docs/metric_types.md.
    assert_eq!(
        decode("gorets:1|c"),
        vec![metric("gorets", StatsdValue::Counter(1.0), 1.0)]
    );
    assert_eq!(
        decode("gorets:1|c|@0.1"),
        vec![metric("gorets", StatsdValue::Counter(1.0), 0.1)]
    );
    assert_eq!(
        decode("glork:320|ms|@0.1"),
        vec![metric("glork", StatsdValue::Timer(320.0), 0.1)]
    );
    assert_eq!(
        decode("gaugor:333|g"),
        vec![metric("gaugor", StatsdValue::Gauge(333.0), 1.0)]
    );
    assert_eq!(
        decode("gaugor:-10|g"),
        vec![metric("gaugor", StatsdValue::GaugeDelta(-10.0), 1.0)]
    );
    assert_eq!(
        decode("gaugor:+4|g"),
        vec![metric("gaugor", StatsdValue::GaugeDelta(4.0), 1.0)]
    );
    assert_eq!(
        decode("uniques:765|s"),
        vec![metric(
            "uniques",
            StatsdValue::Set(Cow::Borrowed("765")),
            1.0
        )]
    );
    assert_eq!(
        decode("gorets:1|c:320|ms|@0.1"),
        vec![
            metric("gorets", StatsdValue::Counter(1.0), 1.0),
            metric("gorets", StatsdValue::Timer(320.0), 0.1)
        ]
    );
    assert_eq!(
        decode("gorets:1|c|@0.5:2|c"),
        vec![
            metric("gorets", StatsdValue::Counter(1.0), 0.5),
            metric("gorets", StatsdValue::Counter(2.0), 1.0)
        ]
    );
}

#[test]
fn keys_are_sanitised_like_etsy() {
    assert_eq!(
        decode("my key/with  spaces!:1|c"),
        vec![metric("my_key-with_spaces", StatsdValue::Counter(1.0), 1.0)]
    );
    assert_eq!(
        decode("a..b:1|c"),
        vec![metric("a.b", StatsdValue::Counter(1.0), 1.0)]
    );
}

#[test]
fn unknown_types_are_counters_and_h_d_are_timers() {
    assert_eq!(
        decode("x:3|foo"),
        vec![metric("x", StatsdValue::Counter(3.0), 1.0)]
    );
    assert_eq!(
        decode("x:3|h"),
        vec![metric("x", StatsdValue::Timer(3.0), 1.0)]
    );
    assert_eq!(
        decode("x:3|d"),
        vec![metric("x", StatsdValue::Timer(3.0), 1.0)]
    );
}

#[test]
fn dogstatsd_tags_and_fields() {
    assert_eq!(
        decode("page.views:1|c|#env:prod,canary,team:web/ops"),
        vec![metric(
            "page.views;canary=true;env=prod;team=web-ops",
            StatsdValue::Counter(1.0),
            1.0
        )]
    );
    assert_eq!(
        decode("lat:12|ms|@0.5|#region:eu|c:abc123|T1656581400"),
        vec![metric("lat;region=eu", StatsdValue::Timer(12.0), 0.5)]
    );
    assert_eq!(
        decode("lat:1:2:3|d|#a:b"),
        vec![
            metric("lat;a=b", StatsdValue::Timer(1.0), 1.0),
            metric("lat;a=b", StatsdValue::Timer(2.0), 1.0),
            metric("lat;a=b", StatsdValue::Timer(3.0), 1.0),
        ]
    );
    assert_eq!(
        decode("x:1|c|#"),
        vec![metric("x", StatsdValue::Counter(1.0), 1.0)]
    );
}

#[test]
fn bad_lines() {
    let cases = [
        ("gorets", "bad statsd line: no `:` in gorets"),
        ("gorets:1", "bad statsd line: no type in gorets:1"),
        ("gorets:1|", "bad statsd line: missing type"),
        (
            "gorets:abc|c",
            "bad statsd line: value `abc` is not a number",
        ),
        ("gorets:|c", "bad statsd line: value `` is not a number"),
        ("glork:-1|ms", "bad statsd line: timer value -1 is negative"),
        ("gaugor:x|g", "bad statsd line: value `x` is not a number"),
        ("gorets:1|c|0.1", "bad statsd line: unknown field `0.1`"),
        (
            "gorets:1|c|@",
            "bad statsd line: sample rate `@` is not a positive number",
        ),
        (
            "gorets:1|c|@0",
            "bad statsd line: sample rate `@0` is not a positive number",
        ),
        (
            "gorets:1|c|@-1",
            "bad statsd line: sample rate `@-1` is not a positive number",
        ),
        (":1|c", "bad statsd line: empty key"),
        ("!!!:1|c", "bad statsd line: empty key"),
    ];
    for (line, expect) in cases {
        assert_eq!(decode(line), vec![Err(expect.to_owned())], "{line}");
    }
    assert_eq!(decode(""), vec![]);
    assert_eq!(
        decode("a:1|c:x|c"),
        vec![
            metric("a", StatsdValue::Counter(1.0), 1.0),
            Err("bad statsd line: value `x` is not a number".to_owned())
        ]
    );
}

#[test]
fn javascript_numbers() {
    assert_eq!(js_number(" 12 "), Some(12.0));
    assert_eq!(js_number("0x1A"), Some(26.0));
    assert_eq!(js_number("1e3"), Some(1000.0));
    assert_eq!(js_number(".5"), Some(0.5));
    assert_eq!(js_number("Infinity"), Some(f64::INFINITY));
    assert_eq!(js_number("inf"), None);
    assert_eq!(js_number("nan"), None);
    assert_eq!(js_number("12abc"), None);
}

#[test]
fn events() {
    let got = decode(
        "_e{21,36}:An exception occurred|Cannot parse CSV file from 10.0.0.17|t:warning|#err_type:bad_file|h:web-1|d:1700000000",
    );
    let Ok(StatsdRecord::Event(e)) = &got[0] else {
        panic!("{got:?}")
    };
    assert_eq!(e.title, "An exception occurred");
    assert_eq!(e.text, "Cannot parse CSV file from 10.0.0.17");
    assert_eq!(e.alert_type.as_deref(), Some("warning"));
    assert_eq!(e.host.as_deref(), Some("web-1"));
    assert_eq!(e.timestamp, Some(1_700_000_000));
    assert_eq!(e.tags, vec!["err_type:bad_file"]);
    let got = decode("_e{5,10}:title|line\\nnext");
    let Ok(StatsdRecord::Event(e)) = &got[0] else {
        panic!("{got:?}")
    };
    assert_eq!(e.text, "line\nnext");
    assert!(decode("_e{50,4}:short|text")[0].is_err());
}

#[test]
fn service_checks() {
    let got = decode("_sc|db.up|2|#env:prod|m:replica lag too high");
    let Ok(StatsdRecord::ServiceCheck(sc)) = &got[0] else {
        panic!("{got:?}")
    };
    assert_eq!(sc.key, "db.up;env=prod");
    assert_eq!(sc.status, 2);
    assert_eq!(sc.message.as_deref(), Some("replica lag too high"));
    assert!(decode("_sc|db.up|7")[0].is_err());
}
