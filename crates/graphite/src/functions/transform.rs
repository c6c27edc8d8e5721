//! Point-by-point transforms (`scale`, `offset`, `derivative`, `transformNull`…), bucketing
//! (`summarize`, `hitcount`) and time shifts (`timeShift`, `timeStack`, `timeSlice`, `delay`).

use super::{Bound, Decl, first_arg, interval_seconds, safe_max, safe_min, safe_pow};
use crate::aggfunc::AggFunc;
use crate::eval::{Error, Eval, Result, Value};
use crate::grammar::Call;
use crate::pyfmt::{format_d, format_g, py_round, repr_f64};
use crate::series::{NULL, Series};

pub(super) const DECLS: &[Decl] = &[
    (
        "scale",
        "Transform",
        "seriesList:seriesList!,factor:float!",
        scale,
        false,
    ),
    (
        "scaleToSeconds",
        "Transform",
        "seriesList:seriesList!,seconds:float!",
        scale_to_seconds,
        false,
    ),
    (
        "offset",
        "Transform",
        "seriesList:seriesList!,factor:float!",
        offset,
        false,
    ),
    (
        "add",
        "Transform",
        "seriesList:seriesList!,constant:float!",
        add,
        false,
    ),
    (
        "absolute",
        "Transform",
        "seriesList:seriesList!",
        absolute,
        false,
    ),
    ("exp", "Transform", "seriesList:seriesList!", exp, false),
    (
        "sigmoid",
        "Transform",
        "seriesList:seriesList!",
        sigmoid,
        false,
    ),
    ("logit", "Transform", "seriesList:seriesList!", logit, false),
    (
        "pow",
        "Transform",
        "seriesList:seriesList!,factor:float!",
        pow,
        false,
    ),
    (
        "squareRoot",
        "Transform",
        "seriesList:seriesList!",
        square_root,
        false,
    ),
    (
        "invert",
        "Transform",
        "seriesList:seriesList!",
        invert,
        false,
    ),
    (
        "log",
        "Transform",
        "seriesList:seriesList!,base:integer=10",
        logarithm,
        false,
    ),
    (
        "minMax",
        "Transform",
        "seriesList:seriesList!",
        min_max,
        false,
    ),
    (
        "offsetToZero",
        "Transform",
        "seriesList:seriesList!",
        offset_to_zero,
        false,
    ),
    (
        "round",
        "Transform",
        "seriesList:seriesList!,precision:integer=0",
        round,
        false,
    ),
    (
        "derivative",
        "Transform",
        "seriesList:seriesList!",
        derivative,
        false,
    ),
    (
        "nonNegativeDerivative",
        "Transform",
        "seriesList:seriesList!,maxValue:float,minValue:float",
        non_negative_derivative,
        false,
    ),
    (
        "perSecond",
        "Transform",
        "seriesList:seriesList!,maxValue:float,minValue:float",
        per_second,
        false,
    ),
    (
        "integral",
        "Transform",
        "seriesList:seriesList!",
        integral,
        false,
    ),
    (
        "integralByInterval",
        "Transform",
        "seriesList:seriesList!,intervalUnit:string!",
        integral_by_interval,
        false,
    ),
    (
        "delay",
        "Transform",
        "seriesList:seriesList!,steps:integer!",
        delay,
        false,
    ),
    (
        "transformNull",
        "Transform",
        "seriesList:seriesList!,default:float=0,referenceSeries:seriesList",
        transform_null,
        false,
    ),
    (
        "isNonNull",
        "Transform",
        "seriesList:seriesList!",
        is_non_null,
        false,
    ),
    (
        "keepLastValue",
        "Transform",
        "seriesList:seriesList!,limit:intOrInf=inf",
        keep_last_value,
        false,
    ),
    (
        "interpolate",
        "Transform",
        "seriesList:seriesList!,limit:intOrInf=inf",
        interpolate,
        false,
    ),
    (
        "changed",
        "Special",
        "seriesList:seriesList!",
        changed,
        false,
    ),
    (
        "summarize",
        "Transform",
        "seriesList:seriesList!,intervalString:interval!,func:aggFunc='sum',alignToFrom:boolean=false",
        summarize,
        false,
    ),
    (
        "smartSummarize",
        "Transform",
        "seriesList:seriesList!,intervalString:interval!,func:aggFunc='sum',alignTo:string",
        smart_summarize,
        false,
    ),
    (
        "hitcount",
        "Transform",
        "seriesList:seriesList!,intervalString:interval!,alignToInterval:boolean=false",
        hitcount,
        false,
    ),
    (
        "timeShift",
        "Transform",
        "seriesList:seriesList!,timeShift:interval!,resetEnd:boolean=true,alignDst:boolean=false",
        time_shift,
        false,
    ),
    (
        "timeStack",
        "Transform",
        "seriesList:seriesList!,timeShiftUnit:interval='1d',timeShiftStart:integer=0,timeShiftEnd:integer=7",
        time_stack,
        false,
    ),
    (
        "timeSlice",
        "Transform",
        "seriesList:seriesList!,startSliceAt:date!,endSliceAt:date='now'",
        time_slice,
        false,
    ),
];

