//! Combining series: `sumSeries` and the `aggregate` family, `asPercent`, `divideSeries`,
//! `group`, the `groupBy*` functions, `mapSeries`/`reduceSeries`, `applyByNode`.

use std::collections::HashMap;

use super::{
    Bound, Decl, agg_key, call_named, distinct_joined, into_list, normalize, path_expressions,
    safe_div, safe_pow, xff_ok,
};
use crate::aggfunc::AggFunc;
use crate::eval::{Error, Eval, Result, Stored, Value};
use crate::fold::{self, AsMember, Fold, Member, foldable};
use crate::grammar::Call;
use crate::series::{NULL, Series, Tags, parse_tagged, tags_of};

pub(super) const DECLS: &[Decl] = &[
    (
        "aggregate",
        "Combine",
        "seriesList:seriesList!,func:aggFunc!,xFilesFactor:float",
        aggregate_fn,
        false,
    ),
    (
        "aggregateSeriesLists",
        "Combine",
        "seriesListFirstPos:seriesList!,seriesListSecondPos:seriesList!,func:aggFunc!,xFilesFactor:float",
        aggregate_series_lists,
        false,
    ),
    (
        "sumSeriesLists",
        "Combine",
        "seriesListFirstPos:seriesList!,seriesListSecondPos:seriesList!",
        sum_series_lists,
        true,
    ),
    (
        "diffSeriesLists",
        "Combine",
        "seriesListFirstPos:seriesList!,seriesListSecondPos:seriesList!",
        diff_series_lists,
        true,
    ),
    (
        "multiplySeriesLists",
        "Combine",
        "seriesListFirstPos:seriesList!,seriesListSecondPos:seriesList!",
        multiply_series_lists,
        true,
    ),
    (
        "sumSeries",
        "Combine",
        "seriesLists:seriesList!*",
        sum_series,
        true,
    ),
    (
        "sum",
        "Combine",
        "seriesLists:seriesList!*",
        sum_series,
        true,
    ),
    (
        "averageSeries",
        "Combine",
        "seriesLists:seriesList!*",
        average_series,
        true,
    ),
    (
        "avg",
        "Combine",
        "seriesLists:seriesList!*",
        average_series,
        true,
    ),
    (
        "minSeries",
        "Combine",
        "seriesLists:seriesList!*",
        min_series,
        true,
    ),
    (
        "maxSeries",
        "Combine",
        "seriesLists:seriesList!*",
        max_series,
        true,
    ),
    (
        "diffSeries",
        "Combine",
        "seriesLists:seriesList!*",
        diff_series,
        true,
    ),
    (
        "stddevSeries",
        "Combine",
        "seriesLists:seriesList!*",
        stddev_series,
        true,
    ),
    (
        "rangeOfSeries",
        "Combine",
        "seriesLists:seriesList!*",
        range_series,
        true,
    ),
    (
        "multiplySeries",
        "Combine",
        "seriesLists:seriesList!*",
        multiply_series,
        true,
    ),
    (
        "countSeries",
        "Combine",
        "seriesLists:seriesList*",
        count_series,
        true,
    ),
    (
        "percentileOfSeries",
        "Combine",
        "seriesList:seriesList!,n:float!,interpolate:boolean=false",
        percentile_of_series,
        false,
    ),
    (
        "sumSeriesWithWildcards",
        "Combine",
        "seriesList:seriesList!,position:node*",
        sum_with_wildcards,
        true,
    ),
    (
        "averageSeriesWithWildcards",
        "Combine",
        "seriesList:seriesList!,position:node*",
        average_with_wildcards,
        true,
    ),
    (
        "multiplySeriesWithWildcards",
        "Combine",
        "seriesList:seriesList!,position:node*",
        multiply_with_wildcards,
        true,
    ),
    (
        "aggregateWithWildcards",
        "Combine",
        "seriesList:seriesList!,func:aggFunc!,position:node*",
        aggregate_with_wildcards,
        false,
    ),
    (
        "asPercent",
        "Combine",
        "seriesList:seriesList!,total:any,nodes:nodeOrTag*",
        as_percent,
        true,
    ),
    (
        "pct",
        "Combine",
        "seriesList:seriesList!,total:any,nodes:nodeOrTag*",
        as_percent,
        true,
    ),
    (
        "divideSeries",
        "Combine",
        "dividendSeriesList:seriesList!,divisorSeries:seriesList!",
        divide_series,
        false,
    ),
    (
        "divideSeriesLists",
        "Combine",
        "dividendSeriesList:seriesList!,divisorSeriesList:seriesList!",
        divide_series_lists,
        false,
    ),
    (
        "weightedAverage",
        "Combine",
        "seriesListAvg:seriesList!,seriesListWeight:seriesList!,nodes:nodeOrTag*",
        weighted_average,
        false,
    ),
    (
        "powSeries",
        "Combine",
        "seriesList:seriesList!*",
        pow_series,
        true,
    ),
    ("group", "Combine", "seriesLists:seriesList*", group, false),
    (
        "groupByNode",
        "Combine",
        "seriesList:seriesList!,nodeNum:nodeOrTag!,callback:aggOrSeriesFunc='average'",
        group_by_node,
        false,
    ),
    (
        "groupByNodes",
        "Combine",
        "seriesList:seriesList!,callback:aggOrSeriesFunc!,nodes:nodeOrTag*",
        group_by_nodes,
        false,
    ),
    (
        "groupByTags",
        "Combine",
        "seriesList:seriesList!,callback:aggOrSeriesFunc!,tags:tag!*",
        group_by_tags,
        false,
    ),
    (
        "mapSeries",
        "Combine",
        "seriesList:seriesList!,mapNodes:nodeOrTag!*",
        map_series,
        false,
    ),
    (
        "map",
        "Combine",
        "seriesList:seriesList!,mapNodes:nodeOrTag!*",
        map_series,
        false,
    ),
    (
        "reduceSeries",
        "Combine",
        "seriesLists:seriesLists!,reduceFunction:string!,reduceNode:node!,reduceMatchers:string!*",
        reduce_series,
        false,
    ),
    (
        "reduce",
        "Combine",
        "seriesLists:seriesLists!,reduceFunction:string!,reduceNode:node!,reduceMatchers:string!*",
        reduce_series,
        false,
    ),
    (
        "applyByNode",
        "Combine",
        "seriesList:seriesList!,nodeNum:node!,templateFunction:string!,newName:string",
        apply_by_node,
        false,
    ),
];

