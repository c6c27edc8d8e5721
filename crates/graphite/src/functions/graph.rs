//! Styling for the SVG and PNG renderers. In JSON they change names and tags only, exactly as
//! graphite-web's do.

use super::{Bound, Decl};
use crate::eval::{Error, Eval, Result, Value};
use crate::grammar::Call;
use crate::pyfmt::format_g;
use crate::series::Series;

pub(super) const DECLS: &[Decl] = &[
    (
        "color",
        "Graph",
        "seriesList:seriesList!,theColor:string!",
        color,
        false,
    ),
    (
        "alpha",
        "Graph",
        "seriesList:seriesList!,alpha:float!",
        alpha,
        false,
    ),
    (
        "lineWidth",
        "Graph",
        "seriesList:seriesList!,width:float!",
        line_width,
        false,
    ),
    (
        "dashed",
        "Graph",
        "seriesList:seriesList!,dashLength:integer=5",
        dashed,
        false,
    ),
    (
        "secondYAxis",
        "Graph",
        "seriesList:seriesList!",
        second_y_axis,
        false,
    ),
    (
        "stacked",
        "Graph",
        "seriesList:seriesList!,stack:string",
        stacked,
        false,
    ),
    (
        "areaBetween",
        "Graph",
        "seriesList:seriesList!",
        area_between,
        false,
    ),
    (
        "drawAsInfinite",
        "Graph",
        "seriesList:seriesList!",
        draw_as_infinite,
        false,
    ),
    (
        "threshold",
        "Graph",
        "value:float!,label:string,color:string",
        threshold,
        false,
    ),
    (
        "verticalLine",
        "Graph",
        "ts:date!,label:string,color:string",
        vertical_line,
        false,
    ),
];

fn color(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let c = b.need_string(1)?;
    for s in &mut list {
        s.style.color = Some(c.clone());
    }
    Ok(Value::List(list))
}

fn alpha(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let a = b.need_float(1)?;
    for s in &mut list {
        s.style.alpha = Some(a);
    }
    Ok(Value::List(list))
}

fn line_width(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let w = b.need_float(1)?;
    for s in &mut list {
        s.style.line_width = Some(w);
    }
    Ok(Value::List(list))
}

fn dashed(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    let length = b.value(1).unwrap_or(Value::Int(5));
    let l = length.as_f64().unwrap_or(5.0);
    for s in &mut list {
        s.tag("dashed", length.py_str());
        s.name = format!("dashed({}, {})", s.name, format_g(l));
        s.style.dashed = Some(l);
    }
    Ok(Value::List(list))
}

fn second_y_axis(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    for s in &mut list {
        s.style.second_y_axis = true;
        s.tag("secondYAxis", "1");
        s.name = format!("secondYAxis({})", s.name);
    }
    Ok(Value::List(list))
}

fn stacked(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let list = b.list(0);
    let stack = b.string(1).unwrap_or_else(|| "__DEFAULT__".into());
    let mut total = e.stacks.remove(&stack).unwrap_or_default();
    let out = list
        .into_iter()
        .map(|mut s| {
            let values = s
                .values
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    if total.len() <= i {
                        total.push(0.0);
                    }
                    if v.is_nan() {
                        v
                    } else {
                        total[i] += v;
                        total[i]
                    }
                })
                .collect();
            let name = if stack == "__DEFAULT__" {
                s.tag("stacked", stack.clone());
                format!("stacked({})", s.name)
            } else {
                s.name.clone()
            };
            let mut r = s.with_values(name, values);
            r.style = s.style.clone();
            r.style.stacked = true;
            r
        })
        .collect();
    e.stacks.insert(stack, total);
    Ok(Value::List(out))
}

fn area_between(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    if list.len() != 2 {
        return Err(Error::new(
            "areaBetween series argument must reference *exactly* 2 series",
        ));
    }
    list[1].tag("areaBetween", "1");
    let name = format!("areaBetween({})", list[1].path_expression);
    let tags = list[1].tags.clone();
    list[0].style.stacked = true;
    list[0].style.invisible = true;
    list[1].style.stacked = true;
    list[0].tags = tags;
    for s in &mut list {
        s.name = name.clone();
    }
    Ok(Value::List(list))
}

fn draw_as_infinite(_: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let mut list = b.list(0);
    for s in &mut list {
        s.style.draw_as_infinite = true;
        s.tag("drawAsInfinite", "1");
        s.name = format!("drawAsInfinite({})", s.name);
    }
    Ok(Value::List(list))
}

fn threshold(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let value = b.value(0).unwrap_or(Value::Float(0.0));
    let mut s = super::special::constant_line(e, value);
    if let Some(label) = b.string(1).filter(|l| !l.is_empty()) {
        s.name = label;
    }
    if let Some(c) = b.string(2).filter(|c| !c.is_empty()) {
        s.style.color = Some(c);
    }
    Ok(Value::List(vec![s]))
}

fn vertical_line(e: &mut Eval<'_>, _: &Call, b: &mut Bound) -> Result<Value> {
    let text = b.need_string(0)?;
    let ts = crate::attime::parse_at_time(&text, &e.tz, e.now).map_err(Error::new)?;
    if ts < e.from {
        return Err(Error::new(format!(
            "verticalLine(): timestamp {ts} exists before start of range"
        )));
    }
    if ts > e.until {
        return Err(Error::new(format!(
            "verticalLine(): timestamp {ts} exists after end of range"
        )));
    }
    let label = b.string(1).unwrap_or_else(|| "None".into());
    let mut s = Series::new(label, ts, ts, 1, vec![1.0, 1.0]);
    s.style.draw_as_infinite = true;
    s.style.color = b.string(2);
    Ok(Value::List(vec![s]))
}