/// Applies `f` to every value of every series, renaming each with `name`.
fn map_values(list: &mut [Series], name: impl Fn(&str) -> String, f: impl Fn(f64) -> f64) {
    for s in list {
        s.name = name(&s.name);
        s.path_expression = s.name.clone();
        for v in &mut s.values {
            *v = f(*v);
        }
    }
}

fn scale(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let factor = b.need_float(1)?;
    for s in &mut list {
        s.tag("scale", repr_f64(factor));
    }
    map_values(
        &mut list,
        |n| format!("scale({n},{})", format_g(factor)),
        |v| v * factor,
    );
    Ok(Value::List(list))
}

fn scale_to_seconds(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let seconds = b.need_float(1)?;
    for s in &mut list {
        s.tag("scaleToSeconds", repr_f64(seconds));
        s.name = format!("scaleToSeconds({},{})", s.name, format_d(seconds));
        s.path_expression = s.name.clone();
        let factor = seconds / s.step as f64;
        for v in &mut s.values {
            *v = py_round(*v * factor, 6);
        }
    }
    Ok(Value::List(list))
}

fn offset(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let factor = b.need_float(1)?;
    for s in &mut list {
        s.tag("offset", repr_f64(factor));
    }
    map_values(
        &mut list,
        |n| format!("offset({n},{})", format_g(factor)),
        |v| v + factor,
    );
    Ok(Value::List(list))
}

fn add(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let constant = b.need_float(1)?;
    for s in &mut list {
        s.tag("add", repr_f64(constant));
    }
    map_values(
        &mut list,
        |n| format!("add({n},{})", format_d(constant)),
        |v| v + constant,
    );
    Ok(Value::List(list))
}

fn simple(list: &mut [Series], func: &str, tag: Option<&str>, f: impl Fn(f64) -> f64) {
    for s in list.iter_mut() {
        if let Some(t) = tag {
            s.tag(func, t);
        }
    }
    map_values(list, |n| format!("{func}({n})"), f);
}

fn absolute(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    simple(&mut list, "absolute", Some("1"), f64::abs);
    Ok(Value::List(list))
}

fn finite_or_null(v: f64) -> f64 {
    if v.is_finite() { v } else { NULL }
}

fn exp(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    simple(&mut list, "exp", Some("e"), |v| {
        if v.is_nan() { NULL } else { v.exp() }
    });
    Ok(Value::List(list))
}

fn sigmoid(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    simple(&mut list, "sigmoid", Some("sigmoid"), |v| {
        finite_or_null(1.0 / (1.0 + (-v).exp()))
    });
    Ok(Value::List(list))
}

fn logit(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    simple(&mut list, "logit", Some("logit"), |v| {
        let r = v / (1.0 - v);
        if r > 0.0 && r.is_finite() {
            r.ln()
        } else {
            NULL
        }
    });
    Ok(Value::List(list))
}

fn pow(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let factor = b.need_float(1)?;
    for s in &mut list {
        s.tag("pow", repr_f64(factor));
    }
    map_values(
        &mut list,
        |n| format!("pow({n},{})", format_g(factor)),
        |v| safe_pow(v, factor),
    );
    Ok(Value::List(list))
}

fn square_root(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    simple(&mut list, "squareRoot", Some("1"), |v| safe_pow(v, 0.5));
    Ok(Value::List(list))
}

