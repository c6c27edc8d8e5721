//! The function library: every function's declared parameters, and the code that binds a call's
//! arguments to them.
//!
//! Each function is declared once, with a signature in a small notation that is parsed when the
//! registry is first used: `name:type` per parameter, `!` for required, `*` for "takes the rest",
//! `=default` (a number, `inf`, `true`/`false`, `none` or `'text'`) and `{a|b}` for allowed
//! options. The same declarations bind arguments (graphite-web's `validateParams`, with its
//! conversions and error wording) and answer `/functions`.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::eval::{Error, Eval, Result, Value};
use crate::grammar::{self, Call, Expr};
use crate::series::{Consolidation, NULL, Series};

mod alias;
pub(crate) mod combine;
mod docs;
mod filter;
mod graph;
mod special;
mod transform;
mod window;

pub use docs::description;

pub(crate) type Imp = fn(&mut Eval<'_>, &Call, &mut Bound) -> Result<Value>;

/// One entry of the declaration tables: name, group, signature, implementation, and whether it
/// aggregates a list into one series (so it may be named as a `groupBy*` callback).
pub(crate) type Decl = (&'static str, &'static str, &'static str, Imp, bool);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Boolean,
    Date,
    Float,
    Integer,
    Interval,
    IntOrInterval,
    IntOrInf,
    Node,
    NodeOrTag,
    Series,
    SeriesList,
    SeriesLists,
    String,
    Tag,
    Any,
    AggFunc,
    AggOrSeriesFunc,
}

impl Ty {
    fn parse(name: &str) -> Option<Ty> {
        Some(match name {
            "boolean" => Ty::Boolean,
            "date" => Ty::Date,
            "float" => Ty::Float,
            "integer" => Ty::Integer,
            "interval" => Ty::Interval,
            "intOrInterval" => Ty::IntOrInterval,
            "intOrInf" => Ty::IntOrInf,
            "node" => Ty::Node,
            "nodeOrTag" => Ty::NodeOrTag,
            "series" => Ty::Series,
            "seriesList" => Ty::SeriesList,
            "seriesLists" => Ty::SeriesLists,
            "string" => Ty::String,
            "tag" => Ty::Tag,
            "any" => Ty::Any,
            "aggFunc" => Ty::AggFunc,
            "aggOrSeriesFunc" => Ty::AggOrSeriesFunc,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Ty::Boolean => "boolean",
            Ty::Date => "date",
            Ty::Float => "float",
            Ty::Integer => "integer",
            Ty::Interval => "interval",
            Ty::IntOrInterval => "intOrInterval",
            Ty::IntOrInf => "intOrInf",
            Ty::Node => "node",
            Ty::NodeOrTag => "nodeOrTag",
            Ty::Series => "series",
            Ty::SeriesList => "seriesList",
            Ty::SeriesLists => "seriesLists",
            Ty::String => "string",
            Ty::Tag => "tag",
            Ty::Any => "any",
            Ty::AggFunc => "aggFunc",
            Ty::AggOrSeriesFunc => "aggOrSeriesFunc",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub ty: Ty,
    pub required: bool,
    pub multiple: bool,
    pub default: Option<Value>,
    pub options: Vec<String>,
}

#[derive(Debug)]
pub struct FuncDef {
    pub name: &'static str,
    pub group: &'static str,
    pub params: Vec<Param>,
    pub aggregator: bool,
    pub(crate) imp: Imp,
}

fn tables() -> [&'static [Decl]; 7] {
    [
        alias::DECLS,
        combine::DECLS,
        filter::DECLS,
        graph::DECLS,
        special::DECLS,
        transform::DECLS,
        window::DECLS,
    ]
}

fn registry() -> &'static HashMap<&'static str, FuncDef> {
    static REGISTRY: OnceLock<HashMap<&'static str, FuncDef>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut map = HashMap::new();
        for table in tables() {
            for &(name, group, sig, imp, aggregator) in table {
                // A malformed declaration is caught by the `every_signature_parses` test.
                let Ok(params) = parse_signature(sig) else {
                    continue;
                };
                map.insert(
                    name,
                    FuncDef {
                        name,
                        group,
                        params,
                        aggregator,
                        imp,
                    },
                );
            }
        }
        map
    })
}

/// The function named `name`.
pub fn lookup(name: &str) -> Option<&'static FuncDef> {
    registry().get(name)
}

/// Every function, sorted by name.
pub fn all() -> Vec<&'static FuncDef> {
    let mut defs: Vec<_> = registry().values().collect();
    defs.sort_by_key(|d| d.name);
    defs
}