/// graphite-web's `aggregate()`: one series from all of `series`, named `<func>Series(paths)`,
/// with the tags they share plus `aggregatedBy`.
pub(crate) fn aggregate(
    eval: &mut Eval<'_>,
    series: &[Series],
    func: &str,
    xff: Option<f64>,
) -> Result<Vec<Series>> {
    aggregate_members(eval, series, func, xff)
}

/// [`aggregate`] over members that may not be read yet: the functions that fold read them one
/// at a time; the others (`median`, `stddev`, `diff`, `last`, `avg_zero`) read them all first.
pub(crate) fn aggregate_members<T: AsMember + Clone + Into<Member>>(
    eval: &mut Eval<'_>,
    members: &[T],
    func: &str,
    xff: Option<f64>,
) -> Result<Vec<Series>> {
    let name_func = func.strip_suffix("Series").unwrap_or(func);
    let agg = AggFunc::parse(name_func)
        .ok_or_else(|| Error::new(format!("Unsupported aggregation function: {func}")))?;
    if foldable(agg) {
        let Some(plan) = Fold::plan(agg, members) else {
            return Ok(Vec::new());
        };
        let xff = xff.or(eval.xff).unwrap_or(0.0);
        let mut fold = fold::run(eval, plan, members)?;
        let name = format!(
            "{name_func}Series({})",
            distinct_joined(members.iter().map(|m| m.member().path_expression()))
        );
        let mut tags = fold.shared_tags();
        tags.entry("name".into()).or_insert_with(|| name.clone());
        tags.insert("aggregatedBy".into(), name_func.to_owned());
        let (start, end, step) = (fold.start, fold.end, fold.step);
        let mut out = Series::new(name, start, end, step, fold.finish(xff));
        out.tags = tags;
        out.x_files_factor = xff;
        return Ok(vec![out]);
    }
    let owned: Vec<Member> = members.iter().cloned().map(Into::into).collect();
    let series = materialize(eval, owned)?;
    aggregate_rows_of(eval, &series, name_func, agg, xff)
}

/// Every member as a series, the unread ones read (in one charged batch), order kept.
pub(crate) fn materialize(eval: &mut Eval<'_>, members: Vec<Member>) -> Result<Vec<Series>> {
    let unread: Vec<Stored> = members
        .iter()
        .filter_map(|m| match m {
            Member::Unread(s) => Some(s.clone()),
            Member::Read(_) => None,
        })
        .collect();
    let mut read = eval.read_all(unread)?.into_iter();
    Ok(members
        .into_iter()
        .filter_map(|m| match m {
            Member::Read(s) => Some(s),
            Member::Unread(_) => read.next(),
        })
        .collect())
}

/// The members a function's series arguments hold, read or not.
pub(crate) fn members(values: Vec<Value>) -> Vec<Member> {
    let mut out = Vec::new();
    for value in values {
        match value {
            Value::List(list) => out.extend(list.into_iter().map(Member::Read)),
            Value::Lazy(stored) => out.extend(stored.into_iter().map(Member::Unread)),
            _ => {}
        }
    }
    out
}