fn invert(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    simple(&mut list, "invert", Some("1"), |v| safe_pow(v, -1.0));
    Ok(Value::List(list))
}

fn logarithm(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let base = b.value(1).unwrap_or(Value::Int(10));
    let base_f = base.as_f64().unwrap_or(10.0);
    let out = list
        .into_iter()
        .map(|mut s| {
            s.tag("log", base.py_str());
            let values = s
                .values
                .iter()
                .map(|&v| if v > 0.0 { v.ln() / base_f.ln() } else { NULL })
                .collect();
            s.with_values(format!("log({}, {})", s.name, base.py_str()), values)
        })
        .collect();
    Ok(Value::List(out))
}

fn min_max(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    for s in &mut list {
        s.name = format!("minMax({})", s.name);
        s.path_expression = s.name.clone();
        let lo = safe_min(&s.values).unwrap_or(0.0);
        let hi = safe_max(&s.values).unwrap_or(0.0);
        for v in &mut s.values {
            if !v.is_nan() {
                *v = if hi == lo { 0.0 } else { (*v - lo) / (hi - lo) };
            }
        }
    }
    Ok(Value::List(list))
}

fn offset_to_zero(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    for s in &mut list {
        let min = safe_min(&s.values);
        s.tag("offsetToZero", min.map_or_else(|| "None".into(), repr_f64));
        s.name = format!("offsetToZero({})", s.name);
        s.path_expression = s.name.clone();
        let m = min.unwrap_or(NULL);
        for v in &mut s.values {
            *v -= m;
        }
    }
    Ok(Value::List(list))
}

fn round(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let given = b.given(1);
    let precision = b.int(1).unwrap_or(0);
    for s in &mut list {
        s.tag("round", precision.to_string());
        s.name = if !given {
            format!("round({})", s.name)
        } else {
            format!("round({},{})", s.name, precision)
        };
        s.path_expression = s.name.clone();
        for v in &mut s.values {
            *v = py_round(*v, precision as i32);
        }
    }
    Ok(Value::List(list))
}

/// A copy of each series with new values, tagged, as graphite-web's `series.copy` functions do.
fn derive(
    list: Vec<Series>,
    tag: (&str, &str),
    name: impl Fn(&str) -> String,
    f: impl Fn(&Series) -> Vec<f64>,
) -> Vec<Series> {
    list.into_iter()
        .map(|mut s| {
            s.tag(tag.0, tag.1);
            let values = f(&s);
            s.with_values(name(&s.name), values)
        })
        .collect()
}

fn derivative(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    Ok(Value::List(derive(
        list,
        ("derivative", "1"),
        |n| format!("derivative({n})"),
        |s| {
            let mut prev = NULL;
            s.values
                .iter()
                .map(|&v| {
                    let d = v - prev;
                    prev = v;
                    d
                })
                .collect()
        },
    )))
}

/// `_nonNegativeDelta`: the change from `prev`, a counter wrap under `max_value`, or null.
fn non_negative_deltas(values: &[f64], max_value: Option<f64>, min_value: Option<f64>) -> Vec<f64> {
    let mut prev = NULL;
    values
        .iter()
        .map(|&val| {
            if val.is_nan() {
                prev = NULL;
                return NULL;
            }
            if max_value.is_some_and(|m| val > m) || min_value.is_some_and(|m| val < m) {
                prev = NULL;
                return NULL;
            }
            let before = prev;
            prev = val;
            if before.is_nan() {
                NULL
            } else if val >= before {
                val - before
            } else if let Some(max) = max_value {
                max + 1.0 + val - before - min_value.unwrap_or(0.0)
            } else if let Some(min) = min_value {
                val - min
            } else {
                NULL
            }
        })
        .collect()
}

fn non_negative_derivative(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let (max, min) = (b.float(1), b.float(2));
    Ok(Value::List(derive(
        list,
        ("nonNegativeDerivative", "1"),
        |n| format!("nonNegativeDerivative({n})"),
        |s| non_negative_deltas(&s.values, max, min),
    )))
}

fn per_second(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let (max, min) = (b.float(1), b.float(2));
    Ok(Value::List(derive(
        list,
        ("perSecond", "1"),
        |n| format!("perSecond({n})"),
        |s| {
            let step = s.step as f64;
            non_negative_deltas(&s.values, max, min)
                .into_iter()
                .map(|d| py_round(d / step, 6))
                .collect()
        },
    )))
}

