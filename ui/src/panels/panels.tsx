// The panel types: a time-series graph of Graphite targets, a single stat with a sparkline and
// thresholds, a table from an events aggregation, a bar chart from a terms aggregation, a log
// stream and an issue list. Each shows its own error where it went wrong.

import { RefObject } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { AggregateResult, ApiError, EventHit, getJson, withQuery } from "../api";
import { Chart, formatValue, Marker, seriesColor } from "../components/chart";
import { Sparkline } from "../components/sparkline";
import { interpolate, Panel, reduce, thresholdColor } from "../dashboard";
import { aggregateEvents, searchEvents } from "../events";
import { Issue } from "../issues";
import { navigate } from "../nav";
import { ago } from "../pages/issues";
import { absolute, formatInstant, TimeRange } from "../time";
import { href } from "../url";
import { Aligned, annotations, panelTargets, render } from "./data";

export interface PanelContext {
  range: TimeRange;
  tz: string;
  vars: Record<string, string>;
  /** Bumped by auto-refresh and the refresh button. */
  tick: number;
  onZoom: (fromMs: number, untilMs: number) => void;
}

const COLORS: Record<string, string> = { green: "#2fa36b", orange: "#e0792b", red: "#c9423f", blue: "#3d7fd9", yellow: "#b58b1e" };
export function cssColor(c: string): string {
  return COLORS[c] ?? c;
}

/** Runs `load` when its inputs change; gives the value or the error. The last value stays
 * shown while the next loads, so refreshes and resizes do not flash. */
function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | null; error: string | null } {
  const [state, setState] = useState<{ data: T | null; error: string | null }>({ data: null, error: null });
  useEffect(() => {
    let stale = false;
    load().then(
      (data) => !stale && setState({ data, error: null }),
      (e) => !stale && setState({ data: null, error: e instanceof ApiError ? e.message : String(e?.message ?? e) }),
    );
    return () => {
      stale = true;
    };
  }, deps);
  return state;
}

function PanelError({ error }: { error: string }) {
  return (
    <div class="panel-error" role="alert">
      {error}
    </div>
  );
}

export function PanelBody({ panel, ctx, width, height }: { panel: Panel; ctx: PanelContext; width: number; height: number }) {
  switch (panel.type) {
    case "graph":
      return <GraphPanel panel={panel} ctx={ctx} width={width} height={height} />;
    case "stat":
      return <StatPanel panel={panel} ctx={ctx} />;
    case "table":
      return <TablePanel panel={panel} ctx={ctx} />;
    case "bar":
      return <BarPanel panel={panel} ctx={ctx} width={width} height={height} />;
    case "logs":
      return <LogsPanel panel={panel} ctx={ctx} />;
    case "issues":
      return <IssuesPanel panel={panel} ctx={ctx} />;
    default:
      return <PanelError error={`unknown panel type ${String((panel as Panel).type)}`} />;
  }
}

function rangeKey(ctx: PanelContext): unknown[] {
  return [ctx.range.from, ctx.range.until, ctx.tz, ctx.tick, JSON.stringify(ctx.vars)];
}

function panelRange(panel: Panel, ctx: PanelContext): TimeRange {
  return panel.timeFrom ? { from: panel.timeFrom, until: "now" } : ctx.range;
}

function GraphPanel({ panel, ctx, width, height }: { panel: Panel; ctx: PanelContext; width: number; height: number }) {
  const targets = panelTargets(panel, ctx.vars);
  const range = panelRange(panel, ctx);
  // Whole hundreds of points, so a small resize does not fetch again.
  const points = Math.max(100, Math.round(width / 100) * 100);
  const { data, error } = useLoad<Aligned>(() => render(targets, range, ctx.tz, points), [targets.join("\n"), points, ...rangeKey(ctx), range.from]);
  const marks = useLoad<Marker[]>(() => annotations(panel, range, ctx.tz, ctx.vars), [JSON.stringify(panel.annotations ?? null), ...rangeKey(ctx)]);
  if (targets.length === 0) return <p class="muted panel-empty">Add a Graphite target to this panel.</p>;
  if (error) return <PanelError error={error} />;
  if (!data) return <p class="muted panel-empty">Loading…</p>;
  if (data.series.length === 0)
    return (
      <p class="muted panel-empty">
        No data in this time range for <code>{targets.join(", ")}</code>.
      </p>
    );
  return (
    <Chart
      times={data.times}
      series={data.series}
      tz={ctx.tz}
      unit={panel.unit}
      height={Math.max(60, height - (panel.legend === false ? 8 : 40))}
      markers={marks.data ?? undefined}
      syncKey="dashboard"
      showLegend={panel.legend !== false}
      width={width}
      onZoom={ctx.onZoom}
    />
  );
}

