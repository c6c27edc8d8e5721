//! The `svg` and `png` formats: a line graph of the series, with title, legend, axes, grid,
//! and every styling function applied (colour, width, dashes, alpha, stacking, areaBetween,
//! drawAsInfinite, a second Y axis).
//!
//! The look follows graphite-web's default template (black background, white text, its
//! colour list) and its graph parameters (`width`, `height`, `title`, `vtitle`, `areaMode`,
//! `lineMode`, `yMin`/`yMax`, `hideLegend`…). The picture is our own SVG; PNG is that SVG
//! rasterised by resvg with the DejaVu Sans font compiled in, so both look the same and
//! nothing depends on the machine's fonts.

use std::fmt::Write as _;
use std::sync::OnceLock;

use jiff::tz::TimeZone;

use crate::series::{Consolidation, Series};

/// graphite-web's named colours (its `colorAliases`), as RGB.
const NAMED: &[(&str, &str)] = &[
    ("black", "#000000"),
    ("white", "#ffffff"),
    ("blue", "#6464ff"),
    ("green", "#00c800"),
    ("red", "#c80032"),
    ("darkred", "#c80000"),
    ("darkblue", "#0000c8"),
    ("darkgreen", "#006400"),
    ("yellow", "#ffff00"),
    ("orange", "#ffa500"),
    ("purple", "#9664ff"),
    ("brown", "#966432"),
    ("cyan", "#00ffff"),
    ("aqua", "#009696"),
    ("gray", "#afafaf"),
    ("grey", "#afafaf"),
    ("magenta", "#ff00ff"),
    ("pink", "#ff6464"),
    ("gold", "#c8c800"),
    ("rose", "#c896c8"),
    ("darkgray", "#6f6f6f"),
    ("darkgrey", "#6f6f6f"),
];

const DEFAULT_COLORS: &str = "blue,green,red,purple,brown,yellow,aqua,grey,magenta,pink,gold,rose";

