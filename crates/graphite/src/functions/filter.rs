//! Choosing and ordering series (`highest*`, `limit`, `grep`, `filterSeries`, `sortBy*`…) and
//! removing points (`removeAboveValue`, percentiles).

use std::cmp::Ordering;

use super::combine::percentile;
use super::{Bound, Decl, key_or_low, safe_avg, safe_max, safe_min, xff_ok};
use crate::aggfunc::AggFunc;
use crate::eval::{Error, Eval, Result, Value};
use crate::grammar::Call;
use crate::pyfmt::{format_g, repr_f64};
use crate::series::{NULL, Series};

pub(super) const DECLS: &[Decl] = &[
    (
        "highest",
        "Filter Series",
        "seriesList:seriesList!,n:integer=1,func:aggFunc='average'",
        highest,
        false,
    ),
    (
        "lowest",
        "Filter Series",
        "seriesList:seriesList!,n:integer=1,func:aggFunc='average'",
        lowest,
        false,
    ),
    (
        "highestAverage",
        "Filter Series",
        "seriesList:seriesList!,n:integer!",
        highest_average,
        false,
    ),
    (
        "highestCurrent",
        "Filter Series",
        "seriesList:seriesList!,n:integer!",
        highest_current,
        false,
    ),
    (
        "highestMax",
        "Filter Series",
        "seriesList:seriesList!,n:integer!",
        highest_max,
        false,
    ),
    (
        "lowestAverage",
        "Filter Series",
        "seriesList:seriesList!,n:integer!",
        lowest_average,
        false,
    ),
    (
        "lowestCurrent",
        "Filter Series",
        "seriesList:seriesList!,n:integer!",
        lowest_current,
        false,
    ),
    (
        "limit",
        "Filter Series",
        "seriesList:seriesList!,n:integer!",
        limit,
        false,
    ),
    (
        "exclude",
        "Filter Series",
        "seriesList:seriesList!,pattern:string!",
        exclude,
        false,
    ),
    (
        "grep",
        "Filter Series",
        "seriesList:seriesList!,pattern:string!",
        grep,
        false,
    ),
    (
        "filterSeries",
        "Filter Series",
        "seriesList:seriesList!,func:aggFunc!,operator:string!{!=|<|<=|=|>|>=},threshold:float!",
        filter_series,
        false,
    ),
    (
        "currentAbove",
        "Filter Series",
        "seriesList:seriesList!,n:float!",
        current_above,
        false,
    ),
    (
        "currentBelow",
        "Filter Series",
        "seriesList:seriesList!,n:float!",
        current_below,
        false,
    ),
    (
        "averageAbove",
        "Filter Series",
        "seriesList:seriesList!,n:float!",
        average_above,
        false,
    ),
    (
        "averageBelow",
        "Filter Series",
        "seriesList:seriesList!,n:float!",
        average_below,
        false,
    ),
    (
        "maximumAbove",
        "Filter Series",
        "seriesList:seriesList!,n:float!",
        maximum_above,
        false,
    ),
    (
        "maximumBelow",
        "Filter Series",
        "seriesList:seriesList!,n:float!",
        maximum_below,
        false,
    ),
    (
        "minimumAbove",
        "Filter Series",
        "seriesList:seriesList!,n:float!",
        minimum_above,
        false,
    ),
    (
        "minimumBelow",
        "Filter Series",
        "seriesList:seriesList!,n:float!",
        minimum_below,
        false,
    ),
    (
        "removeEmptySeries",
        "Filter Series",
        "seriesList:seriesList!,xFilesFactor:float",
        remove_empty_series,
        false,
    ),
    (
        "mostDeviant",
        "Filter Series",
        "seriesList:seriesList!,n:integer!",
        most_deviant,
        false,
    ),
    (
        "unique",
        "Filter Series",
        "seriesLists:seriesList!*",
        unique,
        false,
    ),
    (
        "useSeriesAbove",
        "Filter Series",
        "seriesList:seriesList!,value:float!,search:string!,replace:string!",
        use_series_above,
        false,
    ),
    (
        "averageOutsidePercentile",
        "Filter Series",
        "seriesList:seriesList!,n:float!",
        average_outside_percentile,
        false,
    ),
    (
        "removeBetweenPercentile",
        "Filter Series",
        "seriesList:seriesList!,n:float!",
        remove_between_percentile,
        false,
    ),
    (
        "removeAboveValue",
        "Filter Data",
        "seriesList:seriesList!,n:float!",
        remove_above_value,
        false,
    ),
    (
        "removeBelowValue",
        "Filter Data",
        "seriesList:seriesList!,n:float!",
        remove_below_value,
        false,
    ),
    (
        "removeAbovePercentile",
        "Filter Data",
        "seriesList:seriesList!,n:float!",
        remove_above_percentile,
        false,
    ),
    (
        "removeBelowPercentile",
        "Filter Data",
        "seriesList:seriesList!,n:float!",
        remove_below_percentile,
        false,
    ),
    (
        "nPercentile",
        "Calculate",
        "seriesList:seriesList!,n:float!",
        n_percentile,
        false,
    ),
    (
        "sortBy",
        "Sorting",
        "seriesList:seriesList!,func:aggFunc='average',reverse:boolean=false",
        sort_by,
        false,
    ),
    (
        "sortByName",
        "Sorting",
        "seriesList:seriesList!,natural:boolean=false,reverse:boolean=false",
        sort_by_name,
        false,
    ),
    (
        "sortByTotal",
        "Sorting",
        "seriesList:seriesList!",
        sort_by_total,
        false,
    ),
    (
        "sortByMaxima",
        "Sorting",
        "seriesList:seriesList!",
        sort_by_maxima,
        false,
    ),
    (
        "sortByMinima",
        "Sorting",
        "seriesList:seriesList!",
        sort_by_minima,
        false,
    ),
];