fn parse_signature(sig: &str) -> Result<Vec<Param>, String> {
    let mut params = Vec::new();
    for part in sig.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, mut rest) = part
            .split_once(':')
            .ok_or_else(|| format!("`{part}`: no type"))?;
        let ty_len = rest.find(['!', '*', '=', '{']).unwrap_or(rest.len());
        let ty = Ty::parse(&rest[..ty_len]).ok_or_else(|| format!("`{part}`: unknown type"))?;
        rest = &rest[ty_len..];
        let mut param = Param {
            name: name.to_owned(),
            ty,
            required: false,
            multiple: false,
            default: None,
            options: Vec::new(),
        };
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('!') {
                param.required = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix('*') {
                param.multiple = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix('{') {
                let end = r
                    .find('}')
                    .ok_or_else(|| format!("`{part}`: unclosed options"))?;
                param.options = r[..end].split('|').map(str::to_owned).collect();
                rest = &r[end + 1..];
            } else if let Some(r) = rest.strip_prefix('=') {
                let end = r.find('{').unwrap_or(r.len());
                param.default =
                    Some(parse_default(&r[..end]).ok_or_else(|| format!("`{part}`: bad default"))?);
                rest = &r[end..];
            } else {
                return Err(format!("`{part}`: unexpected `{rest}`"));
            }
        }
        params.push(param);
    }
    Ok(params)
}

fn parse_default(text: &str) -> Option<Value> {
    Some(match text {
        "inf" => Value::Float(f64::INFINITY),
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "none" => Value::None,
        t if t.starts_with('\'') && t.ends_with('\'') && t.len() >= 2 => {
            Value::Str(t[1..t.len() - 1].to_owned())
        }
        t => match t.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(t.parse().ok()?),
        },
    })
}

/// A call's arguments bound to its function's parameters.
#[derive(Debug)]
pub struct Bound {
    def: &'static FuncDef,
    slots: Vec<Option<Value>>,
    rest: Vec<Value>,
}

/// Binds arguments as graphite-web's `validateParams` does.
pub(crate) fn bind(
    def: &'static FuncDef,
    args: Vec<Value>,
    kwargs: Vec<(String, Value)>,
) -> Result<Bound> {
    let params = &def.params;
    let func = def.name;
    let mut bound = Bound {
        def,
        slots: vec![None; params.len()],
        rest: Vec::new(),
    };
    let total = args.len() + kwargs.len();
    let multiple = params.last().is_some_and(|p| p.multiple);
    if total > params.len() && !multiple {
        return Err(Error::new(format!(
            "Too many parameters specified for function \"{func}\""
        )));
    }
    let positional = args.len();
    for (i, arg) in args.into_iter().enumerate() {
        let index = i.min(params.len().saturating_sub(1));
        let Some(param) = params.get(index) else {
            return Err(Error::new(format!(
                "Too many parameters specified for function \"{func}\""
            )));
        };
        let value = validate(param, arg, func)?;
        bound.put(index, value);
    }
    let mut used = 0;
    let kw_params = if total > params.len() {
        &params[params.len()..]
    } else {
        &params[positional.min(params.len())..]
    };
    let offset = params.len() - kw_params.len();
    for (j, param) in kw_params.iter().enumerate() {
        let given = kwargs
            .iter()
            .find(|(name, _)| *name == param.name)
            .map(|(_, v)| v.clone());
        match given {
            None | Some(Value::None) => {
                if given.is_some() {
                    used += 1;
                }
                if param.required {
                    return Err(Error::new(format!(
                        "Missing required parameter \"{}\" for function \"{func}\"",
                        param.name
                    )));
                }
            }
            Some(value) => {
                used += 1;
                let value = validate(param, value, func)?;
                bound.put(offset + j, value);
            }
        }
    }
    if kwargs.len() > used {
        let unexpected: Vec<&str> = kwargs
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !kw_params.iter().any(|p| p.name == *n))
            .collect();
        return Err(Error::new(format!(
            "Unexpected key word arguments: {}",
            unexpected.join(", ")
        )));
    }
    Ok(bound)
}