/// A colour parameter: a graphite name, `rrggbb` or `#rrggbb` (with optional alpha), or any
/// other CSS colour name passed through.
pub fn color(text: &str) -> String {
    let t = text.trim();
    if let Some((_, hex)) = NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(t)) {
        return (*hex).to_owned();
    }
    let hex = t.trim_start_matches('#');
    if (hex.len() == 6 || hex.len() == 8) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return format!("#{}", &hex[..6]);
    }
    if t.bytes().all(|b| b.is_ascii_alphabetic()) && !t.is_empty() {
        return t.to_ascii_lowercase();
    }
    "#ffffff".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineMode {
    Slope,
    Staircase,
    Connected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AreaMode {
    None,
    First,
    All,
    Stacked,
}

/// The graph parameters of a render request.
#[derive(Debug, Clone)]
pub struct GraphOptions {
    pub width: u32,
    pub height: u32,
    pub title: String,
    pub vtitle: String,
    pub vtitle_right: String,
    pub bgcolor: String,
    pub fgcolor: String,
    pub major_grid: String,
    pub minor_grid: String,
    pub colors: Vec<String>,
    pub line_mode: LineMode,
    pub line_width: f64,
    pub area_mode: AreaMode,
    pub area_alpha: Option<f64>,
    pub hide_legend: Option<bool>,
    pub hide_axes: bool,
    pub hide_grid: bool,
    pub hide_y_axis: bool,
    pub hide_x_axis: bool,
    pub graph_only: bool,
    pub y_min: Option<f64>,
    pub y_max: Option<f64>,
    pub y_min_right: Option<f64>,
    pub y_max_right: Option<f64>,
    pub unit_system: String,
    pub font_size: f64,
    pub draw_null_as_zero: bool,
    pub unique_legend: bool,
    pub margin: f64,
    pub from: i64,
    pub until: i64,
    pub tz: TimeZone,
}

/// The largest picture a request may ask for, per side.
pub const MAX_SIDE: u32 = 4000;

impl GraphOptions {
    /// Reads graphite-web's graph parameters through `get` (absent ones take its defaults).
    pub fn from_params(
        get: impl Fn(&str) -> Option<String>,
        from: i64,
        until: i64,
        tz: TimeZone,
    ) -> GraphOptions {
        let num = |k: &str| {
            get(k)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite())
        };
        let flag = |k: &str| {
            get(k).map(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on"))
        };
        let text = |k: &str| get(k).unwrap_or_default();
        let side = |k: &str, d: u32| num(k).map_or(d, |v| (v as u32).clamp(1, MAX_SIDE));
        GraphOptions {
            width: side("width", 330),
            height: side("height", 250),
            title: text("title"),
            vtitle: text("vtitle"),
            vtitle_right: text("vtitleRight"),
            bgcolor: color(&get("bgcolor").unwrap_or_else(|| "black".into())),
            fgcolor: color(&get("fgcolor").unwrap_or_else(|| "white".into())),
            major_grid: color(&get("majorGridLineColor").unwrap_or_else(|| "white".into())),
            minor_grid: color(&get("minorGridLineColor").unwrap_or_else(|| "grey".into())),
            colors: get("colorList")
                .unwrap_or_else(|| DEFAULT_COLORS.into())
                .split(',')
                .map(color)
                .collect(),
            line_mode: match text("lineMode").as_str() {
                "staircase" => LineMode::Staircase,
                "connected" => LineMode::Connected,
                _ => LineMode::Slope,
            },
            line_width: num("lineWidth").unwrap_or(1.2).clamp(0.1, 50.0),
            area_mode: match text("areaMode").as_str() {
                "first" => AreaMode::First,
                "all" => AreaMode::All,
                "stacked" => AreaMode::Stacked,
                _ => AreaMode::None,
            },
            area_alpha: num("areaAlpha").map(|a| a.clamp(0.0, 1.0)),
            hide_legend: flag("hideLegend"),
            hide_axes: flag("hideAxes").unwrap_or(false),
            hide_grid: flag("hideGrid").unwrap_or(false),
            hide_y_axis: flag("hideYAxis").unwrap_or(false),
            hide_x_axis: flag("hideXAxis").unwrap_or(false),
            graph_only: flag("graphOnly").unwrap_or(false),
            y_min: num("yMin"),
            y_max: num("yMax"),
            y_min_right: num("yMinRight"),
            y_max_right: num("yMaxRight"),
            unit_system: get("yUnitSystem").unwrap_or_else(|| "si".into()),
            font_size: num("fontSize").unwrap_or(10.0).clamp(4.0, 72.0),
            draw_null_as_zero: flag("drawNullAsZero").unwrap_or(false),
            unique_legend: flag("uniqueLegend").unwrap_or(false),
            margin: num("margin").unwrap_or(10.0).clamp(0.0, 200.0),
            from,
            until,
            tz,
        }
    }
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An estimate of a text's width in DejaVu Sans.
fn text_width(text: &str, size: f64) -> f64 {
    text.chars()
        .map(|c| {
            if c.is_ascii_uppercase() || c == 'm' || c == 'w' {
                0.72
            } else if c == ' ' || c == '.' || c == ',' || c == ':' || c == 'i' || c == 'l' {
                0.32
            } else {
                0.6
            }
        })
        .sum::<f64>()
        * size
}

/// A "nice" step for about `ticks` divisions of `span`.
fn nice_step(span: f64, ticks: f64) -> f64 {
    let raw = (span / ticks).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(raw.log10().floor());
    let f = raw / magnitude;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// An axis: its bounds and tick values.
#[derive(Debug, Clone)]
struct Axis {
    min: f64,
    max: f64,
    ticks: Vec<f64>,
}

fn axis(
    values: impl Iterator<Item = f64>,
    fixed_min: Option<f64>,
    fixed_max: Option<f64>,
    px: f64,
) -> Axis {
    let (mut lo, mut hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if lo > 0.0 && fixed_min.is_none() {
        lo = 0.0;
    }
    let (lo, hi) = (fixed_min.unwrap_or(lo), fixed_max.unwrap_or(hi));
    let (lo, hi) = if hi <= lo {
        (lo, lo + if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 })
    } else {
        (lo, hi)
    };
    let step = nice_step(hi - lo, (px / 40.0).clamp(2.0, 10.0));
    let min = if fixed_min.is_some() {
        lo
    } else {
        (lo / step).floor() * step
    };
    let max = if fixed_max.is_some() {
        hi
    } else {
        (hi / step).ceil() * step
    };
    let mut ticks = Vec::new();
    let mut t = (min / step).ceil() * step;
    while t <= max + step * 1e-9 && ticks.len() < 50 {
        ticks.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    Axis {
        min,
        max: if max > min { max } else { min + 1.0 },
        ticks,
    }
}

fn tick_label(v: f64, system: &str) -> String {
    let (x, prefix) = if system == "none" {
        (v, String::new())
    } else {
        crate::functions::format_units_pub(v, system)
    };
    let text = crate::pyfmt::format_g_prec(x, 4);
    if prefix.is_empty() {
        text
    } else {
        format!("{text} {prefix}")
    }
}

/// Time ticks: the first interval giving labels at least `min_px` apart.
fn time_ticks(from: i64, until: i64, px: f64, min_px: f64) -> (i64, &'static str) {
    const STEPS: &[(i64, &str)] = &[
        (10, "%H:%M:%S"),
        (30, "%H:%M:%S"),
        (60, "%H:%M"),
        (120, "%H:%M"),
        (300, "%H:%M"),
        (600, "%H:%M"),
        (900, "%H:%M"),
        (1800, "%H:%M"),
        (3600, "%H:%M"),
        (7200, "%H:%M"),
        (10_800, "%H:%M"),
        (21_600, "%m/%d %H:%M"),
        (43_200, "%m/%d %H:%M"),
        (86_400, "%m/%d"),
        (172_800, "%m/%d"),
        (604_800, "%m/%d"),
        (1_209_600, "%m/%d"),
        (2_592_000, "%Y/%m/%d"),
        (31_536_000, "%Y"),
    ];
    let span = (until - from).max(1) as f64;
    for &(step, fmt) in STEPS {
        if step as f64 / span * px >= min_px {
            return (step, fmt);
        }
    }
    (31_536_000, "%Y")
}

fn local_offset(tz: &TimeZone, t: i64) -> i64 {
    jiff::Timestamp::from_second(t).map_or(0, |ts| i64::from(tz.to_offset(ts).seconds()))
}

fn format_time(t: i64, fmt: &str, tz: &TimeZone) -> String {
    jiff::Timestamp::from_second(t).map_or_else(
        |_| String::new(),
        |ts| ts.to_zoned_datetime(tz.clone()).strftime(fmt).to_string(),
    )
}

/// One drawable series: its points (already bucketed to the plot's width) and looks.
struct Plot<'a> {
    series: &'a Series,
    values: Vec<f64>,
    start: i64,
    step: i64,
    color: String,
}

/// Renders `series` as an SVG document.
pub fn svg(series: &[Series], o: &GraphOptions) -> String {
    let (w, h) = (f64::from(o.width), f64::from(o.height));
    let fs = o.font_size;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" font-family="DejaVu Sans, Verdana, sans-serif" font-size="{fs}">"#,
        o.width, o.height, o.width, o.height
    );
    let _ = write!(
        out,
        r#"<rect width="100%" height="100%" fill="{}"/>"#,
        o.bgcolor
    );

    let mut top = o.margin;
    let mut bottom = h - o.margin;
    let (mut left, mut right) = (o.margin, w - o.margin);
    let chrome = !o.graph_only;

    if chrome && !o.title.is_empty() {
        let size = fs + 2.0;
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="{size}" font-weight="bold" fill="{}">{}</text>"#,
            w / 2.0,
            top + size,
            o.fgcolor,
            esc(&o.title)
        );
        top += size * 1.6;
    }

    // Colours are assigned in order to the series that do not choose their own.
    let mut next = 0;
    let mut plots: Vec<Plot<'_>> = Vec::new();
    let px = (right - left).max(10.0);
    for s in series {
        let chosen = s.style.color.as_deref().map(color);
        let c = chosen.unwrap_or_else(|| {
            let c = o
                .colors
                .get(next % o.colors.len().max(1))
                .cloned()
                .unwrap_or_else(|| "#ffffff".into());
            next += 1;
            c
        });
        let per = ((s.values.len() as f64 / px).ceil() as usize).max(1);
        let func = if s.consolidation == Consolidation::Average && per > 1 {
            Consolidation::Average
        } else {
            s.consolidation
        };
        let mut values = crate::series::consolidate(&s.values, per, func, s.x_files_factor);
        if o.draw_null_as_zero {
            values
                .iter_mut()
                .filter(|v| v.is_nan())
                .for_each(|v| *v = 0.0);
        }
        plots.push(Plot {
            series: s,
            values,
            start: s.start,
            step: s.step * per as i64,
            color: c,
        });
    }
    // areaMode=stacked stacks every visible series.
    if o.area_mode == AreaMode::Stacked {
        let mut total: Vec<f64> = Vec::new();
        for p in plots
            .iter_mut()
            .filter(|p| !p.series.style.draw_as_infinite && !p.series.style.second_y_axis)
        {
            total.resize(total.len().max(p.values.len()), 0.0);
            for (i, v) in p.values.iter_mut().enumerate() {
                if !v.is_nan() {
                    total[i] += *v;
                    *v = total[i];
                }
            }
        }
    }

    // The legend, from the bottom up.
    let mut legend: Vec<(String, String)> = plots
        .iter()
        .filter(|p| !p.series.style.invisible)
        .map(|p| {
            (
                if p.series.style.second_y_axis {
                    format!("{} (right)", p.series.name)
                } else {
                    p.series.name.clone()
                },
                p.color.clone(),
            )
        })
        .collect();
    if o.unique_legend {
        let mut seen = std::collections::HashSet::new();
        legend.retain(|(n, _)| seen.insert(n.clone()));
    }
    if chrome && !legend.is_empty() {
        let line = fs * 1.5;
        let widest = legend
            .iter()
            .map(|(n, _)| text_width(n, fs))
            .fold(0.0, f64::max)
            + fs * 2.5;
        let columns = (((right - left) / widest).floor() as usize).max(1);
        let rows = legend.len().div_ceil(columns);
        let needed = rows as f64 * line + fs;
        let show = o
            .hide_legend
            .map_or(needed <= (bottom - top) / 2.0, |hide| !hide);
        if show {
            bottom -= needed;
            for (i, (name, c)) in legend.iter().enumerate() {
                let (col, row) = (i % columns, i / columns);
                let x = left + col as f64 * widest;
                let y = bottom + fs + row as f64 * line;
                let _ = write!(
                    out,
                    r#"<rect x="{x}" y="{}" width="{fs}" height="{fs}" fill="{c}"/>"#,
                    y
                );
                let _ = write!(
                    out,
                    r#"<text x="{}" y="{}" fill="{}">{}</text>"#,
                    x + fs * 1.5,
                    y + fs * 0.85,
                    o.fgcolor,
                    esc(name)
                );
            }
        }
    }

    let has_right = plots.iter().any(|p| p.series.style.second_y_axis);
    let visible = |right_axis: bool| {
        plots
            .iter()
            .filter(move |p| {
                p.series.style.second_y_axis == right_axis && !p.series.style.draw_as_infinite
            })
            .flat_map(|p| p.values.iter().copied())
    };
    let plot_h = (bottom - top - fs * 2.0).max(10.0);
    let left_axis = axis(visible(false), o.y_min, o.y_max, plot_h);
    let right_axis = axis(visible(true), o.y_min_right, o.y_max_right, plot_h);
    let axes = chrome && !o.hide_axes;
    if axes && !o.hide_y_axis {
        let label_w = left_axis
            .ticks
            .iter()
            .map(|t| text_width(&tick_label(*t, &o.unit_system), fs))
            .fold(0.0, f64::max);
        left += label_w + fs * 0.6;
        if !o.vtitle.is_empty() {
            left += fs * 1.6;
            let y = (top + bottom) / 2.0;
            let _ = write!(
                out,
                r#"<text x="{}" y="{y}" transform="rotate(-90 {} {y})" text-anchor="middle" fill="{}">{}</text>"#,
                o.margin + fs,
                o.margin + fs,
                o.fgcolor,
                esc(&o.vtitle)
            );
        }
        if has_right {
            let rw = right_axis
                .ticks
                .iter()
                .map(|t| text_width(&tick_label(*t, &o.unit_system), fs))
                .fold(0.0, f64::max);
            right -= rw + fs * 0.6;
            if !o.vtitle_right.is_empty() {
                right -= fs * 1.6;
                let (x, y) = (w - o.margin - fs * 0.4, (top + bottom) / 2.0);
                let _ = write!(
                    out,
                    r#"<text x="{x}" y="{y}" transform="rotate(90 {x} {y})" text-anchor="middle" fill="{}">{}</text>"#,
                    o.fgcolor,
                    esc(&o.vtitle_right)
                );
            }
        }
    }
    if axes && !o.hide_x_axis {
        bottom -= fs * 1.6;
    }
    top += fs * 0.5;
    let (pw, ph) = ((right - left).max(1.0), (bottom - top).max(1.0));
    let (t0, t1) = (o.from, o.until.max(o.from + 1));
    let x_of = |t: i64| left + (t - t0) as f64 / (t1 - t0) as f64 * pw;
    let y_of = |a: &Axis, v: f64| bottom - (v - a.min) / (a.max - a.min) * ph;

    if series.iter().all(|s| s.values.iter().all(|v| v.is_nan())) {
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="{}" fill="{}">No Data</text>"#,
            (left + right) / 2.0,
            (top + bottom) / 2.0,
            fs * 1.6,
            o.fgcolor
        );
    }

    // Grid and axis labels.
    let (tick_step, fmt) = time_ticks(t0, t1, pw, text_width("00:00:00", fs) * 1.4);
    if !o.hide_grid && chrome {
        for &t in &left_axis.ticks {
            let y = y_of(&left_axis, t);
            let _ = write!(
                out,
                r#"<line x1="{left}" x2="{right}" y1="{y:.1}" y2="{y:.1}" stroke="{}" stroke-opacity="0.4" stroke-width="0.6"/>"#,
                o.major_grid
            );
        }
    }
    let offset = local_offset(&o.tz, t0);
    let first = ((t0 + offset) as f64 / tick_step as f64).ceil() as i64 * tick_step - offset;
    let mut t = first;
    while t <= t1 {
        let x = x_of(t);
        if !o.hide_grid && chrome {
            let _ = write!(
                out,
                r#"<line x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{bottom}" stroke="{}" stroke-opacity="0.4" stroke-width="0.6"/>"#,
                o.minor_grid
            );
        }
        if axes && !o.hide_x_axis {
            let _ = write!(
                out,
                r#"<text x="{x:.1}" y="{}" text-anchor="middle" fill="{}">{}</text>"#,
                bottom + fs * 1.3,
                o.fgcolor,
                esc(&format_time(t, fmt, &o.tz))
            );
        }
        t += tick_step;
    }
    if axes && !o.hide_y_axis {
        for &tick in &left_axis.ticks {
            let _ = write!(
                out,
                r#"<text x="{}" y="{:.1}" text-anchor="end" fill="{}">{}</text>"#,
                left - fs * 0.4,
                y_of(&left_axis, tick) + fs * 0.35,
                o.fgcolor,
                esc(&tick_label(tick, &o.unit_system))
            );
        }
        if has_right {
            for &tick in &right_axis.ticks {
                let _ = write!(
                    out,
                    r#"<text x="{}" y="{:.1}" fill="{}">{}</text>"#,
                    right + fs * 0.4,
                    y_of(&right_axis, tick) + fs * 0.35,
                    o.fgcolor,
                    esc(&tick_label(tick, &o.unit_system))
                );
            }
        }
    }
    if axes {
        let _ = write!(
            out,
            r#"<polyline points="{left},{top} {left},{bottom} {right},{bottom}" fill="none" stroke="{}" stroke-width="1"/>"#,
            o.fgcolor
        );
    }

    // The series, clipped to the plot.
    let _ = write!(
        out,
        r#"<clipPath id="plot"><rect x="{left}" y="{top}" width="{pw}" height="{ph}"/></clipPath><g clip-path="url(#plot)">"#
    );
    let mut floor: Option<Vec<(f64, f64)>> = None;
    for (i, p) in plots.iter().enumerate() {
        let a = if p.series.style.second_y_axis {
            &right_axis
        } else {
            &left_axis
        };
        let points: Vec<(f64, f64)> = p
            .values
            .iter()
            .enumerate()
            .map(|(j, v)| {
                (
                    x_of(p.start + j as i64 * p.step),
                    if v.is_nan() { f64::NAN } else { y_of(a, *v) },
                )
            })
            .collect();
        let style = &p.series.style;
        let alpha = style.alpha.unwrap_or(1.0);
        if style.draw_as_infinite {
            for (j, v) in p.values.iter().enumerate() {
                if !v.is_nan() && *v != 0.0 {
                    let x = x_of(p.start + j as i64 * p.step);
                    let _ = write!(
                        out,
                        r#"<line x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{bottom}" stroke="{}" stroke-opacity="{alpha}" stroke-width="{}"/>"#,
                        p.color,
                        style.line_width.unwrap_or(o.line_width)
                    );
                }
            }
            continue;
        }
        let filled = style.stacked
            || o.area_mode == AreaMode::All
            || o.area_mode == AreaMode::Stacked
            || (o.area_mode == AreaMode::First && i == 0);
        if filled && !style.invisible {
            let fill_alpha = o.area_alpha.or(style.alpha).unwrap_or(
                if style.stacked || o.area_mode == AreaMode::Stacked {
                    1.0
                } else {
                    0.5
                },
            );
            let base = if style.stacked || o.area_mode == AreaMode::Stacked {
                floor.clone()
            } else {
                None
            };
            for run in runs(&points, o.line_mode) {
                let mut poly: Vec<(f64, f64)> = run.clone();
                let under: Vec<(f64, f64)> = match &base {
                    Some(b) => run
                        .iter()
                        .rev()
                        .map(|(x, _)| (*x, nearest(b, *x).unwrap_or(y_of(a, a.min.max(0.0)))))
                        .collect(),
                    None => run
                        .iter()
                        .rev()
                        .map(|(x, _)| (*x, y_of(a, a.min.max(0.0).min(a.max))))
                        .collect(),
                };
                poly.extend(under);
                let _ = write!(
                    out,
                    r#"<polygon points="{}" fill="{}" fill-opacity="{fill_alpha}" stroke="none"/>"#,
                    path_points(&poly),
                    p.color
                );
            }
        }
        if style.stacked || o.area_mode == AreaMode::Stacked {
            floor = Some(points.clone());
        }
        if style.invisible {
            continue;
        }
        let width = style.line_width.unwrap_or(o.line_width);
        let dash = style
            .dashed
            .map_or_else(String::new, |d| format!(r#" stroke-dasharray="{d} {d}""#));
        for run in runs(&points, o.line_mode) {
            if run.len() == 1 {
                let (x, y) = run[0];
                let _ = write!(
                    out,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="{}" fill="{}" fill-opacity="{alpha}"/>"#,
                    width.max(1.0),
                    p.color
                );
                continue;
            }
            let _ = write!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="{width}" stroke-opacity="{alpha}" stroke-linejoin="round"{dash}/>"#,
                path_points(&run),
                p.color
            );
        }
    }
    out.push_str("</g></svg>");
    out
}

/// Runs of drawable points: broken at nulls (joined across them in `connected` mode), with
/// steps inserted in `staircase` mode.
fn runs(points: &[(f64, f64)], mode: LineMode) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    for &(x, y) in points {
        if y.is_nan() {
            if mode != LineMode::Connected && !run.is_empty() {
                out.push(std::mem::take(&mut run));
            }
            continue;
        }
        if mode == LineMode::Staircase
            && let Some(&(_, py)) = run.last()
        {
            run.push((x, py));
        }
        run.push((x, y));
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

fn nearest(points: &[(f64, f64)], x: f64) -> Option<f64> {
    points
        .iter()
        .filter(|(_, y)| !y.is_nan())
        .min_by(|a, b| (a.0 - x).abs().total_cmp(&(b.0 - x).abs()))
        .map(|p| p.1)
}

fn path_points(points: &[(f64, f64)]) -> String {
    let mut s = String::with_capacity(points.len() * 12);
    for (i, (x, y)) in points.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{x:.1},{y:.1}");
    }
    s
}

fn fonts() -> &'static std::sync::Arc<resvg::usvg::fontdb::Database> {
    static FONTS: OnceLock<std::sync::Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    FONTS.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        db.load_font_data(dejavu::sans::regular().to_vec());
        db.load_font_data(dejavu::sans::bold().to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        std::sync::Arc::new(db)
    })
}

