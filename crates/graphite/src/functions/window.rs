//! Moving windows and other calculations over a series' own history: `movingAverage` and its
//! kin (which fetch a bootstrap window before the range), `exponentialMovingAverage`, `stdev`,
//! `linearRegression`, `aggregateLine`.

use super::{Bound, Decl, first_arg, interval_seconds, into_list, safe_avg, xff_ok};
use crate::aggfunc::AggFunc;
use crate::eval::{Error, Eval, Result, Value};
use crate::grammar::Call;
use crate::pyfmt::{format_g, py_round};
use crate::series::{NULL, Series};

pub(super) const DECLS: &[Decl] = &[
    (
        "movingWindow",
        "Calculate",
        "seriesList:seriesList!,windowSize:intOrInterval!,func:aggFunc='average',xFilesFactor:float",
        moving_window,
        false,
    ),
    (
        "movingAverage",
        "Calculate",
        "seriesList:seriesList!,windowSize:intOrInterval!,xFilesFactor:float",
        moving_average,
        false,
    ),
    (
        "movingMedian",
        "Calculate",
        "seriesList:seriesList!,windowSize:intOrInterval!,xFilesFactor:float",
        moving_median,
        false,
    ),
    (
        "movingSum",
        "Calculate",
        "seriesList:seriesList!,windowSize:intOrInterval!,xFilesFactor:float",
        moving_sum,
        false,
    ),
    (
        "movingMin",
        "Calculate",
        "seriesList:seriesList!,windowSize:intOrInterval!,xFilesFactor:float",
        moving_min,
        false,
    ),
    (
        "movingMax",
        "Calculate",
        "seriesList:seriesList!,windowSize:intOrInterval!,xFilesFactor:float",
        moving_max,
        false,
    ),
    (
        "exponentialMovingAverage",
        "Calculate",
        "seriesList:seriesList!,windowSize:intOrInterval!",
        exponential_moving_average,
        false,
    ),
    (
        "stdev",
        "Calculate",
        "seriesList:seriesList!,points:integer!,windowTolerance:float=0.1",
        stdev,
        false,
    ),
    (
        "linearRegression",
        "Calculate",
        "seriesList:seriesList!,startSourceAt:date,endSourceAt:date",
        linear_regression,
        false,
    ),
    (
        "aggregateLine",
        "Calculate",
        "seriesList:seriesList!,func:aggFunc='average',keepStep:boolean=false",
        aggregate_line,
        false,
    ),
];

/// How far back a window reaches, and the window in points for a series of `step`.
enum Window {
    Seconds(String, i64),
    Points(i64),
}

fn window_of(value: Option<Value>, list: &[Series]) -> Result<(Window, i64)> {
    match value {
        Some(Value::Str(text)) => {
            let seconds = interval_seconds(&text)?;
            Ok((Window::Seconds(text, seconds), seconds))
        }
        Some(v) => {
            let points = v
                .as_f64()
                .ok_or_else(|| Error::new("windowSize must be a number of points or an interval"))?
                as i64;
            let max_step = list.iter().map(|s| s.step).max().unwrap_or(1);
            Ok((Window::Points(points), max_step * points))
        }
        None => Err(Error::new("windowSize is required")),
    }
}

/// Python's `str.capitalize()`.
fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect()
    })
}

