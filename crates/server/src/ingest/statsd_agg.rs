//! statsd aggregation: what etsy statsd keeps between flushes, and what a flush emits.
//!
//! The arithmetic and the names follow etsy statsd (`stats.js`, `lib/process_metrics.js`,
//! `backends/graphite.js`) so that stored values are the ones it would have sent to carbon:
//! counters as `stats.X` (per second) and `stats_counts.X`; timers sorted and summarised into
//! `count`, `count_ps`, `lower`, `upper`, `sum`, `sum_squares`, `mean`, `median`, `std` and per
//! percentile `count_N`, `mean_N`, `upper_N` (`lower_topN` for negative), `sum_N`,
//! `sum_squares_N`, plus histogram bins; gauges persist and take `+`/`-` deltas; sets count
//! distinct values. statsd's own counters (`statsd.packets_received`, `metrics_received`,
//! `bad_lines_seen`) flow through the counter path, as they do in etsy statsd. After a flush,
//! counters reset to zero and timers and sets empty, unless `delete_*` removes them instead.

use rustc_hash::{FxHashMap, FxHashSet};
use wire::statsd::{StatsdMetric, StatsdValue};

use super::statsd::StatsdSettings;

/// Everything gathered since the last flush.
#[derive(Debug, Default)]
pub struct Aggregates {
    counters: FxHashMap<Box<str>, f64>,
    timers: FxHashMap<Box<str>, Vec<f64>>,
    timer_counters: FxHashMap<Box<str>, f64>,
    gauges: FxHashMap<Box<str>, f64>,
    gauges_ttl: FxHashMap<Box<str>, u32>,
    sets: FxHashMap<Box<str>, FxHashSet<Box<str>>>,
    /// The previous flush's timestamp, for `timestamp_lag`.
    last_flush: Option<i64>,
    /// Timer values held since the last flush.
    timer_samples: usize,
}

/// Applies `f` to the value under `key`, inserting a default first if there is none. One hash
/// lookup for a key already seen (the usual case), and the key is copied only when new.
fn update<V: Default>(map: &mut FxHashMap<Box<str>, V>, key: &str, f: impl FnOnce(&mut V)) {
    match map.get_mut(key) {
        Some(v) => f(v),
        None => {
            let mut v = V::default();
            f(&mut v);
            map.insert(Box::from(key), v);
        }
    }
}

impl Aggregates {
    /// Starts a counter at zero, as etsy does for its own counters, so it is always flushed.
    pub fn init_counter(&mut self, key: &str) {
        update(&mut self.counters, key, |x| *x = 0.0);
    }

    /// Counts statsd's own internal counter `name` (under the stats prefix) by one.
    pub fn count_internal(&mut self, key: &str) {
        update(&mut self.counters, key, |x| *x += 1.0);
    }

    /// Adds one metric sample.
    /// Adds one metric sample; false if a memory limit refused it (a new key beyond
    /// `max_keys`, or a timer value beyond `max_timer_samples` in this interval).
    pub fn add(&mut self, metric: &StatsdMetric<'_>, settings: &StatsdSettings) -> bool {
        let key = metric.key.as_ref();
        if !self.has_room(key, &metric.value, settings) {
            return false;
        }
        match &metric.value {
            StatsdValue::Counter(v) => {
                update(&mut self.counters, key, |x| {
                    *x += v * (1.0 / metric.sample_rate)
                });
            }
            StatsdValue::Timer(v) => {
                update(&mut self.timers, key, |t| t.push(*v));
                update(&mut self.timer_counters, key, |x| {
                    *x += 1.0 / metric.sample_rate
                });
            }
            StatsdValue::Gauge(v) => {
                self.touch_gauge(key, settings);
                update(&mut self.gauges, key, |x| *x = *v);
            }
            StatsdValue::GaugeDelta(v) => {
                self.touch_gauge(key, settings);
                update(&mut self.gauges, key, |x| *x += v);
            }
            StatsdValue::Set(v) => {
                update(&mut self.sets, key, |set| {
                    if !set.contains(v.as_ref()) {
                        set.insert(Box::from(v.as_ref()));
                    }
                });
            }
        }
        true
    }

