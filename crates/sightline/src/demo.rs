//! `sightline demo`: realistic traffic for a newcomer to look at straight away.
//!
//! It simulates a small web shop: three web servers, a database host and a worker, with a
//! daily traffic curve, noise, the odd 5xx burst, and a database disk that slowly fills. Each
//! batch is a set of carbon plaintext lines (`path value timestamp`) sent over TCP to the
//! carbon listener, and the shop's events for the same interval (sign-ups, payments, errors,
//! in `events`) as JSON lines to the JSON-lines listener. It first backfills history (an hour
//! by default) so graphs have a shape at once, then sends a live batch every interval until
//! stopped. Its error log lines are also sent as Sentry error events (`errors`), to the
//! `demo-shop` project's envelope endpoint, as an SDK would. The same seed gives the same
//! traffic.

mod errors;
mod events;

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use model::{Clock, HumanDuration, SystemClock};

/// What `sightline demo --help` says it sends.
const DEMO_HELP: &str = "\
Sends a simulated web shop's metrics to a running server's carbon listener, its events to the
JSON-lines listener and its errors to the Sentry endpoint: three web servers, a database host and a worker, with a daily traffic
curve, noise, the odd 5xx burst and a database disk that slowly fills. It first backfills
history (--backfill), then sends a batch every --interval until stopped (or for --duration).
The same --seed sends the same traffic.

Every batch holds 38 series:
  app.<web-1|web-2|web-3>.requests.count       requests in the interval (summed on rollup)
  app.<web-N>.requests.5xx.count               5xx answers in the interval (summed)
  app.<web-N>.latency.p95                      95th percentile latency, ms (averaged)
  servers.<host>.cpu.user, .cpu.system         CPU, percent, for web-1..3, db-1, worker-1
  servers.<host>.loadavg.01                    one-minute load average
  servers.<host>.memory.used_percent           memory in use, percent
  servers.<host>.disk.root.used_percent        disk in use, percent (db-1 fills through the day)
  shop.signups.count, shop.orders.count        sign-ups and orders in the interval (summed)
  shop.revenue.eur.sum, shop.revenue.usd.sum   income in the interval, by currency (summed)

And the events of each interval, as structlog writes them (service, level, user.email...):
  user.signed_up       one per sign-up counted, with `plan`
  payment.succeeded    one per order, with `amount` and `currency` (they add up to the revenue)
  checkout.error, payment.failed   level error, during 5xx bursts
  user.logged_in, page.viewed      alice@example.com, about every ten minutes

Live batches also go to statsd (UDP): a `shop.checkout.duration` timing per order (so
stats.timers.shop.checkout.duration.mean, .upper_90, .count...) and the `shop.page_views` counter.

