//! `sightline bench sentry`: Sentry envelopes at a fixed concurrency, as SDKs send them, to
//! measure ingest. Events are the captured Python, Node and Rust SDK events (3–11 KB), and the
//! Python one with 150 breadcrumbs (about 40 KB), each with a fresh event id, in rotation; the
//! values vary so several issues grow. Prints one JSON object: events sent, accepted, refused,
//! seconds, events per second, and the acknowledgement latency's p50/p99.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use serde_json::{Value, json};

#[derive(Debug, Args)]
pub(crate) struct SentryArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The project's id (`sightline project create NAME` prints a DSN ending in it).
    #[arg(long)]
    project: i64,
    /// The project's public key.
    #[arg(long)]
    key: String,
    /// Error events to send in all.
    #[arg(long, default_value_t = 10_000)]
    events: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

const CAPTURES: [&[u8]; 4] = [
    include_bytes!("../../wire/tests/it/fixtures/sentry/py-exception.1.envelope"),
    include_bytes!("../../wire/tests/it/fixtures/sentry/node-exception.2.envelope"),
    include_bytes!("../../wire/tests/it/fixtures/sentry/rust-panic.1.envelope"),
    include_bytes!("../../wire/tests/it/fixtures/sentry/py-logging-integration.1.envelope"),
];

/// The event payloads to send: the captures, and a large one.
fn templates() -> anyhow::Result<Vec<Value>> {
    let mut out: Vec<Value> = Vec::new();
    for bytes in CAPTURES {
        let envelope = wire::sentry::parse_envelope(bytes)?;
        let item = envelope
            .items
            .iter()
            .find(|i| i.kind == "event")
            .context("a capture without an event")?;
        out.push(serde_json::from_slice(item.payload)?);
    }
    let mut large = out[0].clone();
    let crumbs: Vec<Value> = (0..150)
        .map(|i| {
            json!({"timestamp": 1_795_575_000.0 + f64::from(i), "category": "http", "type": "http",
                   "level": "info", "message": format!("GET /api/orders/{i} 200 in {} ms", 10 + i % 90),
                   "data": {"url": format!("https://shop.example.com/api/orders/{i}?expand=lines,customer"),
                            "method": "GET", "status_code": 200, "reason": "OK"}})
        })
        .collect();
    large["breadcrumbs"] = json!({ "values": crumbs });
    out.push(large);
    Ok(out)
}

/// An envelope for event `n`: a fresh id, and a value that varies over a few issues.
fn envelope(template: &Value, n: usize) -> Vec<u8> {
    let mut event = template.clone();
    let id = format!("{:032x}", (n as u128) << 64 | 0x5eed);
    event["event_id"] = json!(id);
    event["timestamp"] = json!(chrono_free_now());
    if let Some(v) = event.pointer_mut("/exception/values/0/value") {
        *v = json!(format!("failure {}", n % 7));
    }
    let payload = serde_json::to_vec(&event).unwrap_or_default();
    let mut out = format!(
        "{{\"event_id\":\"{id}\"}}\n{{\"type\":\"event\",\"length\":{}}}\n",
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(&payload);
    out.push(b'\n');
    out
}

fn chrono_free_now() -> f64 {
    use model::Clock;
    model::SystemClock.now().as_nanos() as f64 / 1e9
}

pub(crate) fn run(args: &SentryArgs) -> anyhow::Result<Value> {
    let templates = templates()?;
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..args.events)
            .map(|n| envelope(&templates[n % templates.len()], n))
            .collect(),
    );
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    let url = format!(
        "{}/api/{}/envelope/",
        args.url.trim_end_matches('/'),
        args.project
    );
    let auth = format!(
        "Sentry sentry_key={}, sentry_version=7, sentry_client=sightline-bench/1",
        args.key
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let concurrency = args.concurrency.max(1);
    let (latencies, refused, started) = runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency)
            .timeout(Duration::from_secs(60))
            .build()?;
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (client, url, auth, bodies, next) = (
                client.clone(),
                url.clone(),
                auth.clone(),
                Arc::clone(&bodies),
                Arc::clone(&next),
            );
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut refused = 0usize;
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(body) = bodies.get(n) else { break };
                    let t = Instant::now();
                    let ok = client
                        .post(&url)
                        .header("X-Sentry-Auth", &auth)
                        .body(body.clone())
                        .send()
                        .await
                        .map(|r| r.status().is_success())
                        .unwrap_or(false);
                    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                    if !ok {
                        refused += 1;
                    }
                }
                (latencies, refused)
            }));
        }
        let mut all = Vec::new();
        let mut refused = 0;
        for t in tasks {
            let (l, r) = t.await?;
            all.extend(l);
            refused += r;
        }
        anyhow::Ok((all, refused, started))
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let mut sorted = latencies;
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        sorted
            .get(((sorted.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Ok(json!({
        "events": args.events,
        "accepted": args.events - refused,
        "refused": refused,
        "bytes": bytes,
        "seconds": seconds,
        "events_per_s": args.events as f64 / seconds,
        "ack_p50_ms": at(0.5),
        "ack_p99_ms": at(0.99),
        "concurrency": concurrency,
    }))
}
