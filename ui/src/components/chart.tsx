// A time-series chart drawn by uPlot: lines or bars, hover values in the legend, a legend that
// toggles series, drag to zoom, a crosshair shared by every chart on the page, and markers for
// annotations (events, issues).

import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { formatInstant, zoneName } from "../time";

export interface ChartSeries {
  label: string;
  values: (number | null)[];
}

export interface Marker {
  /** Epoch seconds. */
  time: number;
  label: string;
  kind: "event" | "issue";
}

export interface ChartProps {
  /** Epoch seconds, ascending. */
  times: number[];
  series: ChartSeries[];
  kind?: "line" | "bars";
  height?: number;
  tz: string;
  unit?: string;
  markers?: Marker[];
  /** Charts with the same key share a crosshair. */
  syncKey?: string;
  showLegend?: boolean;
  /** The width in pixels when the caller knows it (a dashboard's grid does), so drawing a
   * dozen charts does not force a layout for each; without it the chart fills its box. */
  width?: number;
  onZoom?: (fromMs: number, untilMs: number) => void;
}

const PALETTE = ["#3d7fd9", "#e0792b", "#2fa36b", "#c9423f", "#8d62c9", "#b58b1e", "#2aa3b8", "#c45a9c", "#6b8a2c", "#6f6f6f"];

export function seriesColor(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/** A short number: 1.2k, 3.4M, 0.25. */
export function formatValue(v: number | null | undefined, unit = ""): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const abs = Math.abs(v);
  let text: string;
  if (abs >= 1e9) text = `${+(v / 1e9).toFixed(2)}G`;
  else if (abs >= 1e6) text = `${+(v / 1e6).toFixed(2)}M`;
  else if (abs >= 1e4) text = `${+(v / 1e3).toFixed(1)}k`;
  else if (abs >= 100) text = `${Math.round(v)}`;
  else text = `${+v.toFixed(abs >= 1 ? 2 : 3)}`;
  return unit ? `${text} ${unit}` : text;
}

/** Whether some value has no value beside it, so a line alone would not show it. */
export function hasIsolated(values: (number | null)[]): boolean {
  return values.some((v, i) => v !== null && (values[i - 1] ?? null) === null && (values[i + 1] ?? null) === null);
}

/** Theme colours, read once per theme: a style read before each of a dozen charts costs a
 * style recalculation each. */
const themeColours = new Map<string, string>();
function cssVar(name: string, fallback: string): string {
  const key = `${document.documentElement.dataset.theme ?? ""} ${name}`;
  let value = themeColours.get(key);
  if (value === undefined) {
    value = getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
    themeColours.set(key, value);
  }
  return value;
}

/**
 * The line of a series among many: what uPlot's linear builder draws for a line without fill,
 * with the scale maths done once per series instead of through closures per point. A null
 * lifts the pen (no spanning of gaps); a point on the pixel of the one before is skipped.
 */
export const manyLines: uPlot.Series.PathBuilder = (u, seriesIdx, idx0, idx1) => {
  const xs = u.data[0];
  const ys = u.data[seriesIdx];
  const sx = u.scales.x;
  const sy = u.scales[u.series[seriesIdx].scale ?? "y"];
  const stroke = new Path2D();
  const paths: uPlot.Series.Paths = { stroke, fill: null, clip: null, band: null, flags: 0 };
  if (sx.min == null || sx.max == null || sy.min == null || sy.max == null) return paths;
  const { left, top, width, height } = u.bbox;
  const kx = sx.max === sx.min ? 0 : width / (sx.max - sx.min);
  const ky = sy.max === sy.min ? 0 : height / (sy.max - sy.min);
  const x0 = sx.min;
  const bottom = top + height;
  const y0 = sy.min;
  let pen = false;
  let lastX = NaN;
  let lastY = NaN;
  // One point either side of the window, so lines run out to the edges (uPlot clips them).
  const from = Math.max(0, idx0 - 1);
  const to = Math.min(xs.length - 1, idx1 + 1);
  for (let i = from; i <= to; i++) {
    const v = ys[i];
    if (v == null) {
      pen = false;
      continue;
    }
    const x = Math.round(left + (xs[i] - x0) * kx);
    const y = Math.round(bottom - (v - y0) * ky);
    if (!pen) {
      stroke.moveTo(x, y);
      pen = true;
    } else if (x !== lastX || y !== lastY) {
      stroke.lineTo(x, y);
    }
    lastX = x;
    lastY = y;
  }
  return paths;
};