fn integral(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    Ok(Value::List(derive(
        list,
        ("integral", "1"),
        |n| format!("integral({n})"),
        |s| {
            let mut total = 0.0;
            s.values
                .iter()
                .map(|&v| {
                    if v.is_nan() {
                        NULL
                    } else {
                        total += v;
                        total
                    }
                })
                .collect()
        },
    )))
}

fn integral_by_interval(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let unit = b.need_string(1)?;
    let interval = interval_seconds(&unit)?.max(1);
    let start_time = e.from;
    let out = list
        .into_iter()
        .map(|mut s| {
            s.tag("integralByInterval", unit.clone());
            let mut current = 0.0;
            let mut t = s.start;
            let values = s
                .values
                .iter()
                .map(|&v| {
                    if (t - start_time).div_euclid(interval)
                        != (t - start_time - s.step).div_euclid(interval)
                    {
                        current = 0.0;
                    }
                    if !v.is_nan() {
                        current += v;
                    }
                    t += s.step;
                    current
                })
                .collect();
            s.with_values(format!("integralByInterval({},'{unit}')", s.name), values)
        })
        .collect();
    Ok(Value::List(out))
}

fn delay(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let steps = b.need_int(1)?;
    let out = list
        .into_iter()
        .map(|mut s| {
            let len = s.len();
            let n = (steps.unsigned_abs() as usize).min(len);
            let values = if steps < 0 {
                let mut v = s.values[n..].to_vec();
                v.extend(std::iter::repeat_n(NULL, n));
                v
            } else if steps == 0 {
                // Python's `series[:-0]` is empty.
                Vec::new()
            } else {
                let mut v = vec![NULL; n];
                v.extend_from_slice(&s.values[..len - n]);
                v
            };
            s.tag("delay", steps.to_string());
            s.with_values(format!("delay({},{steps})", s.name), values)
        })
        .collect();
    Ok(Value::List(out))
}

fn transform_null(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let default = b.value(1).unwrap_or(Value::Int(0));
    let d = default.as_f64().unwrap_or(0.0);
    let reference = b.list(2);
    let defaults: Option<Vec<f64>> = (!reference.is_empty()).then(|| {
        let len = reference.iter().map(Series::len).max().unwrap_or(0);
        (0..len)
            .map(|i| {
                if reference
                    .iter()
                    .any(|r| r.values.get(i).is_some_and(|v| !v.is_nan()))
                {
                    d
                } else {
                    NULL
                }
            })
            .collect()
    });
    for s in &mut list {
        s.tag("transformNull", default.py_str());
        if defaults.is_some() {
            s.tag("referenceSeries", "1");
            s.name = format!("transformNull({},{},referenceSeries)", s.name, format_g(d));
        } else {
            s.name = format!("transformNull({},{})", s.name, format_g(d));
        }
        s.path_expression = s.name.clone();
        match &defaults {
            Some(defs) => {
                let len = s.len().max(defs.len());
                s.values.resize(len, NULL);
                for (i, v) in s.values.iter_mut().enumerate() {
                    if v.is_nan() {
                        *v = defs.get(i).copied().unwrap_or(NULL);
                    }
                }
            }
            None => s
                .values
                .iter_mut()
                .filter(|v| v.is_nan())
                .for_each(|v| *v = d),
        }
    }
    Ok(Value::List(list))
}

fn is_non_null(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    simple(&mut list, "isNonNull", Some("1"), |v| {
        if v.is_nan() { 0.0 } else { 1.0 }
    });
    Ok(Value::List(list))
}

fn limit_of(b: &Bound, index: usize) -> f64 {
    b.float(index).unwrap_or(f64::INFINITY)
}

fn keep_last_value(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let limit = limit_of(b, 1);
    for s in &mut list {
        s.name = format!("keepLastValue({})", s.name);
        s.path_expression = s.name.clone();
        let mut nones = 0usize;
        let mut last = NULL;
        let len = s.len();
        for i in 0..len {
            let v = s.values[i];
            if v.is_nan() {
                nones += 1;
                continue;
            }
            if nones > 0 && nones as f64 <= limit && !last.is_nan() {
                s.values[i - nones..i].iter_mut().for_each(|x| *x = last);
            }
            nones = 0;
            last = v;
        }
        if nones > 0 && nones as f64 <= limit && !last.is_nan() {
            s.values[len - nones..].iter_mut().for_each(|x| *x = last);
        }
    }
    Ok(Value::List(list))
}

