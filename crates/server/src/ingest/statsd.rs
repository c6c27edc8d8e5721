//! statsd's listeners (:8125, UDP datagrams and newline-delimited TCP) and its flush.
//!
//! Each datagram, or each chunk of TCP lines, is decoded with `wire::statsd` and added to the
//! shared [`Aggregates`](super::statsd_agg::Aggregates), counting `statsd.packets_received`,
//! `statsd.metrics_received` and `statsd.bad_lines_seen` as etsy statsd does. Every
//! `flush_interval` the flusher emits the aggregates under etsy's names, stamped with the flush
//! time rounded to the second, into the metric store. Shutdown flushes once more, so nothing
//! gathered is lost. DogStatsD service checks become gauges; events are counted until the
//! events store takes them.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use model::{ByteSize, HumanDuration, PointBatch, SharedClock};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use wire::framing::Lines;
use wire::statsd::StatsdRecord;

use super::MetricSink;
use super::net::{Cidr, ListenAddr, QuietLog};
use super::statsd_agg::Aggregates;
use super::tcp::ConnReader;
use crate::telemetry::ListenerStats;

/// The `[statsd]` section, with etsy statsd's option names in snake case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatsdConfig {
    pub udp: ListenAddr,
    pub tcp: ListenAddr,
    pub allow: Vec<Cidr>,
    pub max_connections: usize,
    pub udp_receive_buffer: ByteSize,
    /// Longer TCP lines close their connection.
    pub max_line_length: ByteSize,
    pub flush_interval: HumanDuration,
    /// Percentiles for timers; negative ones are "top" percentiles.
    pub percent_threshold: Vec<f64>,
    /// Stop sending idle metrics instead of zeros; sets every `delete_*` not set explicitly.
    pub delete_idle_stats: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_counters: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_timers: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_gauges: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_sets: Option<bool>,
    /// Flushes an idle gauge survives when gauges are deleted.
    pub gauges_max_ttl: u32,
    /// Also send raw counts (`stats_counts.X`) beside rates.
    pub flush_counts: bool,
    /// `stats.X` / `stats_counts.X`; false gives `stats.counters.X.rate` / `.count`.
    pub legacy_namespace: bool,
    pub global_prefix: String,
    pub prefix_counter: String,
    pub prefix_timer: String,
    pub prefix_gauge: String,
    pub prefix_set: String,
    pub global_suffix: String,
    /// The prefix of statsd's own metrics.
    pub prefix_stats: String,
    /// Histogram bins per timer: the first rule whose `metric` is part of the key applies.
    pub histogram: Vec<HistogramRule>,
    /// Emit only these timer stats (`_percent` stands for every percentile); empty is all.
    pub calculated_timer_metrics: Vec<String>,
    /// Distinct keys held between flushes, at most; samples of further new keys are dropped.
    pub max_keys: usize,
    /// Timer values held between flushes, at most; further values are dropped.
    pub max_timer_samples: usize,
}

impl Default for StatsdConfig {
    fn default() -> Self {
        StatsdConfig {
            udp: ListenAddr::loopback(8125),
            tcp: ListenAddr::loopback(8125),
            allow: Vec::new(),
            max_connections: 1024,
            udp_receive_buffer: ByteSize::mib(8),
            max_line_length: ByteSize::kib(32),
            flush_interval: HumanDuration::from_secs(10),
            percent_threshold: vec![90.0],
            delete_idle_stats: false,
            delete_counters: None,
            delete_timers: None,
            delete_gauges: None,
            delete_sets: None,
            gauges_max_ttl: 1,
            flush_counts: true,
            legacy_namespace: true,
            global_prefix: "stats".into(),
            prefix_counter: "counters".into(),
            prefix_timer: "timers".into(),
            prefix_gauge: "gauges".into(),
            prefix_set: "sets".into(),
            global_suffix: String::new(),
            prefix_stats: "statsd".into(),
            histogram: Vec::new(),
            calculated_timer_metrics: Vec::new(),
            max_keys: 1_000_000,
            max_timer_samples: 5_000_000,
        }
    }
}

/// `{ metric = "api", bins = [10, 100, "inf"] }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistogramRule {
    pub metric: String,
    pub bins: Vec<Bin>,
}

/// A histogram bin's upper bound, or `inf`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bin(pub Option<f64>);

impl Serialize for Bin {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(v) => s.serialize_f64(v),
            None => s.serialize_str("inf"),
        }
    }
}

impl<'de> Deserialize<'de> for Bin {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Float(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(i) => Ok(Bin(Some(i as f64))),
            Raw::Float(f) => Ok(Bin(Some(f))),
            Raw::Text(t) if t == "inf" => Ok(Bin(None)),
            Raw::Text(t) => Err(serde::de::Error::custom(format!(
                "bin `{t}` is not a number or `inf`"
            ))),
        }
    }
}