/// Rasterises an SVG from [`svg`] to PNG, with the built-in DejaVu Sans.
pub fn png(svg: &str) -> Result<Vec<u8>, String> {
    let options = resvg::usvg::Options {
        font_family: "DejaVu Sans".into(),
        fontdb: std::sync::Arc::clone(fonts()),
        ..resvg::usvg::Options::default()
    };
    let tree = resvg::usvg::Tree::from_str(svg, &options)
        .map_err(|e| format!("cannot render the graph: {e}"))?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or("the graph has no area")?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| format!("cannot encode the PNG: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors() {
        assert_eq!(color("red"), "#c80032");
        assert_eq!(color("ff0000"), "#ff0000");
        assert_eq!(color("#00ff0080"), "#00ff00");
        assert_eq!(color("<script>"), "#ffffff");
    }

    #[test]
    fn svg_and_png_render() {
        let mut a = Series::new("a.b", 0, 600, 60, (0..10).map(f64::from).collect());
        a.style.color = Some("red".into());
        let b = Series::new("<b>", 0, 600, 60, vec![f64::NAN; 10]);
        let o = GraphOptions::from_params(
            |k| (k == "title").then(|| "T & T".to_owned()),
            0,
            600,
            TimeZone::UTC,
        );
        let svg = svg(&[a, b], &o);
        assert!(svg.contains("T &amp; T") && svg.contains("&lt;b&gt;") && svg.contains("#c80032"));
        let png = png(&svg).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
}
