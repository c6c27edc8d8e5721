//! Evaluating targets: graphite-web's `evaluateTarget`, over a [`Source`] of stored series.
//!
//! A path fetches every series it matches, sorted by name, each with tags from its name and
//! the pattern as its `pathExpression`. A call evaluates its arguments left to right, binds
//! them to the function's declared parameters (converting and checking types as graphite-web's
//! `validateParams` does), then runs it. Functions that need data outside the request's range
//! (`timeShift`, `movingAverage`'s bootstrap, `hitcount` alignment) re-evaluate their first
//! argument's expression with another range through [`Eval::reevaluate`].

use std::collections::HashMap;
use std::sync::Arc;

use model::budget::{BudgetError, Lease, MemoryPool};

use jiff::tz::TimeZone;

use crate::functions;
use crate::grammar::{self, Call, Expr};
use crate::series::Series;
use crate::tagexpr::{self, TagExpr};

/// A series a source will read, known before any point is: its name, the source's handle for
/// it, and the window a read over the request's range returns (`slots()` values from `start`,
/// `step` apart; `end` exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub name: String,
    pub key: u64,
    /// Which of the series' resolutions the read uses (the source's own numbering).
    pub tier: u32,
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

impl Planned {
    /// How many values a read returns.
    pub fn slots(&self) -> usize {
        usize::try_from((self.end - self.start) / self.step.max(1)).unwrap_or(0)
    }
}

/// A planned series and the path expression that found it: a series list not read yet, which
/// the aggregations that can fold read one series at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub planned: Planned,
    pub path_expression: String,
}

/// Why a source could not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceErrorKind {
    /// The client's pattern or expression cannot be used (a 400).
    Invalid,
    /// The store cannot answer now: closed, or shutting down (a 503).
    Unavailable,
    /// The store failed reading (an I/O error, corrupt data: a 500).
    Failed,
    /// The request's time ran out while reading (a 504).
    Deadline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub kind: SourceErrorKind,
    pub message: String,
}

impl SourceError {
    pub fn new(kind: SourceErrorKind, message: impl Into<String>) -> SourceError {
        SourceError {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SourceError {}

/// Where series come from. Finding is separate from reading, so a request's memory is known
/// (series × slots) before any point is read, and aggregations can read one series at a time.
pub trait Source: Sync {
    /// Every series whose name matches the Graphite path pattern, sorted by name.
    fn find(&self, pattern: &str, from: i64, until: i64) -> Result<Vec<Planned>, SourceError>;
    /// Every tagged series matching all expressions, sorted by name.
    fn find_tagged(
        &self,
        exprs: &[TagExpr],
        from: i64,
        until: i64,
    ) -> Result<Vec<Planned>, SourceError>;
    /// A planned series' values, `planned.slots()` of them, `NaN` for nulls.
    fn read(&self, planned: &Planned) -> Result<Vec<f64>, SourceError>;
}

/// One series as whole-fetch sources hold it: whisper's fetch shape, `NaN` for nulls.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    pub name: String,
    pub start: i64,
    pub end: i64,
    pub step: i64,
    pub values: Vec<f64>,
}

/// A source that fetches whole series at once (fixtures, tools, benches).
pub trait FetchAll: Sync {
    fn fetch(&self, pattern: &str, from: i64, until: i64) -> Result<Vec<Fetched>, String>;
    fn fetch_tagged(
        &self,
        exprs: &[TagExpr],
        from: i64,
        until: i64,
    ) -> Result<Vec<Fetched>, String>;
}

/// A [`FetchAll`] as a [`Source`]: a find fetches, and keeps what it fetched for the reads.
#[derive(Debug, Default)]
pub struct Fetching<S> {
    inner: S,
    held: std::sync::Mutex<Vec<Vec<f64>>>,
}

impl<S: FetchAll> Fetching<S> {
    pub fn new(inner: S) -> Fetching<S> {
        Fetching {
            inner,
            held: std::sync::Mutex::new(Vec::new()),
        }
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn keep(&self, fetched: Result<Vec<Fetched>, String>) -> Result<Vec<Planned>, SourceError> {
        let fetched = fetched.map_err(|e| SourceError::new(SourceErrorKind::Invalid, e))?;
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        Ok(fetched
            .into_iter()
            .map(|f| {
                let key = held.len() as u64;
                let step = f.step.max(1);
                let planned = Planned {
                    name: f.name,
                    key,
                    tier: 0,
                    start: f.start,
                    end: f.end,
                    step,
                };
                held.push(f.values);
                planned
            })
            .collect())
    }
}

impl<S: FetchAll> Source for Fetching<S> {
    fn find(&self, pattern: &str, from: i64, until: i64) -> Result<Vec<Planned>, SourceError> {
        self.keep(self.inner.fetch(pattern, from, until))
    }

    fn find_tagged(
        &self,
        exprs: &[TagExpr],
        from: i64,
        until: i64,
    ) -> Result<Vec<Planned>, SourceError> {
        self.keep(self.inner.fetch_tagged(exprs, from, until))
    }

    fn read(&self, planned: &Planned) -> Result<Vec<f64>, SourceError> {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        usize::try_from(planned.key)
            .ok()
            .and_then(|k| held.get(k))
            .cloned()
            .ok_or_else(|| SourceError::new(SourceErrorKind::Failed, "no such series"))
    }
}

/// What an expression evaluates to.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    List(Vec<Series>),
    /// Series found but not read yet. Only the functions that can fold series one at a time
    /// (`sumSeries`, `countSeries`, `groupByNode`…) see this; every other function gets the
    /// series read, as a `List`.
    Lazy(Vec<Stored>),
    /// `mapSeries` output: a list of series lists.
    Lists(Vec<Vec<Series>>),
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    None,
}

impl Value {
    /// Python's `str()` of the value, as graphite-web stores tags.
    pub fn py_str(&self) -> String {
        match self {
            Value::Int(i) => i.to_string(),
            Value::Float(f) => crate::pyfmt::repr_f64(*f),
            Value::Str(s) => s.clone(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::None => "None".into(),
            Value::List(_) | Value::Lists(_) | Value::Lazy(_) => "[…]".into(),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::List(_) | Value::Lazy(_) => "a series list",
            Value::Lists(_) => "a list of series lists",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Bool(_) => "a boolean",
            Value::None => "None",
        }
    }
}

/// Why a target could not be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The client's mistake: graphite-web's `InputParameterError`, a 400.
    Input,
    /// The request alone needs more memory than a query may hold (a 400: ask for less).
    TooLarge,
    /// The queries in flight hold all of the server's query memory (a 503: retry).
    Busy,
    /// The store cannot answer now (a 503).
    Unavailable,
    /// The store failed (a 500).
    Failed,
    /// The request ran out of time (a 504).
    Deadline,
}

/// A target that cannot be evaluated, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    /// The client's mistake (a 400).
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Input,
            message: message.into(),
        }
    }
}

