// Importing a Grafana dashboard that graphs Graphite: the legacy model (`rows[]` of panels
// with `span`) and the current one (`panels[]` with `gridPos`, rows nested or flat); graph,
// timeseries, singlestat and stat panels with targets, titles, units, thresholds and legends;
// hidden targets and `#A` references (Grafana's expanded `targetFull` is used when present);
// query and custom variables. Whatever cannot be imported is listed in `skipped`.

import { Dashboard, GridPos, Panel, Target, Threshold, Variable, slug } from "./dashboard";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ImportResult {
  dashboard: Dashboard;
  skipped: string[];
}

const UNITS: Record<string, string> = {
  percent: "%",
  percentunit: "",
  ms: "ms",
  s: "s",
  bytes: "B",
  decbytes: "B",
  reqps: "req/s",
  ops: "ops/s",
  currencyEUR: "€",
  currencyUSD: "$",
  currencyGBP: "£",
  short: "",
  none: "",
};

const REDUCERS: Record<string, Panel["reducer"]> = {
  current: "last",
  last: "last",
  lastNotNull: "last",
  avg: "avg",
  mean: "avg",
  min: "min",
  max: "max",
  total: "sum",
  sum: "sum",
};

/** Grafana's `now-6h` as our `-6h`; `now/d` as `today`. */
export function grafanaTime(t: unknown, fallback: string): string {
  if (typeof t !== "string" || t === "") return fallback;
  if (t === "now") return "now";
  if (t === "now/d") return "today";
  const m = /^now-(\d+)([smhdwy])$/.exec(t);
  if (m) return `-${m[1]}${m[2]}`;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? fallback : new Date(ms).toISOString();
}

