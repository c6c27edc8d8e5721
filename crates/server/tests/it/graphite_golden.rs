//! Golden tests of the Graphite API against graphite-web itself.
//!
//! `fixtures/graphite/cases.json` holds a few series (10 s and 60 s steps, nulls, a counter
//! reset, negative values, tagged series) and some 340 requests: every function with its
//! options, `maxDataPoints`, time zones, the formats, find, expand and the tags API.
//! `fixtures/graphite/expected.json` is what Debian's graphite-web 1.1.8 answered to them over
//! whisper files holding the same points (recorded by `tests/peers/graphite_web_oracle.py`; the
//! peer is too heavy to install in every CI run). This test sends the same points to Sightline
//! over a real carbon socket, makes every request over HTTP, and compares: names, tags, and
//! every datapoint's timestamp and value.

use std::collections::BTreeMap;
use std::sync::Arc;

use model::{ManualClock, Timestamp};
use serde_json::Value;
use server::testkit::{TestServer, start_server_with};
use tsdb::{AggregationRule, SchemaRule};

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures/graphite")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Requests where graphite-web 1.1.8 is wrong, and the status Sightline answers instead.
fn deviation(target: &str) -> Option<(u16, &'static str)> {
    Some(match target {
        "nonNegativeDerivative(servers.*.requests,1200)" => (
            200,
            "graphite-web 1.1.8 crashes comparing None with maxValue on Python 3; Sightline treats a null as a gap",
        ),
        "useSeriesAbove(servers.*.cpu,20,'cpu','requests')" => (
            200,
            "graphite-web 1.1.8 crashes taking max() of a series with nulls on Python 3",
        ),
        "sumSeries(servers.web1.cpu" => (
            400,
            "graphite-web's parser silently drops the unbalanced call and answers []; Sightline answers 400 with the position",
        ),
        _ => return None,
    })
}

/// Where graphite-web crashes (a 500 with its HTML error page) on the client's mistake, the
/// answer Sightline gives instead: a 400 whose message says what is wrong.
fn answer_to_a_crash(target: &str) -> Option<&'static str> {
    Some(match target {
        "scale(servers.web1.cpu)" => "Missing required parameter \"factor\" for function \"scale\"",
        "alias(servers.web1.cpu)" => {
            "Missing required parameter \"newName\" for function \"alias\""
        }
        "movingAverage(servers.web1.cpu,'bogus')" => "windowSize",
        _ => return None,
    })
}

pub(crate) const NOW: i64 = 1_700_000_000;

/// A server holding the golden data: 10 s series, `slow.*` at 60 s, two days each.
pub(crate) async fn golden_server() -> TestServer {
    let cases = fixture("cases.json");
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let server = start_server_with(clock, |config| {
        config.tsdb.schemas = vec![
            SchemaRule {
                name: "slow".into(),
                pattern: "^slow\\.".into(),
                retentions: "60s:2d".into(),
            },
            SchemaRule {
                name: "default".into(),
                pattern: ".*".into(),
                retentions: "10s:2d".into(),
            },
        ];
        config.tsdb.aggregations = vec![AggregationRule {
            name: "default".into(),
            pattern: ".*".into(),
            x_files_factor: 0.0,
            method: tsdb::schema::Method::Average,
        }];
    })
    .await;
    let mut text = String::new();
    let mut counts = Vec::new();
    for s in cases["series"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        let (start, step) = (s["start"].as_i64().unwrap(), s["step"].as_i64().unwrap());
        let mut n = 0;
        for (i, v) in s["values"].as_array().unwrap().iter().enumerate() {
            if let Some(v) = v.as_f64() {
                text.push_str(&format!("{name} {v} {}\n", start + i as i64 * step));
                n += 1;
            }
        }
        counts.push((name.to_owned(), start - step, n));
    }
    server.send_carbon(text).await;
    for (name, start, n) in counts {
        if n > 0 {
            server.wait_for_points(&name, start - 1, NOW, n).await;
        }
    }
    server
}