/// The names etsy's graphite backend gives each metric.
#[derive(Debug, Clone)]
pub struct Names {
    legacy: bool,
    counters: Vec<String>,
    timers: Vec<String>,
    gauges: Vec<String>,
    sets: Vec<String>,
    global: Vec<String>,
    suffix: String,
    prefix_stats: String,
}

impl Names {
    fn new(c: &StatsdConfig) -> Self {
        let ns = |prefix: &str| -> Vec<String> {
            [c.global_prefix.as_str(), prefix]
                .iter()
                .filter(|p| !p.is_empty())
                .map(|p| (*p).to_owned())
                .collect()
        };
        let suffix = if c.global_suffix.is_empty() {
            String::new()
        } else {
            format!(".{}", c.global_suffix)
        };
        if c.legacy_namespace {
            let fixed = |parts: &[&str]| parts.iter().map(|p| (*p).to_owned()).collect();
            return Names {
                legacy: true,
                counters: fixed(&["stats"]),
                timers: fixed(&["stats", "timers"]),
                gauges: fixed(&["stats", "gauges"]),
                sets: fixed(&["stats", "sets"]),
                global: fixed(&["stats"]),
                suffix,
                prefix_stats: c.prefix_stats.clone(),
            };
        }
        Names {
            legacy: false,
            counters: ns(&c.prefix_counter),
            timers: ns(&c.prefix_timer),
            gauges: ns(&c.prefix_gauge),
            sets: ns(&c.prefix_set),
            global: ns(""),
            suffix,
            prefix_stats: c.prefix_stats.clone(),
        }
    }

    /// etsy's `format(namespace, key, ...extra)`: tags go after the suffix.
    fn format(&self, namespace: &[String], key: &str, extra: &[&str]) -> String {
        let (name, tags) = key.split_once(';').map_or((key, ""), |(n, t)| (n, t));
        let mut out = String::with_capacity(key.len() + 32);
        for part in namespace
            .iter()
            .map(String::as_str)
            .chain([name])
            .chain(extra.iter().copied())
        {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
        out.push_str(&self.suffix);
        if !tags.is_empty() {
            out.push(';');
            out.push_str(tags);
        }
        out
    }

    pub fn counter_rate(&self, key: &str) -> String {
        if self.legacy {
            self.format(&self.counters, key, &[])
        } else {
            self.format(&self.counters, key, &["rate"])
        }
    }

    pub fn counter_count(&self, key: &str) -> String {
        if self.legacy {
            self.format(&["stats_counts".to_owned()], key, &[])
        } else {
            self.format(&self.counters, key, &["count"])
        }
    }

    pub fn timer(&self, key: &str, stat: &str) -> String {
        self.format(&self.timers, key, &[stat])
    }

    pub fn gauge(&self, key: &str) -> String {
        self.format(&self.gauges, key, &[])
    }

    pub fn set(&self, key: &str) -> String {
        self.format(&self.sets, key, &["count"])
    }

    pub fn num_stats(&self) -> String {
        if self.legacy {
            format!("{}.numStats{}", self.prefix_stats, self.suffix)
        } else {
            self.format(&self.global, &self.prefix_stats, &["numStats"])
        }
    }

    /// `stats.statsd.<what>`, for statsd's own timings.
    pub fn own(&self, what: &str) -> String {
        if self.legacy {
            format!("stats.{}.{what}{}", self.prefix_stats, self.suffix)
        } else {
            self.format(&self.global, &self.prefix_stats, &[what])
        }
    }
}

/// The validated, ready-to-use form of [`StatsdConfig`].
#[derive(Debug, Clone)]
pub struct StatsdSettings {
    pub flush_seconds: f64,
    pub percent_threshold: Vec<f64>,
    pub delete_counters: bool,
    pub delete_timers: bool,
    pub delete_gauges: bool,
    pub delete_sets: bool,
    pub gauges_max_ttl: u32,
    pub flush_counts: bool,
    pub prefix_stats: String,
    pub histogram: Vec<(String, Vec<Option<f64>>)>,
    pub calculated_timer_metrics: Vec<String>,
    pub max_keys: usize,
    pub max_timer_samples: usize,
    pub names: Names,
}

impl StatsdSettings {
    pub fn new(c: &StatsdConfig) -> Self {
        let idle = c.delete_idle_stats;
        StatsdSettings {
            flush_seconds: c.flush_interval.get().as_millis() as f64 / 1000.0,
            percent_threshold: c.percent_threshold.clone(),
            delete_counters: c.delete_counters.unwrap_or(idle),
            delete_timers: c.delete_timers.unwrap_or(idle),
            delete_gauges: c.delete_gauges.unwrap_or(idle),
            delete_sets: c.delete_sets.unwrap_or(idle),
            gauges_max_ttl: c.gauges_max_ttl.max(1),
            flush_counts: c.flush_counts,
            prefix_stats: c.prefix_stats.clone(),
            histogram: c
                .histogram
                .iter()
                .map(|h| (h.metric.clone(), h.bins.iter().map(|b| b.0).collect()))
                .collect(),
            calculated_timer_metrics: c.calculated_timer_metrics.clone(),
            max_keys: c.max_keys,
            max_timer_samples: c.max_timer_samples,
            names: Names::new(c),
        }
    }
}

impl StatsdConfig {
    /// Checks the settings, naming the key at fault.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.flush_interval.get() < Duration::from_millis(100) {
            return Err(("statsd.flush_interval", "must be at least 100ms".into()));
        }
        if self
            .percent_threshold
            .iter()
            .any(|p| *p == 0.0 || p.abs() > 100.0 || !p.is_finite())
        {
            return Err((
                "statsd.percent_threshold",
                "each must be between -100 and 100, and not 0".into(),
            ));
        }
        Ok(())
    }
}

