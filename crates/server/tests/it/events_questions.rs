//! The questions people ask of events, answered over the API from a realistic shop's week:
//! who signed up today, how much income by currency in the past week, what one user did in the
//! past 24 hours. Then the aggregation forms, paging, live tail, and bad bodies.
//!
//! The expected answers are computed here from the generated data, independently of the store.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use model::{ManualClock, Timestamp};
use serde_json::{Value, json};
use server::testkit::{ADMIN_PASSWORD, TestServer, start_server_with};

/// 2026-11-25T15:00:00Z.
const NOW: i64 = 1_795_618_800;
const MIDNIGHT: i64 = NOW - 15 * 3600;
const HOUR_MS: i64 = 3_600_000;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One generated event: its time (ms) and the JSON line sent.
struct Sent {
    ms: i64,
    line: Value,
}

fn email(user: u64) -> String {
    if user == 0 {
        "alice@example.com".into()
    } else {
        format!("user{user}@example.com")
    }
}

/// A week and a day of a shop: 400 users who each sign up once, then log in, browse, pay (in
/// three currencies, integer and fractional amounts) and sometimes fail; plus service noise
/// without a user, and a burst of events sharing one millisecond (for paging).
fn shop() -> Vec<Sent> {
    let mut rng = Rng(7);
    let start_ms = (NOW - 8 * 86_400) * 1000;
    let span_ms = 8 * 86_400 * 1000;
    let mut out = Vec::new();
    let plans = ["free", "pro", "team"];
    let currencies = ["EUR", "USD", "GBP"];
    for user in 0..400u64 {
        let signup = start_ms + rng.below(span_ms as u64) as i64;
        let who = json!({"id": user, "email": email(user)});
        out.push(Sent {
            ms: signup,
            line: json!({"event": "user.signed_up", "level": "info", "service": "auth", "user": who, "plan": plans[rng.below(3) as usize]}),
        });
        let actions = rng.below(12);
        for _ in 0..actions {
            let at = signup + rng.below(((NOW * 1000 - signup).max(1)) as u64) as i64;
            let line = match rng.below(10) {
                0..=2 => {
                    json!({"event": "user.logged_in", "level": "info", "service": "auth", "user": who, "client_ip": format!("10.0.{}.{}", rng.below(255), rng.below(255))})
                }
                3..=5 => {
                    json!({"event": "page.viewed", "level": "debug", "service": "web", "user": who, "http": {"path": format!("/products/{}", rng.below(50)), "status": 200}})
                }
                6..=7 => {
                    let cents = 500 + rng.below(20_000);
                    // Some amounts are whole, as a JSON integer.
                    let amount = if cents.is_multiple_of(4) {
                        json!(cents / 100)
                    } else {
                        json!(cents as f64 / 100.0)
                    };
                    json!({"event": "payment.succeeded", "level": "info", "service": "billing", "user": who, "amount": amount, "currency": currencies[rng.below(3) as usize], "order_id": rng.below(1_000_000)})
                }
                8 => {
                    json!({"event": "payment.failed", "level": "error", "service": "billing", "user": who, "amount": (500 + rng.below(5000)) as f64 / 100.0, "currency": currencies[rng.below(3) as usize], "reason": "card_declined"})
                }
                _ => {
                    json!({"event": "checkout.error", "level": "error", "service": "web", "user": who, "error": {"type": "TimeoutError", "message": "upstream timed out"}})
                }
            };
            out.push(Sent { ms: at, line });
        }
    }
    // Alice's own day: known events in the past 24 hours, and one just outside it.
    let alice = json!({"id": 0, "email": "alice@example.com"});
    for (hours_ago, event) in [
        (30, "user.logged_in"),
        (20, "user.logged_in"),
        (19, "page.viewed"),
        (18, "payment.succeeded"),
        (2, "user.password_changed"),
    ] {
        let mut line = json!({"event": event, "level": "info", "service": "auth", "user": alice});
        if event == "payment.succeeded" {
            line["amount"] = json!(120.5);
            line["currency"] = json!("EUR");
        }
        out.push(Sent {
            ms: NOW * 1000 - hours_ago * HOUR_MS,
            line,
        });
    }
    for i in 0..300 {
        let at = start_ms + rng.below(span_ms as u64) as i64;
        let level = ["info", "warning", "error"][(i % 3) as usize];
        out.push(Sent {
            ms: at,
            line: json!({"msg": format!("worker heartbeat {i}"), "level": level, "service": "worker", "host": format!("web{}", i % 4), "latency_ms": rng.below(2000)}),
        });
    }
    // Twenty-five events in one millisecond.
    for i in 0..25 {
        out.push(Sent {
            ms: MIDNIGHT * 1000 + 1234,
            line: json!({"event": "batch.item", "level": "info", "service": "worker", "item": i}),
        });
    }
    for (i, s) in out.iter_mut().enumerate() {
        // Half the senders write epoch milliseconds, half RFC 3339.
        s.line["timestamp"] = if i % 2 == 0 {
            json!(s.ms)
        } else {
            json!(jiff::Timestamp::from_millisecond(s.ms).unwrap().to_string())
        };
    }
    out
}

