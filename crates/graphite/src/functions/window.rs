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
    (
        "holtWintersForecast",
        "Calculate",
        "seriesList:seriesList!,bootstrapInterval:interval='7d',seasonality:interval='1d'",
        holt_winters_forecast,
        false,
    ),
    (
        "holtWintersConfidenceBands",
        "Calculate",
        "seriesList:seriesList!,delta:integer=3,bootstrapInterval:interval='7d',seasonality:interval='1d'",
        holt_winters_confidence_bands,
        false,
    ),
    (
        "holtWintersConfidenceArea",
        "Calculate",
        "seriesList:seriesList!,delta:integer=3,bootstrapInterval:interval='7d',seasonality:interval='1d'",
        holt_winters_confidence_area,
        false,
    ),
    (
        "holtWintersAberration",
        "Calculate",
        "seriesList:seriesList!,delta:integer=3,bootstrapInterval:interval='7d',seasonality:interval='1d'",
        holt_winters_aberration,
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
            let seconds = max_step
                .checked_mul(points)
                .filter(|s| (0..=super::MAX_SPAN).contains(s))
                .ok_or_else(|| Error::new(format!("windowSize {points} is out of range")))?;
            Ok((Window::Points(points), seconds))
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
    let bootstrapped =
        into_list(e.reevaluate(first_arg(call)?, e.from.saturating_sub(preview), e.until)?);
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
    let bootstrapped =
        into_list(e.reevaluate(first_arg(call)?, e.from.saturating_sub(preview), e.until)?);
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
    if points <= 0 {
        return Err(Error::new(format!(
            "stdev needs a positive number of points, not {points}"
        )));
    }
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

/// Holt-Winters triple exponential smoothing (graphite-web's `holtWintersAnalysis`): the
/// prediction and the seasonal deviation for every point, with its fixed parameters.
fn holt_winters(values: &[f64], step: i64, season_seconds: i64) -> (Vec<f64>, Vec<f64>) {
    let (alpha, gamma, beta) = (0.1, 0.1, 0.0035);
    let season = (season_seconds / step.max(1)).max(0) as usize;
    let n = values.len();
    let mut intercepts: Vec<f64> = Vec::with_capacity(n);
    let mut slopes: Vec<f64> = Vec::with_capacity(n);
    let mut seasonals: Vec<f64> = Vec::with_capacity(n);
    let mut predictions: Vec<f64> = Vec::with_capacity(n);
    let mut deviations: Vec<f64> = Vec::with_capacity(n);
    let back = |list: &[f64], i: usize| {
        if i >= season && i - season < list.len() {
            list[i - season]
        } else {
            0.0
        }
    };
    let mut next_pred = NULL;
    for (i, &actual) in values.iter().enumerate() {
        if actual.is_nan() {
            intercepts.push(NULL);
            slopes.push(0.0);
            seasonals.push(0.0);
            predictions.push(next_pred);
            deviations.push(0.0);
            next_pred = NULL;
            continue;
        }
        let (last_intercept, last_slope, prediction) = if i == 0 {
            (actual, 0.0, actual)
        } else {
            let li = intercepts[i - 1];
            (
                if li.is_nan() { actual } else { li },
                slopes[i - 1],
                next_pred,
            )
        };
        let last_seasonal = back(&seasonals, i);
        let next_last_seasonal = back(&seasonals, i + 1);
        let last_seasonal_dev = back(&deviations, i);
        let intercept =
            alpha * (actual - last_seasonal) + (1.0 - alpha) * (last_intercept + last_slope);
        let slope = beta * (intercept - last_intercept) + (1.0 - beta) * last_slope;
        let seasonal = gamma * (actual - intercept) + (1.0 - gamma) * last_seasonal;
        next_pred = intercept + slope + next_last_seasonal;
        let p = if prediction.is_nan() { 0.0 } else { prediction };
        let deviation = gamma * (actual - p).abs() + (1.0 - gamma) * last_seasonal_dev;
        intercepts.push(intercept);
        slopes.push(slope);
        seasonals.push(seasonal);
        predictions.push(prediction);
        deviations.push(deviation);
    }
    (predictions, deviations)
}

/// The series re-fetched from `bootstrap` before the range, and the bootstrap in seconds.
fn bootstrapped(e: &mut Eval<'_>, call: &Call, bootstrap: &str) -> Result<(Vec<Series>, i64)> {
    let seconds = super::offset_seconds(bootstrap)?;
    let list =
        into_list(e.reevaluate(first_arg(call)?, e.from.saturating_sub(seconds), e.until)?);
    Ok((list, seconds))
}

/// One band of `holtWintersConfidenceBands`: the forecast and deviation after the bootstrap.
struct Bands {
    lower: Series,
    upper: Series,
}

fn confidence_bands(
    e: &mut Eval<'_>,
    call: &Call,
    delta: f64,
    bootstrap: &str,
    seasonality: &str,
) -> Result<Vec<Bands>> {
    let season = super::offset_seconds(seasonality)?;
    let (list, preview) = bootstrapped(e, call, bootstrap)?;
    let mut out = Vec::new();
    for mut s in list {
        let (predictions, deviations) = holt_winters(&s.values, s.step, season);
        let skip = ((preview / s.step.max(1)).max(0) as usize).min(predictions.len());
        let (upper, lower): (Vec<f64>, Vec<f64>) = predictions[skip..]
            .iter()
            .zip(&deviations[skip..])
            .map(|(&f, &d)| {
                if f.is_nan() || d.is_nan() {
                    (NULL, NULL)
                } else {
                    (f + delta * d, f - delta * d)
                }
            })
            .unzip();
        for tag in [
            "holtWintersForecast",
            "holtWintersDeviation",
            "holtWintersConfidenceUpper",
            "holtWintersConfidenceLower",
        ] {
            s.tag(tag, "1");
        }
        let start = s.start + preview;
        let make = |name: String, values: Vec<f64>| {
            let mut r = s.with_values(name, values);
            r.start = start;
            r.path_expression = s.path_expression.clone();
            r
        };
        out.push(Bands {
            lower: make(format!("holtWintersConfidenceLower({})", s.name), lower),
            upper: make(format!("holtWintersConfidenceUpper({})", s.name), upper),
        });
    }
    Ok(out)
}

fn holt_winters_forecast(e: &mut Eval<'_>, call: &Call, b: &mut Bound) -> Result<Value> {
    let bootstrap = b.string(1).unwrap_or_else(|| "7d".into());
    let seasonality = b.string(2).unwrap_or_else(|| "1d".into());
    let season = super::offset_seconds(&seasonality)?;
    let (list, preview) = bootstrapped(e, call, &bootstrap)?;
    let out = list
        .into_iter()
        .map(|mut s| {
            let (predictions, _) = holt_winters(&s.values, s.step, season);
            let skip = ((preview / s.step.max(1)).max(0) as usize).min(predictions.len());
            s.tag("holtWintersForecast", "1");
            s.tag("holtWintersDeviation", "1");
            let mut r = s.with_values(
                format!("holtWintersForecast({})", s.name),
                predictions[skip..].to_vec(),
            );
            r.start = s.start + preview;
            r
        })
        .collect();
    Ok(Value::List(out))
}

fn band_args(b: &Bound) -> (f64, String, String) {
    (
        b.float(1).unwrap_or(3.0),
        b.string(2).unwrap_or_else(|| "7d".into()),
        b.string(3).unwrap_or_else(|| "1d".into()),
    )
}

fn holt_winters_confidence_bands(e: &mut Eval<'_>, call: &Call, b: &mut Bound) -> Result<Value> {
    let (delta, bootstrap, seasonality) = band_args(b);
    let bands = confidence_bands(e, call, delta, &bootstrap, &seasonality)?;
    Ok(Value::List(
        bands
            .into_iter()
            .flat_map(|band| [band.lower, band.upper])
            .collect(),
    ))
}

fn holt_winters_confidence_area(e: &mut Eval<'_>, call: &Call, b: &mut Bound) -> Result<Value> {
    let (delta, bootstrap, seasonality) = band_args(b);
    let list = b.list(0);
    let bands = confidence_bands(e, call, delta, &bootstrap, &seasonality)?;
    if bands.len() != 1 {
        return Err(Error::new(
            "areaBetween series argument must reference *exactly* 2 series",
        ));
    }
    let path = list
        .first()
        .map_or_else(String::new, |s| s.path_expression.clone());
    let name = format!("holtWintersConfidenceArea({path})");
    let mut out = Vec::new();
    for band in bands {
        let (mut lower, mut upper) = (band.lower, band.upper);
        upper.tag("holtWintersConfidenceArea", "1");
        lower.tags = upper.tags.clone();
        lower.style.stacked = true;
        lower.style.invisible = true;
        upper.style.stacked = true;
        for s in [&mut lower, &mut upper] {
            s.name = name.clone();
            s.path_expression = name.clone();
        }
        out.push(lower);
        out.push(upper);
    }
    Ok(Value::List(out))
}

fn holt_winters_aberration(e: &mut Eval<'_>, call: &Call, b: &mut Bound) -> Result<Value> {
    let (delta, bootstrap, seasonality) = band_args(b);
    let list = b.list(0);
    let bands = confidence_bands(e, call, delta, &bootstrap, &seasonality)?;
    let mut out = Vec::new();
    for mut s in list {
        let lower_name = format!("holtWintersConfidenceLower({})", s.name);
        let Some(band) = bands.iter().find(|band| band.lower.name == lower_name) else {
            return Err(Error::new(format!("no confidence bands for {}", s.name)));
        };
        let values = s
            .values
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let up = band.upper.values.get(i).copied().unwrap_or(NULL);
                let low = band.lower.values.get(i).copied().unwrap_or(NULL);
                if v.is_nan() {
                    0.0
                } else if !up.is_nan() && v > up {
                    v - up
                } else if !low.is_nan() && v < low {
                    v - low
                } else {
                    0.0
                }
            })
            .collect();
        s.tag("holtWintersAberration", "1");
        out.push(s.with_values(format!("holtWintersAberration({})", s.name), values));
    }
    Ok(Value::List(out))
}