/// Members as a value: unread when none is read, otherwise all read.
fn members_value(eval: &mut Eval<'_>, members: Vec<Member>) -> Result<Value> {
    if members.iter().all(|m| matches!(m, Member::Unread(_))) && !members.is_empty() {
        return Ok(Value::Lazy(
            members
                .into_iter()
                .filter_map(|m| match m {
                    Member::Unread(s) => Some(s),
                    Member::Read(_) => None,
                })
                .collect(),
        ));
    }
    Ok(Value::List(materialize(eval, members)?))
}

/// The aggregations that do not fold, over series already read.
fn aggregate_rows_of(
    eval: &Eval<'_>,
    series: &[Series],
    name_func: &str,
    agg: AggFunc,
    xff: Option<f64>,
) -> Result<Vec<Series>> {
    let refs: Vec<&Series> = series.iter().collect();
    let Some(norm) = normalize(&refs) else {
        return Ok(Vec::new());
    };
    let xff = xff.or(eval.xff).unwrap_or(0.0);
    let values = aggregate_rows(&norm, agg, xff);
    let name = format!("{name_func}Series({})", path_expressions(series));
    let mut tags = series[0].tags.clone();
    for s in &series[1..] {
        tags.retain(|k, v| s.tags.get(k) == Some(v));
    }
    tags.entry("name".into()).or_insert_with(|| name.clone());
    tags.insert("aggregatedBy".into(), name_func.to_owned());
    let mut out = Series::new(name, norm.start, norm.end, norm.step, values);
    out.tags = tags;
    out.x_files_factor = xff;
    Ok(vec![out])
}

/// Row aggregation, column by column for the common functions (fast for many series).
pub(crate) fn aggregate_rows(norm: &super::Normalized<'_>, agg: AggFunc, xff: f64) -> Vec<f64> {
    let len = norm.len();
    let n = norm.values.len();
    match agg {
        AggFunc::Sum
        | AggFunc::Average
        | AggFunc::Min
        | AggFunc::Max
        | AggFunc::Diff
        | AggFunc::Last => {
            let mut acc = vec![0.0f64; len];
            let mut count = vec![0u32; len];
            for column in &norm.values {
                for (i, &v) in column.iter().enumerate() {
                    if v.is_nan() {
                        continue;
                    }
                    let c = count[i];
                    acc[i] = if c == 0 {
                        v
                    } else {
                        match agg {
                            AggFunc::Sum | AggFunc::Average => acc[i] + v,
                            AggFunc::Min => acc[i].min(v),
                            AggFunc::Max => acc[i].max(v),
                            AggFunc::Diff => acc[i] - v,
                            _ => v,
                        }
                    };
                    count[i] = c + 1;
                }
            }
            acc.iter()
                .zip(&count)
                .map(|(&a, &c)| {
                    if !xff_ok(c as usize, n as f64, xff) {
                        NULL
                    } else if agg == AggFunc::Average {
                        a / f64::from(c)
                    } else {
                        a
                    }
                })
                .collect()
        }
        _ => norm.map_rows(|row| {
            let present = row.iter().filter(|v| !v.is_nan()).count();
            if xff_ok(present, row.len() as f64, xff) {
                agg.apply(row)
            } else {
                NULL
            }
        }),
    }
}

fn lists_of(bound: &mut Bound) -> Vec<Series> {
    bound.rest_lists().into_iter().flatten().collect()
}

fn aggregate_fn(eval: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.members(0);
    let func = b.need_string(1)?;
    let xff = b.float(2);
    if list.is_empty() {
        return Ok(Value::List(Vec::new()));
    }
    Ok(Value::List(aggregate_members(eval, &list, &func, xff)?))
}

fn aggregate_named(eval: &mut Eval<'_>, b: &mut Bound, func: &str) -> Result<Value> {
    let list = members(b.rest());
    if list.is_empty() {
        return Ok(Value::List(Vec::new()));
    }
    Ok(Value::List(aggregate_members(eval, &list, func, None)?))
}

fn sum_series(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    aggregate_named(e, b, "sum")
}
fn average_series(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    aggregate_named(e, b, "average")
}
fn min_series(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    aggregate_named(e, b, "min")
}
fn max_series(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    aggregate_named(e, b, "max")
}
fn diff_series(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    aggregate_named(e, b, "diff")
}
fn stddev_series(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    aggregate_named(e, b, "stddev")
}
fn range_series(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    aggregate_named(e, b, "rangeOf")
}

fn multiply_series(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let args = b.rest();
    let single = args.len() == 1
        && match &args[0] {
            Value::List(l) => l.len() == 1,
            Value::Lazy(l) => l.len() == 1,
            _ => false,
        };
    let list = members(args);
    if single {
        return Ok(Value::List(materialize(e, list)?));
    }
    if list.is_empty() {
        return Ok(Value::List(Vec::new()));
    }
    Ok(Value::List(aggregate_members(e, &list, "multiply", None)?))
}