And each error line again as a Sentry error event, to the envelope endpoint of the `demo-shop`
project (made in the server's --data-dir if missing; or --sentry DSN): TimeoutError in the
checkout and CardDeclined in billing, with stack traces, breadcrumbs, the same user and time.";

#[derive(Debug, Args)]
#[command(long_about = DEMO_HELP)]
pub(crate) struct DemoArgs {
    /// The carbon plaintext listener to send metrics to.
    #[arg(long, default_value = "127.0.0.1:2003", value_name = "ADDR")]
    carbon: SocketAddr,
    /// The JSON-lines listener to send events to, or `off`.
    #[arg(long, default_value = "127.0.0.1:5170", value_name = "ADDR")]
    json_lines: String,
    /// The statsd listener (UDP) for the live checkout timings and page views, or `off`.
    #[arg(long, default_value = "127.0.0.1:8125", value_name = "ADDR")]
    statsd: String,
    /// Where errors go: a project's DSN, `off`, or `auto`: the `demo-shop` project of the
    /// server on --data-dir (made if it is missing), at its Sentry envelope endpoint.
    #[arg(long, default_value = "auto", value_name = "DSN")]
    sentry: String,
    #[command(flatten)]
    config: crate::ConfigArgs,
    /// How much history to send first, so graphs have a shape at once.
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    backfill: HumanDuration,
    /// Time between batches, live and in the backfill.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    interval: HumanDuration,
    /// Stop after this long; without it, run until interrupted.
    #[arg(long, value_name = "DURATION")]
    duration: Option<HumanDuration>,
    /// Seed of the simulation: the same seed sends the same traffic.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub(crate) fn run(args: DemoArgs) -> anyhow::Result<()> {
    let step = args.interval.get().as_secs().max(1) as i64;
    let mut shop = Shop::new(args.seed);
    let mut events = events::Events::new(args.seed);
    let mut carbon = connect(&args.carbon.to_string(), "carbon")?;
    let mut json_lines = match args.json_lines.as_str() {
        "off" => None,
        addr => Some(connect(addr, "JSON-lines")?),
    };
    let sentry = sentry_target(&args)?;
    let mut sent = Sent::default();
    let statsd = statsd_socket(&args.statsd)?;
    let mut send_batch = |t: i64, sent: &mut Sent, live: bool| -> anyhow::Result<()> {
        sent.points += send(&mut carbon, &shop.batch(t))?;
        if let (true, Some(socket)) = (live, statsd.as_ref()) {
            for line in shop.statsd_lines() {
                // UDP, as statsd clients send: a lost datagram is a lost sample.
                let _ = socket.send(line.as_bytes());
                sent.samples += 1;
            }
        }
        if let Some(stream) = json_lines.as_mut() {
            let lines = events.batch(t, step, shop.last);
            sent.events += lines.lines().count();
            stream
                .write_all(lines.as_bytes())
                .context("the JSON-lines listener closed the connection")?;
        }
        for line in events.take_errors() {
            let Some(target) = sentry.as_ref() else {
                continue;
            };
            sent.errors += 1;
            if let Some(event) = errors::event_for(&line, args.seed << 32 | sent.errors as u64) {
                target.send(&event)?;
            }
        }
        Ok(())
    };
    let now = SystemClock.now().as_secs();
    let start = now - args.backfill.get().as_secs() as i64;
    let mut t = start - start.rem_euclid(step);
    while t < now {
        send_batch(t, &mut sent, false)?;
        t += step;
    }
    eprintln!(
        "demo: sent {} points, {} events and {} errors of history; now sending live every {step}s",
        sent.points, sent.events, sent.errors
    );
    let stop_at = args.duration.map(|d| now + d.get().as_secs() as i64);
    loop {
        let t = SystemClock.now().as_secs();
        if stop_at.is_some_and(|end| t >= end) {
            break;
        }
        send_batch(t, &mut sent, true)?;
        std::thread::sleep(Duration::from_secs(step as u64));
    }
    eprintln!(
        "demo: done; sent {} points, {} events, {} errors and {} statsd samples in all",
        sent.points, sent.events, sent.errors, sent.samples
    );
    Ok(())
}

/// What the demo has sent so far.
#[derive(Debug, Default)]
struct Sent {
    points: usize,
    events: usize,
    errors: usize,
    samples: usize,
}

/// A UDP socket connected to the statsd listener, or none for `off`.
fn statsd_socket(addr: &str) -> anyhow::Result<Option<std::net::UdpSocket>> {
    if addr == "off" {
        return Ok(None);
    }
    let target = server::resolve_listen_addr(addr).map_err(anyhow::Error::msg)?;
    let bind: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()?;
    let socket = std::net::UdpSocket::bind(bind)?;
    socket
        .connect(target)
        .with_context(|| format!("cannot address the statsd listener at {addr}"))?;
    Ok(Some(socket))
}

/// Where the errors go, from `--sentry`; `auto` without a control database beside the demo
/// sends none and says so.
fn sentry_target(args: &DemoArgs) -> anyhow::Result<Option<errors::SentryTarget>> {
    match args.sentry.as_str() {
        "off" => Ok(None),
        "auto" => match crate::admin::demo_project_dsn(&args.config) {
            Ok(dsn) => errors::SentryTarget::from_dsn(&dsn).map(Some),
            Err(e) => {
                eprintln!("demo: sending no errors ({e:#}); give --sentry DSN to send them");
                Ok(None)
            }
        },
        dsn => errors::SentryTarget::from_dsn(dsn).map(Some),
    }
}

/// A TCP connection to a listener, or an error saying which and what to check.
fn connect(addr: &str, what: &str) -> anyhow::Result<TcpStream> {
    let resolved = server::resolve_listen_addr(addr).map_err(anyhow::Error::msg)?;
    TcpStream::connect_timeout(&resolved, Duration::from_secs(5)).with_context(|| {
        format!("cannot reach the {what} listener at {addr}; is `sightline serve` running?")
    })
}

fn send(carbon: &mut TcpStream, batch: &[(String, f64, i64)]) -> anyhow::Result<usize> {
    let mut text = String::with_capacity(batch.len() * 48);
    for (path, value, ts) in batch {
        let _ = writeln!(text, "{path} {value:.3} {ts}");
    }
    carbon
        .write_all(text.as_bytes())
        .context("the carbon listener closed the connection")?;
    Ok(batch.len())
}

/// A deterministic pseudo-random source (SplitMix64); no need for a crate here.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform noise in `[-1, 1)`.
    fn noise(&mut self) -> f64 {
        self.next() * 2.0 - 1.0
    }
}

