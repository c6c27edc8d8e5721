//! Aggregations: counts over time, top values, numeric statistics, grouped by up to two fields.
//!
//! An [`Aggregate`] is built from API parameters or from the pipe form of a query
//! (`event:payment | stats sum(amount) by currency`, see [`parse_pipe`]). It runs as one
//! tantivy aggregation per day partition; the partial results merge before they are finalised,
//! so terms, percentiles and cardinalities are exact across days as far as tantivy's own are.
//! The answer is a table: one [`Row`] per bucket (time, group keys), with the event count and
//! each metric, plus the same metrics over everything matched.

use std::fmt;

use serde_json::{Value, json};

use crate::store::CORE;

/// The most buckets of one group-by level, and the default.
pub const MAX_GROUPS: usize = 10_000;
pub const DEFAULT_GROUPS: usize = 100;
/// An automatic interval aims at about this many time buckets.
const AUTO_BUCKETS: i64 = 60;
/// The most time buckets a fixed interval may produce.
pub const MAX_TIME_BUCKETS: i64 = 10_000;

const SECOND_NS: i64 = 1_000_000_000;

/// The key tantivy gives the bucket of events without a group-by field; rows show it as `null`.
/// No sender can write it: it starts with a control character that JSON text escapes.
const MISSING_KEY: &str = "\u{1}missing";

/// A statistic of the matched events.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricKind {
    /// Events (no field), or events that have the field.
    Count,
    Sum,
    Avg,
    Min,
    Max,
    /// The given percentile (0–100) of a numeric field.
    Percentile(f64),
    /// Distinct values (approximate above a few thousand: HyperLogLog).
    Cardinality,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub kind: MetricKind,
    /// The field as the user wrote it (`amount`, `user.email`, `service`).
    pub field: Option<String>,
}

impl fmt::Display for Metric {
    /// The metric's column name, as the pipe form spells it: `sum(amount)`, `p95(latency_ms)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.field.as_deref().unwrap_or("");
        match &self.kind {
            MetricKind::Count => write!(f, "count({field})"),
            MetricKind::Sum => write!(f, "sum({field})"),
            MetricKind::Avg => write!(f, "avg({field})"),
            MetricKind::Min => write!(f, "min({field})"),
            MetricKind::Max => write!(f, "max({field})"),
            MetricKind::Percentile(p) => write!(f, "p{}({field})", trim_float(*p)),
            MetricKind::Cardinality => write!(f, "cardinality({field})"),
        }
    }
}

fn trim_float(p: f64) -> String {
    let s = format!("{p}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_owned)
}

/// The time buckets of an aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// About sixty buckets over the range, at a round width.
    Auto,
    /// A fixed width, in nanoseconds (a whole number of milliseconds, at least one).
    Fixed(i64),
}

/// What to compute over the events a query matches in a time range.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub query: String,
    pub from_ns: i64,
    pub until_ns: i64,
    /// Computed per row and over everything; an empty list still counts events.
    pub metrics: Vec<Metric>,
    /// Up to two fields; each level keeps its `size` most frequent values.
    pub group_by: Vec<String>,
    pub size: usize,
    pub interval: Option<Interval>,
}

/// One bucket: its start (with an interval), its group values, its event count and metrics
/// (in the order asked; `None` where no event had the field).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub time_ns: Option<i64>,
    pub key: Vec<Value>,
    pub count: u64,
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AggregateResult {
    /// Events matched.
    pub total: u64,
    /// The bucket width used, when time buckets were asked for.
    pub interval_ns: Option<i64>,
    pub rows: Vec<Row>,
    /// The metrics over every matched event.
    pub totals: Vec<Option<f64>>,
    /// Events that fell outside the first group-by field's top `size` values (events without the
    /// field form a bucket of their own, keyed `null`, so rows plus `other` make `total`).
    pub other: u64,
}

/// The schema path of a field as a user names it: core fields as they are, the sender's under
/// `fields.`.
pub(crate) fn field_path(name: &str) -> String {
    let root = name.split('.').next().unwrap_or("");
    if CORE.contains(&root) {
        name.to_owned()
    } else {
        format!("fields.{name}")
    }
}

/// Checks that `field` has a column an aggregation can read: every field but the message (full
/// text, indexed word by word) and the whole `fields` object. `what` is the operation, for the
/// message.
fn columnar(field: &str, what: &str) -> Result<(), String> {
    match field {
        "message" => Err(format!(
            "cannot {what} `message`: the message is full text, indexed word by word, so it has \
             no single value per event to group or compute on; use level, service, host or a \
             field the senders write (such as `event`), and search the message with words"
        )),
        "timestamp" => Err(format!(
            "cannot {what} `timestamp`: count over time with `| timechart` or `interval=`"
        )),
        "fields" | "" => Err(format!(
            "cannot {what} the whole `fields` object; name a field inside it, such as `user.id`"
        )),
        _ => Ok(()),
    }
}

