//! Self-telemetry: the counters every listener keeps, and the Prometheus text writer.
//!
//! Every listener, whatever its protocol, counts the same five things in a [`ListenerStats`]:
//! records received, bytes received, parse errors, records dropped, and queue depth. The family
//! names are defined once in [`LISTENER_FAMILIES`], and one shared test checks that each listener
//! a running server reports appears in all of them. Other components (auth, HTTP) keep their own
//! counters and write them through [`PromWriter`] when `/metrics` is rendered.

use std::fmt::{Display, Write as _};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// The metric families every listener reports, labelled `listener="<name>"`.
pub const LISTENER_FAMILIES: [&str; 5] = [
    "sightline_listener_received_total",
    "sightline_listener_bytes_total",
    "sightline_listener_parse_errors_total",
    "sightline_listener_dropped_total",
    "sightline_listener_queue_depth",
];

/// The uniform counters of one listener.
#[derive(Debug)]
pub struct ListenerStats {
    /// A short stable name such as `http` or `carbon_tcp`, used as the `listener` label.
    pub name: &'static str,
    /// Records (requests, lines, datagrams, frames) received.
    pub received: AtomicU64,
    /// Payload bytes received.
    pub bytes: AtomicU64,
    /// Records that could not be parsed and were skipped.
    pub parse_errors: AtomicU64,
    /// Records refused or lost for capacity (queue full, rate limit, UDP overflow).
    pub dropped: AtomicU64,
    /// Records accepted but not yet processed (for HTTP: requests in flight).
    pub queue_depth: AtomicI64,
}

impl ListenerStats {
    pub(crate) fn new(name: &'static str) -> Self {
        ListenerStats {
            name,
            received: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            parse_errors: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            queue_depth: AtomicI64::new(0),
        }
    }
}

/// A counter outside the listener families, registered by name.
#[derive(Debug)]
struct NamedCounter {
    name: &'static str,
    help: &'static str,
    value: Arc<AtomicU64>,
}

/// The registry of counters for one running server.
#[derive(Debug, Default)]
pub struct Telemetry {
    listeners: RwLock<Vec<Arc<ListenerStats>>>,
    counters: RwLock<Vec<NamedCounter>>,
}

impl Telemetry {
    /// Registers a listener and returns its counters.
    pub fn listener(&self, name: &'static str) -> Arc<ListenerStats> {
        let stats = Arc::new(ListenerStats::new(name));
        self.listeners
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::clone(&stats));
        stats
    }

    /// Registers a counter rendered on `/metrics` as `name`, and returns it.
    pub fn counter(&self, name: &'static str, help: &'static str) -> Arc<AtomicU64> {
        let value = Arc::new(AtomicU64::new(0));
        let mut counters = self.counters.write().unwrap_or_else(|p| p.into_inner());
        counters.push(NamedCounter {
            name,
            help,
            value: Arc::clone(&value),
        });
        value
    }

    /// Writes the registered counters.
    pub fn write_counters(&self, w: &mut PromWriter) {
        let counters = self.counters.read().unwrap_or_else(|p| p.into_inner());
        for c in counters.iter() {
            w.single(c.name, "counter", c.help, c.value.load(Ordering::Relaxed));
        }
    }

    /// The names of every registered listener.
    pub fn listener_names(&self) -> Vec<&'static str> {
        let listeners = self.listeners.read().unwrap_or_else(|p| p.into_inner());
        listeners.iter().map(|l| l.name).collect()
    }

    /// Calls `f` with each listener's counters.
    pub fn for_each_listener(&self, mut f: impl FnMut(&ListenerStats)) {
        let listeners = self.listeners.read().unwrap_or_else(|p| p.into_inner());
        for l in listeners.iter() {
            f(l);
        }
    }

    /// Writes every listener's counters.
    pub fn write_listeners(&self, w: &mut PromWriter) {
        let listeners = self.listeners.read().unwrap_or_else(|p| p.into_inner());
        type Read = fn(&ListenerStats) -> i64;
        let families: [(&str, &str, Read); 5] = [
            ("counter", "Records received.", |l| load(&l.received)),
            ("counter", "Payload bytes received.", |l| load(&l.bytes)),
            (
                "counter",
                "Records that failed to parse and were skipped.",
                |l| load(&l.parse_errors),
            ),
            ("counter", "Records refused or lost for capacity.", |l| {
                load(&l.dropped)
            }),
            ("gauge", "Records accepted but not yet processed.", |l| {
                l.queue_depth.load(Ordering::Relaxed)
            }),
        ];
        for (name, (kind, help, value)) in LISTENER_FAMILIES.iter().zip(families) {
            w.family(name, kind, help);
            for l in listeners.iter() {
                w.sample(name, &[("listener", l.name)], value(l));
            }
        }
    }
}

fn load(counter: &AtomicU64) -> i64 {
    i64::try_from(counter.load(Ordering::Relaxed)).unwrap_or(i64::MAX)
}

/// Builds a Prometheus text-format (0.0.4) page.
#[derive(Debug, Default)]
pub struct PromWriter {
    out: String,
}

impl PromWriter {
    /// Starts a metric family; its samples must follow before the next family.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (key, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{key}=\"{}\"", escape_label(val));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A family with a single unlabelled sample.
    pub fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Resident memory of this process in bytes, where the platform tells us.
pub fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listener_appears_in_every_family() {
        let telemetry = Telemetry::default();
        let a = telemetry.listener("a");
        telemetry.listener("b");
        a.received.fetch_add(3, Ordering::Relaxed);
        let mut w = PromWriter::default();
        telemetry.write_listeners(&mut w);
        let text = w.finish();
        for family in LISTENER_FAMILIES {
            assert!(
                text.contains(&format!("{family}{{listener=\"a\"}}")),
                "{text}"
            );
            assert!(
                text.contains(&format!("{family}{{listener=\"b\"}}")),
                "{text}"
            );
        }
        assert!(text.contains("sightline_listener_received_total{listener=\"a\"} 3"));
    }

    #[test]
    fn label_values_are_escaped() {
        let mut w = PromWriter::default();
        w.sample("m", &[("k", "a\"b\\c\nd")], 1);
        assert_eq!(w.finish(), "m{k=\"a\\\"b\\\\c\\nd\"} 1\n");
    }
}