/** Whether a Grafana colour is safe to use as a CSS colour. */
function color(c: unknown, fallback: string): string {
  return typeof c === "string" && /^[#a-zA-Z0-9(),.\s%]{1,40}$/.test(c) ? c : fallback;
}

export function importGrafana(input: Json): ImportResult {
  const src: Json = input.dashboard && typeof input.dashboard === "object" ? input.dashboard : input;
  const skipped: string[] = [];
  const title = typeof src.title === "string" && src.title ? src.title : "Imported dashboard";
  const panels: Panel[] = [];
  let nextId = 1;
  const take = (p: Json, gridPos: GridPos) => {
    const panel = convertPanel(p, gridPos, nextId, skipped);
    if (panel) {
      panels.push(panel);
      nextId++;
    }
  };

  if (Array.isArray(src.rows)) {
    let y = 0;
    for (const row of src.rows) {
      const height = Math.max(3, Math.round((parseInt(String(row.height ?? "250"), 10) || 250) / 30));
      let x = 0;
      for (const p of row.panels ?? []) {
        const w = Math.max(1, Math.min(24, Math.round((Number(p.span) || 12) * 2)));
        if (x + w > 24) {
          x = 0;
          y += height;
        }
        take(p, { x, y, w, h: height });
        x += w;
      }
      y += height;
    }
  }
  for (const p of src.panels ?? []) {
    if (p.type === "row") {
      const children: Json[] = p.panels ?? [];
      if (children.length > 0) skipped.push(`row "${p.title ?? ""}": its ${children.length} panels are imported without the row`);
      for (const c of children) take(c, gridPosOf(c));
      continue;
    }
    take(p, gridPosOf(p));
  }

  const variables: Variable[] = [];
  for (const v of src.templating?.list ?? []) {
    const converted = convertVariable(v);
    if (converted) variables.push(converted);
    else skipped.push(`variable $${v.name ?? "?"}: type ${v.type ?? "?"} is not supported (query and custom are)`);
  }
  if (Array.isArray(src.annotations?.list) && src.annotations.list.some((a: Json) => !a.builtIn)) {
    skipped.push("annotation queries: add events or issues annotations to graph panels instead");
  }
  if (Array.isArray(src.links) && src.links.length > 0) skipped.push(`${src.links.length} dashboard links`);

  return {
    dashboard: {
      uid: slug(typeof src.uid === "string" && src.uid ? src.uid : title),
      title,
      tags: Array.isArray(src.tags) ? src.tags.map(String) : [],
      time: { from: grafanaTime(src.time?.from, "-6h"), until: grafanaTime(src.time?.to, "now") },
      refresh: typeof src.refresh === "string" ? src.refresh : "",
      variables,
      panels,
    },
    skipped,
  };
}

function gridPosOf(p: Json): GridPos {
  const g = p.gridPos ?? {};
  const num = (v: unknown, d: number) => (typeof v === "number" && Number.isFinite(v) ? v : d);
  return { x: num(g.x, 0), y: num(g.y, 0), w: Math.max(1, Math.min(24, num(g.w, 12))), h: Math.max(2, num(g.h, 8)) };
}

function convertPanel(p: Json, gridPos: GridPos, id: number, skipped: string[]): Panel | null {
  const name = `panel "${p.title ?? p.id ?? "?"}"`;
  const type = p.type;
  if (!["graph", "timeseries", "singlestat", "stat"].includes(type)) {
    skipped.push(`${name}: type ${type ?? "?"} is not supported (graph, timeseries, singlestat and stat are)`);
    return null;
  }
  const targets: Target[] = [];
  for (const [i, t] of (p.targets ?? []).entries()) {
    const text = typeof t.targetFull === "string" && t.targetFull ? t.targetFull : t.target;
    if (typeof text !== "string") {
      const kind = t.expr !== undefined ? "a Prometheus query" : t.rawSql !== undefined ? "an SQL query" : "not a Graphite target";
      skipped.push(`${name}, target ${t.refId ?? i}: ${kind}`);
      continue;
    }
    targets.push({ refId: t.refId ?? String.fromCharCode(65 + i), target: text, hide: t.hide ? true : undefined });
  }
  const panel: Panel = {
    id,
    type: type === "graph" || type === "timeseries" ? "graph" : "stat",
    title: typeof p.title === "string" ? p.title : "",
    gridPos,
    targets,
  };
  const defaults = p.fieldConfig?.defaults ?? {};
  const unitId = defaults.unit ?? p.format ?? p.yaxes?.[0]?.format;
  if (typeof unitId === "string") panel.unit = UNITS[unitId] ?? unitId;
  if (typeof defaults.decimals === "number") panel.decimals = defaults.decimals;
  else if (typeof p.decimals === "number") panel.decimals = p.decimals;
  const thresholds = convertThresholds(p, defaults);
  if (thresholds.length) panel.thresholds = thresholds;
  if (panel.type === "graph") {
    const legendOff = p.legend?.show === false || p.options?.legend?.showLegend === false || p.options?.legend?.displayMode === "hidden";
    if (legendOff) panel.legend = false;
    if (p.stack || defaults.custom?.stacking?.mode === "normal") panel.stack = true;
    if (Array.isArray(p.seriesOverrides) && p.seriesOverrides.length) skipped.push(`${name}: ${p.seriesOverrides.length} series overrides`);
  } else {
    const calc = p.options?.reduceOptions?.calcs?.[0] ?? p.valueName;
    if (typeof calc === "string") {
      const reducer = REDUCERS[calc];
      if (reducer) panel.reducer = reducer;
      else skipped.push(`${name}: reducer ${calc} (last, avg, min, max and sum are)`);
    }
  }
  if (typeof p.repeat === "string" && p.repeat) panel.repeat = p.repeat;
  if (typeof p.timeFrom === "string" && p.timeFrom) panel.timeFrom = grafanaTime(`now-${p.timeFrom}`, "");
  if (p.alert) skipped.push(`${name}: its alert (alerts are rules of their own)`);
  if (Array.isArray(p.fieldConfig?.overrides) && p.fieldConfig.overrides.length) skipped.push(`${name}: ${p.fieldConfig.overrides.length} field overrides`);
  if (Array.isArray(p.transformations) && p.transformations.length) skipped.push(`${name}: ${p.transformations.length} transformations`);
  return panel;
}

function convertThresholds(p: Json, defaults: Json): Threshold[] {
  const steps = defaults.thresholds?.steps;
  if (Array.isArray(steps)) {
    return steps
      .filter((s: Json) => typeof s.value === "number")
      .map((s: Json) => ({ value: s.value, color: color(s.color, "red") }));
  }
  if (typeof p.thresholds === "string" && p.thresholds.trim()) {
    const colors: unknown[] = Array.isArray(p.colors) ? p.colors : [];
    return p.thresholds
      .split(",")
      .map((v: string) => Number(v.trim()))
      .filter((v: number) => Number.isFinite(v))
      .map((value: number, i: number) => ({ value, color: color(colors[i + 1], i === 0 ? "orange" : "red") }));
  }
  if (Array.isArray(p.thresholds)) {
    return p.thresholds
      .filter((t: Json) => typeof t.value === "number")
      .map((t: Json) => ({ value: t.value, color: color(t.colorMode === "critical" ? "red" : t.colorMode === "warning" ? "orange" : t.fillColor, "red") }));
  }
  return [];
}

function convertVariable(v: Json): Variable | null {
  if (v.type !== "query" && v.type !== "custom") return null;
  const query = typeof v.query === "string" ? v.query : typeof v.query?.query === "string" ? v.query.query : "";
  const value = v.current?.value;
  const current = Array.isArray(value) ? value.map(String) : typeof value === "string" ? [value] : undefined;
  return {
    name: String(v.name),
    label: typeof v.label === "string" && v.label ? v.label : undefined,
    type: v.type,
    query,
    multi: !!v.multi,
    includeAll: !!v.includeAll,
    current,
  };
}