fn interpolate(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let limit = limit_of(b, 1);
    for s in &mut list {
        s.name = format!("interpolate({})", s.name);
        s.path_expression = s.name.clone();
        let mut nones = 0usize;
        for i in 1..s.len() {
            let v = s.values[i];
            if v.is_nan() {
                nones += 1;
                continue;
            }
            if nones == 0 {
                continue;
            }
            let before = i - nones - 1;
            let from = s.values[before];
            if from.is_nan() {
                nones = 0;
                continue;
            }
            if nones as f64 <= limit {
                for index in i - nones..i {
                    s.values[index] =
                        from + (index - before) as f64 * (v - from) / (nones + 1) as f64;
                }
            }
            nones = 0;
        }
    }
    Ok(Value::List(list))
}

fn changed(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    for s in &mut list {
        s.name = format!("changed({})", s.name);
        s.path_expression = s.name.clone();
        let mut previous = NULL;
        for v in &mut s.values {
            let value = *v;
            if previous.is_nan() {
                previous = value;
                *v = 0.0;
            } else if !value.is_nan() && previous != value {
                *v = 1.0;
                previous = value;
            } else {
                *v = 0.0;
            }
        }
    }
    Ok(Value::List(list))
}

/// `_summarizeValues`: buckets of `interval` seconds from `new_start` to `new_end`.
fn summarize_values(
    s: &Series,
    agg: AggFunc,
    interval: i64,
    new_start: i64,
    new_end: i64,
) -> (Vec<f64>, i64) {
    let step = s.step.max(1);
    let count = ((s.end - s.start).max(0) + step - 1) / step;
    let n = (count as usize).min(s.len());
    let interval_points = interval as f64 / step as f64;
    let mut out = Vec::new();
    let mut i = 0usize;
    let mut t = new_start;
    while t < new_end {
        let mut first = i;
        let mut present = 0;
        while i < n && s.start + i as i64 * step < t + interval {
            let ts = s.start + i as i64 * step;
            if ts <= t {
                first = i;
            }
            if ts >= t && !s.values[i].is_nan() {
                present += 1;
            }
            i += 1;
        }
        out.push(
            if super::xff_ok(present, interval_points, s.x_files_factor) {
                agg.apply(&s.values[first..i])
            } else {
                NULL
            },
        );
        t += interval;
    }
    (out, t)
}

fn agg_of(name: &str) -> Result<AggFunc> {
    AggFunc::parse(name)
        .ok_or_else(|| Error::new(format!("Unsupported aggregation function: {name}")))
}

/// Counts the buckets `summarize`-like functions will make against the request's budget.
fn charge_buckets(e: &mut Eval<'_>, list: &[Series], interval: i64) -> Result<()> {
    let buckets: i64 = list
        .iter()
        .map(|s| (s.end - s.start).max(0) / interval.max(1) + 2)
        .sum();
    e.charge(usize::try_from(buckets).unwrap_or(usize::MAX))
}

fn summarize(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let text = b.need_string(1)?;
    let func = b.string(2).unwrap_or_else(|| "sum".into());
    let align = b.boolean(3);
    let interval = interval_seconds(&text)?;
    if interval == 0 {
        return Err(Error::new("summarize() needs a non-zero interval"));
    }
    let agg = agg_of(&func)?;
    charge_buckets(e, &list, interval)?;
    let out = list
        .into_iter()
        .map(|mut s| {
            let (start, mut end) = if align {
                (s.start, s.end)
            } else {
                (
                    s.start - s.start.rem_euclid(interval),
                    s.end - s.end.rem_euclid(interval) + interval,
                )
            };
            let (values, aligned_end) = summarize_values(&s, agg, interval, start, end);
            if align {
                end = aligned_end;
            }
            s.tag("summarize", text.clone());
            s.tag("summarizeFunction", func.clone());
            let name = format!(
                "summarize({}, \"{text}\", \"{func}\"{})",
                s.name,
                if align { ", true" } else { "" }
            );
            let mut r = s.with_values(name, values);
            r.start = start;
            r.end = end;
            r.step = interval;
            r
        })
        .collect();
    Ok(Value::List(out))
}