const WEB_HOSTS: [&str; 3] = ["web-1", "web-2", "web-3"];
const ALL_HOSTS: [&str; 5] = ["web-1", "web-2", "web-3", "db-1", "worker-1"];

/// The simulated shop.
#[derive(Debug)]
struct Shop {
    rng: Rng,
    /// Its own stream for the statsd samples, so live sending leaves the rest as seeded.
    samples: Rng,
    /// What the last batch counted, for its events.
    last: events::Counts,
    /// The last batch's requests over all web servers.
    last_requests: f64,
    /// The fractions of a sign-up and of an order not yet sent.
    carried: (f64, f64),
}

impl Shop {
    fn new(seed: u64) -> Self {
        Shop {
            rng: Rng(seed),
            samples: Rng(seed ^ 0x57A7_5D00),
            last: events::Counts::default(),
            last_requests: 0.0,
            carried: (0.0, 0.0),
        }
    }

    /// Traffic intensity at `t`: quiet at night, peaking in the afternoon (UTC), 0.15 to 1.0.
    fn load(t: i64) -> f64 {
        let hour = (t.rem_euclid(86_400)) as f64 / 3_600.0;
        let wave = ((hour - 15.0) / 24.0 * std::f64::consts::TAU).cos();
        0.575 + 0.425 * wave
    }

    /// Every metric point at `t`, as (path, value, timestamp).
    fn batch(&mut self, t: i64) -> Vec<(String, f64, i64)> {
        let load = Self::load(t);
        let mut points = Vec::with_capacity(40);
        let mut push = |path: String, value: f64| points.push((path, value, t));
        let mut total_requests = 0.0;
        let mut errors_5xx = 0.0;
        for host in WEB_HOSTS {
            let requests = (400.0 * load * (1.0 + 0.1 * self.rng.noise()))
                .max(0.0)
                .round();
            let burst = self.rng.next() < 0.03;
            let errors = if burst {
                requests * 0.2
            } else {
                (requests * 0.002 * self.rng.next()).round()
            };
            total_requests += requests;
            errors_5xx += errors.round();
            push(format!("app.{host}.requests.count"), requests);
            push(format!("app.{host}.requests.5xx.count"), errors.round());
            push(
                format!("app.{host}.latency.p95"),
                80.0 + 140.0 * load + 25.0 * self.rng.noise(),
            );
        }
        for host in ALL_HOSTS {
            let busy = if host.starts_with("web") {
                load
            } else {
                0.4 + 0.2 * load
            };
            push(
                format!("servers.{host}.cpu.user"),
                (70.0 * busy + 5.0 * self.rng.noise()).clamp(0.0, 100.0),
            );
            push(
                format!("servers.{host}.cpu.system"),
                (8.0 * busy + 2.0 * self.rng.next()).clamp(0.0, 100.0),
            );
            push(
                format!("servers.{host}.loadavg.01"),
                (4.0 * busy + 0.3 * self.rng.noise()).max(0.0),
            );
            push(
                format!("servers.{host}.memory.used_percent"),
                55.0 + 20.0 * busy + 2.0 * self.rng.noise(),
            );
            push(
                format!("servers.{host}.disk.root.used_percent"),
                disk_used(host, t),
            );
        }
        // Whole sign-ups and orders, the fractions carried to the next interval: a quiet night
        // still has its share (rounding each interval alone would make it none).
        let signups = whole(
            &mut self.carried.0,
            total_requests / 600.0 * (1.0 + 0.5 * self.rng.noise()),
        );
        let orders = whole(
            &mut self.carried.1,
            total_requests / 250.0 * (1.0 + 0.4 * self.rng.noise()),
        );
        // Counts per interval end in `.count` and amounts in `.sum`, so the statsd-aware
        // default rules roll them up as sums: a day's signups are the day's total.
        // Three orders in five pay in euros; the events split them the same way.
        let eur_orders = (orders * 0.6).round();
        let eur = eur_orders * (45.0 + 10.0 * self.rng.noise());
        let usd = (orders - eur_orders) * (52.0 + 12.0 * self.rng.noise());
        push("shop.signups.count".to_owned(), signups);
        push("shop.orders.count".to_owned(), orders);
        push("shop.revenue.eur.sum".to_owned(), eur);
        push("shop.revenue.usd.sum".to_owned(), usd);
        self.last_requests = total_requests;
        self.last = events::Counts {
            signups: signups as u32,
            orders: orders as u32,
            errors_5xx: errors_5xx as u32,
            revenue_eur: eur,
            revenue_usd: usd,
        };
        points
    }
}

