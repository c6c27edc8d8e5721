//! Constant lines, consolidation and xFilesFactor settings, generated series and the other
//! functions graphite-web files under "Special".

use super::{Bound, Decl, consolidation};
use crate::eval::{Eval, Result, Value};
use crate::grammar::Call;
use crate::series::{NULL, Series};

pub(super) const DECLS: &[Decl] = &[
    (
        "constantLine",
        "Special",
        "value:float!",
        constant_line_fn,
        false,
    ),
    (
        "consolidateBy",
        "Special",
        "seriesList:seriesList!,consolidationFunc:string!{sum|average|avg|avg_zero|min|max|first|last}",
        consolidate_by,
        false,
    ),
    (
        "cumulative",
        "Special",
        "seriesList:seriesList!",
        cumulative,
        false,
    ),
    (
        "setXFilesFactor",
        "Special",
        "seriesList:seriesList!,xFilesFactor:float!",
        set_xff,
        false,
    ),
    (
        "xFilesFactor",
        "Special",
        "seriesList:seriesList!,xFilesFactor:float!",
        set_xff,
        false,
    ),
    (
        "fallbackSeries",
        "Special",
        "seriesList:seriesList!,fallback:seriesList!",
        fallback_series,
        false,
    ),
    ("identity", "Calculate", "name:string!", identity, false),
    (
        "timeFunction",
        "Transform",
        "name:string!,step:integer=60",
        time_function,
        false,
    ),
    (
        "time",
        "Transform",
        "name:string!,step:integer=60",
        time_function,
        false,
    ),
    (
        "sinFunction",
        "Transform",
        "name:string!,amplitude:integer=1,step:integer=60",
        sin_function,
        false,
    ),
    (
        "sin",
        "Transform",
        "name:string!,amplitude:integer=1,step:integer=60",
        sin_function,
        false,
    ),
    (
        "randomWalkFunction",
        "Special",
        "name:string!,step:integer=60",
        random_walk,
        false,
    ),
    (
        "randomWalk",
        "Special",
        "name:string!,step:integer=60",
        random_walk,
        false,
    ),
    (
        "seriesByTag",
        "Special",
        "tagExpressions:string!*",
        series_by_tag,
        false,
    ),
    ("events", "Special", "tags:string!*", events, false),
];

/// `constantLine(value)`: three points spanning the request, named by the value.
pub(crate) fn constant_line(e: &Eval<'_>, value: Value) -> Series {
    let (start, end) = (e.from, e.until);
    let step = ((end - start) as f64 / 2.0).trunc() as i64;
    let v = value.as_f64().unwrap_or(NULL);
    let mut s = Series::new(value.py_str(), start, end, step.max(1), vec![v, v, v]);
    s.path_expression = format!("constantLine({})", value.py_str());
    s.x_files_factor = e.xff.unwrap_or(0.0);
    s
}

fn constant_line_fn(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let value = b.value(0).unwrap_or(Value::Float(0.0));
    Ok(Value::List(vec![constant_line(e, value)]))
}

pub(crate) fn consolidate_list(list: &mut [Series], func: &str) -> Result<()> {
    let c = consolidation(func)?;
    for s in list {
        s.consolidation = c;
        s.tag("consolidateBy", func);
        s.name = format!("consolidateBy({},\"{func}\")", s.name);
        s.path_expression = s.name.clone();
    }
    Ok(())
}

fn consolidate_by(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let func = b.need_string(1)?;
    consolidate_list(&mut list, &func)?;
    Ok(Value::List(list))
}

fn cumulative(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    consolidate_list(&mut list, "sum")?;
    Ok(Value::List(list))
}

fn set_xff(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let xff = b.need_float(1)?;
    e.xff = Some(xff);
    for s in &mut list {
        s.x_files_factor = xff;
        s.tag("xFilesFactor", crate::pyfmt::repr_f64(xff));
    }
    Ok(Value::List(list))
}

fn fallback_series(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    if list.is_empty() {
        Ok(Value::List(b.list(1)))
    } else {
        Ok(Value::List(list))
    }
}

fn generated(
    e: &mut Eval<'_>,
    name: &str,
    step: i64,
    f: impl Fn(i64, usize) -> f64,
) -> Result<Series> {
    let step = step.max(1);
    e.charge(((e.until - e.from).max(0) / step) as usize)?;
    let values: Vec<f64> = (e.from..e.until)
        .step_by(step as usize)
        .enumerate()
        .map(|(i, t)| f(t, i))
        .collect();
    let mut s = Series::new(name, e.from, e.until, step, values);
    s.x_files_factor = e.xff.unwrap_or(0.0);
    Ok(s)
}

fn identity(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let name = b.need_string(0)?;
    let mut s = generated(e, &name, 60, |t, _| t as f64)?;
    s.path_expression = format!("identity(\"{name}\")");
    Ok(Value::List(vec![s]))
}

fn time_function(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let name = b.need_string(0)?;
    let step = b.int(1).unwrap_or(60);
    Ok(Value::List(vec![generated(e, &name, step, |t, _| {
        t as f64
    })?]))
}

fn sin_function(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let name = b.need_string(0)?;
    let amplitude = b.int(1).unwrap_or(1) as f64;
    let step = b.int(2).unwrap_or(60);
    Ok(Value::List(vec![generated(e, &name, step, |t, _| {
        (t as f64).sin() * amplitude
    })?]))
}

fn random_walk(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let name = b.need_string(0)?;
    let step = b.int(1).unwrap_or(60);
    // A deterministic walk seeded by the start time: graphite-web's is random, which no one
    // can depend on.
    let mut state = (e.from as u64) ^ 0x9E37_79B9_7F4A_7C15;
    let mut current = 0.0;
    let mut s = generated(e, &name, step, |_, _| 0.0)?;
    for v in &mut s.values {
        *v = current;
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        current += (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
    }
    Ok(Value::List(vec![s]))
}

/// `seriesByTag` named as a callback; written in a target, the evaluator answers it directly.
fn series_by_tag(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let texts: Vec<String> = b.rest().iter().map(Value::py_str).collect();
    let quoted: Vec<String> = texts.iter().map(|t| format!("'{t}'")).collect();
    let found = e.tagged(&texts, &format!("seriesByTag({})", quoted.join(",")))?;
    e.force(found)
}

fn events(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let tags: Vec<String> = b.rest().iter().map(Value::py_str).collect();
    let name = format!("events(\"{}\")", tags.join("\", \""));
    let points = (e.until - e.from).max(0) as usize;
    e.charge(points)?;
    // Sightline's event markers are not wired into the Graphite API yet: no events.
    let mut s = Series::new(name, e.from, e.until, 1, vec![NULL; points]);
    s.consolidation = crate::series::Consolidation::Sum;
    Ok(Value::List(vec![s]))
}