    /// Whether one more sample fits within the memory limits.
    fn has_room(&mut self, key: &str, value: &StatsdValue<'_>, settings: &StatsdSettings) -> bool {
        let keys = self.counters.len() + self.timers.len() + self.gauges.len() + self.sets.len();
        let is_new = match value {
            StatsdValue::Counter(_) => !self.counters.contains_key(key),
            StatsdValue::Timer(_) => !self.timers.contains_key(key),
            StatsdValue::Gauge(_) | StatsdValue::GaugeDelta(_) => !self.gauges.contains_key(key),
            StatsdValue::Set(_) => !self.sets.contains_key(key),
        };
        if is_new && keys >= settings.max_keys {
            return false;
        }
        if let StatsdValue::Timer(_) = value {
            if self.timer_samples >= settings.max_timer_samples {
                return false;
            }
            self.timer_samples += 1;
        }
        true
    }

    fn touch_gauge(&mut self, key: &str, settings: &StatsdSettings) {
        if settings.delete_gauges {
            update(&mut self.gauges_ttl, key, |x| *x = settings.gauges_max_ttl);
        }
    }

    /// Sets a gauge outright (service checks).
    pub fn set_gauge(&mut self, key: &str, value: f64, settings: &StatsdSettings) {
        self.touch_gauge(key, settings);
        update(&mut self.gauges, key, |x| *x = value);
    }

    /// Emits every metric as `(name, value)` at flush time `ts` (seconds), then resets.
    pub fn flush(&mut self, ts: i64, settings: &StatsdSettings, mut emit: impl FnMut(&str, f64)) {
        let lag_key = format!("{}.timestamp_lag", settings.prefix_stats);
        if let Some(last) = self.last_flush {
            let lag = (ts - last) as f64 - settings.flush_seconds;
            self.gauges.insert(lag_key.into_boxed_str(), lag);
        }
        self.last_flush = Some(ts);
        let names = &settings.names;
        let mut num_stats = 0u64;
        for (key, value) in sorted(&self.counters) {
            let rate = value / settings.flush_seconds;
            emit(&names.counter_rate(key), rate);
            if settings.flush_counts {
                emit(&names.counter_count(key), *value);
            }
            num_stats += 1;
        }
        for (key, values) in sorted(&self.timers) {
            let count = self.timer_counters.get(key).copied().unwrap_or(0.0);
            for (stat, value) in timer_stats(values, count, key, settings) {
                emit(&names.timer(key, &stat), value);
            }
            num_stats += 1;
        }
        for (key, value) in sorted(&self.gauges) {
            emit(&names.gauge(key), *value);
            num_stats += 1;
        }
        for (key, set) in sorted(&self.sets) {
            emit(&names.set(key), set.len() as f64);
            num_stats += 1;
        }
        emit(&names.num_stats(), num_stats as f64);
        self.reset(settings);
    }

    fn reset(&mut self, settings: &StatsdSettings) {
        self.timer_samples = 0;
        let internal = [".packets_received", ".metrics_received", ".bad_lines_seen"];
        if settings.delete_counters {
            self.counters
                .retain(|k, _| internal.iter().any(|i| k.contains(i)));
        }
        self.counters.values_mut().for_each(|v| *v = 0.0);
        if settings.delete_timers {
            self.timers.clear();
            self.timer_counters.clear();
        } else {
            self.timers.values_mut().for_each(Vec::clear);
            self.timer_counters.values_mut().for_each(|v| *v = 0.0);
        }
        if settings.delete_sets {
            self.sets.clear();
        } else {
            self.sets.values_mut().for_each(FxHashSet::clear);
        }
        if settings.delete_gauges {
            let mut expired = Vec::new();
            for (key, ttl) in &mut self.gauges_ttl {
                *ttl = ttl.saturating_sub(1);
                if *ttl < 1 {
                    expired.push(key.clone());
                }
            }
            for key in expired {
                self.gauges.remove(&key);
                self.gauges_ttl.remove(&key);
            }
        }
    }
}