fn validate(param: &Param, value: Value, func: &str) -> Result<Option<Value>> {
    if matches!(value, Value::None) {
        return Ok(None);
    }
    let invalid = |value: &Value| {
        Error::new(format!(
            "Invalid \"{}\" value specified for function \"{func}\" parameter \"{}\": {}",
            param.ty.name(),
            param.name,
            py_repr(value)
        ))
    };
    if !param.options.is_empty() {
        let ok = match &value {
            Value::Str(s) => param.options.iter().any(|o| o == s),
            other => param.options.iter().any(|o| *o == other.py_str()),
        };
        if !ok {
            return Err(Error::new(format!(
                "Invalid option specified for function \"{func}\" parameter \"{}\": {}",
                param.name,
                py_repr(&value)
            )));
        }
    }
    let converted = match (param.ty, &value) {
        (Ty::Boolean, Value::Bool(_)) => value,
        (Ty::Boolean, Value::Str(s)) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
        (Ty::Boolean, Value::Str(s)) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
        (Ty::Boolean, v) if v.as_f64() == Some(0.0) => Value::Bool(false),
        (Ty::Boolean, v) if v.as_f64() == Some(1.0) => Value::Bool(true),
        (Ty::Boolean, _) => return Err(invalid(&value)),
        (Ty::Float, v) => match v {
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                Value::Float(v.as_f64().unwrap_or(NULL))
            }
            Value::Str(s) => Value::Float(s.trim().parse().map_err(|_| invalid(&value))?),
            _ => return Err(invalid(&value)),
        },
        (Ty::Integer | Ty::Node, Value::Int(_)) => value,
        (Ty::Integer | Ty::Node, Value::Bool(b)) => Value::Int(i64::from(*b)),
        (Ty::Integer | Ty::Node, Value::Str(s)) => {
            Value::Int(s.trim().parse().map_err(|_| invalid(&value))?)
        }
        (Ty::Integer | Ty::Node, _) => return Err(invalid(&value)),
        (Ty::IntOrInf, Value::Int(_)) => value,
        (Ty::IntOrInf, Value::Float(f)) if *f == f64::INFINITY => value,
        (Ty::IntOrInf, Value::Str(s)) if s.eq_ignore_ascii_case("inf") => {
            Value::Float(f64::INFINITY)
        }
        (Ty::IntOrInf, _) => return Err(invalid(&value)),
        (Ty::Interval, Value::Str(s)) => {
            crate::attime::parse_offset(s).map_err(|_| invalid(&value))?;
            value
        }
        (Ty::Interval, _) => return Err(invalid(&value)),
        (Ty::IntOrInterval, Value::Str(s)) => {
            crate::attime::parse_offset(s).map_err(|_| invalid(&value))?;
            value
        }
        (Ty::SeriesList, Value::List(_) | Value::Lazy(_)) => value,
        (Ty::SeriesList, _) => return Err(invalid(&value)),
        (Ty::SeriesLists, Value::Lists(_)) => value,
        (Ty::SeriesLists, _) => return Err(invalid(&value)),
        (Ty::AggFunc, Value::Str(s)) if is_agg_name(s) => value,
        (Ty::AggFunc, _) => return Err(invalid(&value)),
        (Ty::AggOrSeriesFunc, Value::Str(s))
            if is_agg_name(s) || lookup(s).is_some_and(|d| d.aggregator) =>
        {
            value
        }
        (Ty::AggOrSeriesFunc, _) => return Err(invalid(&value)),
        _ => value,
    };
    Ok(Some(converted))
}

fn is_agg_name(s: &str) -> bool {
    crate::aggfunc::AggFunc::parse(s.strip_suffix("Series").unwrap_or(s)).is_some()
}