/// A round bucket width giving about [`AUTO_BUCKETS`] buckets over `span_ns`.
pub fn auto_interval(span_ns: i64) -> i64 {
    const LADDER_S: [i64; 17] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 10_800, 21_600, 43_200, 86_400,
    ];
    let want = span_ns / AUTO_BUCKETS;
    for s in LADDER_S {
        if s * SECOND_NS >= want {
            return s * SECOND_NS;
        }
    }
    // Whole days beyond that.
    let day = 86_400 * SECOND_NS;
    ((want + day - 1) / day).max(1) * day
}

impl Aggregate {
    /// The interval actually used, checked against the bucket cap.
    pub(crate) fn interval_ns(&self) -> Result<Option<i64>, String> {
        let span = self.until_ns.saturating_sub(self.from_ns).max(1);
        match self.interval {
            None => Ok(None),
            Some(Interval::Auto) => Ok(Some(auto_interval(span))),
            Some(Interval::Fixed(ns)) => {
                if ns < 1_000_000 || ns % 1_000_000 != 0 {
                    return Err("the interval must be a whole number of milliseconds".into());
                }
                if span / ns > MAX_TIME_BUCKETS {
                    return Err(format!(
                        "an interval of {}s gives {} buckets over this range; the most is {MAX_TIME_BUCKETS}",
                        ns / SECOND_NS,
                        span / ns
                    ));
                }
                Ok(Some(ns))
            }
        }
    }

    /// tantivy's (Elasticsearch-shaped) aggregation request: the metrics at the top, and the
    /// bucket levels (time, then each group-by) nested as `b`, each holding the metrics.
    pub(crate) fn request(&self, interval_ns: Option<i64>) -> Result<Value, String> {
        if self.group_by.len() > 2 {
            return Err("group by at most two fields".into());
        }
        for field in &self.group_by {
            columnar(field, "group by")?;
        }
        let mut metrics = serde_json::Map::new();
        for (i, m) in self.metrics.iter().enumerate() {
            let Some(field) = m.field.as_deref() else {
                if m.kind != MetricKind::Count {
                    return Err(format!("{m} needs a field"));
                }
                continue;
            };
            columnar(field, &format!("compute {m} on"))?;
            let field = field_path(field);
            let spec = match &m.kind {
                MetricKind::Count => json!({"value_count": {"field": field}}),
                MetricKind::Sum => json!({"sum": {"field": field}}),
                MetricKind::Avg => json!({"avg": {"field": field}}),
                MetricKind::Min => json!({"min": {"field": field}}),
                MetricKind::Max => json!({"max": {"field": field}}),
                MetricKind::Percentile(p) => {
                    if !(0.0..=100.0).contains(p) {
                        return Err(format!("{m}: a percentile is between 0 and 100"));
                    }
                    json!({"percentiles": {"field": field, "percents": [p], "keyed": false}})
                }
                MetricKind::Cardinality => json!({"cardinality": {"field": field}}),
            };
            metrics.insert(format!("m{i}"), spec);
        }
        let size = self.size.clamp(1, MAX_GROUPS);
        let mut inner = Value::Object(metrics.clone());
        for field in self.group_by.iter().rev() {
            let mut level = json!({"terms": {
                "field": field_path(field),
                "size": size,
                "shard_size": size.saturating_mul(2).max(100),
                "missing": MISSING_KEY,
            }});
            if inner.as_object().is_some_and(|o| !o.is_empty()) {
                level["aggs"] = inner;
            }
            inner = json!({ "b": level });
        }
        if let Some(ns) = interval_ns {
            let ms = ns / 1_000_000;
            let mut level = json!({"date_histogram": {
                "field": "timestamp",
                "fixed_interval": format!("{ms}ms"),
                "min_doc_count": 0,
                "extended_bounds": {
                    "min": (self.from_ns / 1_000_000) as f64,
                    "max": ((self.until_ns - 1) / 1_000_000) as f64,
                },
            }});
            if inner.as_object().is_some_and(|o| !o.is_empty()) {
                level["aggs"] = inner;
            }
            inner = json!({ "b": level });
        }
        let mut top = metrics;
        if let Some(b) = inner
            .get("b")
            .filter(|_| interval_ns.is_some() || !self.group_by.is_empty())
        {
            top.insert("b".into(), b.clone());
        }
        Ok(Value::Object(top))
    }