fn moving(
    e: &mut Eval<'_>,
    call: &Call,
    b: &mut Bound,
    func: &str,
    window: Option<Value>,
    xff: Option<f64>,
) -> Result<Value> {
    let list = b.list(0);
    if list.is_empty() {
        return Ok(Value::List(list));
    }
    let agg = AggFunc::parse(func)
        .ok_or_else(|| Error::new(format!("Unsupported aggregation function: {func}")))?;
    let (window, preview) = window_of(window, &list)?;
    let bootstrapped = into_list(e.reevaluate(first_arg(call)?, e.from - preview, e.until)?);
    let tag_name = format!("moving{}", capitalize(func));
    let out = bootstrapped
        .into_iter()
        .map(|mut s| {
            let (name, points, tag) = match &window {
                Window::Seconds(text, seconds) => (
                    format!("{tag_name}({},\"{text}\")", s.name),
                    seconds / s.step.max(1),
                    text.clone(),
                ),
                Window::Points(p) => (format!("{tag_name}({},{p})", s.name), *p, p.to_string()),
            };
            s.tag(&tag_name, tag);
            let effective = xff.unwrap_or(s.x_files_factor);
            let points = points.max(0) as usize;
            let values: Vec<f64> = (points..s.len())
                .map(|i| {
                    let w = &s.values[i - points..i];
                    let present = w.iter().filter(|v| !v.is_nan()).count();
                    if present > 0 && xff_ok(present, points as f64, effective) {
                        agg.apply(w)
                    } else {
                        NULL
                    }
                })
                .collect();
            let mut r = s.with_values(name, values);
            r.start = s.start + preview;
            r
        })
        .collect();
    Ok(Value::List(out))
}

fn moving_window(e: &mut Eval<'_>, call: &Call, b: &mut Bound) -> Result<Value> {
    let window = b.value(1);
    let func = b.string(2).unwrap_or_else(|| "average".into());
    let xff = b.float(3);
    moving(e, call, b, &func, window, xff)
}

fn moving_named(e: &mut Eval<'_>, call: &Call, b: &mut Bound, func: &str) -> Result<Value> {
    let window = b.value(1);
    let xff = b.float(2);
    moving(e, call, b, func, window, xff)
}

fn moving_average(e: &mut Eval<'_>, c: &Call, b: &mut Bound) -> Result<Value> {
    moving_named(e, c, b, "average")
}
fn moving_median(e: &mut Eval<'_>, c: &Call, b: &mut Bound) -> Result<Value> {
    moving_named(e, c, b, "median")
}
fn moving_sum(e: &mut Eval<'_>, c: &Call, b: &mut Bound) -> Result<Value> {
    moving_named(e, c, b, "sum")
}
fn moving_min(e: &mut Eval<'_>, c: &Call, b: &mut Bound) -> Result<Value> {
    moving_named(e, c, b, "min")
}
fn moving_max(e: &mut Eval<'_>, c: &Call, b: &mut Bound) -> Result<Value> {
    moving_named(e, c, b, "max")
}

fn exponential_moving_average(e: &mut Eval<'_>, call: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    if list.is_empty() {
        return Ok(Value::List(list));
    }
    let (window, preview) = window_of(b.value(1), &list)?;
    let constant = match &window {
        Window::Seconds(_, seconds) => 2.0 / (*seconds as f64 + 1.0),
        Window::Points(p) => 2.0 / (*p as f64 + 1.0),
    };
    let bootstrapped = into_list(e.reevaluate(first_arg(call)?, e.from - preview, e.until)?);
    let out = bootstrapped
        .into_iter()
        .map(|mut s| {
            let (name, points, tag) = match &window {
                Window::Seconds(text, seconds) => (
                    format!("exponentialMovingAverage({},\"{text}\")", s.name),
                    seconds / s.step.max(1),
                    text.clone(),
                ),
                Window::Points(p) => (
                    format!("exponentialMovingAverage({},{p})", s.name),
                    *p,
                    p.to_string(),
                ),
            };
            s.tag("exponentialMovingAverage", tag);
            let points = (points.max(0) as usize).min(s.len());
            let mut ema = safe_avg(&s.values[..points])
                .filter(|v| *v != 0.0)
                .unwrap_or(0.0);
            let mut values = vec![py_round(ema, 6)];
            for &v in &s.values[points..] {
                if v.is_nan() {
                    values.push(NULL);
                } else {
                    ema = constant * v + (1.0 - constant) * ema;
                    values.push(py_round(ema, 6));
                }
            }
            let mut r = s.with_values(name, values);
            r.start = s.start + preview;
            r
        })
        .collect();
    Ok(Value::List(out))
}