/// The start of the year, month, ISO week (`weeks3`: the last Wednesday), day, hour or
/// minute holding `t`, in the request's time zone.
fn truncate_time(e: &Eval<'_>, t: i64, unit: &str) -> i64 {
    use jiff::ToSpan;
    let Ok(ts) = jiff::Timestamp::from_second(t) else {
        return t;
    };
    let z = ts.to_zoned_datetime(e.tz.clone());
    let date = z.date();
    let (date, h, m, s) = match unit {
        "years" => (
            jiff::civil::Date::new(z.year(), 1, 1).unwrap_or(date),
            0,
            0,
            0,
        ),
        "months" => (
            jiff::civil::Date::new(z.year(), z.month(), 1).unwrap_or(date),
            0,
            0,
            0,
        ),
        "days" => (date, 0, 0, 0),
        "hours" => (date, z.hour(), 0, 0),
        "minutes" => (date, z.hour(), z.minute(), 0),
        "seconds" => (date, z.hour(), z.minute(), z.second()),
        weeks => {
            let target: i8 = weeks
                .strip_prefix("weeks")
                .and_then(|d| d.parse().ok())
                .unwrap_or(1);
            let back = (date.weekday().to_monday_one_offset() - target).rem_euclid(7);
            (
                date.checked_sub(i64::from(back).days()).unwrap_or(date),
                0,
                0,
                0,
            )
        }
    };
    jiff::civil::DateTime::from_parts(date, jiff::civil::time(h, m, s, 0))
        .to_zoned_datetime(e.tz.clone())
        .map_or(t, |z| z.timestamp().as_second())
}

fn smart_summarize(e: &mut Eval<'_>, call: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let text = b.need_string(1)?;
    let func = b.string(2).unwrap_or_else(|| "sum".into());
    let align_to = b.value(3);
    if let Some(Value::Str(unit)) = &align_to {
        let unit_name = unit_name(unit)?;
        let from = truncate_time(e, e.from, &unit_name);
        list = super::into_list(e.reevaluate(first_arg(call)?, from, e.until)?);
    }
    let interval = interval_seconds(&text)?;
    if interval == 0 {
        return Err(Error::new("smartSummarize() needs a non-zero interval"));
    }
    let agg = agg_of(&func)?;
    charge_buckets(e, &list, interval)?;
    let out = list
        .into_iter()
        .map(|mut s| {
            let (values, end) = summarize_values(&s, agg, interval, s.start, s.end);
            s.tag("smartSummarize", text.clone());
            s.tag("smartSummarizeFunction", func.clone());
            let mut r = s.with_values(
                format!("smartSummarize({}, \"{text}\", \"{func}\")", s.name),
                values,
            );
            r.end = end;
            r.step = interval;
            r
        })
        .collect();
    Ok(Value::List(out))
}

/// graphite-web's `getUnitString`, plus a week's ISO weekday (`weeks3`).
fn unit_name(text: &str) -> Result<String> {
    let t = text.trim_start_matches(|c: char| c.is_ascii_digit());
    let base = if t.starts_with('s') {
        "seconds"
    } else if t.starts_with("min") {
        "minutes"
    } else if t.starts_with('h') {
        "hours"
    } else if t.starts_with('d') {
        "days"
    } else if t.starts_with('w') {
        let day = text
            .chars()
            .last()
            .filter(char::is_ascii_digit)
            .map(|c| c.to_string())
            .unwrap_or_default();
        return Ok(format!("weeks{day}"));
    } else if t.starts_with("mon") {
        "months"
    } else if t.starts_with('y') {
        "years"
    } else {
        return Err(Error::new(format!("Invalid offset unit '{text}'")));
    };
    Ok(base.into())
}