    /// Reads tantivy's final result (as JSON) into rows.
    pub(crate) fn rows(
        &self,
        total: u64,
        interval_ns: Option<i64>,
        result: &Value,
    ) -> AggregateResult {
        let totals = self.values(result, total);
        let mut rows = Vec::new();
        let mut other = 0;
        let levels = usize::from(interval_ns.is_some()) + self.group_by.len();
        if levels == 0 {
            rows.push(Row {
                time_ns: None,
                key: Vec::new(),
                count: total,
                values: totals.clone(),
            });
        } else {
            let mut key = Vec::new();
            self.walk(
                result.get("b"),
                interval_ns.is_some(),
                0,
                None,
                &mut key,
                &mut rows,
                &mut other,
            );
        }
        AggregateResult {
            total,
            interval_ns,
            rows,
            totals,
            other,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        level: Option<&Value>,
        is_time: bool,
        depth: usize,
        time_ns: Option<i64>,
        key: &mut Vec<Value>,
        rows: &mut Vec<Row>,
        other: &mut u64,
    ) {
        let Some(level) = level else { return };
        if !is_time && depth == 0 {
            *other += level
                .get("sum_other_doc_count")
                .and_then(Value::as_u64)
                .unwrap_or(0);
        }
        let Some(buckets) = level.get("buckets").and_then(Value::as_array) else {
            return;
        };
        let last = depth + 1 == self.group_by.len();
        for bucket in buckets {
            let count = bucket.get("doc_count").and_then(Value::as_u64).unwrap_or(0);
            let (time_ns, pushed) = if is_time {
                let ms = bucket.get("key").and_then(Value::as_f64).unwrap_or(0.0);
                (Some((ms as i64).saturating_mul(1_000_000)), false)
            } else {
                key.push(match bucket.get("key") {
                    Some(Value::String(k)) if k == MISSING_KEY => Value::Null,
                    Some(k) => k.clone(),
                    None => Value::Null,
                });
                (time_ns, true)
            };
            let leaf = if is_time {
                self.group_by.is_empty()
            } else {
                last
            };
            if leaf {
                rows.push(Row {
                    time_ns,
                    key: key.clone(),
                    count,
                    values: self.values(bucket, count),
                });
            } else {
                let next_depth = if is_time { 0 } else { depth + 1 };
                self.walk(
                    bucket.get("b"),
                    false,
                    next_depth,
                    time_ns,
                    key,
                    rows,
                    other,
                );
            }
            if pushed {
                key.pop();
            }
        }
    }

    /// The metrics of one bucket (or of the top level), in the order asked.
    fn values(&self, bucket: &Value, count: u64) -> Vec<Option<f64>> {
        self.metrics
            .iter()
            .enumerate()
            .map(|(i, m)| {
                if m.field.is_none() {
                    return Some(count as f64);
                }
                let r = bucket.get(format!("m{i}"))?;
                match m.kind {
                    MetricKind::Percentile(_) => r
                        .get("values")
                        .and_then(Value::as_array)
                        .and_then(|v| v.first())
                        .and_then(|v| v.get("value"))
                        .and_then(Value::as_f64),
                    MetricKind::Sum | MetricKind::Count | MetricKind::Cardinality => {
                        Some(r.get("value").and_then(Value::as_f64).unwrap_or(0.0))
                    }
                    _ => r.get("value").and_then(Value::as_f64),
                }
            })
            .collect()
    }
}

/// The pipe part of a query: `stats <metric>, … [by <field>[, <field>]]`, or `timechart
/// [span=<duration>] <metric>, … [by <field>]` for time buckets. Returns the search part and
/// what to compute, or the error and its position in `query`.
pub fn parse_pipe(query: &str) -> Result<Option<(String, PipeSpec)>, (usize, String)> {
    let Some(bar) = pipe_position(query) else {
        return Ok(None);
    };
    // Only the end is trimmed, so positions in the search part stay positions in `query`.
    let search = query[..bar].trim_end().to_owned();
    let mut spec = PipeSpec::default();
    let mut lexer = Lexer {
        text: query,
        pos: bar + 1,
    };
    let (start, command) = lexer.word().ok_or((
        lexer.pos,
        "expected `stats` or `timechart` after `|`".to_owned(),
    ))?;
    match command.to_ascii_lowercase().as_str() {
        "stats" => {}
        "timechart" => spec.interval = Some(Interval::Auto),
        other => {
            return Err((
                start,
                format!(
                    "unknown command `{other}`{}; expected `stats` or `timechart`",
                    model::suggest::did_you_mean(other, ["stats", "timechart"])
                ),
            ));
        }
    }
    loop {
        lexer.skip_space();
        let at = lexer.pos;
        let Some((_, word)) = lexer.word() else {
            if lexer.pos < query.len() {
                return Err((
                    lexer.pos,
                    "expected a metric such as count() or sum(amount)".into(),
                ));
            }
            break;
        };
        let lower = word.to_ascii_lowercase();
        if lower == "by" {
            loop {
                lexer.skip_space();
                let (_, field) = lexer
                    .field()
                    .ok_or((at, "expected a field name after `by`".to_owned()))?;
                spec.group_by.push(field.to_owned());
                lexer.skip_space();
                if !lexer.eat(',') {
                    break;
                }
            }
            if spec.group_by.len() > 2 {
                return Err((at, "group by at most two fields".into()));
            }
            lexer.skip_space();
            if lexer.pos < query.len() {
                return Err((
                    lexer.pos,
                    "unexpected text after the group-by fields".into(),
                ));
            }
            break;
        }
        if let Some(span) = lower.strip_prefix("span=") {
            let ns = parse_duration(span).ok_or((at, format!("invalid span `{span}`")))?;
            spec.interval = Some(Interval::Fixed(ns));
            continue;
        }
        lexer.skip_space();
        let mut field = None;
        let mut args = Vec::new();
        if lexer.eat('(') {
            loop {
                lexer.skip_space();
                if lexer.eat(')') {
                    break;
                }
                let (_, arg) = lexer
                    .field()
                    .ok_or((lexer.pos, "expected a field name or `)`".to_owned()))?;
                args.push(arg.to_owned());
                lexer.skip_space();
                if lexer.eat(')') {
                    break;
                }
                if !lexer.eat(',') {
                    return Err((lexer.pos, "expected `,` or `)`".into()));
                }
            }
        }
        if let Some(first) = args.first()
            && first != "*"
        {
            field = Some(first.clone());
        }
        let kind = match lower.as_str() {
            "count" => MetricKind::Count,
            "sum" => MetricKind::Sum,
            "avg" | "mean" => MetricKind::Avg,
            "min" => MetricKind::Min,
            "max" => MetricKind::Max,
            "median" => MetricKind::Percentile(50.0),
            "cardinality" | "dc" | "distinct_count" | "unique" => MetricKind::Cardinality,
            "percentile" | "perc" => {
                let p = args
                    .get(1)
                    .and_then(|p| p.parse::<f64>().ok())
                    .ok_or((at, "percentile(field, p) needs a percentile p".to_owned()))?;
                MetricKind::Percentile(p)
            }
            p if p.starts_with('p') && p[1..].parse::<f64>().is_ok() => {
                MetricKind::Percentile(p[1..].parse().unwrap_or(50.0))
            }
            _ => {
                return Err((
                    at,
                    format!(
                        "unknown function `{word}`{}; expected count, sum, avg, min, max, median, pNN, percentile or cardinality",
                        model::suggest::did_you_mean(word, FUNCTIONS)
                    ),
                ));
            }
        };
        if kind != MetricKind::Count && field.is_none() {
            return Err((at, format!("{word}() needs a field")));
        }
        spec.metrics.push(Metric { kind, field });
        lexer.skip_space();
        lexer.eat(',');
    }
    if spec.metrics.is_empty() {
        spec.metrics.push(Metric {
            kind: MetricKind::Count,
            field: None,
        });
    }
    Ok(Some((search, spec)))
}

/// What a pipe asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipeSpec {
    pub metrics: Vec<Metric>,
    pub group_by: Vec<String>,
    pub interval: Option<Interval>,
}

