//! Renaming series: `alias`, `aliasByNode`, `aliasByTags`, `aliasSub` (with Python's `\1`
//! replacement syntax, which Grafana relies on), `aliasQuery`, `legendValue`, `cactiStyle`,
//! `substr`.

use super::filter::python_regex;
use super::{Bound, Decl, agg_key, safe_last, safe_max, safe_min};
use crate::aggfunc::{AggFunc, NAMES};
use crate::eval::{Error, Eval, Result, Value};
use crate::grammar::Call;
use crate::pyfmt::{format_2f, repr_f64};
use crate::series::Series;

pub(super) const DECLS: &[Decl] = &[
    (
        "alias",
        "Alias",
        "seriesList:seriesList!,newName:string!",
        alias,
        false,
    ),
    (
        "aliasByNode",
        "Alias",
        "seriesList:seriesList!,nodes:nodeOrTag!*",
        alias_by_node,
        false,
    ),
    (
        "aliasByTags",
        "Alias",
        "seriesList:seriesList!,tags:nodeOrTag!*",
        alias_by_node,
        false,
    ),
    (
        "aliasByMetric",
        "Alias",
        "seriesList:seriesList!",
        alias_by_metric,
        false,
    ),
    (
        "aliasSub",
        "Alias",
        "seriesList:seriesList!,search:string!,replace:string!",
        alias_sub,
        false,
    ),
    (
        "aliasQuery",
        "Alias",
        "seriesList:seriesList!,search:string!,replace:string!,newName:string!",
        alias_query,
        false,
    ),
    (
        "legendValue",
        "Alias",
        "seriesList:seriesList!,valuesTypes:string*",
        legend_value,
        false,
    ),
    (
        "cactiStyle",
        "Special",
        "seriesList:seriesList!,system:string{si|binary},units:string",
        cacti_style,
        false,
    ),
    (
        "substr",
        "Special",
        "seriesList:seriesList!,start:node=0,stop:node=0",
        substr_fn,
        false,
    ),
];

fn alias(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let name = b.need_string(1)?;
    for s in &mut list {
        s.name = name.clone();
    }
    Ok(Value::List(list))
}

/// A node past either end of the name, and not a tag, contributes an empty part, as in
/// graphite-web: `aliasByNode(servers.*.cpu,9)` names every series `""`, and
/// `aliasByNode(servers.*.cpu,1,9)` names them `db1.` (recorded from graphite-web 1.1.8 in the
/// golden fixtures). Grafana shows such a series by its target instead.
fn alias_by_node(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let nodes = b.rest();
    for s in &mut list {
        s.name = agg_key(s, &nodes);
    }
    Ok(Value::List(list))
}

pub(crate) fn substr(list: &mut [Series], start: i64, stop: i64) {
    for s in list {
        let left = s.name.rfind('(').map_or(0, |i| i + 1);
        let right = s.name.find(')').unwrap_or(s.name.len());
        let clean = if left <= right {
            &s.name[left..right]
        } else {
            ""
        };
        let parts: Vec<&str> = clean.split('.').collect();
        let len = parts.len() as i64;
        let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) } as usize;
        let from = norm(start);
        let to = if stop == 0 { parts.len() } else { norm(stop) };
        let joined = if from < to {
            parts[from..to].join(".")
        } else {
            String::new()
        };
        s.name = match joined.find(',') {
            Some(i) => joined[..i].to_owned(),
            None => joined,
        };
    }
}

fn alias_by_metric(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    substr(&mut list, -1, 0);
    Ok(Value::List(list))
}

fn substr_fn(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let start = b.int(1).unwrap_or(0);
    let stop = b.int(2).unwrap_or(0);
    substr(&mut list, start, stop);
    Ok(Value::List(list))
}

/// One piece of a Python `re.sub` replacement template.
#[derive(Debug, Clone)]
pub(crate) enum Piece {
    Text(String),
    Group(usize),
    Named(String),
}