fn hitcount(e: &mut Eval<'_>, call: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let text = b.need_string(1)?;
    let align = b.boolean(2);
    let interval = interval_seconds(&text)?;
    if interval == 0 {
        return Err(Error::new("hitcount() needs a non-zero interval"));
    }
    if align {
        let unit = if interval >= 86_400 {
            "days"
        } else if interval >= 3600 {
            "hours"
        } else if interval >= 60 {
            "minutes"
        } else {
            "seconds"
        };
        let from = if unit == "seconds" {
            e.from
        } else {
            truncate_time(e, e.from, unit)
        };
        list = super::into_list(e.reevaluate(first_arg(call)?, from, e.until)?);
        for s in &mut list {
            let count = (s.end - s.start).div_euclid(interval);
            s.end = s.start + count * interval + interval;
        }
    }
    charge_buckets(e, &list, interval)?;
    let out = list
        .into_iter()
        .map(|mut s| {
            let step = s.step;
            let buckets_n = ((s.end - s.start) as f64 / interval as f64).ceil().max(0.0) as i64;
            let mut buckets: Vec<Option<f64>> = vec![None; buckets_n as usize];
            let new_start = s.end - buckets_n * interval;
            let mut add = |i: i64, v: f64| {
                if let Some(slot) = usize::try_from(i).ok().and_then(|i| buckets.get_mut(i)) {
                    *slot = Some(slot.unwrap_or(0.0) + v);
                }
            };
            for (i, &v) in s.values.iter().enumerate() {
                if v.is_nan() {
                    continue;
                }
                let start_time = s.start + i as i64 * step;
                let (start_bucket, start_mod) = (
                    (start_time - new_start).div_euclid(interval),
                    (start_time - new_start).rem_euclid(interval),
                );
                let end_time = start_time + step;
                let (mut end_bucket, mut end_mod) = (
                    (end_time - new_start).div_euclid(interval),
                    (end_time - new_start).rem_euclid(interval),
                );
                if end_bucket >= buckets_n {
                    end_bucket = buckets_n - 1;
                    end_mod = interval;
                }
                if start_bucket == end_bucket {
                    if start_bucket >= 0 {
                        add(start_bucket, v * (end_mod - start_mod) as f64);
                    }
                } else {
                    if start_bucket >= 0 {
                        add(start_bucket, v * (interval - start_mod) as f64);
                    }
                    for j in start_bucket + 1..end_bucket {
                        add(j, v * interval as f64);
                    }
                    if end_mod > 0 {
                        add(end_bucket, v * end_mod as f64);
                    }
                }
            }
            let values = buckets.into_iter().map(|b| b.unwrap_or(NULL)).collect();
            s.tag("hitcount", text.clone());
            let name = format!(
                "hitcount({}, \"{text}\"{})",
                s.name,
                if align { ", true" } else { "" }
            );
            let mut r = s.with_values(name, values);
            r.start = new_start;
            r.step = interval;
            r
        })
        .collect();
    Ok(Value::List(out))
}

/// A shift text as graphite-web normalises it: a bare `5min` means `-5min`.
fn signed_shift(text: &str) -> String {
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        format!("-{text}")
    } else {
        text.to_owned()
    }
}

fn time_shift(e: &mut Eval<'_>, call: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let text = signed_shift(&b.need_string(1)?);
    let reset_end = b.value(2).is_none() || b.boolean(2);
    let delta = super::offset_seconds(&text)?;
    let Some(first) = list.first() else {
        return Ok(Value::List(Vec::new()));
    };
    let (start, end) = (first.start, first.end);
    let (mut from, mut until) = (e.from.saturating_add(delta), e.until.saturating_add(delta));
    if b.boolean(3) {
        // alignDST: when the request and the shifted range sit on opposite sides of a DST
        // change (in the request's time zone), move the shifted range by the hour between them.
        let dst = |t: i64| {
            jiff::Timestamp::from_second(t).is_ok_and(|ts| e.tz.to_offset_info(ts).dst().is_dst())
        };
        let (request, shifted) = ((dst(e.from), dst(e.until)), (dst(from), dst(until)));
        let hour = match (request, shifted) {
            ((true, true), (false, false)) => 3600,
            ((false, false), (true, true)) => -3600,
            _ => 0,
        };
        from += hour;
        until += hour;
    }
    let shifted = super::into_list(e.reevaluate(first_arg(call)?, from, until)?);
    let out = shifted
        .into_iter()
        .map(|mut s| {
            s.tag("timeShift", text.clone());
            s.name = format!("timeShift({}, \"{text}\")", s.name);
            s.end = if reset_end {
                end
            } else {
                s.end - s.start + start
            };
            s.start = start;
            s
        })
        .collect();
    Ok(Value::List(out))
}