fn agg(name: &str) -> Result<AggFunc> {
    AggFunc::parse(name.strip_suffix("Series").unwrap_or(name))
        .ok_or_else(|| Error::new(format!("Unsupported aggregation function: {name}")))
}

/// A stable sort by `key` (nulls lowest), descending when `reverse`, as Python's `sort`.
fn sort_by_key(list: &mut [Series], reverse: bool, key: impl Fn(&Series) -> f64) {
    let mut keyed: Vec<(f64, usize)> = list
        .iter()
        .enumerate()
        .map(|(i, s)| (key_or_low(key(s)), i))
        .collect();
    keyed.sort_by(|a, b| {
        let o = a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal);
        if reverse { o.reverse() } else { o }
    });
    let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    let mut taken: Vec<Option<Series>> = list
        .iter_mut()
        .map(|s| Some(std::mem::replace(s, Series::new("", 0, 0, 1, Vec::new()))))
        .collect();
    for (slot, i) in list.iter_mut().zip(order) {
        if let Some(s) = taken[i].take() {
            *slot = s;
        }
    }
}

fn pick(b: &mut Bound, n: i64, func: &str, reverse: bool) -> Result<Value> {
    let mut list = b.list(0);
    let f = agg(func)?;
    sort_by_key(&mut list, reverse, |s| f.apply(&s.values));
    list.truncate(n.max(0) as usize);
    Ok(Value::List(list))
}

fn highest(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let n = b.int(1).unwrap_or(1);
    let func = b.string(2).unwrap_or_else(|| "average".into());
    pick(b, n, &func, true)
}
fn lowest(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let n = b.int(1).unwrap_or(1);
    let func = b.string(2).unwrap_or_else(|| "average".into());
    pick(b, n, &func, false)
}
fn highest_average(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let n = b.need_int(1)?;
    pick(b, n, "average", true)
}
fn highest_current(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let n = b.need_int(1)?;
    pick(b, n, "current", true)
}
fn highest_max(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let n = b.need_int(1)?;
    pick(b, n, "max", true)
}
fn lowest_average(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let n = b.need_int(1)?;
    pick(b, n, "average", false)
}
fn lowest_current(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let n = b.need_int(1)?;
    pick(b, n, "current", false)
}

fn limit(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    list.truncate(b.need_int(1)?.max(0) as usize);
    Ok(Value::List(list))
}

/// A Python regular expression, compiled for Rust's engine.
pub(crate) fn python_regex(pattern: &str) -> Result<regex::Regex> {
    regex::Regex::new(pattern)
        .map_err(|e| Error::new(format!("invalid regular expression `{pattern}`: {e}")))
}

fn exclude(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let re = python_regex(&b.need_string(1)?)?;
    list.retain(|s| !re.is_match(&s.name));
    Ok(Value::List(list))
}

fn grep(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let re = python_regex(&b.need_string(1)?)?;
    list.retain(|s| re.is_match(&s.name));
    Ok(Value::List(list))
}