fn aggregate_pairs(
    e: &mut Eval<'_>,
    first: Vec<Series>,
    second: Vec<Series>,
    func: &str,
    xff: Option<f64>,
) -> Result<Value> {
    if first.len() != second.len() {
        return Err(Error::new(
            "seriesListFirstPos and seriesListSecondPos argument must have equal length",
        ));
    }
    let mut out = Vec::new();
    for (a, b) in first.into_iter().zip(second) {
        let names = format!("{},{}", a.name, b.name);
        if let Some(mut r) = aggregate(e, &[a, b], func, xff)?.pop() {
            let cut = r.name.find("Series(").unwrap_or(r.name.len());
            r.name = format!("{}Series({names})", &r.name[..cut]);
            out.push(r);
        }
    }
    Ok(Value::List(out))
}

fn aggregate_series_lists(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let (first, second) = (b.list(0), b.list(1));
    let func = b.need_string(2)?;
    aggregate_pairs(e, first, second, &func, b.float(3))
}
fn sum_series_lists(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let (first, second) = (b.list(0), b.list(1));
    aggregate_pairs(e, first, second, "sum", None)
}
fn diff_series_lists(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let (first, second) = (b.list(0), b.list(1));
    aggregate_pairs(e, first, second, "diff", None)
}
fn multiply_series_lists(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let (first, second) = (b.list(0), b.list(1));
    aggregate_pairs(e, first, second, "multiply", None)
}

fn count_series(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let args = b.rest();
    if args.is_empty() {
        let mut line = super::special::constant_line(e, Value::Int(0));
        line.path_expression = "countSeries()".into();
        return Ok(Value::List(vec![line]));
    }
    // The count and the normalised window need no values: nothing is read.
    let list = members(args);
    let Some(norm) = Fold::plan(AggFunc::Count, &list) else {
        return Ok(Value::List(Vec::new()));
    };
    e.charge(norm.len())?;
    let name = format!(
        "countSeries({})",
        distinct_joined(list.iter().map(|m| m.member().path_expression()))
    );
    let values = vec![list.len() as f64; norm.len()];
    let mut s = Series::new(name, norm.start, norm.end, norm.step, values);
    s.x_files_factor = e.xff.unwrap_or(0.0);
    Ok(Value::List(vec![s]))
}

/// `_getPercentile`.
pub(crate) fn percentile(points: &[f64], n: f64, interpolate: bool) -> f64 {
    let mut sorted: Vec<f64> = points.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return NULL;
    }
    sorted.sort_by(f64::total_cmp);
    // Beyond either end every rank picks the same point; clamping keeps the arithmetic small.
    let bound = sorted.len() as f64 + 1.0;
    let fractional = (n / 100.0 * bound).clamp(-bound, bound);
    if fractional.is_nan() {
        return NULL;
    }
    let mut rank = fractional.trunc() as i64;
    let fraction = fractional - rank as f64;
    if !interpolate {
        rank += fraction.ceil() as i64;
    }
    let at = |i: i64| -> f64 {
        let len = sorted.len() as i64;
        let idx = if i < 0 { len + i } else { i };
        sorted[idx.clamp(0, len - 1) as usize]
    };
    let mut p = if rank == 0 {
        sorted[0]
    } else if (rank - 1) as usize == sorted.len() {
        sorted[sorted.len() - 1]
    } else {
        at(rank - 1)
    };
    if interpolate && rank as usize != sorted.len() {
        let next = at(rank);
        p += fraction * (next - p);
    }
    p
}

fn percentile_of_series(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let n = b.need_float(1)?;
    let interpolate = b.boolean(2);
    if n <= 0.0 {
        return Err(Error::new(
            "The requested percent is required to be greater than 0",
        ));
    }
    if list.is_empty() {
        return Ok(Value::List(list));
    }
    let name = format!(
        "percentileOfSeries({},{})",
        list[0].path_expression,
        crate::pyfmt::format_g(n)
    );
    let refs: Vec<&Series> = list.iter().collect();
    let Some(norm) = normalize(&refs) else {
        return Ok(Value::List(Vec::new()));
    };
    let values = norm.map_rows(|row| percentile(row, n, interpolate));
    let mut s = Series::new(name, norm.start, norm.end, norm.step, values);
    s.x_files_factor = e.xff.unwrap_or(0.0);
    Ok(Value::List(vec![s]))
}