function chartWidth(given: number | undefined, el?: HTMLElement): number {
  return Math.max(200, Math.floor(given ?? el?.clientWidth ?? 0));
}

function markerPlugin(markers: Marker[]): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        ctx.save();
        for (const m of markers) {
          const x = u.valToPos(m.time, "x", true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.strokeStyle = m.kind === "issue" ? "#c9423f" : "#8d62c9";
          ctx.setLineDash([4, 3]);
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  /** The series the chart was last given, so the first data effect does not draw again. */
  const drawn = useRef<ChartSeries[] | null>(null);
  const zoom = useRef(props.onZoom);
  zoom.current = props.onZoom;
  // The chart is built again only when its shape changes; new data alone goes to `setData`,
  // so refreshes neither flash nor lose the legend's toggles.
  const shape = JSON.stringify([
    props.series.map((s) => s.label),
    props.kind,
    props.height,
    props.tz,
    props.unit,
    props.syncKey,
    props.showLegend,
    (props.markers ?? []).map((m) => [m.time, m.kind]),
  ]);
  const data = (): uPlot.AlignedData => [props.times, ...props.series.map((s) => s.values)];

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axisColor = cssVar("--muted", "#888");
    const gridColor = cssVar("--grid", "rgba(128,128,128,0.15)");
    const tz = zoneName(props.tz);
    const bars = props.kind === "bars";
    // A shaded area helps one or two lines; under many it is only paint (and costs the most
    // to draw), so many lines are drawn as lines.
    const shade = props.series.length <= 4;
    const opts: uPlot.Options = {
      width: chartWidth(props.width, el),
      height: props.height ?? 220,
      tzDate: (ts) => (tz ? uPlot.tzDate(new Date(ts * 1000), tz) : new Date(ts * 1000)),
      legend: { show: props.showLegend !== false, live: true },
      cursor: {
        // A hover dot per series helps a few lines; over many it is a hundred elements per
        // chart to build and move, and the legend shows the values anyway.
        points: { show: props.series.length <= 10 },
        sync: props.syncKey ? { key: props.syncKey } : undefined,
        drag: { x: true, y: false, setScale: false },
      },
      scales: { x: { time: true } },
      axes: [
        { stroke: axisColor, grid: { stroke: gridColor }, ticks: { stroke: gridColor } },
        {
          stroke: axisColor,
          grid: { stroke: gridColor },
          ticks: { stroke: gridColor },
          size: 56,
          values: (_u, vals) => vals.map((v) => formatValue(v)),
        },
      ],
      series: [
        { label: "Time", value: (_u, v) => (v == null ? "–" : formatInstant(v * 1000, props.tz)) },
        ...props.series.map((s, i) => ({
          label: s.label,
          stroke: seriesColor(i),
          fill: bars ? seriesColor(i) + "cc" : shade ? seriesColor(i) + "1a" : undefined,
          width: bars ? 0 : shade ? 1.5 : 1,
          spanGaps: false,
          // A value with no neighbour draws no line: mark such sparse series' points.
          points: { show: !bars && hasIsolated(s.values), size: 5 },
          paths: bars ? uPlot.paths.bars!({ size: [0.8, 40] }) : shade ? undefined : manyLines,
          value: (_u: uPlot, v: number | null) => formatValue(v, props.unit),
        })),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 3) return;
            const from = u.posToVal(u.select.left, "x");
            const until = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            zoom.current?.(from * 1000, until * 1000);
          },
        ],
      },
      plugins: props.markers?.length ? [markerPlugin(props.markers)] : [],
    };
    const u = new uPlot(opts, data(), el);
    plot.current = u;
    drawn.current = props.series;
    // Only a real change of width redraws (the observer also reports the first size). A given
    // width changes through its prop instead.
    let width = opts.width;
    const resize = new ResizeObserver(() => {
      const next = chartWidth(undefined, el);
      if (next === width) return;
      width = next;
      u.setSize({ width, height: props.height ?? 220 });
    });
    if (props.width === undefined) resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => {
    const u = plot.current;
    if (!u || props.width === undefined || chartWidth(props.width) === u.width) return;
    u.setSize({ width: chartWidth(props.width), height: props.height ?? 220 });
  }, [props.width]);

  useEffect(() => {
    if (!plot.current || drawn.current === props.series) return;
    drawn.current = props.series;
    plot.current.setData(data());
  }, [props.times, props.series]);

  return <div class="chart" ref={box} style={props.width === undefined ? undefined : { width: `${chartWidth(props.width)}px` }} />;
}