/// `filterSeries`'s operators; a null aggregate only passes `!=`, `<` and `<=`.
fn compare(op: &str, value: f64, threshold: f64) -> bool {
    let null = value.is_nan();
    match op {
        "=" => !null && value == threshold,
        "!=" => null || value != threshold,
        ">" => !null && value > threshold,
        ">=" => !null && value >= threshold,
        "<" => null || value < threshold,
        "<=" => null || value <= threshold,
        _ => false,
    }
}

fn filter_by(b: &mut Bound, func: &str, op: &str, threshold: f64) -> Result<Value> {
    let mut list = b.list(0);
    let f = agg(func)?;
    list.retain(|s| compare(op, f.apply(&s.values), threshold));
    Ok(Value::List(list))
}

fn filter_series(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let func = b.need_string(1)?;
    let op = b.need_string(2)?;
    let threshold = b.need_float(3)?;
    if !["=", "!=", ">", ">=", "<", "<="].contains(&op.as_str()) {
        return Err(Error::new(format!("Unsupported operator: {op}")));
    }
    filter_by(b, &func, &op, threshold)
}

macro_rules! threshold_filter {
    ($name:ident, $func:literal, $op:literal) => {
        fn $name(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
            let n = b.need_float(1)?;
            filter_by(b, $func, $op, n)
        }
    };
}
threshold_filter!(current_above, "last", ">");
threshold_filter!(current_below, "last", "<=");
threshold_filter!(average_above, "average", ">");
threshold_filter!(average_below, "average", "<=");
threshold_filter!(maximum_above, "max", ">");
threshold_filter!(maximum_below, "max", "<=");
threshold_filter!(minimum_above, "min", ">");
threshold_filter!(minimum_below, "min", "<=");

fn remove_empty_series(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let xff = b.float(1).unwrap_or(0.0);
    list.retain(|s| xff_ok(s.present().count(), s.len() as f64, xff));
    Ok(Value::List(list))
}

fn most_deviant(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let n = b.need_int(1)?;
    let mut deviants: Vec<(f64, Series)> = Vec::new();
    for s in list {
        let Some(mean) = safe_avg(&s.values) else {
            continue;
        };
        let square_sum: f64 = s.present().map(|v| (v - mean) * (v - mean)).sum();
        let count = s.present().count();
        if count == 0 {
            continue;
        }
        deviants.push((square_sum / count as f64, s));
    }
    deviants.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(Ordering::Equal));
    Ok(Value::List(
        deviants
            .into_iter()
            .map(|(_, s)| s)
            .take(n.max(0) as usize)
            .collect(),
    ))
}

fn unique(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut seen = std::collections::HashSet::new();
    let out = b
        .rest_lists()
        .into_iter()
        .flatten()
        .filter(|s| seen.insert(s.name.clone()))
        .collect();
    Ok(Value::List(out))
}

fn use_series_above(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let value = b.need_float(1)?;
    let search = python_regex(&b.need_string(2)?)?;
    let replace = super::alias::python_replacement(&b.need_string(3)?);
    let names: Vec<String> = list
        .iter()
        .filter(|s| safe_max(&s.values).is_some_and(|m| m > value))
        .map(|s| super::alias::substitute(&search, &replace, &s.name))
        .collect();
    if names.is_empty() {
        return Ok(Value::List(Vec::new()));
    }
    let found = e.eval_text(&format!("group({})", names.join(",")))?;
    Ok(Value::List(
        found.into_iter().filter(|s| !s.is_empty()).collect(),
    ))
}

fn average_outside_percentile(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let mut n = b.need_float(1)?;
    if n < 50.0 {
        n = 100.0 - n;
    }
    let averages: Vec<f64> = list
        .iter()
        .map(|s| safe_avg(&s.values).unwrap_or(NULL))
        .collect();
    let low = percentile(&averages, 100.0 - n, false);
    let high = percentile(&averages, n, false);
    list.retain(|s| {
        let avg = safe_avg(&s.values).unwrap_or(NULL);
        !(low < avg && avg < high)
    });
    Ok(Value::List(list))
}

fn remove_between_percentile(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let mut n = b.need_float(1)?;
    if n < 50.0 {
        n = 100.0 - n;
    }
    let len = list.iter().map(Series::len).min().unwrap_or(0);
    let column = |i: usize| -> Vec<f64> { list.iter().map(|s| s.values[i]).collect() };
    let lows: Vec<f64> = (0..len)
        .map(|i| percentile(&column(i), 100.0 - n, false))
        .collect();
    let highs: Vec<f64> = (0..len).map(|i| percentile(&column(i), n, false)).collect();
    list.retain(|s| {
        s.values
            .iter()
            .enumerate()
            .any(|(i, &v)| i < len && !(lows[i] < v && v < highs[i]))
    });
    Ok(Value::List(list))
}