fn with_wildcards(
    e: &mut Eval<'_>,
    list: Vec<Series>,
    func: &str,
    positions: &[i64],
) -> Result<Value> {
    let mut groups: Vec<(String, Vec<Series>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for s in list {
        let key = s
            .name
            .split('.')
            .enumerate()
            .filter(|(i, _)| !positions.contains(&(*i as i64)))
            .map(|(_, p)| p)
            .collect::<Vec<_>>()
            .join(".");
        match index.get(&key) {
            Some(&i) => groups[i].1.push(s),
            None => {
                index.insert(key.clone(), groups.len());
                groups.push((key, vec![s]));
            }
        }
    }
    let mut out = Vec::new();
    for (key, members) in groups {
        if let Some(mut s) = aggregate(e, &members, func, None)?.pop() {
            s.name = key;
            out.push(s);
        }
    }
    Ok(Value::List(out))
}

fn positions(b: &mut Bound) -> Vec<i64> {
    b.rest()
        .iter()
        .filter_map(|v| v.as_f64())
        .map(|f| f as i64)
        .collect()
}

fn sum_with_wildcards(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let p = positions(b);
    with_wildcards(e, list, "sum", &p)
}
fn average_with_wildcards(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let p = positions(b);
    with_wildcards(e, list, "average", &p)
}
fn multiply_with_wildcards(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let p = positions(b);
    with_wildcards(e, list, "multiply", &p)
}
fn aggregate_with_wildcards(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let func = b.need_string(1)?;
    let p = positions(b);
    with_wildcards(e, list, &func, &p)
}

/// Groups series by key, keeping first-seen order.
fn group_by(list: Vec<Series>, key: impl Fn(&Series) -> String) -> Vec<(String, Vec<Series>)> {
    let mut groups: Vec<(String, Vec<Series>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for s in list {
        let k = key(&s);
        match index.get(&k) {
            Some(&i) => groups[i].1.push(s),
            None => {
                index.insert(k.clone(), groups.len());
                groups.push((k, vec![s]));
            }
        }
    }
    groups
}

fn sum_values(norm: &super::Normalized<'_>) -> Vec<f64> {
    norm.map_rows(|row| AggFunc::Sum.apply(row))
}

fn percent_of(a: &Series, b: &Series, xff: f64, name: String) -> Series {
    let refs = [a, b];
    let (start, end, step, values) = match normalize(&refs) {
        Some(norm) => {
            let va = &norm.values[0];
            let vb = &norm.values[1];
            let len = va.len().max(vb.len());
            let values = (0..len)
                .map(|i| {
                    let x = va.get(i).copied().unwrap_or(NULL);
                    let y = vb.get(i).copied().unwrap_or(NULL);
                    safe_div(x, y) * 100.0
                })
                .collect();
            (norm.start, norm.end, norm.step, values)
        }
        None => (a.start, a.end, a.step, Vec::new()),
    };
    let mut s = Series::new(name, start, end, step, values);
    s.x_files_factor = xff;
    s
}

fn sum_of(group: &[Series], xff: f64) -> Series {
    if group.len() == 1 {
        return group[0].clone();
    }
    let refs: Vec<&Series> = group.iter().collect();
    let name = format!("sumSeries({})", path_expressions(group));
    match normalize(&refs) {
        Some(norm) => {
            let values = sum_values(&norm);
            let mut s = Series::new(name, norm.start, norm.end, norm.step, values);
            s.x_files_factor = xff;
            s
        }
        None => Series::new(name, 0, 0, 1, Vec::new()),
    }
}

fn as_percent(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let total = b.value(1);
    let nodes = b.rest();
    let xff = e.xff.unwrap_or(0.0);
    if list.is_empty() && !matches!(total, Some(Value::List(_))) {
        return Ok(Value::List(Vec::new()));
    }
    if !nodes.is_empty() {
        let groups = group_by(list, |s| agg_key(s, &nodes));
        let mut keys: Vec<String> = groups.iter().map(|(k, _)| k.clone()).collect();
        let mut totals: HashMap<String, Series> = HashMap::new();
        match total {
            None => {
                for (k, g) in &groups {
                    totals.insert(k.clone(), sum_of(g, xff));
                }
            }
            Some(Value::List(total)) => {
                for (k, g) in group_by(total, |s| agg_key(s, &nodes)) {
                    if !keys.contains(&k) {
                        keys.push(k.clone());
                    }
                    totals.insert(k, sum_of(&g, xff));
                }
            }
            Some(_) => return Err(Error::new("total must be None or a seriesList")),
        }
        let groups: HashMap<String, Vec<Series>> = groups.into_iter().collect();
        let mut out = Vec::new();
        for key in keys {
            match (groups.get(&key), totals.get(&key)) {
                (None, Some(t)) => {
                    let mut s = Series::new(
                        format!("asPercent(MISSING,{})", t.name),
                        t.start,
                        t.end,
                        t.step,
                        vec![NULL; t.len()],
                    );
                    s.x_files_factor = xff;
                    out.push(s);
                }
                (Some(members), t) => {
                    for m in members {
                        out.push(match t {
                            Some(t) => {
                                percent_of(m, t, xff, format!("asPercent({},{})", m.name, t.name))
                            }
                            None => {
                                let mut s = m.with_values(
                                    format!("asPercent({},MISSING)", m.name),
                                    vec![NULL; m.len()],
                                );
                                s.tags = tags_of(&s.name);
                                s
                            }
                        });
                    }
                }
                (None, None) => {}
            }
        }
        return Ok(Value::List(out));
    }
    let refs: Vec<&Series> = list.iter().collect();
    let (total_values, total_text): (Vec<f64>, String) = match &total {
        None => {
            let norm = normalize(&refs).ok_or_else(|| Error::new("asPercent needs series"))?;
            (
                sum_values(&norm),
                format!("sumSeries({})", path_expressions(&list)),
            )
        }
        Some(Value::List(t)) if t.len() == 1 => (t[0].values.clone(), t[0].name.clone()),
        Some(Value::List(t)) if t.len() == list.len() => {
            let mut a: Vec<Series> = list;
            let mut t = t.clone();
            a.sort_by(|x, y| x.name.cmp(&y.name));
            t.sort_by(|x, y| x.name.cmp(&y.name));
            let out = a
                .iter()
                .zip(&t)
                .map(|(x, y)| percent_of(x, y, xff, format!("asPercent({},{})", x.name, y.name)))
                .collect();
            return Ok(Value::List(out));
        }
        Some(Value::List(_)) => {
            return Err(Error::new(
                "asPercent second argument must be missing, a single digit, reference exactly 1 series or reference the same number of series as the first argument",
            ));
        }
        Some(v) => {
            let total = v
                .as_f64()
                .ok_or_else(|| Error::new("asPercent total must be a number or a series list"))?;
            (vec![total; list.first().map_or(0, Series::len)], v.py_str())
        }
    };
    let out = list
        .iter()
        .map(|s| {
            let values = (0..s.len().max(total_values.len()))
                .map(|i| {
                    let v = s.values.get(i).copied().unwrap_or(NULL);
                    let t = total_values.get(i).copied().unwrap_or(NULL);
                    safe_div(v, t) * 100.0
                })
                .collect();
            let text = if total_text.is_empty() {
                s.path_expression.clone()
            } else {
                total_text.clone()
            };
            let mut r = Series::new(
                format!("asPercent({},{text})", s.name),
                s.start,
                s.end,
                s.step,
                values,
            );
            r.x_files_factor = xff;
            r
        })
        .collect();
    Ok(Value::List(out))
}

fn quotient(a: &Series, b: &Series, xff: f64) -> Series {
    let name = format!("divideSeries({},{})", a.name, b.name);
    let refs = [a, b];
    let Some(norm) = normalize(&refs) else {
        return Series::new(name, a.start, a.end, a.step, Vec::new());
    };
    let values = norm.map_rows(|row| safe_div(row[0], row[1]));
    let mut s = Series::new(name, norm.start, norm.end, norm.step, values);
    s.x_files_factor = xff;
    s
}

fn divide_series(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let dividends = b.list(0);
    let divisor = b.list(1);
    let xff = e.xff.unwrap_or(0.0);
    if divisor.is_empty() {
        let out = dividends
            .into_iter()
            .map(|mut s| {
                s.name = format!("divideSeries({},MISSING)", s.name);
                s.path_expression = s.name.clone();
                s.values.iter_mut().for_each(|v| *v = NULL);
                s
            })
            .collect();
        return Ok(Value::List(out));
    }
    if divisor.len() > 1 {
        return Err(Error::new(format!(
            "divideSeries second argument must reference exactly 1 series (got {})",
            divisor.len()
        )));
    }
    Ok(Value::List(
        dividends
            .iter()
            .map(|d| quotient(d, &divisor[0], xff))
            .collect(),
    ))
}

fn divide_series_lists(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let dividends = b.list(0);
    let divisors = b.list(1);
    if dividends.len() != divisors.len() {
        return Err(Error::new(
            "dividendSeriesList and divisorSeriesList argument must have equal length",
        ));
    }
    let xff = e.xff.unwrap_or(0.0);
    Ok(Value::List(
        dividends
            .iter()
            .zip(&divisors)
            .map(|(a, d)| quotient(a, d, xff))
            .collect(),
    ))
}

fn weighted_average(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let avgs = b.list(0);
    let weights = b.list(1);
    let nodes = b.rest();
    if avgs.len() != weights.len() {
        return Err(Error::new(format!(
            "weightedAverage must receive the same number of series for seriesListAvg and seriesListWeight but received respectively {} and {}",
            avgs.len(),
            weights.len()
        )));
    }
    let mut keyed: Vec<(String, Option<usize>, Option<usize>)> = Vec::new();
    let slot = |keyed: &mut Vec<(String, Option<usize>, Option<usize>)>, k: String| -> usize {
        match keyed.iter().position(|(key, _, _)| *key == k) {
            Some(i) => i,
            None => {
                keyed.push((k, None, None));
                keyed.len() - 1
            }
        }
    };
    for (i, (a, w)) in avgs.iter().zip(&weights).enumerate() {
        let ka = slot(&mut keyed, agg_key(a, &nodes));
        keyed[ka].1 = Some(i);
        let kw = slot(&mut keyed, agg_key(w, &nodes));
        keyed[kw].2 = Some(i);
    }
    let xff = e.xff.unwrap_or(0.0);
    let mut products = Vec::new();
    for (_, a, w) in &keyed {
        let (Some(a), Some(w)) = (a, w) else { continue };
        let (sa, sw) = (&avgs[*a], &weights[*w]);
        let len = sa.len().max(sw.len());
        let values = (0..len)
            .map(|i| {
                sa.values.get(i).copied().unwrap_or(NULL)
                    * sw.values.get(i).copied().unwrap_or(NULL)
            })
            .collect();
        let mut p = Series::new(
            format!("product({},{})", sw.name, sa.name),
            sa.start,
            sa.end,
            sa.step,
            values,
        );
        p.x_files_factor = xff;
        products.push(p);
    }
    if products.is_empty() {
        return Ok(Value::List(Vec::new()));
    }
    let (Some(sp), Some(sw)) = (
        aggregate(e, &products, "sum", None)?.pop(),
        aggregate(e, &weights, "sum", None)?.pop(),
    ) else {
        return Ok(Value::List(Vec::new()));
    };
    let len = sp.len().max(sw.len());
    let values = (0..len)
        .map(|i| {
            safe_div(
                sp.values.get(i).copied().unwrap_or(NULL),
                sw.values.get(i).copied().unwrap_or(NULL),
            )
        })
        .collect();
    let distinct = |l: &[Series]| {
        let mut v: Vec<&str> = l.iter().map(|s| s.path_expression.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v.join(",")
    };
    let name = format!(
        "weightedAverage({}, {}, {})",
        distinct(&avgs),
        distinct(&weights),
        nodes
            .iter()
            .map(Value::py_str)
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut s = Series::new(name, sp.start, sp.end, sp.step, values);
    s.x_files_factor = xff;
    Ok(Value::List(vec![s]))
}

fn pow_series(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list: Vec<Series> = lists_of(b);
    let refs: Vec<&Series> = list.iter().collect();
    let Some(norm) = normalize(&refs) else {
        return Ok(Value::List(Vec::new()));
    };
    let name = format!(
        "powSeries({})",
        list.iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    let values = norm.map_rows(|row| row[1..].iter().fold(row[0], |acc, &v| safe_pow(acc, v)));
    let mut s = Series::new(name, norm.start, norm.end, norm.step, values);
    s.x_files_factor = e.xff.unwrap_or(0.0);
    Ok(Value::List(vec![s]))
}

fn group(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = members(b.rest());
    if list.is_empty() {
        return Ok(Value::List(Vec::new()));
    }
    members_value(e, list)
}

/// Runs a `groupBy*` callback (an aggregation name or an aggregating function) on one group.
fn run_callback(e: &mut Eval<'_>, callback: &str, group: Vec<Member>) -> Result<Option<Series>> {
    if super::lookup(callback).is_some_and(|d| d.aggregator) {
        let value = members_value(e, group)?;
        return Ok(into_list(call_named(e, callback, vec![value])?)
            .into_iter()
            .next());
    }
    Ok(aggregate_members(e, &group, callback, None)?.pop())
}

/// Groups members by a key of their name and tags, keeping first-seen order.
fn group_members(list: Vec<Member>, key: impl Fn(&Series) -> String) -> Vec<(String, Vec<Member>)> {
    let mut groups: Vec<(String, Vec<Member>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for m in list {
        let k = key(&m.outline());
        match index.get(&k) {
            Some(&i) => groups[i].1.push(m),
            None => {
                index.insert(k.clone(), groups.len());
                groups.push((k, vec![m]));
            }
        }
    }
    groups
}

fn group_by_nodes_impl(
    e: &mut Eval<'_>,
    list: Vec<Member>,
    callback: &str,
    nodes: &[Value],
) -> Result<Value> {
    let mut out = Vec::new();
    for (key, members) in group_members(list, |s| agg_key(s, nodes)) {
        if let Some(mut s) = run_callback(e, callback, members)? {
            s.name = key;
            out.push(s);
        }
    }
    Ok(Value::List(out))
}

fn group_by_node(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.members(0);
    let node = b.value(1).unwrap_or(Value::Int(0));
    let callback = b.string(2).unwrap_or_else(|| "average".into());
    group_by_nodes_impl(e, list, &callback, &[node])
}

fn group_by_nodes(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.members(0);
    let callback = b.need_string(1)?;
    let nodes = b.rest();
    group_by_nodes_impl(e, list, &callback, &nodes)
}

fn group_by_tags(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.members(0);
    let callback = b.need_string(1)?;
    let tags: Vec<String> = b.rest().iter().map(Value::py_str).collect();
    if tags.is_empty() {
        return Err(Error::new("groupByTags(): no tags specified"));
    }
    let has_name = tags.iter().any(|t| t == "name");
    let common_name = {
        let mut names: Vec<String> = list
            .iter()
            .filter_map(|m| m.outline().tags.get("name").cloned())
            .collect();
        names.sort_unstable();
        names.dedup();
        if names.len() == 1 {
            names.swap_remove(0)
        } else {
            callback.clone()
        }
    };
    let key_of = |s: &Series| {
        let mut parts: Vec<String> = tags
            .iter()
            .filter(|t| *t != "name")
            .map(|t| format!("{t}={}", s.tags.get(t).map_or("", String::as_str)))
            .collect();
        parts.sort();
        let head = if has_name {
            s.tags.get("name").cloned().unwrap_or_default()
        } else {
            common_name.clone()
        };
        std::iter::once(head)
            .chain(parts)
            .collect::<Vec<_>>()
            .join(";")
    };
    let mut out = Vec::new();
    for (key, members) in group_members(list, key_of) {
        if let Some(mut s) = run_callback(e, &callback, members)? {
            s.tags = parse_tagged(&key).unwrap_or_else(|| {
                let mut t = Tags::new();
                t.insert("name".into(), key.clone());
                t
            });
            s.name = key.clone();
            s.path_expression = key;
            out.push(s);
        }
    }
    Ok(Value::List(out))
}

fn map_series(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let nodes = b.rest();
    Ok(Value::Lists(
        group_by(list, |s| agg_key(s, &nodes))
            .into_iter()
            .map(|(_, g)| g)
            .collect(),
    ))
}

fn reduce_series(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let lists = match b.value(0) {
        Some(Value::Lists(l)) => l,
        _ => Vec::new(),
    };
    let func = b.need_string(1)?;
    let node = b.need_int(2)?;
    let matchers: Vec<String> = b.rest().iter().map(Value::py_str).collect();
    let mut keys: Vec<String> = Vec::new();
    let mut meta: HashMap<String, Vec<Option<Series>>> = HashMap::new();
    for s in lists.into_iter().flatten() {
        let parts: Vec<&str> = s.name.split('.').collect();
        let idx = if node < 0 {
            parts.len() as i64 + node
        } else {
            node
        };
        let Some(part) = usize::try_from(idx).ok().and_then(|i| parts.get(i)) else {
            return Err(Error::new(format!(
                "reduceSeries: `{}` has no node {node}",
                s.name
            )));
        };
        let key = format!("{}.reduce.{func}", parts[..idx as usize].join("."));
        if let Some(i) = matchers.iter().position(|m| m == part) {
            let slot = meta.entry(key.clone()).or_insert_with(|| {
                keys.push(key.clone());
                vec![None; matchers.len()]
            });
            slot[i] = Some(s);
        }
    }
    let mut out = Vec::new();
    for key in keys {
        let members = meta.remove(&key).unwrap_or_default();
        let args = members
            .into_iter()
            .map(|m| {
                m.map(|s| Value::List(vec![s])).ok_or_else(|| {
                    Error::new(format!("reduceSeries: `{key}` lacks a matching series"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if let Some(mut s) = into_list(call_named(e, &func, args)?).into_iter().next() {
            s.name = key;
            out.push(s);
        }
    }
    Ok(Value::List(out))
}

fn apply_by_node(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let node = b.need_int(1)?;
    let template = b.need_string(2)?;
    let new_name = b.string(3);
    let Some(last) = list.last() else {
        return Ok(Value::List(Vec::new()));
    };
    let (start, end) = (last.start, last.end);
    let mut prefixes: Vec<String> = list
        .iter()
        .map(|s| {
            s.name
                .split('.')
                .take((node + 1).max(0) as usize)
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect();
    prefixes.sort();
    prefixes.dedup();
    let mut out = Vec::new();
    for prefix in prefixes {
        for mut s in e.eval_text(&template.replace('%', &prefix))? {
            if let Some(n) = &new_name {
                s.name = n.replace('%', &prefix);
            }
            s.path_expression = prefix.clone();
            s.start = start;
            s.end = end;
            out.push(s);
        }
    }
    Ok(Value::List(out))
}