/// Parses Python's replacement syntax: `\1`…`\99`, `\g<1>`, `\g<name>`, `\n`, `\t`, `\\`.
pub(crate) fn python_replacement(template: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some(d) if d.is_ascii_digit() => {
                let mut n = String::new();
                while n.len() < 2 && chars.peek().is_some_and(char::is_ascii_digit) {
                    n.extend(chars.next());
                }
                pieces.push(Piece::Text(std::mem::take(&mut text)));
                pieces.push(Piece::Group(n.parse().unwrap_or(0)));
            }
            Some('g') => {
                chars.next();
                if chars.peek() == Some(&'<') {
                    chars.next();
                    let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                    pieces.push(match name.parse::<usize>() {
                        Ok(n) => Piece::Group(n),
                        Err(_) => Piece::Named(name),
                    });
                } else {
                    text.push_str("\\g");
                }
            }
            Some('n') => {
                chars.next();
                text.push('\n');
            }
            Some('t') => {
                chars.next();
                text.push('\t');
            }
            Some('\\') => {
                chars.next();
                text.push('\\');
            }
            _ => text.push('\\'),
        }
    }
    pieces.push(Piece::Text(text));
    pieces
}

/// `re.sub(search, replace, text)`: every match replaced.
pub(crate) fn substitute(search: &regex::Regex, replace: &[Piece], text: &str) -> String {
    search
        .replace_all(text, |caps: &regex::Captures<'_>| {
            let mut out = String::new();
            for piece in replace {
                match piece {
                    Piece::Text(t) => out.push_str(t),
                    Piece::Group(n) => out.push_str(caps.get(*n).map_or("", |m| m.as_str())),
                    Piece::Named(n) => out.push_str(caps.name(n).map_or("", |m| m.as_str())),
                }
            }
            out
        })
        .into_owned()
}

fn alias_sub(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let search = python_regex(&b.need_string(1)?)?;
    let replace = python_replacement(&b.need_string(2)?);
    for s in &mut list {
        s.name = substitute(&search, &replace, &s.name);
    }
    Ok(Value::List(list))
}

/// Python's `'%s' % value` for one number with `%d`/`%f`/`%g`/`%s` in `template`.
fn percent_format(template: &str, value: f64) -> String {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&n) = chars.peek() {
            spec.push(n);
            chars.next();
            if n.is_ascii_alphabetic() || n == '%' {
                break;
            }
        }
        let conv = spec.chars().last().unwrap_or('s');
        let precision: Option<usize> = spec
            .split_once('.')
            .and_then(|(_, p)| p.trim_end_matches(conv).parse().ok());
        out.push_str(&match conv {
            '%' => "%".into(),
            'd' | 'i' => crate::pyfmt::format_d(value),
            'f' => format!("{value:.*}", precision.unwrap_or(6)),
            'g' => crate::pyfmt::format_g_prec(value, precision.unwrap_or(6)),
            _ => repr_f64(value),
        });
    }
    out
}

fn alias_query(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let search = python_regex(&b.need_string(1)?)?;
    let replace = python_replacement(&b.need_string(2)?);
    let new_name = b.need_string(3)?;
    for s in &mut list {
        let query = substitute(&search, &replace, &s.name);
        let found = e.eval_text(&query)?;
        let Some(first) = found.first() else {
            return Err(Error::new(format!("No series found with query: {query}")));
        };
        let Some(current) = safe_last(&first.values) else {
            return Err(Error::new(format!(
                "Cannot get last value of series: {}",
                first.name
            )));
        };
        s.name = percent_format(&new_name, current);
    }
    Ok(Value::List(list))
}