/// The names [`parse_pipe`] knows a metric by.
const FUNCTIONS: [&str; 12] = [
    "count",
    "sum",
    "avg",
    "mean",
    "min",
    "max",
    "median",
    "percentile",
    "cardinality",
    "dc",
    "distinct_count",
    "unique",
];

/// The byte offset of the first `|` outside quotes that is not half of the `||` operator.
pub fn pipe_position(query: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    let bytes = query.as_bytes();
    for (i, c) in query.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '|' if !quoted => {
                let doubled = bytes.get(i + 1) == Some(&b'|') || i > 0 && bytes[i - 1] == b'|';
                if !doubled {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `30s`, `5m`, `1h`, `1d`, `500ms` (the one duration grammar, `model::HumanDuration`) in
/// nanoseconds; none for zero.
pub fn parse_duration(text: &str) -> Option<i64> {
    let d: model::HumanDuration = text.parse().ok()?;
    Some(d.as_nanos()).filter(|ns| *ns > 0)
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn skip_space(&mut self) {
        while self.text[self.pos..].starts_with(char::is_whitespace) {
            self.pos += self.text[self.pos..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.text[self.pos..].starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn take_while(&mut self, ok: impl Fn(char) -> bool) -> Option<(usize, &'a str)> {
        self.skip_space();
        let start = self.pos;
        let len = self.text[start..]
            .find(|c: char| !ok(c))
            .unwrap_or(self.text.len() - start);
        self.pos += len;
        (len > 0).then(|| (start, &self.text[start..start + len]))
    }

    /// A function name or keyword (letters, digits, `_`, `=` for `span=1h`).
    fn word(&mut self) -> Option<(usize, &'a str)> {
        self.take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '=' | '.'))
    }

    /// A field path or argument.
    fn field(&mut self) -> Option<(usize, &'a str)> {
        self.take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '@' | '-' | '*'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(kind: MetricKind, field: Option<&str>) -> Metric {
        Metric {
            kind,
            field: field.map(str::to_owned),
        }
    }

    #[test]
    fn pipes_parse() {
        let (search, spec) = parse_pipe("event:payment | stats sum(amount) by currency")
            .unwrap()
            .unwrap();
        assert_eq!(search, "event:payment");
        assert_eq!(spec.metrics, vec![metric(MetricKind::Sum, Some("amount"))]);
        assert_eq!(spec.group_by, vec!["currency"]);
        assert_eq!(spec.interval, None);

        let (_, spec) =
            parse_pipe("x | stats count(), p95(latency_ms), dc(user.id) by service, level")
                .unwrap()
                .unwrap();
        assert_eq!(
            spec.metrics,
            vec![
                metric(MetricKind::Count, None),
                metric(MetricKind::Percentile(95.0), Some("latency_ms")),
                metric(MetricKind::Cardinality, Some("user.id")),
            ]
        );
        assert_eq!(spec.group_by, vec!["service", "level"]);
        assert_eq!(spec.metrics[1].to_string(), "p95(latency_ms)");

        let (search, spec) = parse_pipe("| timechart span=1h count by level")
            .unwrap()
            .unwrap();
        assert_eq!(search, "");
        assert_eq!(spec.interval, Some(Interval::Fixed(3600 * SECOND_NS)));
        assert_eq!(spec.metrics, vec![metric(MetricKind::Count, None)]);

        assert_eq!(parse_pipe("message:\"a | b\"").unwrap(), None);
    }

    #[test]
    fn pipe_errors_point_at_the_problem() {
        let q = "x | stats total(amount)";
        assert_eq!(parse_pipe(q).unwrap_err().0, q.find("total").unwrap());
        let q = "x | chart count()";
        assert_eq!(parse_pipe(q).unwrap_err().0, q.find("chart").unwrap());
        let q = "x | stats sum()";
        assert!(parse_pipe(q).unwrap_err().1.contains("needs a field"));
        let q = "x | stats count() by a, b, c";
        assert!(parse_pipe(q).unwrap_err().1.contains("at most two"));
        // A trailing `by` is pointed at, not the metric before it.
        let q = "| timechart count() by";
        assert_eq!(
            parse_pipe(q).unwrap_err(),
            (
                q.find("by").unwrap(),
                "expected a field name after `by`".to_owned()
            )
        );
        let (at, message) = parse_pipe("x | stats summ(amount)").unwrap_err();
        assert_eq!(at, 10);
        assert!(
            message.contains("unknown function `summ`; did you mean `sum`?"),
            "{message}"
        );
        let (at, message) = parse_pipe("x | stat count()").unwrap_err();
        assert_eq!(at, 4);
        assert!(message.contains("did you mean `stats`?"), "{message}");
    }

    #[test]
    fn the_or_operator_is_not_a_pipe() {
        assert_eq!(pipe_position("a || b"), None);
        assert_eq!(pipe_position("a || b | stats count()"), Some(7));
        assert_eq!(pipe_position("msg:\"a | b\""), None);
        assert_eq!(pipe_position("x | stats summ(amount)"), Some(2));
    }

    #[test]
    fn automatic_intervals_are_round() {
        assert_eq!(auto_interval(3600 * SECOND_NS), 60 * SECOND_NS);
        assert_eq!(auto_interval(86_400 * SECOND_NS), 1800 * SECOND_NS);
        assert_eq!(auto_interval(7 * 86_400 * SECOND_NS), 10_800 * SECOND_NS);
        assert_eq!(
            auto_interval(365 * 86_400 * SECOND_NS),
            7 * 86_400 * SECOND_NS
        );
    }
}