fn remove_value(b: &mut Bound, name: &str, keep: impl Fn(f64, f64) -> bool) -> Result<Value> {
    let mut list = b.list(0);
    let n = b.need_float(1)?;
    for s in &mut list {
        s.name = format!("{name}({}, {})", s.name, format_g(n));
        s.path_expression = s.name.clone();
        for v in &mut s.values {
            if !keep(*v, n) {
                *v = NULL;
            }
        }
    }
    Ok(Value::List(list))
}

fn remove_above_value(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    remove_value(b, "removeAboveValue", |v, n| v.is_nan() || v <= n)
}

fn remove_below_value(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    remove_value(b, "removeBelowValue", |v, n| !v.is_nan() && v >= n)
}

fn remove_percentile(b: &mut Bound, name: &str, above: bool) -> Result<Value> {
    let mut list = b.list(0);
    let n = b.need_float(1)?;
    for s in &mut list {
        s.name = format!("{name}({}, {})", s.name, format_g(n));
        s.path_expression = s.name.clone();
        if s.present().count() == 0 {
            continue;
        }
        // graphite-web computes it with nPercentile, which tags the series as it goes.
        s.tag("nPercentile", repr_f64(n));
        let p = percentile(&s.values, n, false);
        for v in &mut s.values {
            let removed = if above {
                !v.is_nan() && *v > p
            } else {
                v.is_nan() || *v < p
            };
            if removed {
                *v = NULL;
            }
        }
    }
    Ok(Value::List(list))
}

fn remove_above_percentile(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    remove_percentile(b, "removeAbovePercentile", true)
}

fn remove_below_percentile(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    remove_percentile(b, "removeBelowPercentile", false)
}

fn n_percentile(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let n = b.need_float(1)?;
    if n == 0.0 {
        return Err(Error::new(
            "The requested percent is required to be greater than 0",
        ));
    }
    let mut out = Vec::new();
    for mut s in list {
        if s.present().count() == 0 {
            continue;
        }
        let p = percentile(&s.values, n, false);
        if p.is_nan() {
            continue;
        }
        s.tag("nPercentile", repr_f64(n));
        let count = ((s.end - s.start) as f64 / s.step as f64).trunc().max(0.0) as usize;
        out.push(s.with_values(
            format!("nPercentile({}, {})", s.name, format_g(n)),
            vec![p; count],
        ));
    }
    Ok(Value::List(out))
}

fn sort_by(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let f = agg(&b.string(1).unwrap_or_else(|| "average".into()))?;
    let reverse = b.boolean(2);
    sort_by_key(&mut list, reverse, |s| f.apply(&s.values));
    Ok(Value::List(list))
}

/// `sortByName(natural=true)`'s key: every run of digits zero-padded to ten places.
fn natural_key(name: &str) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    for c in name.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if !digits.is_empty() {
            let trimmed = digits.trim_start_matches('0');
            out.push_str(&format!(
                "{:0>10}",
                if trimmed.is_empty() { "0" } else { trimmed }
            ));
            digits.clear();
        }
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

fn sort_by_name(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let natural = b.boolean(1);
    let reverse = b.boolean(2);
    if natural {
        list.sort_by_cached_key(|s| natural_key(&s.name));
    } else {
        list.sort_by(|a, b| a.name.cmp(&b.name));
    }
    if reverse {
        // Python's reverse sort keeps equal keys in their original order.
        let mut keyed: Vec<(String, usize, Series)> = list
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                (
                    if natural {
                        natural_key(&s.name)
                    } else {
                        s.name.clone()
                    },
                    i,
                    s,
                )
            })
            .collect();
        keyed.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        list = keyed.into_iter().map(|(_, _, s)| s).collect();
    }
    Ok(Value::List(list))
}

fn sort_by_total(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    sort_by_key(&mut list, true, |s| AggFunc::Sum.apply(&s.values));
    Ok(Value::List(list))
}

fn sort_by_maxima(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    sort_by_key(&mut list, true, |s| safe_max(&s.values).unwrap_or(NULL));
    Ok(Value::List(list))
}

fn sort_by_minima(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    list.retain(|s| safe_max(&s.values).unwrap_or(0.0) > 0.0);
    sort_by_key(&mut list, false, |s| safe_min(&s.values).unwrap_or(NULL));
    Ok(Value::List(list))
}