fn target_of(request: &Value) -> String {
    let params = request["params"].as_array().unwrap();
    let pairs: Vec<String> = params
        .iter()
        .map(|p| format!("{}={}", p[0].as_str().unwrap(), p[1].as_str().unwrap()))
        .collect();
    format!("{} {}", request["path"].as_str().unwrap(), pairs.join("&"))
}

fn first_target(request: &Value) -> String {
    request["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == "target")
        .map(|p| p[1].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// A value as a number, where graphite-web's non-finite values (recorded as strings) and
/// nulls are both `None`.
fn number(v: &Value) -> Option<f64> {
    v.as_f64().filter(|f| f.is_finite())
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

/// Python's `str()` of a JSON tag value (graphite-web stores tags as strings; ours are too).
fn tag_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn compare_render(ours: &Value, want: &Value) -> Result<usize, String> {
    let (ours, want) = (
        ours.as_array().ok_or("not an array")?,
        want.as_array().ok_or("expected not an array")?,
    );
    let names = |l: &[Value]| {
        l.iter()
            .map(|s| s["target"].as_str().unwrap_or("?").to_owned())
            .collect::<Vec<_>>()
    };
    if ours.len() != want.len() {
        return Err(format!(
            "{} series {:?}, graphite-web {} {:?}",
            ours.len(),
            names(ours),
            want.len(),
            names(want)
        ));
    }
    let mut points = 0;
    for (o, w) in ours.iter().zip(want) {
        if o["target"] != w["target"] {
            return Err(format!(
                "target {} vs graphite-web {}",
                o["target"], w["target"]
            ));
        }
        let tags = |v: &Value| -> BTreeMap<String, String> {
            v.as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), tag_text(v))).collect())
                .unwrap_or_default()
        };
        if tags(&o["tags"]) != tags(&w["tags"]) {
            return Err(format!(
                "{}: tags {} vs graphite-web {}",
                w["target"], o["tags"], w["tags"]
            ));
        }
        let (od, wd) = (
            o["datapoints"].as_array().unwrap(),
            w["datapoints"].as_array().unwrap(),
        );
        if od.len() != wd.len() {
            return Err(format!(
                "{}: {} points vs graphite-web {} (first ts {} vs {})",
                w["target"],
                od.len(),
                wd.len(),
                od.first().map_or(Value::Null, |p| p[1].clone()),
                wd.first().map_or(Value::Null, |p| p[1].clone())
            ));
        }
        for (a, b) in od.iter().zip(wd) {
            if a[1] != b[1] || !close(number(&a[0]), number(&b[0])) {
                return Err(format!("{}: point {a} vs graphite-web {b}", w["target"]));
            }
        }
        points += od.len();
    }
    Ok(points)
}

/// Lines of raw or CSV output, with each comma-separated value compared as a number when it
/// reads as one (`None` and an empty field are both null).
fn compare_text(ours: &str, want: &str) -> Result<usize, String> {
    let (ol, wl): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), want.lines().collect());
    if ol.len() != wl.len() {
        return Err(format!("{} lines vs graphite-web {}", ol.len(), wl.len()));
    }
    for (a, b) in ol.iter().zip(&wl) {
        let (af, bf): (Vec<&str>, Vec<&str>) =
            (a.split([',', '|']).collect(), b.split([',', '|']).collect());
        let same = af.len() == bf.len()
            && af.iter().zip(&bf).all(|(x, y)| {
                let n = |t: &str| {
                    if t == "None" || t.is_empty() {
                        Some(None)
                    } else {
                        t.parse::<f64>().ok().map(Some)
                    }
                };
                match (n(x), n(y)) {
                    (Some(p), Some(q)) => close(p, q),
                    _ => x == y,
                }
            });
        if !same {
            return Err(format!("line `{a}` vs graphite-web `{b}`"));
        }
    }
    Ok(ol.len())
}