impl Shop {
    /// The last batch as an application's statsd client reports it: how long each order's
    /// checkout took (a timer, so statsd computes its mean, percentiles and count) and the
    /// page views (a counter). Sent live only, as statsd stamps points with its flush time.
    fn statsd_lines(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        for _ in 0..self.last.orders.min(MAX_TIMINGS) {
            let ms = 180.0
                + 400.0 * self.samples.next() * self.samples.next()
                + 40.0 * self.samples.noise();
            lines.push(format!("shop.checkout.duration:{:.0}|ms", ms.max(20.0)));
        }
        lines.push(format!("shop.page_views:{:.0}|c", self.last_requests * 0.7));
        lines
    }
}

/// The most checkout timings one batch sends.
const MAX_TIMINGS: u32 = 200;

/// Disk use: flat on most hosts; on the database host it creeps up through the day, so a
/// "disk full" alert has something to watch.
fn disk_used(host: &str, t: i64) -> f64 {
    if host == "db-1" {
        let day_fraction = t.rem_euclid(86_400) as f64 / 86_400.0;
        return 78.0 + 19.0 * day_fraction;
    }
    35.0 + (host.len() as f64)
}

/// The whole part of `*carried + amount` (never below zero), keeping the fraction in `carried`.
fn whole(carried: &mut f64, amount: f64) -> f64 {
    let total = *carried + amount.max(0.0);
    let whole = total.floor();
    *carried = total - whole;
    whole
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_sends_the_same_traffic() {
        let a = Shop::new(7).batch(1_700_000_000);
        let b = Shop::new(7).batch(1_700_000_000);
        assert_eq!(a, b);
        let c = Shop::new(8).batch(1_700_000_000);
        assert_ne!(a, c);
    }

    #[test]
    fn batches_are_plausible() {
        let mut shop = Shop::new(1);
        for t in (1_700_000_000..1_700_086_400).step_by(3_600) {
            let batch = shop.batch(t);
            assert_eq!(batch.len(), 3 * 3 + 5 * 5 + 4);
            for (path, value, ts) in &batch {
                assert_eq!(*ts, t);
                assert!(value.is_finite() && *value >= 0.0, "{path} = {value}");
                assert!(
                    !path.contains(' ') && path.split('.').all(|p| !p.is_empty()),
                    "{path}"
                );
                if path.contains("percent") || path.contains(".cpu.") {
                    assert!(*value <= 100.0, "{path} = {value}");
                }
            }
        }
    }

    #[test]
    fn counters_roll_up_as_sums_under_the_default_rules() {
        let rules = server::Config::default().tsdb.rules().unwrap();
        for (path, _, _) in Shop::new(3).batch(1_700_000_000) {
            let method = rules.resolve(&path).1.method;
            let counter = path.starts_with("shop.") || path.contains(".requests.");
            let want = if counter {
                tsdb::schema::Method::Sum
            } else {
                tsdb::schema::Method::Average
            };
            assert_eq!(method, want, "{path}");
            assert!(
                DEMO_HELP.contains(path.rsplit('.').next().unwrap()),
                "{path} is described"
            );
        }
    }

    #[test]
    fn traffic_follows_the_day() {
        assert!(Shop::load(15 * 3_600) > 0.99);
        assert!(Shop::load(3 * 3_600) < 0.16);
    }
}