impl From<SourceError> for Error {
    fn from(e: SourceError) -> Error {
        let kind = match e.kind {
            SourceErrorKind::Invalid => ErrorKind::Input,
            SourceErrorKind::Unavailable => ErrorKind::Unavailable,
            SourceErrorKind::Failed => ErrorKind::Failed,
            SourceErrorKind::Deadline => ErrorKind::Deadline,
        };
        Error {
            kind,
            message: e.message,
        }
    }
}

impl From<BudgetError> for Error {
    fn from(e: BudgetError) -> Error {
        let kind = match e {
            BudgetError::Query { .. } => ErrorKind::TooLarge,
            BudgetError::Pool { .. } => ErrorKind::Busy,
        };
        let advice = match e {
            BudgetError::Query { .. } => "; narrow the targets, the time range or the intervals",
            BudgetError::Pool { .. } => "",
        };
        Error {
            kind,
            message: format!("{e}{advice}"),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<grammar::ParseError> for Error {
    fn from(e: grammar::ParseError) -> Error {
        Error::new(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The request a target is evaluated for.
#[derive(Debug, Clone)]
pub struct Request {
    pub from: i64,
    pub until: i64,
    pub now: i64,
    pub tz: TimeZone,
    /// `template[name]=value` parameters.
    pub templates: Vec<(String, String)>,
    /// The bytes one request may hold (8 a point it reads or makes), over all its paths.
    pub max_bytes: u64,
    /// The budget every request in flight draws from, when there is one.
    pub pool: Option<Arc<MemoryPool>>,
    /// The request's `xFilesFactor` parameter, until `setXFilesFactor` changes it.
    pub xff: Option<f64>,
}

/// One evaluation in progress: the request's range (which functions may shift), its
/// request-wide xFilesFactor and `stacked` totals, and how many points it has fetched.
pub struct Eval<'a> {
    source: &'a dyn Source,
    pub from: i64,
    pub until: i64,
    pub now: i64,
    pub tz: TimeZone,
    /// Set by `setXFilesFactor`; `None` means graphite-web's default of 0.
    pub xff: Option<f64>,
    replacements: Vec<(String, Value)>,
    templates: Vec<(String, String)>,
    pub(crate) stacks: HashMap<String, Vec<f64>>,
    lease: Lease,
    depth: usize,
}

impl std::fmt::Debug for Eval<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Eval")
            .field("from", &self.from)
            .field("until", &self.until)
            .finish()
    }
}

/// Evaluates every target of a request, in order, into one list.
pub fn evaluate(source: &dyn Source, request: &Request, targets: &[String]) -> Result<Vec<Series>> {
    let mut eval = Eval::new(source, request);
    let mut out = Vec::new();
    for target in targets {
        if target.trim().is_empty() {
            continue;
        }
        out.extend(eval.target(target)?);
    }
    Ok(out)
}

const MAX_DEPTH: usize = 64;

impl<'a> Eval<'a> {
    pub fn new(source: &'a dyn Source, request: &Request) -> Eval<'a> {
        Eval {
            source,
            from: request.from,
            until: request.until,
            now: request.now,
            tz: request.tz.clone(),
            xff: request.xff,
            replacements: Vec::new(),
            templates: request.templates.clone(),
            stacks: HashMap::new(),
            lease: Lease::new(request.pool.clone(), request.max_bytes),
            depth: 0,
        }
    }

    /// Parses and evaluates one target into series.
    pub fn target(&mut self, target: &str) -> Result<Vec<Series>> {
        let expr = grammar::parse(target)?;
        match self.eval(&expr)? {
            Value::List(list) => Ok(list),
            Value::None => Ok(Vec::new()),
            other => Err(Error::new(format!(
                "target `{target}` evaluates to {}, not series",
                other.kind()
            ))),
        }
    }

    /// Evaluates `expr` as if the request covered `from`..`until` (graphite-web's copied
    /// request context), then restores the range.
    pub fn reevaluate(&mut self, expr: &Expr, from: i64, until: i64) -> Result<Value> {
        let saved = (self.from, self.until);
        self.from = from;
        self.until = until;
        let result = self.eval(expr);
        (self.from, self.until) = saved;
        result
    }

    /// Evaluates a target text (`applyByNode`, `useSeriesAbove`) in the current range.
    pub fn eval_text(&mut self, target: &str) -> Result<Vec<Series>> {
        self.target(target)
    }

    /// Evaluates `expr`, with every series it holds read.
    pub fn eval(&mut self, expr: &Expr) -> Result<Value> {
        let value = self.eval_lazy(expr)?;
        self.force(value)
    }

    /// Evaluates `expr`, leaving the series lists of paths and `seriesByTag` unread.
    pub(crate) fn eval_lazy(&mut self, expr: &Expr) -> Result<Value> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(Error::new("target nests too deeply"));
        }
        let result = self.eval_inner(expr);
        self.depth -= 1;
        result
    }

    fn eval_inner(&mut self, expr: &Expr) -> Result<Value> {
        match expr {
            Expr::Path(path) => self.path(path),
            Expr::Call(call) => self.call(call),
            Expr::Str(s) => Ok(Value::Str(s.clone())),
            Expr::Int(i) => Ok(Value::Int(*i)),
            Expr::Float(f) => Ok(Value::Float(*f)),
            Expr::Bool(b) => Ok(Value::Bool(*b)),
            Expr::None => Ok(Value::None),
            Expr::Inf => Ok(Value::Float(f64::INFINITY)),
            Expr::Template(t) => {
                let mut values = Vec::new();
                for (name, value) in &t.values {
                    let v = match value {
                        Expr::Str(s) => Value::Str(s.clone()),
                        Expr::Int(i) => Value::Int(*i),
                        Expr::Float(f) => Value::Float(*f),
                        Expr::Bool(b) => Value::Bool(*b),
                        Expr::None => Value::None,
                        Expr::Inf => Value::Float(f64::INFINITY),
                        _ => {
                            return Err(Error::new(
                                "invalid template() syntax, only string/numeric arguments are allowed",
                            ));
                        }
                    };
                    values.push((name.clone(), v));
                }
                for (name, value) in &self.templates {
                    values.retain(|(n, _)| n != name);
                    values.push((name.clone(), Value::Str(value.clone())));
                }
                let saved = std::mem::replace(&mut self.replacements, values);
                let result = self.eval(&t.inner);
                self.replacements = saved;
                result
            }
        }
    }

    fn path(&mut self, path: &str) -> Result<Value> {
        let mut expression = path.to_owned();
        for (name, value) in &self.replacements {
            let key = format!("${name}");
            if expression == key {
                return Ok(match value {
                    Value::Str(s) if is_numberish(s) => {
                        s.parse().map_or(value.clone(), Value::Float)
                    }
                    _ => value.clone(),
                });
            }
            expression = expression.replace(&key, &value.py_str());
        }
        let planned = self.source.find(&expression, self.from, self.until)?;
        Ok(stored(planned, &expression))
    }

    /// Counts `points` (8 bytes each) against the request's budget: what it reads and what
    /// functions generate (`summarize` buckets, `identity`, `events`…), before it is made.
    pub(crate) fn charge(&mut self, points: usize) -> Result<()> {
        self.charge_bytes((points as u64).saturating_mul(8))
    }

    /// Counts `bytes` against the request's budget.
    pub(crate) fn charge_bytes(&mut self, bytes: u64) -> Result<()> {
        Ok(self.lease.grow(bytes)?)
    }

    /// The source series are read from.
    pub(crate) fn source(&self) -> &'a dyn Source {
        self.source
    }

    /// `value` with its unread series read (charged before they are).
    pub(crate) fn force(&mut self, value: Value) -> Result<Value> {
        match value {
            Value::Lazy(stored) => Ok(Value::List(self.read_all(stored)?)),
            other => Ok(other),
        }
    }

    /// Reads planned series into series, in order; large lists are read across the cores.
    pub(crate) fn read_all(&mut self, stored: Vec<Stored>) -> Result<Vec<Series>> {
        self.charge(stored.iter().map(|s| s.planned.slots()).sum())?;
        let source = self.source;
        let values = crate::fold::in_blocks(&stored, |block| {
            block
                .iter()
                .map(|s| source.read(&s.planned))
                .collect::<Result<Vec<_>, SourceError>>()
        })?;
        let xff = self.xff;
        Ok(stored
            .into_iter()
            .zip(values.into_iter().flatten())
            .map(|(s, values)| {
                let p = s.planned;
                let mut series = Series::new(p.name, p.start, p.end, p.step, values);
                series.path_expression = s.path_expression;
                if let Some(xff) = xff {
                    series.x_files_factor = xff;
                }
                series
            })
            .collect())
    }

    fn call(&mut self, call: &Call) -> Result<Value> {
        if call.name == "seriesByTag" {
            return self.series_by_tag(call);
        }
        if call.name == "template" {
            return Err(Error::new(
                "invalid template() syntax, only string/numeric arguments are allowed",
            ));
        }
        let Some(def) = functions::lookup(&call.name) else {
            return Err(Error::new(format!(
                "Received request for unknown function: {}",
                call.name
            )));
        };
        let lazy = functions::takes_unread(def.name);
        let mut args = Vec::with_capacity(call.args.len());
        for arg in &call.args {
            args.push(if lazy {
                self.eval_lazy(arg)?
            } else {
                self.eval(arg)?
            });
        }
        let mut kwargs = Vec::with_capacity(call.kwargs.len());
        for (name, arg) in &call.kwargs {
            kwargs.push((name.clone(), self.eval(arg)?));
        }
        let mut bound = functions::bind(def, args, kwargs)?;
        (def.imp)(self, call, &mut bound)
    }

    fn series_by_tag(&mut self, call: &Call) -> Result<Value> {
        let mut texts = Vec::new();
        for arg in &call.args {
            match self.eval(arg)? {
                Value::Str(s) => texts.push(s),
                other => {
                    return Err(Error::new(format!(
                        "seriesByTag takes strings, not {}",
                        other.kind()
                    )));
                }
            }
        }
        self.tagged(&texts, &call.raw)
    }

    /// The series matching tag expressions, with `raw` (the call's text) as their
    /// `pathExpression`, as graphite-web fetches `seriesByTag`.
    pub(crate) fn tagged(&mut self, texts: &[String], raw: &str) -> Result<Value> {
        let exprs = tagexpr::parse_all(texts).map_err(Error::new)?;
        let planned = self.source.find_tagged(&exprs, self.from, self.until)?;
        Ok(stored(planned, raw))
    }
}

fn stored(planned: Vec<Planned>, path_expression: &str) -> Value {
    Value::Lazy(
        planned
            .into_iter()
            .map(|planned| Stored {
                planned,
                path_expression: path_expression.to_owned(),
            })
            .collect(),
    )
}

fn is_numberish(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}