fn sorted<V>(map: &FxHashMap<Box<str>, V>) -> Vec<(&str, &V)> {
    let mut entries: Vec<(&str, &V)> = map.iter().map(|(k, v)| (k.as_ref(), v)).collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// A percentile's name part, as JavaScript prints the number: `90`, `99_9`, `top10`.
fn clean_pct(pct: f64) -> String {
    format!("{pct}")
        .replacen('.', "_", 1)
        .replacen('-', "top", 1)
}

/// etsy's `process_metrics` for one timer: the (stat, value) pairs it emits.
fn timer_stats(
    values: &[f64],
    count_weighted: f64,
    key: &str,
    settings: &StatsdSettings,
) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    let flush = settings.flush_seconds;
    if values.is_empty() {
        out.push(("count".into(), 0.0));
        out.push(("count_ps".into(), 0.0));
        return filter(out, settings);
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let count = sorted.len();
    let (min, max) = (sorted[0], sorted[count - 1]);
    let mut cumulative = Vec::with_capacity(count);
    let mut cumulative_squares = Vec::with_capacity(count);
    let (mut sum, mut squares) = (0.0, 0.0);
    for (i, v) in sorted.iter().enumerate() {
        sum = if i == 0 { *v } else { sum + v };
        squares = if i == 0 { v * v } else { squares + v * v };
        cumulative.push(sum);
        cumulative_squares.push(squares);
    }
    let (mut p_sum, mut p_squares, mut mean, mut boundary) = (min, min * min, min, max);
    for &pct in &settings.percent_threshold {
        let mut in_threshold = count;
        if count > 1 {
            in_threshold = (pct.abs() / 100.0 * count as f64).round() as usize;
            if in_threshold == 0 {
                continue;
            }
            if pct > 0.0 {
                boundary = sorted[in_threshold - 1];
                p_sum = cumulative[in_threshold - 1];
                p_squares = cumulative_squares[in_threshold - 1];
            } else {
                boundary = sorted[count - in_threshold];
                let before = |c: &[f64]| {
                    if count > in_threshold {
                        c[count - in_threshold - 1]
                    } else {
                        0.0
                    }
                };
                p_sum = cumulative[count - 1] - before(&cumulative);
                p_squares = cumulative_squares[count - 1] - before(&cumulative_squares);
            }
            mean = p_sum / in_threshold as f64;
        }
        let clean = clean_pct(pct);
        out.push((format!("count_{clean}"), in_threshold as f64));
        out.push((format!("mean_{clean}"), mean));
        out.push((
            format!("{}_{clean}", if pct > 0.0 { "upper" } else { "lower" }),
            boundary,
        ));
        out.push((format!("sum_{clean}"), p_sum));
        out.push((format!("sum_squares_{clean}"), p_squares));
    }
    let mean = sum / count as f64;
    let diffs: f64 = sorted
        .iter()
        .map(|v| (v - mean) * (v - mean))
        .fold(0.0, |a, b| a + b);
    let mid = count / 2;
    let median = if count % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    };
    out.push(("std".into(), (diffs / count as f64).sqrt()));
    out.push(("upper".into(), max));
    out.push(("lower".into(), min));
    out.push(("count".into(), count_weighted));
    out.push(("count_ps".into(), count_weighted / flush));
    out.push(("sum".into(), sum));
    out.push(("sum_squares".into(), squares));
    out.push(("mean".into(), mean));
    out.push(("median".into(), median));
    for (bin, freq) in histogram(&sorted, key, settings) {
        out.push((format!("histogram.bin_{bin}"), freq as f64));
    }
    filter(out, settings)
}

/// The first histogram rule whose `metric` is in `key`, counted over sorted values.
fn histogram(sorted: &[f64], key: &str, settings: &StatsdSettings) -> Vec<(String, u64)> {
    let Some((_, bins)) = settings
        .histogram
        .iter()
        .find(|(metric, _)| key.contains(metric.as_str()))
    else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(bins.len());
    let mut i = 0;
    for bin in bins {
        let mut freq = 0;
        while i < sorted.len() && bin.is_none_or(|upper| sorted[i] < upper) {
            freq += 1;
            i += 1;
        }
        let name = bin.map_or("inf".to_owned(), |b| format!("{b}").replacen('.', "_", 1));
        out.push((name, freq));
    }
    out
}

/// etsy's `calculatedTimerMetrics`: keep only the listed stats, `_N` percentiles as `_percent`.
fn filter(stats: Vec<(String, f64)>, settings: &StatsdSettings) -> Vec<(String, f64)> {
    if settings.calculated_timer_metrics.is_empty() {
        return stats;
    }
    let general = |name: &str| -> String {
        if name.starts_with("histogram.") {
            return "histogram".to_owned();
        }
        let Some(cut) = name.rfind('_') else {
            return name.to_owned();
        };
        let tail = &name[cut + 1..];
        let digits = tail.strip_prefix("top").unwrap_or(tail);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            format!("{}_percent", &name[..cut])
        } else {
            name.to_owned()
        }
    };
    stats
        .into_iter()
        .filter(|(name, _)| settings.calculated_timer_metrics.contains(&general(name)))
        .collect()
}

#[cfg(test)]
mod tests;
