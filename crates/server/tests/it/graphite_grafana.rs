//! The requests Grafana's Graphite data source makes, replayed as it sends them (shapes from
//! grafana/grafana's `datasource.ts` and the Go backend's `query.go` and `healthcheck.go`).

use serde_json::Value;

use crate::graphite_golden::{NOW, golden_server};

const FORM: &str = "application/x-www-form-urlencoded";

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

#[tokio::test]
async fn grafana_panel_queries_find_and_variables() {
    let server = golden_server().await;

    // A panel: every target wrapped in aliasSub to carry its refId, six hours, the panel's width.
    let body = form(&[
        ("target", r#"aliasSub(servers.*.cpu, "(^.*$)", "\1 A")"#),
        (
            "target",
            r#"aliasSub(sumSeries(servers.*.requests), "(^.*$)", "\1 B")"#,
        ),
        ("from", "-6h"),
        ("until", "now"),
        ("format", "json"),
        ("maxDataPoints", "300"),
        ("cacheTimeout", "60"),
    ]);
    let response = server
        .post("/render")
        .header("Content-Type", FORM)
        .header("X-Dashboard-Id", "7")
        .header("X-Panel-Id", "2")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let series: Vec<Value> = response.json().await.unwrap();
    let names: Vec<&str> = series
        .iter()
        .map(|s| s["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "servers.db1.cpu A",
            "servers.web1.cpu A",
            "servers.web2.cpu A",
            "sumSeries(servers.*.requests) B"
        ]
    );
    for s in &series {
        // Grafana splits the name on its last space to find the refId.
        let (_, ref_id) = s["target"].as_str().unwrap().rsplit_once(' ').unwrap();
        assert!(ref_id == "A" || ref_id == "B");
        let points = s["datapoints"].as_array().unwrap();
        assert!(
            points.len() <= 300 && points.len() > 250,
            "{} points",
            points.len()
        );
        let ts: Vec<i64> = points.iter().map(|p| p[1].as_i64().unwrap()).collect();
        let step = ts[1] - ts[0];
        assert_eq!(step % 10, 0, "buckets are whole multiples of the 10 s step");
        assert!(ts.windows(2).all(|w| w[1] - w[0] == step));
        assert!(ts[0] >= NOW - 6 * 3600 && *ts.last().unwrap() <= NOW);
        assert!(
            points.iter().any(|p| p[0].is_f64()),
            "the recent half hour has values"
        );
        assert!(s["tags"]["name"].is_string());
    }

    // The metric browser: a POST whose body is `query=` with the raw, unencoded pattern.
    let response = server
        .post(&format!("/metrics/find?from={}&until={}", NOW - 3600, NOW))
        .header("Content-Type", FORM)
        .body("query=servers.*")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let nodes: Vec<Value> = response.json().await.unwrap();
    let texts: Vec<(&str, i64)> = nodes
        .iter()
        .map(|n| {
            (
                n["text"].as_str().unwrap(),
                n["expandable"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(texts, [("db1", 1), ("web1", 1), ("web2", 1)]);
    let leaves: Vec<Value> = server
        .post("/metrics/find")
        .header("Content-Type", FORM)
        .body("query=servers.web1.*")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        leaves
            .iter()
            .all(|n| n["leaf"] == 1 && n["expandable"] == 0 && n["allowChildren"] == 0)
    );
    assert_eq!(leaves[0]["id"], "servers.web1.cpu");

    // Template variables: expand(), tags() and tag_values().
    let expanded: Value = server
        .get_json(&format!(
            "/metrics/expand?query=servers.*.cpu&from={}&until={}",
            NOW - 3600,
            NOW
        ))
        .await;
    assert_eq!(
        expanded["results"],
        serde_json::json!(["servers.db1.cpu", "servers.web1.cpu", "servers.web2.cpu"])
    );
    let tags: Value = server
        .get_json("/tags/autoComplete/tags?expr=name%3Ddisk.used&limit=10000")
        .await;
    assert_eq!(tags, serde_json::json!(["dc", "server"]));
    let values: Value = server
        .get_json(
            "/tags/autoComplete/values?tag=server&expr=dc%3Deast&expr=name%3D~disk&limit=10000",
        )
        .await;
    assert_eq!(values, serde_json::json!(["web1", "web2"]));
    let prefixed: Value = server
        .get_json("/tags/autoComplete/values?tag=server&valuePrefix=d")
        .await;
    assert_eq!(prefixed, serde_json::json!(["db1"]));

    // A tag-editor query rendered with groupByTags.
    let body = form(&[
        (
            "target",
            "seriesByTag('name=disk.used', 'dc=~e.*') | groupByTags('sum', 'dc')",
        ),
        ("from", "-10min"),
        ("format", "json"),
    ]);
    let grouped: Vec<Value> = server
        .post("/render")
        .header("Content-Type", FORM)
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(grouped.len(), 1);
    assert_eq!(grouped[0]["target"], "disk.used;dc=east");
    assert_eq!(grouped[0]["tags"]["dc"], "east");
}

#[tokio::test]
async fn grafana_backend_health_check_functions_and_version() {
    let server = golden_server().await;
    // The Go backend's health check: constantLine(100) over the last hour.
    let body = form(&[
        ("target", "constantLine(100)"),
        ("from", &(NOW - 3600).to_string()),
        ("until", &NOW.to_string()),
        ("format", "json"),
        ("maxDataPoints", "100"),
    ]);
    let response = server
        .post("/render")
        .header("Content-Type", FORM)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let series: Vec<Value> = response.json().await.unwrap();
    let values: Vec<f64> = series[0]["datapoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_f64().unwrap())
        .collect();
    assert_eq!(values, [100.0, 100.0, 100.0]);

    // The function editor's list: valid JSON even where a default is infinite.
    let text = server
        .get("/functions")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("Infinity"), "bare Infinity breaks Grafana");
    // JavaScript reads graphite-web's `1e9999` as Infinity; serde refuses it, so swap it here.
    assert!(
        text.contains("1e9999"),
        "keepLastValue's limit defaults to infinity"
    );
    let functions: Value = serde_json::from_str(&text.replace("1e9999", "1e308")).unwrap();
    let all = functions.as_object().unwrap();
    assert!(all.len() >= 140, "{} functions", all.len());
    for name in [
        "aliasSub",
        "sumSeries",
        "groupByTags",
        "seriesByTag",
        "summarize",
        "movingAverage",
    ] {
        let f = &all[name];
        assert_eq!(f["name"], name);
        assert!(
            f["group"].is_string()
                && f["params"].is_array()
                && f["function"].as_str().unwrap().starts_with(name)
        );
    }
    let limit = &all["keepLastValue"]["params"][1];
    assert_eq!(limit["name"], "limit");
    assert_eq!(limit["default"], 1e308);
    let grouped = server
        .get("/functions?grouped=1")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let grouped: Value = serde_json::from_str(&grouped.replace("1e9999", "1e308")).unwrap();
    assert_eq!(grouped["Combine"]["sumSeries"]["name"], "sumSeries");
    assert_eq!(grouped["Combine"]["sumSeries"]["group"], "Combine");
    assert_eq!(
        server
            .get("/functions/nonesuch")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let version = server
        .get("/version")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(version, "1.1.10");
    let events: Value = server
        .get_json("/events/get_data?from=-1h&until=now&tags=deploy")
        .await;
    assert_eq!(
        events,
        serde_json::json!([]),
        "no event is tagged deploy here"
    );
}

#[tokio::test]
async fn graphite_api_needs_a_token_by_bearer_or_basic_auth() {
    let server = golden_server().await;
    let url = server.url("/render?target=servers.web1.cpu&from=-10min&format=json");
    let plain = reqwest::Client::new();
    assert_eq!(plain.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        plain
            .get(server.url("/metrics/find?query=*"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let basic = plain
        .get(&url)
        .basic_auth("grafana", Some(&server.admin_token))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
    let wrong = plain
        .get(&url)
        .basic_auth("grafana", Some("sl_api_wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let bearer = plain
        .get(&url)
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);
}

#[tokio::test]
async fn render_errors_say_what_and_where() {
    let server = golden_server().await;
    let cases = [
        ("sumSeries(servers.web1.cpu", "position"),
        ("nosuchFunction(servers.web1.cpu)", "nosuchFunction"),
        ("scale(servers.web1.cpu)", "factor"),
        ("movingAverage(servers.web1.cpu,'5m')", "windowSize"),
        ("seriesByTag('dc=')", "non-empty"),
        ("servers.[web", "servers.[web"),
    ];
    for (target, needle) in cases {
        let body = form(&[("target", target), ("from", "-10min"), ("format", "json")]);
        let response = server
            .post("/render")
            .header("Content-Type", FORM)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{target}");
        let text = response.text().await.unwrap();
        assert!(text.contains(needle), "{target}: {text}");
    }
    let response = server
        .get("/render?target=servers.web1.cpu&from=-1h&until=-1h&format=json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = server
        .get("/render?target=servers.web1.cpu&from=yesterday-ish&format=json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("from"));
}

/// `raw` ignores `maxDataPoints` as graphite-web does (the golden cases hold that), unless
/// Sightline's own `consolidate=true` asks, as the web UI does; its step is then the bucket's.
#[tokio::test]
async fn raw_is_consolidated_only_when_asked() {
    let server = golden_server().await;
    let first_line = |consolidate: &str| {
        let url = format!(
            "/render?target=servers.db1.cpu&from=-10min&now={NOW}&format=raw&maxDataPoints=10{consolidate}"
        );
        let server = &server;
        async move {
            let response = server.get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200);
            response
                .text()
                .await
                .unwrap()
                .lines()
                .next()
                .unwrap()
                .to_owned()
        }
    };
    let plain = first_line("").await;
    assert!(
        plain.starts_with("servers.db1.cpu,1699999410,1700000010,10|0.0,1.5,"),
        "{plain}"
    );
    assert_eq!(plain.split(',').count(), 3 + 60);
    assert_eq!(
        first_line("&consolidate=true").await,
        "servers.db1.cpu,1699999440,1700000010,60|6.75,5.75,9.75,3.75,11.25,None,2.25,9.75,3.75,11.25"
    );
}

/// The last ten minutes of `target` at the golden `now`, as JSON.
async fn render(server: &server::testkit::TestServer, target: &str) -> Value {
    let url = format!(
        "/render?{}",
        serde_urlencoded::to_string([
            ("target", target),
            ("from", "-10min"),
            ("format", "json"),
            ("now", &NOW.to_string()),
        ])
        .unwrap()
    );
    server.get_json(&url).await
}

/// A tagged series named outright as a target, as graphite-web 1.1.8 answers it (recorded with
/// `tests/peers/graphite_web_oracle.py`): that series, with its tags; under `sumSeries` named
/// by the expression with `aggregatedBy`; tags in another order, or a name not stored, nothing.
#[tokio::test]
async fn a_raw_tagged_name_is_a_target() {
    let server = golden_server().await;
    let named = render(&server, "disk.used;dc=east;server=web1").await;
    assert_eq!(
        named[0]["target"], "disk.used;dc=east;server=web1",
        "{named}"
    );
    assert_eq!(
        named[0]["tags"],
        serde_json::json!({"dc": "east", "server": "web1", "name": "disk.used"})
    );
    let by_tag = render(&server, "seriesByTag('name=disk.used','server=web1')").await;
    assert_eq!(named[0]["datapoints"], by_tag[0]["datapoints"]);
    assert!(named[0]["datapoints"][0][0].is_number(), "{named}");
    let summed = render(&server, "sumSeries(disk.used;dc=east;server=web1)").await;
    assert_eq!(
        summed[0]["target"],
        "sumSeries(disk.used;dc=east;server=web1)"
    );
    assert_eq!(summed[0]["tags"]["aggregatedBy"], "sum");
    assert_eq!(summed[0]["datapoints"], named[0]["datapoints"]);
    assert_eq!(
        render(&server, "disk.used;server=web1;dc=east").await,
        serde_json::json!([])
    );
    assert_eq!(
        render(&server, "disk.used;dc=north").await,
        serde_json::json!([])
    );
}

/// An aggregation over transformed series is named by their path expressions, as graphite-web
/// 1.1.8 names it (each answer recorded with `tests/peers/graphite_web_oracle.py` over the
/// golden series): the transformed names, in order, where a plain glob keeps the glob.
#[tokio::test]
async fn aggregations_name_transformed_series_as_graphite_web_does() {
    let server = golden_server().await;
    let recorded = [
        (
            "sumSeries(scale(servers.*.cpu, 2))",
            "sumSeries(scale(servers.db1.cpu,2),scale(servers.web1.cpu,2),scale(servers.web2.cpu,2))",
        ),
        (
            "averageSeries(offset(servers.*.cpu, 1))",
            "averageSeries(offset(servers.db1.cpu,1),offset(servers.web1.cpu,1),offset(servers.web2.cpu,1))",
        ),
        (
            "maxSeries(absolute(servers.*.cpu))",
            "maxSeries(absolute(servers.db1.cpu),absolute(servers.web1.cpu),absolute(servers.web2.cpu))",
        ),
        (
            "sumSeries(group(servers.web1.cpu, servers.web2.cpu))",
            "sumSeries(servers.web1.cpu,servers.web2.cpu)",
        ),
        (
            "sumSeries(scale(servers.web1.cpu, 2), scale(servers.web2.cpu, 3))",
            "sumSeries(scale(servers.web1.cpu,2),scale(servers.web2.cpu,3))",
        ),
        (
            "sumSeries(alias(servers.web1.cpu, 'x'), servers.web2.cpu)",
            "sumSeries(servers.web1.cpu,servers.web2.cpu)",
        ),
        ("minSeries(servers.*.cpu)", "minSeries(servers.*.cpu)"),
    ];
    for (target, name) in recorded {
        let series = render(&server, target).await;
        assert_eq!(series[0]["target"], name, "{target}");
        assert_eq!(series.as_array().map(Vec::len), Some(1), "{target}");
    }
}
