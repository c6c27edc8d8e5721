//! Evaluating targets: graphite-web's `evaluateTarget`, over a [`Source`] of stored series.
//!
//! A path fetches every series it matches, sorted by name, each with tags from its name and
//! the pattern as its `pathExpression`. A call evaluates its arguments left to right, binds
//! them to the function's declared parameters (converting and checking types as graphite-web's
//! `validateParams` does), then runs it. Functions that need data outside the request's range
//! (`timeShift`, `movingAverage`'s bootstrap, `hitcount` alignment) re-evaluate their first
//! argument's expression with another range through [`Eval::reevaluate`].

use std::collections::HashMap;

use jiff::tz::TimeZone;

use crate::functions;
use crate::grammar::{self, Call, Expr};
use crate::series::Series;
use crate::tagexpr::{self, TagExpr};

/// One stored series as a source returns it: whisper's fetch shape, `NaN` for nulls.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    pub name: String,
    pub start: i64,
    pub end: i64,
    pub step: i64,
    pub values: Vec<f64>,
}

/// Where series come from. Both methods return series sorted by name.
pub trait Source: Sync {
    /// Every series whose name matches the Graphite path pattern.
    fn fetch(&self, pattern: &str, from: i64, until: i64) -> Result<Vec<Fetched>, String>;
    /// Every tagged series matching all expressions.
    fn fetch_tagged(
        &self,
        exprs: &[TagExpr],
        from: i64,
        until: i64,
    ) -> Result<Vec<Fetched>, String>;
}

/// What an expression evaluates to.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    List(Vec<Series>),
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
            Value::List(_) | Value::Lists(_) => "[…]".into(),
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
            Value::List(_) => "a series list",
            Value::Lists(_) => "a list of series lists",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Bool(_) => "a boolean",
            Value::None => "None",
        }
    }
}

/// A target that cannot be evaluated: graphite-web's `InputParameterError`, a 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: String,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
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
    /// The most points one request may fetch, over all its paths.
    pub max_points: usize,
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
    fetched_points: usize,
    max_points: usize,
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
            fetched_points: 0,
            max_points: request.max_points,
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

    pub fn eval(&mut self, expr: &Expr) -> Result<Value> {
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
        let fetched = self
            .source
            .fetch(&expression, self.from, self.until)
            .map_err(Error::new)?;
        self.series_from(fetched, &expression)
    }

    /// Counts `points` against the request's budget: what it fetched and what functions
    /// generate (`summarize` buckets, `identity`, `events`…).
    pub(crate) fn charge(&mut self, points: usize) -> Result<()> {
        self.fetched_points = self.fetched_points.saturating_add(points);
        if self.fetched_points > self.max_points {
            return Err(Error::new(format!(
                "the request would hold more than {} points; narrow the targets, the time range or the intervals",
                self.max_points
            )));
        }
        Ok(())
    }

    fn series_from(&mut self, fetched: Vec<Fetched>, path_expression: &str) -> Result<Value> {
        self.charge(fetched.iter().map(|f| f.values.len()).sum())?;
        let list = fetched
            .into_iter()
            .map(|f| {
                let mut s = Series::new(f.name, f.start, f.end, f.step, f.values);
                s.path_expression = path_expression.to_owned();
                if let Some(xff) = self.xff {
                    s.x_files_factor = xff;
                }
                s
            })
            .collect();
        Ok(Value::List(list))
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
        let mut args = Vec::with_capacity(call.args.len());
        for arg in &call.args {
            args.push(self.eval(arg)?);
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
        let fetched = self
            .source
            .fetch_tagged(&exprs, self.from, self.until)
            .map_err(Error::new)?;
        self.series_from(fetched, raw)
    }
}

fn is_numberish(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}