async fn ingest_token(server: &TestServer) -> String {
    let cookie = server.login("admin", ADMIN_PASSWORD).await.unwrap();
    server
        .create_token(&cookie, "shipper", "ingest", None)
        .await
}

/// POSTs an NDJSON body to the ingest route.
async fn ingest(server: &TestServer, token: &str, body: String) -> reqwest::Response {
    server
        .client
        .post(server.url("/api/v1/ingest"))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn enc(q: &str) -> String {
    serde_urlencoded::to_string([("", q)])
        .unwrap()
        .trim_start_matches('=')
        .to_owned()
}

async fn started() -> (TestServer, Arc<ManualClock>, Vec<Sent>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let server = start_server_with(clock.clone(), |_| {}).await;
    let token = ingest_token(&server).await;
    let data = shop();
    for chunk in data.chunks(1000) {
        let body: String = chunk.iter().map(|s| format!("{}\n", s.line)).collect();
        let answer: Value = ingest(&server, &token, body).await.json().await.unwrap();
        assert_eq!(answer["rejected"], 0, "{answer}");
    }
    let all = format!("/api/v1/events/search?from={}&limit=1", NOW - 9 * 86_400);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let found = server.get_json(&all).await;
        if found["total"].as_u64() == Some(data.len() as u64) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {} searchable",
            found["total"],
            data.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (server, clock, data)
}

fn field<'a>(line: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(line, |v, k| v.get(k))
}