/// graphite-web answers with details Sightline leaves out: tag ids, and `_tagged` nodes (its
/// on-disk encoding of tagged series).
fn strip_peer_details(path: &str, v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|i| {
                    !(i["id"].as_str().is_some_and(|id| id.starts_with("_tagged"))
                        || i.as_str().is_some_and(|s| s.starts_with("_tagged")))
                })
                .map(|i| strip_peer_details(path, i))
                .collect(),
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !(path.starts_with("/tags") && *k == "id"))
                .map(|(k, v)| (k.clone(), strip_peer_details(path, v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[tokio::test]
async fn every_request_answers_as_graphite_web_does() {
    let cases = fixture("cases.json");
    let expected = fixture("expected.json");
    let server = golden_server().await;
    let mut failures = Vec::new();
    let (mut renders, mut points) = (0, 0);
    for (request, want) in cases["requests"]
        .as_array()
        .unwrap()
        .iter()
        .zip(expected.as_array().unwrap())
    {
        let path = request["path"].as_str().unwrap();
        let mut params: Vec<(String, String)> = request["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_owned(),
                    p[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        params.push(("now".into(), NOW.to_string()));
        let url = format!("{path}?{}", serde_urlencoded::to_string(&params).unwrap());
        let response = server.get(&url).send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        let label = target_of(request);
        let target = first_target(request);
        let want_status = want["status"].as_u64().unwrap();
        if let Some((want, reason)) = deviation(&target) {
            assert_eq!(status, want, "{label}: {reason}: {body}");
            continue;
        }
        if want_status == 500 {
            match answer_to_a_crash(&target) {
                Some(message) if status == 400 && body.contains(message) => {}
                Some(message) => failures.push(format!(
                    "{label}: graphite-web crashes; want 400 saying `{message}`, got {status}: {body}"
                )),
                None => failures.push(format!(
                    "{label}: graphite-web answers 500 and no answer is written down for it: {status} {body}"
                )),
            }
            continue;
        }
        if want_status != 200 {
            if status != 400 {
                failures.push(format!(
                    "{label}: status {status}, want 400 (graphite-web {want_status}): {body}"
                ));
            } else if want["body"]
                .as_str()
                .is_some_and(|b| b.contains("unknown function"))
                && !body.contains(&target[..target.find('(').unwrap_or(0)])
            {
                failures.push(format!(
                    "{label}: the error does not name the function: {body}"
                ));
            }
            continue;
        }
        if status != 200 {
            failures.push(format!("{label}: status {status}: {body}"));
            continue;
        }
        let result = match &want["body"] {
            Value::String(text) if text.starts_with("cb(") => {
                let inner = |t: &str| {
                    serde_json::from_str::<Value>(t.trim_start_matches("cb(").trim_end_matches(')'))
                        .unwrap_or(Value::Null)
                };
                if !body.starts_with("cb(") {
                    Err(format!("not wrapped in cb(): {body}"))
                } else {
                    compare_render(&inner(&body), &inner(text))
                }
            }
            Value::String(text) => compare_text(&body, text),
            want_json if path == "/render" => match serde_json::from_str::<Value>(&body) {
                Ok(ours) => compare_render(&ours, want_json),
                Err(e) => Err(format!("invalid JSON ({e}): {body}")),
            },
            want_json => match serde_json::from_str::<Value>(&body) {
                Ok(ours) => {
                    let (o, w) = (
                        strip_peer_details(path, &ours),
                        strip_peer_details(path, want_json),
                    );
                    let o = if path == "/metrics/index.json" {
                        strip_tagged_names(&o)
                    } else {
                        o
                    };
                    if o == w {
                        Ok(1)
                    } else {
                        Err(format!("{o} vs graphite-web {w}"))
                    }
                }
                Err(e) => Err(format!("invalid JSON ({e}): {body}")),
            },
        };
        match result {
            Ok(n) => {
                if path == "/render" {
                    renders += 1;
                    points += n;
                }
            }
            Err(e) => failures.push(format!("{label}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the golden requests differ from graphite-web:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        renders > 200 && points > 10_000,
        "{renders} renders, {points} points compared"
    );
}

/// Sightline lists tagged series by their canonical names, graphite-web by its file encoding.
fn strip_tagged_names(v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|i| !i.as_str().is_some_and(|s| s.contains(';')))
                .cloned()
                .collect(),
        ),
        other => other.clone(),
    }
}