/// The running statsd service: aggregates and where flushes go.
#[derive(Debug)]
pub struct Statsd {
    pub settings: StatsdSettings,
    pub aggregates: Mutex<Aggregates>,
    pub sink: MetricSink,
    pub clock: SharedClock,
    /// Counters of the flush output itself, labelled `statsd_flush`.
    pub flush_stats: Arc<ListenerStats>,
    keys: InternalKeys,
    backend: Mutex<BackendStats>,
    /// DogStatsD events received; counted until the events store takes them.
    events: Arc<std::sync::atomic::AtomicU64>,
}

/// etsy's graphite backend's own figures, reported at each flush about the flush before.
#[derive(Debug, Default)]
struct BackendStats {
    last_flush: i64,
    last_exception: i64,
    flush_time_ms: f64,
    flush_length: usize,
}

#[derive(Debug)]
struct InternalKeys {
    packets: String,
    metrics: String,
    bad_lines: String,
}

impl Statsd {
    pub fn new(
        config: &StatsdConfig,
        sink: MetricSink,
        clock: SharedClock,
        flush_stats: Arc<ListenerStats>,
        events: Arc<std::sync::atomic::AtomicU64>,
    ) -> Arc<Statsd> {
        let settings = StatsdSettings::new(config);
        let p = &settings.prefix_stats;
        let keys = InternalKeys {
            packets: format!("{p}.packets_received"),
            metrics: format!("{p}.metrics_received"),
            bad_lines: format!("{p}.bad_lines_seen"),
        };
        let mut aggregates = Aggregates::default();
        for key in [&keys.packets, &keys.metrics, &keys.bad_lines] {
            aggregates.init_counter(key);
        }
        let backend = Mutex::new(BackendStats {
            last_flush: clock.now().as_secs(),
            ..BackendStats::default()
        });
        Arc::new(Statsd {
            settings,
            aggregates: Mutex::new(aggregates),
            sink,
            clock,
            flush_stats,
            keys,
            backend,
            events,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Aggregates> {
        self.aggregates.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds every line of one packet (a datagram, or a run of TCP lines).
    pub fn packet(
        &self,
        lines: &mut dyn Iterator<Item = &[u8]>,
        stats: &ListenerStats,
        log: &mut QuietLog,
    ) {
        let mut agg = self.lock();
        agg.count_internal(&self.keys.packets);
        for line in lines {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            agg.count_internal(&self.keys.metrics);
            wire::statsd::decode_line(line, &mut |record| {
                stats.received.fetch_add(1, Ordering::Relaxed);
                match record {
                    Ok(StatsdRecord::Metric(m)) => {
                        if !agg.add(&m, &self.settings) {
                            stats.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(StatsdRecord::ServiceCheck(sc)) => {
                        agg.set_gauge(&sc.key, f64::from(sc.status), &self.settings)
                    }
                    Ok(StatsdRecord::Event(_)) => {
                        self.events.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        agg.count_internal(&self.keys.bad_lines);
                        stats.parse_errors.fetch_add(1, Ordering::Relaxed);
                        log.bad_record(&e, line);
                    }
                }
            });
        }
    }

    /// Emits the aggregates into the metric store and resets them.
    pub async fn flush(&self) {
        let started = Instant::now();
        let now = self.clock.now();
        let ts = (now.as_millis() as f64 / 1000.0).round() as i64;
        let mut batch = PointBatch::with_capacity(1024);
        self.lock().flush(ts, &self.settings, |name, value| {
            batch.push(name, ts, value)
        });
        let elapsed_ms = started.elapsed().as_millis() as f64;
        let names = &self.settings.names;
        batch.push(&names.own("graphiteStats.calculationtime"), ts, elapsed_ms);
        batch.push(&names.own("processing_time"), ts, elapsed_ms);
        let previous = {
            let b = self.backend.lock().unwrap_or_else(|p| p.into_inner());
            [
                ("last_exception", b.last_exception as f64),
                ("last_flush", b.last_flush as f64),
                ("flush_time", b.flush_time_ms),
                ("flush_length", b.flush_length as f64),
            ]
        };
        for (what, value) in previous {
            batch.push(&names.own(&format!("graphiteStats.{what}")), ts, value);
        }
        // What etsy's text protocol would have sent: `name value ts\n` per point.
        let length: usize = batch
            .iter()
            .map(|p| p.name.len() + format!(" {} {ts}\n", p.value).len())
            .sum();
        self.flush_stats
            .received
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let sending = Instant::now();
        let sent = self.sink.send(batch, &self.flush_stats).await.is_ok();
        let mut b = self.backend.lock().unwrap_or_else(|p| p.into_inner());
        b.flush_time_ms = sending.elapsed().as_millis() as f64;
        b.flush_length = length;
        b.last_flush = ts;
        if !sent {
            b.last_exception = ts;
            tracing::warn!("the metric store closed before a statsd flush");
        }
    }
}

/// Flushes every `flush_interval` until shutdown, then once more.
pub async fn run_flusher(statsd: Arc<Statsd>, interval: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => statsd.flush().await,
            () = shutdown.cancelled() => break,
        }
    }
    statsd.flush().await;
}

/// One newline-delimited TCP connection.
pub async fn tcp_connection(
    stream: TcpStream,
    peer: SocketAddr,
    statsd: Arc<Statsd>,
    stats: Arc<ListenerStats>,
    max_line: usize,
    disk: Arc<crate::disk::DiskGuard>,
    shutdown: CancellationToken,
) {
    let mut reader = ConnReader::new(stream, disk);
    let mut log = QuietLog::new(stats.name, peer);
    while let Some(eof) = reader.fill(&stats, &shutdown).await {
        let data = reader.data();
        let mut lines = Lines::new(data, max_line);
        let mut complete: Vec<&[u8]> = Vec::new();
        let mut close = false;
        for line in &mut lines {
            match line {
                Ok(l) => complete.push(l),
                Err(_) => close = true,
            }
        }
        let consumed = lines.consumed();
        let tail = lines.rest();
        if eof && let Ok(t) = tail {
            complete.push(t);
        }
        close |= tail.is_err();
        if close {
            stats.parse_errors.fetch_add(1, Ordering::Relaxed);
            log.bad_record(&wire::framing::TooLong { limit: max_line }, b"");
        }
        statsd.packet(&mut complete.into_iter(), &stats, &mut log);
        if close || eof {
            return;
        }
        reader.consume(consumed);
    }
}

/// One UDP datagram.
pub fn datagram(
    statsd: &Statsd,
    datagram: &[u8],
    peer: SocketAddr,
    stats: &ListenerStats,
    logs: &mut Option<QuietLog>,
) {
    let log = logs.get_or_insert_with(|| QuietLog::new(stats.name, peer));
    statsd.packet(&mut datagram.split(|b| *b == b'\n'), stats, log);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_etsy() {
        let legacy = Names::new(&StatsdConfig::default());
        assert_eq!(legacy.counter_rate("hits"), "stats.hits");
        assert_eq!(
            legacy.counter_count("hits;env=prod"),
            "stats_counts.hits;env=prod"
        );
        assert_eq!(
            legacy.timer("api.get", "upper_90"),
            "stats.timers.api.get.upper_90"
        );
        assert_eq!(legacy.gauge("temp"), "stats.gauges.temp");
        assert_eq!(legacy.set("users"), "stats.sets.users.count");
        assert_eq!(legacy.num_stats(), "statsd.numStats");
        let modern = Names::new(&StatsdConfig {
            legacy_namespace: false,
            global_suffix: "dc1".into(),
            ..StatsdConfig::default()
        });
        assert_eq!(
            modern.counter_rate("hits;env=prod"),
            "stats.counters.hits.rate.dc1;env=prod"
        );
        assert_eq!(
            modern.counter_count("hits"),
            "stats.counters.hits.count.dc1"
        );
        assert_eq!(modern.timer("t", "mean"), "stats.timers.t.mean.dc1");
        assert_eq!(modern.num_stats(), "stats.statsd.numStats.dc1");
    }

    #[test]
    fn bins_parse() {
        let rule: HistogramRule =
            toml::from_str("metric = \"api\"\nbins = [10, 0.5, \"inf\"]").unwrap();
        assert_eq!(rule.bins, vec![Bin(Some(10.0)), Bin(Some(0.5)), Bin(None)]);
    }
}