#[tokio::test]
async fn the_three_questions() {
    let (server, _clock, data) = started().await;
    let now_ms = NOW * 1000;

    // Marketing: who signed up today?
    let expected: BTreeSet<String> = data
        .iter()
        .filter(|s| {
            s.line["event"] == "user.signed_up" && s.ms >= MIDNIGHT * 1000 && s.ms <= now_ms
        })
        .map(|s| s.line["user"]["email"].as_str().unwrap().to_owned())
        .collect();
    assert!(expected.len() > 10, "the data set has signups today");
    let found = server
        .get_json(&format!(
            "/api/v1/events/search?q={}&from=2026-11-25T00:00:00Z&limit=1000",
            enc("event:user.signed_up")
        ))
        .await;
    let got: BTreeSet<String> = found["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fields"]["user"]["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, expected);
    assert_eq!(found["total"], expected.len());
    // … and by plan, in one pipe.
    let mut by_plan: BTreeMap<String, u64> = BTreeMap::new();
    for s in data
        .iter()
        .filter(|s| s.line["event"] == "user.signed_up" && s.ms >= MIDNIGHT * 1000)
    {
        *by_plan
            .entry(s.line["plan"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let table = server
        .get_json(&format!(
            "/api/v1/events/aggregate?q={}&from=2026-11-25T00:00:00Z",
            enc("event:user.signed_up | stats count() by plan")
        ))
        .await;
    let got: BTreeMap<String, u64> = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["plan"].as_str().unwrap().to_owned(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, by_plan);
    assert_eq!(
        table["columns"],
        json!(["plan", "count"]),
        "count() is the count column"
    );

    // Finance: how much income in the past week, by currency?
    let week_ago = now_ms - 7 * 86_400_000;
    let mut income: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    for s in data.iter().filter(|s| {
        s.line["event"] == "payment.succeeded" && s.ms >= week_ago && s.ms < now_ms + 1000
    }) {
        let e = income
            .entry(s.line["currency"].as_str().unwrap().to_owned())
            .or_default();
        e.0 += s.line["amount"].as_f64().unwrap();
        e.1 += 1;
    }
    assert_eq!(income.len(), 3);
    let table = server
        .get_json(&format!(
            "/api/v1/events/aggregate?q={}&from=-7d",
            enc("event:payment.succeeded | stats sum(amount), count() by currency")
        ))
        .await;
    let rows = table["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        let (sum, count) = income[row["currency"].as_str().unwrap()];
        let got = row["sum(amount)"].as_f64().unwrap();
        assert!((got - sum).abs() < 1e-6 * sum, "{row}: want {sum}");
        assert_eq!(row["count"], count);
    }
    let total: f64 = income.values().map(|v| v.0).sum();
    assert!((table["totals"]["sum(amount)"].as_f64().unwrap() - total).abs() < 1e-6 * total);
    // The same through /search, which answers a piped query as an aggregation.
    let again = server
        .get_json(&format!(
            "/api/v1/events/search?q={}&from=-7d",
            enc("event:payment.succeeded | stats sum(amount), count() by currency")
        ))
        .await;
    assert_eq!(again["rows"], table["rows"]);

    // Support: what did alice@example.com do in the past 24 hours?
    let day_ago = now_ms - 86_400_000;
    let mut expected: Vec<(i64, String)> = data
        .iter()
        .filter(|s| {
            s.line["user"]["email"] == "alice@example.com"
                && s.ms >= day_ago
                && s.ms < now_ms + 1000
        })
        .map(|s| (s.ms, s.line["event"].as_str().unwrap().to_owned()))
        .collect();
    expected.sort();
    assert!(expected.iter().any(|e| e.1 == "user.password_changed"));
    let found = server
        .get_json(&format!(
            "/api/v1/events/search?q={}&from=-24h&sort=asc&limit=1000",
            enc("user.email:\"alice@example.com\"")
        ))
        .await;
    let got: Vec<(i64, String)> = found["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["timestamp_ns"].as_i64().unwrap() / 1_000_000,
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(got, expected, "oldest first");
    assert_eq!(
        found["events"][0]["highlight"]["fields"],
        json!(["user.email"])
    );
}

#[tokio::test]
async fn aggregations_over_time_fields_and_numbers() {
    let (server, _clock, data) = started().await;
    let now_ms = NOW * 1000;
    let day_ago = now_ms - 86_400_000;
    let in_day: Vec<&Sent> = data
        .iter()
        .filter(|s| s.ms >= day_ago && s.ms < now_ms + 1000)
        .collect();

    // Count over time, automatic interval: a day is 48 half hours.
    let table = server
        .get_json(&format!(
            "/api/v1/events/aggregate?q={}&from=-24h",
            enc("| timechart count() by level")
        ))
        .await;
    assert_eq!(table["interval_seconds"], 1800.0);
    let rows = table["rows"].as_array().unwrap();
    let total: u64 = rows.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(total, in_day.len() as u64);
    assert_eq!(table["total"], in_day.len());
    // The error counts per bucket, as computed here.
    let mut errors: BTreeMap<i64, u64> = BTreeMap::new();
    for s in in_day.iter().filter(|s| s.line["level"] == "error") {
        *errors
            .entry(s.ms.div_euclid(1_800_000) * 1_800_000)
            .or_default() += 1;
    }
    let got: BTreeMap<i64, u64> = rows
        .iter()
        .filter(|r| r["level"] == "error")
        .map(|r| {
            let t = jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S%#z", r["time"].as_str().unwrap())
                .or_else(|_| r["time"].as_str().unwrap().parse::<jiff::Timestamp>())
                .unwrap();
            (t.as_millisecond(), r["count"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(got, errors);

    // Parameters instead of a pipe: numeric statistics by currency, over the week.
    let week: Vec<&Sent> = data
        .iter()
        .filter(|s| s.line["event"] == "payment.succeeded" && s.ms >= now_ms - 7 * 86_400_000)
        .collect();
    let table = server
        .get_json(&format!(
            "/api/v1/events/aggregate?q={}&from=-7d&stats={}&by=currency",
            enc("event:payment.succeeded"),
            enc("min(amount), max(amount), avg(amount), p50(amount), cardinality(user.id)")
        ))
        .await;
    let rows = table["rows"].as_array().unwrap();
    let currencies: BTreeSet<&str> = week
        .iter()
        .map(|s| s.line["currency"].as_str().unwrap())
        .collect();
    assert_eq!(rows.len(), currencies.len(), "a row per currency: {table}");
    assert!(rows.len() >= 2, "{table}");
    for row in rows {
        let amounts: Vec<f64> = week
            .iter()
            .filter(|s| s.line["currency"] == row["currency"])
            .map(|s| s.line["amount"].as_f64().unwrap())
            .collect();
        let users: BTreeSet<u64> = week
            .iter()
            .filter(|s| s.line["currency"] == row["currency"])
            .map(|s| s.line["user"]["id"].as_u64().unwrap())
            .collect();
        let min = amounts.iter().copied().fold(f64::INFINITY, f64::min);
        let max = amounts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let avg = amounts.iter().sum::<f64>() / amounts.len() as f64;
        assert_eq!(row["min(amount)"].as_f64().unwrap(), min);
        assert_eq!(row["max(amount)"].as_f64().unwrap(), max);
        assert!((row["avg(amount)"].as_f64().unwrap() - avg).abs() < 1e-9 * avg);
        let mut sorted = amounts.clone();
        sorted.sort_by(f64::total_cmp);
        // tantivy's percentiles are a DDSketch with 1 % relative accuracy: within 1 % of the
        // value at rank 0.5 × (n - 1), or of its neighbour when that rank falls between two.
        let rank = 0.5 * (sorted.len() - 1) as f64;
        let around = [sorted[rank.floor() as usize], sorted[rank.ceil() as usize]];
        let p50 = row["p50(amount)"].as_f64().unwrap();
        assert!(
            around.iter().any(|v| (p50 - v).abs() <= 0.01 * v.abs()),
            "p50 {p50} is not within 1 % of {around:?}"
        );
        assert_eq!(
            row["cardinality(user.id)"].as_f64().unwrap(),
            users.len() as f64,
            "exact at this size"
        );
    }

    // Terms for a field sidebar: the top three services, the rest as `other`.
    let table = server
        .get_json("/api/v1/events/aggregate?from=-9d&by=service&size=3")
        .await;
    let mut services: BTreeMap<String, u64> = BTreeMap::new();
    for s in &data {
        *services
            .entry(s.line["service"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let mut top: Vec<(u64, String)> = services.iter().map(|(k, v)| (*v, k.clone())).collect();
    top.sort_by(|a, b| b.cmp(a));
    let got: Vec<(u64, String)> = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["count"].as_u64().unwrap(),
                r["service"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(got, top[..3]);
    assert_eq!(table["other"], top[3..].iter().map(|t| t.0).sum::<u64>());

    // Two group-by fields.
    let table = server
        .get_json(&format!(
            "/api/v1/events/aggregate?q={}&from=-9d",
            enc("level:error | stats count() by service, error.type")
        ))
        .await;
    let timeouts = data
        .iter()
        .filter(|s| field(&s.line, "error.type") == Some(&json!("TimeoutError")))
        .count();
    assert_eq!(
        table["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["service"] == "web" && r["error.type"] == "TimeoutError")
            .map(|r| r["count"].clone()),
        Some(json!(timeouts))
    );

    // Errors name their position.
    let bad = server
        .get(&format!(
            "/api/v1/events/aggregate?q={}",
            enc("level:error | stats total(amount)")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["position"], 20, "{body}");
    let bad: Value = server
        .get(&format!(
            "/api/v1/events/search?q={}",
            enc("level:error AND (a OR")
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bad["error"]["code"], "bad_query");
    assert_eq!(
        bad["error"]["position"], 21,
        "{bad}: the end, where a term is missing"
    );
}

#[tokio::test]
async fn a_cursor_pages_through_everything_once() {
    let (server, _clock, data) = started().await;
    for sort in ["desc", "asc"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!(
                "/api/v1/events/search?from={}&limit=7&sort={sort}&q=service:worker",
                NOW - 9 * 86_400
            );
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page = server.get_json(&url).await;
            for e in page["events"].as_array().unwrap() {
                seen.push((
                    e["timestamp_ns"].as_i64().unwrap(),
                    e["message"].as_str().unwrap().to_owned(),
                    e["fields"]["item"].clone(),
                ));
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let want = data
            .iter()
            .filter(|s| s.line["service"] == "worker")
            .count();
        assert_eq!(seen.len(), want, "{sort}");
        let distinct: BTreeSet<_> = seen.iter().map(|s| format!("{s:?}")).collect();
        assert_eq!(
            distinct.len(),
            want,
            "{sort}: no event twice, even in one millisecond"
        );
        let times: Vec<i64> = seen.iter().map(|s| s.0).collect();
        let mut sorted = times.clone();
        sorted.sort();
        if sort == "desc" {
            sorted.reverse();
        }
        assert_eq!(times, sorted, "{sort}");
    }
}

#[tokio::test]
async fn a_live_tail_streams_matching_events_as_they_arrive() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let server = start_server_with(clock, |_| {}).await;
    let token = ingest_token(&server).await;
    let mut stream = server
        .get(&format!(
            "/api/v1/events/tail?q={}",
            enc("level:error AND service:billing")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let first = stream.chunk().await.unwrap().unwrap();
    assert!(first.starts_with(b": tailing"));

    let lines = [
        json!({"event": "payment.ok", "level": "info", "service": "billing", "timestamp": NOW}),
        json!({"event": "payment.failed", "level": "error", "service": "billing", "order": 99, "timestamp": NOW}),
        json!({"event": "disk.error", "level": "error", "service": "ops", "timestamp": NOW}),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let answer = ingest(&server, &token, body).await;
    assert_eq!(answer.status(), 200);
    let mut text = String::new();
    while !text.contains("payment.failed") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("the matching event arrives")
            .unwrap()
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let data_line = text.lines().find(|l| l.starts_with("data: ")).unwrap();
    let event: Value = serde_json::from_str(&data_line["data: ".len()..]).unwrap();
    assert_eq!(event["message"], "payment.failed");
    assert_eq!(event["fields"]["order"], 99);
    assert!(text.contains("event: event\n"));
    assert!(!text.contains("payment.ok"), "non-matching events stay out");

    // A pipe or a bad query is refused before streaming.
    let bad = server
        .get(&format!(
            "/api/v1/events/tail?q={}",
            enc("a | stats count()")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad = server
        .get(&format!("/api/v1/events/tail?q={}", enc("(a")))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let unauthenticated = server
        .client
        .get(server.url("/api/v1/events/tail"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
}

#[tokio::test]
async fn compressed_oversized_and_huge_bodies() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let server = start_server_with(clock, |c| {
        c.http.max_body_size = model::ByteSize::kib(64);
        c.http.max_decompressed_size = model::ByteSize::kib(256);
        c.logs.max_record_size = model::ByteSize::kib(2);
    })
    .await;
    let token = ingest_token(&server).await;
    let post = |body: Vec<u8>, encoding: Option<&str>| {
        let mut r = server
            .client
            .post(server.url("/api/v1/ingest"))
            .bearer_auth(&token)
            .body(body);
        if let Some(e) = encoding {
            r = r.header("Content-Encoding", e);
        }
        r.send()
    };
    let gzip = |data: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let lines: String = (0..100)
        .map(|i| format!("{}\n", json!({"event": "zipped", "n": i, "timestamp": NOW})))
        .collect();
    let ok = post(gzip(lines.as_bytes()), Some("gzip")).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap()["accepted"], 100);

    let bad = post(b"this is not gzip".to_vec(), Some("gzip"))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let unknown = post(b"x".to_vec(), Some("compress")).await.unwrap();
    assert_eq!(unknown.status(), 415);
    // Past the body cap, and past the decompressed cap (a small gzip of a large body).
    let big = post(vec![b' '; 65 * 1024], None).await.unwrap();
    assert_eq!(big.status(), 413);
    let bomb = post(gzip(&vec![b'\n'; 1 << 20]), Some("gzip"))
        .await
        .unwrap();
    assert_eq!(bomb.status(), 413);

    // An event over logs.max_record_size is kept, cut down and marked.
    let huge = json!({"event": "huge", "timestamp": NOW, "payload": "x".repeat(10_000), "id": 5});
    let answer = post(format!("{huge}\n").into_bytes(), None).await.unwrap();
    assert_eq!(answer.json::<Value>().await.unwrap()["accepted"], 1);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let found = loop {
        let found = server
            .get_json(&format!(
                "/api/v1/events/search?q=_truncated:true&from={}",
                NOW - 60
            ))
            .await;
        if found["total"] == 1 || std::time::Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let event = &found["events"][0];
    assert_eq!(event["message"], "huge");
    assert_eq!(event["fields"]["id"], 5);
    assert!(event["fields"]["payload"].as_str().unwrap().len() < 2048);
    assert!(event["fields"]["_original_size"].as_u64().unwrap() > 10_000);
}

#[tokio::test]
async fn a_full_ingest_budget_answers_429_and_writes_nothing() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(NOW)));
    let server = start_server_with(clock, |c| {
        c.http.max_inflight_ingest = model::ByteSize::kib(64);
    })
    .await;
    let token = ingest_token(&server).await;
    // Requests in flight hold the whole budget.
    let held = server.handle().ingest_gate().try_enter(64 << 10).unwrap();
    let line = json!({"event": "busy", "timestamp": NOW}).to_string();
    let ndjson = ingest(&server, &token, format!("{line}\n")).await;
    assert_eq!(ndjson.status(), 429);
    assert_eq!(ndjson.headers()["retry-after"], "1");
    let bulk = server
        .client
        .post(server.url("/_bulk"))
        .header("Authorization", format!("ApiKey {token}"))
        .header("Content-Type", "application/x-ndjson")
        .body(format!(
            "{{\"create\":{{}}}}\n{line}\n{{\"index\":{{}}}}\n{line}\n"
        ))
        .send()
        .await
        .unwrap();
    // Elasticsearch's in-flight requests breaker: the whole request, transient, retried.
    assert_eq!(bulk.status(), 429);
    assert_eq!(bulk.headers()["retry-after"], "1");
    let answer: Value = bulk.json().await.unwrap();
    assert_eq!(answer["status"], 429, "{answer}");
    assert_eq!(answer["error"]["type"], "circuit_breaking_exception");
    assert_eq!(answer["error"]["durability"], "TRANSIENT");
    assert_eq!(
        answer["error"]["root_cause"][0]["type"],
        "circuit_breaking_exception"
    );
    let otlp = server
        .client
        .post(server.url("/v1/logs"))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(r#"{"resourceLogs":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(otlp.status(), 429);

    // Once the budget frees, the same request goes through.
    drop(held);
    let ok = ingest(&server, &token, format!("{line}\n")).await;
    assert_eq!(ok.status(), 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let found = loop {
        let found = server
            .get_json(&format!("/api/v1/events/search?q=busy&from={}", NOW - 60))
            .await;
        if found["total"].as_u64() >= Some(1) || std::time::Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The accepted request's commit would carry anything the refused ones had written.
    assert_eq!(found["total"], 1, "only the accepted request was written");
}