const SI: [(&str, f64); 5] = [("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)];
const BINARY: [(&str, f64); 5] = [
    ("Pi", 1_125_899_906_842_624.0),
    ("Ti", 1_099_511_627_776.0),
    ("Gi", 1_073_741_824.0),
    ("Mi", 1_048_576.0),
    ("Ki", 1024.0),
];

/// graphite-web's `format_units`: the value scaled to the largest prefix it reaches.
pub(crate) fn format_units(v: f64, system: &str, units: Option<&str>) -> (f64, String) {
    let table: &[(&str, f64)] = if system == "binary" { &BINARY } else { &SI };
    for (prefix, size) in table {
        if v.abs() >= *size {
            let mut v2 = v / size;
            if v2 - v2.floor() < 1e-11 && v > 1.0 {
                v2 = v2.floor();
            }
            return (v2, format!("{prefix}{}", units.unwrap_or("")));
        }
    }
    let mut v = v;
    if v - v.floor() < 1e-11 && v > 1.0 {
        v = v.floor();
    }
    (v, units.unwrap_or("").to_owned())
}

/// `'%-20s' % text`, Python's left-justified padding (by characters).
fn ljust(text: &str, width: usize) -> String {
    let len = text.chars().count();
    if len >= width {
        text.to_owned()
    } else {
        format!("{text}{}", " ".repeat(width - len))
    }
}

fn legend_value(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let mut types: Vec<String> = b.rest().iter().map(Value::py_str).collect();
    let system = match types.last().map(String::as_str) {
        Some("si" | "binary") => types.pop(),
        _ => None,
    };
    for t in &types {
        let func = AggFunc::parse(t.strip_suffix("Series").unwrap_or(t))
            .filter(|_| NAMES.contains(&t.as_str()) || t.ends_with("Series"));
        for s in &mut list {
            let value = func.map(|f| f.apply(&s.values));
            match &system {
                None => {
                    let shown = match value {
                        None => "(?)".to_owned(),
                        Some(v) if v.is_nan() => "None".to_owned(),
                        Some(v) => repr_f64(v),
                    };
                    s.name.push_str(&format!(" ({t}: {shown})"));
                }
                Some(sys) => {
                    let shown = match value {
                        None => "(?)".to_owned(),
                        Some(v) if v.is_nan() => "None".to_owned(),
                        Some(v) => {
                            let (x, prefix) = format_units(v, sys, None);
                            format!("{}{prefix}", format_2f(x))
                        }
                    };
                    s.name = format!("{}{}{}", ljust(&s.name, 20), ljust(t, 5), ljust(&shown, 10));
                }
            }
        }
    }
    Ok(Value::List(list))
}

fn cacti_style(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    if list.is_empty() {
        return Ok(Value::List(list));
    }
    let system = b.string(1);
    let units = b.string(2);
    let fmt = |x: f64| -> String {
        match (&system, &units) {
            (Some(sys), Some(u)) => {
                let (v, p) = format_units(x, sys, Some(u));
                format!("{} {p}", format_2f(v))
            }
            (Some(sys), None) => {
                let (v, p) = format_units(x, sys, None);
                format!("{}{p}", format_2f(v))
            }
            (None, Some(u)) => format!("{} {u}", format_2f(x)),
            (None, None) => format_2f(x),
        }
    };
    // Python's `int(x or 3)`: a missing or zero value is measured as 3.
    let width = |f: &dyn Fn(&Series) -> Option<f64>| -> usize {
        list.iter()
            .map(|s| {
                fmt(f(s).filter(|v| *v != 0.0).unwrap_or(3.0).trunc())
                    .chars()
                    .count()
            })
            .max()
            .unwrap_or(0)
            + 3
    };
    let name_len = list
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    let last_len = width(&|s| safe_last(&s.values));
    let max_len = width(&|s| safe_max(&s.values));
    let min_len = width(&|s| safe_min(&s.values));
    let shown = |v: Option<f64>| v.map_or_else(|| "nan".to_owned(), fmt);
    for s in &mut list {
        let (last, max, min) = (
            safe_last(&s.values),
            safe_max(&s.values),
            safe_min(&s.values),
        );
        s.name = format!(
            "{} Current:{} Max:{} Min:{} ",
            ljust(&s.name, name_len),
            ljust(&shown(last), last_len),
            ljust(&shown(max), max_len),
            ljust(&shown(min), min_len)
        );
    }
    Ok(Value::List(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_replacements() {
        let re = regex::Regex::new("(^.*$)").unwrap();
        assert_eq!(
            substitute(&re, &python_replacement("\\1 A"), "a.b"),
            "a.b A"
        );
        let re = regex::Regex::new(r"^servers\.([^.]+)\..*").unwrap();
        assert_eq!(
            substitute(&re, &python_replacement("host \\g<1>"), "servers.web1.cpu"),
            "host web1"
        );
        let re = regex::Regex::new(r"(?P<h>web\d)").unwrap();
        assert_eq!(
            substitute(&re, &python_replacement("[\\g<h>]"), "a.web1.b"),
            "a.[web1].b"
        );
    }
}