function StatPanel({ panel, ctx }: { panel: Panel; ctx: PanelContext }) {
  const range = panelRange(panel, ctx);
  const fromEvents = !!panel.query && !(panel.targets ?? []).some((t) => t.target.trim());
  const targets = panelTargets(panel, ctx.vars);
  const { data, error } = useLoad<{ value: number | null; spark: Aligned | null }>(async () => {
    if (fromEvents) {
      const r = await aggregateEvents(interpolate(panel.query ?? "", ctx.vars), range, ctx.tz, { stats: panel.stats || "count()", interval: "auto" });
      const key = r.columns[r.columns.length - 1];
      const times = r.rows.map((row) => Date.parse(String(row.time)) / 1000);
      const values = r.rows.map((row) => (row[key] === null ? null : Number(row[key])));
      return { value: Number(r.totals[key] ?? r.total), spark: { times, series: [{ label: key, values }] } };
    }
    const d = await render(targets, range, ctx.tz, 100);
    const first = d.series[0];
    return { value: first ? reduce(first.values, panel.reducer) : null, spark: d };
  }, [targets.join("\n"), panel.query, panel.stats, panel.reducer, ...rangeKey(ctx), range.from]);
  if (error) return <PanelError error={error} />;
  if (!data) return <p class="muted panel-empty">Loading…</p>;
  const color = thresholdColor(data.value, panel.thresholds);
  const text = data.value === null ? "No data" : panel.decimals !== undefined ? `${data.value.toFixed(panel.decimals)}${panel.unit ? " " + panel.unit : ""}` : formatValue(data.value, panel.unit);
  const spark = data.spark?.series[0];
  return (
    <div class="stat-panel">
      <div class="stat-big" style={color ? { color: cssColor(color) } : undefined} data-testid="stat-value">
        {text}
      </div>
      {spark && data.spark!.times.length > 1 && <Sparkline times={data.spark!.times} values={spark.values} width={220} height={28} color={color ? cssColor(color) : undefined} />}
    </div>
  );
}