/// Python's `repr()` of an argument, for error messages.
fn py_repr(value: &Value) -> String {
    match value {
        Value::Str(s) => format!("'{s}'"),
        Value::List(l) => format!(
            "[{}]",
            l.iter()
                .map(|s| format!("TimeSeries(name={})", s.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.py_str(),
    }
}

impl Bound {
    fn put(&mut self, index: usize, value: Option<Value>) {
        if self.def.params[index].multiple {
            if let Some(v) = value {
                self.rest.push(v);
            }
        } else {
            self.slots[index] = value;
        }
    }

    /// The argument at `index`, or the parameter's default.
    pub fn value(&self, index: usize) -> Option<Value> {
        match self.slots.get(index).cloned().flatten() {
            Some(v) => Some(v),
            None => self
                .def
                .params
                .get(index)
                .and_then(|p| p.default.clone())
                .filter(|v| *v != Value::None),
        }
    }

    /// Whether the call gave the argument at `index` (rather than leaving the default).
    pub fn given(&self, index: usize) -> bool {
        self.slots.get(index).is_some_and(Option::is_some)
    }

    /// Takes the series list at `index` (empty when absent).
    pub fn list(&mut self, index: usize) -> Vec<Series> {
        match self.slots.get_mut(index).and_then(Option::take) {
            Some(Value::List(list)) => list,
            _ => Vec::new(),
        }
    }

    /// Takes the series list at `index`, read or not (empty when absent).
    pub(crate) fn members(&mut self, index: usize) -> Vec<crate::fold::Member> {
        match self.slots.get_mut(index).and_then(Option::take) {
            Some(v) => crate::functions::combine::members(vec![v]),
            None => Vec::new(),
        }
    }

    /// Takes every value of the trailing multiple parameter.
    pub fn rest(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.rest)
    }

    /// Takes the trailing multiple parameter as series lists.
    pub fn rest_lists(&mut self) -> Vec<Vec<Series>> {
        self.rest()
            .into_iter()
            .filter_map(|v| match v {
                Value::List(l) => Some(l),
                _ => None,
            })
            .collect()
    }

    pub fn float(&self, index: usize) -> Option<f64> {
        self.value(index).and_then(|v| v.as_f64())
    }

    pub fn int(&self, index: usize) -> Option<i64> {
        match self.value(index)? {
            Value::Int(i) => Some(i),
            Value::Float(f) if f.is_finite() => Some(f.trunc() as i64),
            Value::Bool(b) => Some(i64::from(b)),
            _ => None,
        }
    }

    pub fn string(&self, index: usize) -> Option<String> {
        match self.value(index)? {
            Value::Str(s) => Some(s),
            other => Some(other.py_str()),
        }
    }

    pub fn boolean(&self, index: usize) -> bool {
        match self.value(index) {
            Some(Value::Bool(b)) => b,
            Some(v) => v.as_f64().is_some_and(|f| f != 0.0),
            None => false,
        }
    }

    /// A required argument's value (binding has already checked it is present).
    pub fn need_float(&self, index: usize) -> Result<f64> {
        self.float(index).ok_or_else(|| self.missing(index))
    }

    pub fn need_int(&self, index: usize) -> Result<i64> {
        self.int(index).ok_or_else(|| self.missing(index))
    }

    pub fn need_string(&self, index: usize) -> Result<String> {
        self.string(index).ok_or_else(|| self.missing(index))
    }

    fn missing(&self, index: usize) -> Error {
        let name = self.def.params.get(index).map_or("?", |p| p.name.as_str());
        Error::new(format!(
            "Missing required parameter \"{name}\" for function \"{}\"",
            self.def.name
        ))
    }
}

/// Calls the function `name` with positional arguments, as graphite-web's callbacks do
/// (`groupByNode(x,1,'sumSeries')`, `reduceSeries(…,'asPercent',…)`).
pub(crate) fn call_named(eval: &mut Eval<'_>, name: &str, args: Vec<Value>) -> Result<Value> {
    let def = lookup(name)
        .ok_or_else(|| Error::new(format!("Received request for unknown function: {name}")))?;
    let call = Call {
        name: name.to_owned(),
        args: Vec::new(),
        kwargs: Vec::new(),
        raw: String::new(),
        pos: 0,
    };
    let args = if takes_unread(name) {
        args
    } else {
        args.into_iter()
            .map(|a| eval.force(a))
            .collect::<Result<Vec<_>>>()?
    };
    let mut bound = bind(def, args, Vec::new())?;
    (def.imp)(eval, &call, &mut bound)
}

/// The series a function result holds (`[]` for anything else).
pub(crate) fn into_list(value: Value) -> Vec<Series> {
    match value {
        Value::List(list) => list,
        _ => Vec::new(),
    }
}

/// The first argument's expression, which re-evaluating functions evaluate again.
pub(crate) fn first_arg(call: &Call) -> Result<&Expr> {
    call.args
        .first()
        .ok_or_else(|| Error::new(format!("{}() needs a series argument", call.name)))
}

pub(crate) fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

pub(crate) fn lcm(a: i64, b: i64) -> i64 {
    if a == b {
        return a;
    }
    let (a, b) = if a < b { (b, a) } else { (a, b) };
    a / gcd(a, b).max(1) * b
}

/// Series brought to a common step (graphite-web's `normalize`): each consolidated to the
/// least common multiple of the steps; start is the earliest start, end the latest end trimmed
/// to a whole number of steps.
#[derive(Debug)]
pub(crate) struct Normalized<'a> {
    pub values: Vec<std::borrow::Cow<'a, [f64]>>,
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

pub(crate) fn normalize<'a>(series: &[&'a Series]) -> Option<Normalized<'a>> {
    if series.is_empty() {
        return None;
    }
    let step = series.iter().map(|s| s.step).reduce(lcm)?;
    let start = series.iter().map(|s| s.start).min()?;
    let mut end = series.iter().map(|s| s.end).max()?;
    end -= (end - start).rem_euclid(step.max(1));
    let values = series
        .iter()
        .map(|s| {
            let per = (step / s.step.max(1)).max(1) as usize;
            if per == 1 {
                std::borrow::Cow::Borrowed(s.values.as_slice())
            } else {
                std::borrow::Cow::Owned(crate::series::consolidate(
                    &s.values,
                    per,
                    s.consolidation,
                    s.x_files_factor,
                ))
            }
        })
        .collect();
    Some(Normalized {
        values,
        start,
        end,
        step,
    })
}