fn time_stack(e: &mut Eval<'_>, call: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let unit = signed_shift(&b.string(1).unwrap_or_else(|| "1d".into()));
    let from_n = b.int(2).unwrap_or(0);
    let to_n = b.int(3).unwrap_or(7);
    let delta = super::offset_seconds(&unit)?;
    let Some(first) = list.first() else {
        return Ok(Value::List(Vec::new()));
    };
    let (start, end) = (first.start, first.end);
    let mut out = Vec::new();
    for shift in from_n..to_n {
        let d = delta
            .checked_mul(shift)
            .filter(|d| d.abs() <= super::MAX_SPAN)
            .ok_or_else(|| {
                Error::new(format!("timeStack shift {shift} x {unit} is out of range"))
            })?;
        for mut s in super::into_list(e.reevaluate(
            first_arg(call)?,
            e.from.saturating_add(d),
            e.until.saturating_add(d),
        )?) {
            s.tag("timeShiftUnit", unit.clone());
            s.tag("timeShift", shift.to_string());
            s.name = format!("timeShift({}, {unit}, {shift})", s.name);
            s.path_expression = s.name.clone();
            s.start = start;
            s.end = end;
            out.push(s);
        }
    }
    Ok(Value::List(out))
}

fn time_slice(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let start_text = b.need_string(1)?;
    let end_text = b.string(2).unwrap_or_else(|| "now".into());
    let start = crate::attime::parse_at_time(&start_text, &e.tz, e.now).map_err(Error::new)?;
    let end = crate::attime::parse_at_time(&end_text, &e.tz, e.now).map_err(Error::new)?;
    for s in &mut list {
        s.tag("timeSliceStart", start.to_string());
        s.tag("timeSliceEnd", end.to_string());
        s.name = format!("timeSlice({}, {start}, {end})", s.name);
        let mut t = e.from;
        for v in &mut s.values {
            if t < start || t > end {
                *v = NULL;
            }
            t += s.step;
        }
    }
    Ok(Value::List(list))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use crate::eval::{Eval, FetchAll, Fetched, Fetching, Request};
    use crate::tagexpr::TagExpr;

    /// Records the ranges it is asked for and answers one flat series.
    struct Recorder(Mutex<Vec<(i64, i64)>>);

    impl FetchAll for Recorder {
        fn fetch(&self, _: &str, from: i64, until: i64) -> Result<Vec<Fetched>, String> {
            self.0
                .lock()
                .map_err(|e| e.to_string())?
                .push((from, until));
            let start = from - from.rem_euclid(60) + 60;
            let n = ((until - start) / 60).max(1) as usize;
            Ok(vec![Fetched {
                name: "a.b".into(),
                start,
                end: start + 60 * n as i64,
                step: 60,
                values: vec![1.0; n],
            }])
        }

        fn fetch_tagged(&self, _: &[TagExpr], _: i64, _: i64) -> Result<Vec<Fetched>, String> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn time_shift_align_dst_moves_across_a_change() {
        // 2024-07-01 12:00 in Paris (summer time), shifted back 26 weeks into winter time.
        let july = 1_719_828_000;
        let request = Request {
            from: july - 3600,
            until: july,
            now: july,
            tz: crate::attime::time_zone(Some("Europe/Paris")),
            templates: Vec::new(),
            max_bytes: 8_000_000,
            pool: None,
            xff: None,
        };
        let source = Fetching::new(Recorder(Mutex::new(Vec::new())));
        let shift = 26 * 7 * 86_400;
        for (target, extra) in [
            ("timeShift(a.b,'26w')", 0),
            ("timeShift(a.b,'26w',true,true)", 3600),
        ] {
            source.inner().0.lock().unwrap().clear();
            let out = Eval::new(&source, &request).target(target).unwrap();
            assert_eq!(out.len(), 1);
            let asked = source.inner().0.lock().unwrap().clone();
            assert_eq!(
                asked.last(),
                Some(&(july - 3600 - shift + extra, july - shift + extra)),
                "{target}"
            );
        }
    }
}