function TablePanel({ panel, ctx }: { panel: Panel; ctx: PanelContext }) {
  const range = panelRange(panel, ctx);
  const { data, error } = useLoad<AggregateResult>(
    () => aggregateEvents(interpolate(panel.query ?? "", ctx.vars), range, ctx.tz, { stats: panel.stats || "count()", by: panel.by || undefined, size: panel.limit ?? 20 }),
    [panel.query, panel.stats, panel.by, ...rangeKey(ctx), range.from],
  );
  if (error) return <PanelError error={error} />;
  if (!data) return <p class="muted panel-empty">Loading…</p>;
  if (data.rows.length === 0) return <p class="muted panel-empty">No events match.</p>;
  return (
    <table class="data compact">
      <thead>
        <tr>
          {data.columns.map((c) => (
            <th class={typeof data.rows[0]?.[c] === "number" ? "num" : ""}>{c}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {data.rows.map((row) => (
          <tr>
            {data.columns.map((c) => (
              <td class={typeof row[c] === "number" ? "num" : ""}>{row[c] === null ? "(missing)" : typeof row[c] === "number" ? formatNumber(row[c] as number) : String(row[c])}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString() : n.toLocaleString(undefined, { maximumFractionDigits: 2 });
}

function BarPanel({ panel, ctx, width, height }: { panel: Panel; ctx: PanelContext; width: number; height: number }) {
  const range = panelRange(panel, ctx);
  const { data, error } = useLoad<AggregateResult>(
    () => aggregateEvents(interpolate(panel.query ?? "", ctx.vars), range, ctx.tz, { stats: panel.stats || "count()", by: panel.by || undefined, size: panel.limit ?? 10 }),
    [panel.query, panel.stats, panel.by, ...rangeKey(ctx), range.from],
  );
  if (error) return <PanelError error={error} />;
  if (!data) return <p class="muted panel-empty">Loading…</p>;
  if (!panel.by) return <PanelError error="a bar chart needs a field to group by" />;
  if (data.rows.length === 0) return <p class="muted panel-empty">No events match.</p>;
  const metric = data.columns[data.columns.length - 1];
  const labels = data.rows.map((r) => (r[panel.by!] === null ? "(missing)" : String(r[panel.by!])));
  const values = data.rows.map((r) => Number(r[metric]));
  return <Bars labels={labels} values={values} metric={metric} width={width} height={Math.max(60, height - 8)} />;
}

/** A category bar chart in uPlot: x is the category's index, labelled by name. */
function Bars(props: { labels: string[]; values: number[]; metric: string; width: number; height: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    const axis = getComputedStyle(document.documentElement).getPropertyValue("--muted").trim() || "#888";
    const xs = props.labels.map((_, i) => i);
    const u = new uPlot(
      {
        width: Math.max(200, box.current.clientWidth),
        height: props.height,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false, range: [-0.5, props.labels.length - 0.5] }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [
          { stroke: axis, splits: () => xs, values: (_u, vals) => vals.map((v) => props.labels[v] ?? ""), grid: { show: false } },
          { stroke: axis, size: 56, values: (_u, vals) => vals.map((v) => formatValue(v)) },
        ],
        series: [{}, { label: props.metric, stroke: seriesColor(0), fill: seriesColor(0) + "cc", paths: uPlot.paths.bars!({ size: [0.7, 80] }), points: { show: false } }],
      },
      [xs, props.values],
      box.current,
    );
    return () => u.destroy();
  }, [props.labels.join("\u0000"), props.values.join(","), props.width, props.height]);
  return (
    <div>
      <div class="chart" ref={box} />
      <ul class="bar-values sr-only">
        {props.labels.map((l, i) => (
          <li>
            {l}: {formatNumber(props.values[i])}
          </li>
        ))}
      </ul>
    </div>
  );
}

function LogsPanel({ panel, ctx }: { panel: Panel; ctx: PanelContext }) {
  const range = panelRange(panel, ctx);
  const query = interpolate(panel.query ?? "", ctx.vars);
  const { data, error } = useLoad<EventHit[]>(async () => (await searchEvents(query, range, ctx.tz, { limit: panel.limit ?? 50 })).events, [query, ...rangeKey(ctx), range.from]);
  if (error) return <PanelError error={error} />;
  if (!data) return <p class="muted panel-empty">Loading…</p>;
  if (data.length === 0) return <p class="muted panel-empty">No events match.</p>;
  return (
    <div class="log-stream">
      <ol>
        {data.map((e) => (
          <li>
            <time>{formatInstant(e.timestamp_ns / 1e6, ctx.tz)}</time> <span class={`level level-${e.level ?? "none"}`}>{e.level ?? "–"}</span> <span class="message">{e.message}</span>
          </li>
        ))}
      </ol>
      <a class="small" href={href({ name: "explore" }, { q: query, from: range.from, until: range.until })}>
        Open in Explore
      </a>
    </div>
  );
}

function IssuesPanel({ panel, ctx }: { panel: Panel; ctx: PanelContext }) {
  const query = panel.query ?? "";
  const { data, error } = useLoad<Issue[]>(
    async () => (await getJson<{ issues: Issue[] }>(withQuery("/api/v1/issues", { status: "unresolved", sort: "last_seen", query: query || undefined, limit: panel.limit ?? 10 }))).issues,
    [query, ctx.tick],
  );
  if (error) return <PanelError error={error} />;
  if (!data) return <p class="muted panel-empty">Loading…</p>;
  if (data.length === 0) return <p class="muted panel-empty">Nothing is broken: no unresolved issues.</p>;
  return (
    <ul class="issue-mini">
      {data.map((i) => (
        <li>
          <a href={href({ name: "issue", id: String(i.id) })}>
            <span class={`level level-${i.level}`}>{i.level}</span> {i.title}
          </a>
          <span class="muted small">
            {i.times_seen.toLocaleString()} events · {ago(i.last_seen)}
          </span>
        </li>
      ))}
    </ul>
  );
}

/** Links from a graph's time range to Explore and Issues in the same window. */
export function rangeLinks(range: TimeRange): { explore: string; issues: string } {
  return { explore: href({ name: "explore" }, { from: range.from, until: range.until }), issues: href({ name: "issues" }, { status: "unresolved" }) };
}

export function zoomTo(fromMs: number, untilMs: number, params: Record<string, string | string[]>, uid: string) {
  const r = absolute(fromMs, untilMs);
  navigate(href({ name: "dashboard", uid }, { ...params, from: r.from, until: r.until }));
}

/** An element's width, 0 until it is measured (so panels ask for data once, at their size). */
export function useWidth(): [RefObject<HTMLDivElement>, number] {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    if (!ref.current) return;
    const ro = new ResizeObserver(() => ref.current && setWidth(ref.current.clientWidth));
    ro.observe(ref.current);
    setWidth(ref.current.clientWidth);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