impl Normalized<'_> {
    /// Maps each row across the series (`izip_longest`: row `i` holds each series' `i`th
    /// value, null where a series is shorter) to one value.
    pub(crate) fn map_rows(&self, mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
        let len = self.len();
        let mut row = vec![NULL; self.values.len()];
        (0..len)
            .map(|i| {
                for (slot, v) in row.iter_mut().zip(&self.values) {
                    *slot = v.get(i).copied().unwrap_or(NULL);
                }
                f(&row)
            })
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.values.iter().map(|v| v.len()).max().unwrap_or(0)
    }
}

/// `formatPathExpressions`: the distinct path expressions, in order, joined by commas.
pub(crate) fn path_expressions(series: &[Series]) -> String {
    distinct_joined(series.iter().map(|s| s.path_expression.as_str()))
}

/// The distinct texts, in first-seen order, joined by commas.
pub(crate) fn distinct_joined<'a>(texts: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for t in texts {
        if seen.last() != Some(&t) && !seen.contains(&t) {
            seen.push(t);
        }
    }
    seen.join(",")
}

/// Functions whose series arguments may arrive unread ([`Value::Lazy`]): they fold series
/// one at a time, or pass them on unread. Every other function gets its series read.
pub(crate) fn takes_unread(name: &str) -> bool {
    matches!(
        name,
        "sumSeries"
            | "sum"
            | "averageSeries"
            | "avg"
            | "minSeries"
            | "maxSeries"
            | "multiplySeries"
            | "rangeOfSeries"
            | "countSeries"
            | "aggregate"
            | "group"
            | "groupByNode"
            | "groupByNodes"
            | "groupByTags"
    )
}

/// graphite-web's `xff(nonNull, total, xFilesFactor)`.
pub(crate) fn xff_ok(present: usize, total: f64, xff: f64) -> bool {
    present > 0 && total > 0.0 && present as f64 / total >= xff
}

/// Node `n` of a name, or the tag `n` (`getNodeOrTag` and `aggKey`).
pub(crate) fn node_or_tag(series: &Series, node: &Value) -> String {
    let path = if series.name.ends_with(')') {
        first_path_expression(&series.name).unwrap_or_else(|| series.name.clone())
    } else {
        series.name.clone()
    };
    match node {
        Value::Int(n) => {
            let base = path.split(';').next().unwrap_or("");
            let parts: Vec<&str> = base.split('.').collect();
            let index = if *n < 0 { parts.len() as i64 + n } else { *n };
            if index >= 0 && (index as usize) < parts.len() {
                return parts[index as usize].to_owned();
            }
            series.tags.get(&n.to_string()).cloned().unwrap_or_default()
        }
        other => series
            .tags
            .get(&other.py_str())
            .cloned()
            .unwrap_or_default(),
    }
}