fn stdev(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let points = b.need_int(1)?;
    let tolerance = b.float(2).unwrap_or(0.1);
    let out = list
        .into_iter()
        .map(|mut s| {
            s.tag("stdev", points.to_string());
            let mut valid = 0i64;
            let mut sum = 0.0;
            let mut squares = 0.0;
            let values = (0..s.len())
                .map(|i| {
                    let new = s.values[i];
                    let dropped = if (i as i64) < points {
                        NULL
                    } else {
                        s.values[i - points as usize]
                    };
                    if !dropped.is_nan() {
                        valid -= 1;
                        sum -= dropped;
                        squares -= dropped * dropped;
                    }
                    if !new.is_nan() {
                        valid += 1;
                        sum += new;
                        squares += new * new;
                    }
                    if valid > 0 && valid as f64 / points as f64 >= tolerance {
                        let d = (valid as f64 * squares - sum * sum).sqrt() / valid as f64;
                        if d.is_nan() { NULL } else { d }
                    } else {
                        NULL
                    }
                })
                .collect();
            s.with_values(format!("stdev({},{points})", s.name), values)
        })
        .collect();
    Ok(Value::List(out))
}

fn linear_regression(e: &mut Eval<'_>, call: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let parse = |e: &Eval<'_>, v: Option<String>, default: i64| -> Result<i64> {
        match v {
            Some(t) => crate::attime::parse_at_time(&t, &e.tz, e.now).map_err(Error::new),
            None => Ok(default),
        }
    };
    let from = parse(e, b.string(1), e.from)?;
    let until = parse(e, b.string(2), e.until)?;
    let sources = into_list(e.reevaluate(first_arg(call)?, from, until)?);
    let mut out = Vec::new();
    for (source, mut s) in sources.iter().zip(list) {
        s.tag("linearRegressions", format!("{from}, {until}"));
        let name = format!("linearRegression({}, {from}, {until})", s.name);
        let (mut n, mut si, mut sv, mut sii, mut siv) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (i, &v) in source.values.iter().enumerate() {
            if v.is_nan() {
                continue;
            }
            let i = i as f64;
            n += 1.0;
            si += i;
            sv += v;
            sii += i * i;
            siv += i * v;
        }
        let denominator = n * sii - si * si;
        if denominator == 0.0 {
            continue;
        }
        let factor = (n * siv - si * sv) / denominator / source.step as f64;
        let offset = (sii * sv - siv * si) / denominator - factor * source.start as f64;
        let values = (0..s.len())
            .map(|i| offset + (s.start + i as i64 * s.step) as f64 * factor)
            .collect();
        let mut r = s.with_values(name, values);
        r.path_expression = r.name.clone();
        out.push(r);
    }
    Ok(Value::List(out))
}

fn aggregate_line(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let func = b.string(1).unwrap_or_else(|| "average".into());
    let keep_step = b.boolean(2);
    let agg = AggFunc::parse(&func)
        .ok_or_else(|| Error::new(format!("Unsupported aggregation function: {func}")))?;
    let out = list
        .into_iter()
        .map(|s| {
            let value = agg.apply(&s.values);
            let name = if value.is_nan() {
                format!("aggregateLine({}, None)", s.name)
            } else {
                format!("aggregateLine({}, {})", s.name, format_g(value))
            };
            if keep_step {
                let n = s.len();
                s.with_values(name, vec![value; n])
            } else {
                let v = if value.is_nan() {
                    Value::None
                } else {
                    Value::Float(value)
                };
                let mut line = super::special::constant_line(e, v);
                line.name = name.clone();
                line.path_expression = name;
                line
            }
        })
        .collect();
    Ok(Value::List(out))
}