pub(crate) fn agg_key(series: &Series, nodes: &[Value]) -> String {
    nodes
        .iter()
        .map(|n| node_or_tag(series, n))
        .collect::<Vec<_>>()
        .join(".")
}

/// The first path expression inside a function-wrapped name (`_getFirstPathExpression`).
pub(crate) fn first_path_expression(name: &str) -> Option<String> {
    let mut expr = grammar::parse(name).ok()?;
    loop {
        match expr {
            Expr::Path(p) => return Some(p),
            Expr::Call(call) => expr = call.args.into_iter().next()?,
            Expr::Template(t) => expr = t.inner,
            _ => return None,
        }
    }
}

/// `safeDiv`.
pub(crate) fn safe_div(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() || b == 0.0 {
        NULL
    } else {
        a / b
    }
}

/// `safePow`: null for a null, or where Python's `math.pow` raises.
pub(crate) fn safe_pow(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() || (a == 0.0 && b < 0.0) {
        return NULL;
    }
    let r = a.powf(b);
    if r.is_finite() || a.is_infinite() || b.is_infinite() {
        r
    } else {
        NULL
    }
}

/// Python's `min`/`max` over the non-null values, `None` when there are none.
pub(crate) fn safe_min(values: &[f64]) -> Option<f64> {
    values
        .iter()
        .copied()
        .filter(|v| !v.is_nan())
        .reduce(f64::min)
}

pub(crate) fn safe_max(values: &[f64]) -> Option<f64> {
    values
        .iter()
        .copied()
        .filter(|v| !v.is_nan())
        .reduce(f64::max)
}

pub(crate) fn safe_last(values: &[f64]) -> Option<f64> {
    values.iter().rev().copied().find(|v| !v.is_nan())
}

pub(crate) fn safe_avg(values: &[f64]) -> Option<f64> {
    let (sum, n) = values
        .iter()
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// `keyFunc`: a sort key where a missing value sorts lowest.
pub(crate) fn key_or_low(v: f64) -> f64 {
    if v.is_nan() { f64::NEG_INFINITY } else { v }
}

/// The longest interval or shift a function accepts: a century, far beyond any retention,
/// and small enough that time arithmetic cannot overflow.
pub(crate) const MAX_SPAN: i64 = 100 * 366 * 86_400;

/// Seconds in an interval text, as `abs(parseTimeOffset(...))`.
pub(crate) fn interval_seconds(text: &str) -> Result<i64> {
    offset_seconds(text).map(i64::abs)
}

/// A signed offset text (`-5min`, `1d`) in seconds, at most [`MAX_SPAN`] either way.
pub(crate) fn offset_seconds(text: &str) -> Result<i64> {
    let seconds = crate::attime::parse_offset(text).map_err(Error::new)?;
    if seconds.abs() > MAX_SPAN {
        return Err(Error::new(format!("`{text}` is longer than a century")));
    }
    Ok(seconds)
}

/// graphite-web's `format_units` for axis labels: the value scaled to its SI or binary prefix.
pub fn format_units_pub(v: f64, system: &str) -> (f64, String) {
    alias::format_units(v, system, None)
}

/// Consolidation by name, for `consolidateBy` and the renderer.
pub(crate) fn consolidation(name: &str) -> Result<Consolidation> {
    Consolidation::parse(name)
        .ok_or_else(|| Error::new(format!("Invalid consolidation function: '{name}'")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signature_parses() {
        for table in tables() {
            for (name, _, sig, _, _) in table.iter() {
                assert!(
                    parse_signature(sig).is_ok(),
                    "{name}: {:?}",
                    parse_signature(sig)
                );
            }
        }
        assert!(lookup("sumSeries").is_some());
        assert!(all().len() > 120, "{} functions", all().len());
    }

    #[test]
    fn lcm_and_gcd() {
        assert_eq!(lcm(10, 60), 60);
        assert_eq!(lcm(4, 6), 12);
        assert_eq!(lcm(7, 7), 7);
    }
}
