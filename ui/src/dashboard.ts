// The dashboard model (what the server stores as JSON), variables and their interpolation
// into targets and titles, panel repetition, and Graphite references between targets.

export type PanelType = "graph" | "stat" | "table" | "bar" | "logs" | "issues";

export interface Target {
  refId: string;
  target: string;
  hide?: boolean;
}

export interface Threshold {
  value: number;
  color: "green" | "orange" | "red" | "blue" | string;
}

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Panel {
  id: number;
  type: PanelType;
  title: string;
  gridPos: GridPos;
  /** Graphite targets (graph, stat). */
  targets?: Target[];
  /** An events query (table, bar, logs, stat from events, graph annotations). */
  query?: string;
  /** Statistics and group-by for table, bar and event stats: `sum(amount), count()`. */
  stats?: string;
  by?: string;
  unit?: string;
  decimals?: number;
  thresholds?: Threshold[];
  /** How a stat reduces its series: last, avg, min, max, sum. */
  reducer?: "last" | "avg" | "min" | "max" | "sum";
  legend?: boolean;
  stack?: boolean;
  /** Repeat the panel for each selected value of this variable. */
  repeat?: string;
  /** Graph annotations: an events query, and issues first seen and regressed. */
  annotations?: { events?: string; issues?: boolean };
  limit?: number;
  /** A time range of its own (`today`, `-7d`), overriding the dashboard's. */
  timeFrom?: string;
}

export interface Variable {
  name: string;
  label?: string;
  /** `query`: the names `/metrics/find` gives for `query`; `custom`: a comma list. */
  type: "query" | "custom";
  query: string;
  multi?: boolean;
  includeAll?: boolean;
  /** What is selected; `$__all` is All. */
  current?: string[];
}

export interface Dashboard {
  uid: string;
  title: string;
  tags?: string[];
  time: { from: string; until: string };
  refresh?: string;
  variables: Variable[];
  panels: Panel[];
}

export const ALL = "$__all";
export const GRID_COLUMNS = 24;

/** Options of a custom variable: `a, b, c` (also `label : value`). */
export function customOptions(query: string): string[] {
  return query
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (s.includes(" : ") ? s.split(" : ")[1].trim() : s));
}

/** The text a variable stands for: one value, or a `{a,b}` glob for several or All. */
export function variableText(selected: string[], options: string[]): string {
  const values = selected.includes(ALL) ? options : selected;
  if (values.length === 0) return selected.includes(ALL) ? "*" : "";
  if (values.length === 1) return values[0];
  return `{${values.join(",")}}`;
}

/** `$name`, `${name}` and `[[name]]` replaced by their values; unknown names left as they are. */
export function interpolate(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, a, b, c) => {
    const name = a ?? b ?? c;
    return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : whole;
  });
}

/** Targets with `#A` references replaced by the referenced target, as Grafana's `targetFull`. */
export function expandReferences(targets: Target[]): Target[] {
  const byRef = new Map(targets.map((t) => [t.refId, t.target]));
  const expand = (text: string, depth: number): string =>
    depth > 10 ? text : text.replace(/#([A-Z]{1,2})\b/g, (whole, ref) => (byRef.has(ref) && ref !== undefined ? expand(byRef.get(ref)!, depth + 1) : whole));
  return targets.map((t) => ({ ...t, target: expand(t.target, 0) }));
}

/** The panels to draw: repeated panels once per selected value, each with that value bound. */
export function expandRepeats(
  panels: Panel[],
  selected: Record<string, string[]>,
  options: Record<string, string[]>,
): { panel: Panel; scope: Record<string, string> }[] {
  const out: { panel: Panel; scope: Record<string, string> }[] = [];
  for (const panel of panels) {
    const name = panel.repeat;
    if (!name || !(name in selected)) {
      out.push({ panel, scope: {} });
      continue;
    }
    const chosen = selected[name].includes(ALL) ? options[name] ?? [] : selected[name];
    const width = Math.max(1, Math.min(panel.gridPos.w, GRID_COLUMNS));
    chosen.forEach((value, i) => {
      const perRow = Math.max(1, Math.floor(GRID_COLUMNS / width));
      const gridPos = {
        x: (i % perRow) * width,
        y: panel.gridPos.y + Math.floor(i / perRow) * panel.gridPos.h,
        w: width,
        h: panel.gridPos.h,
      };
      out.push({ panel: { ...panel, id: panel.id * 1000 + i, gridPos }, scope: { [name]: value } });
    });
  }
  return out;
}

/** A title or a query made into a URL-safe id: `Shop KPIs` → `shop-kpis`. */
export function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 60) || "dashboard"
  );
}

/** The lowest free row below every panel, for a new one. */
export function nextFreeY(panels: Panel[]): number {
  return panels.reduce((y, p) => Math.max(y, p.gridPos.y + p.gridPos.h), 0);
}

export function newPanel(panels: Panel[], type: PanelType): Panel {
  const id = panels.reduce((m, p) => Math.max(m, p.id), 0) + 1;
  const base: Panel = { id, type, title: "New panel", gridPos: { x: 0, y: nextFreeY(panels), w: 12, h: 8 } };
  if (type === "graph" || type === "stat") base.targets = [{ refId: "A", target: "" }];
  if (type === "table" || type === "bar") Object.assign(base, { query: "", stats: "count()", by: "" });
  if (type === "logs") base.query = "";
  if (type === "stat") base.gridPos = { ...base.gridPos, w: 6, h: 4 };
  return base;
}

export function emptyDashboard(title: string): Dashboard {
  return { uid: slug(title), title, time: { from: "-24h", until: "now" }, variables: [], panels: [] };
}

/** The colour of a value under thresholds sorted ascending (the last one it reaches). */
export function thresholdColor(value: number | null, thresholds: Threshold[] | undefined): string | null {
  if (value === null || !thresholds || thresholds.length === 0) return null;
  let color: string | null = null;
  for (const t of [...thresholds].sort((a, b) => a.value - b.value)) if (value >= t.value) color = t.color;
  return color;
}

/** A series reduced to one number. */
export function reduce(values: (number | null)[], how: Panel["reducer"] = "last"): number | null {
  const xs = values.filter((v): v is number => v !== null && !Number.isNaN(v));
  if (xs.length === 0) return null;
  switch (how) {
    case "avg":
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    case "min":
      return Math.min(...xs);
    case "max":
      return Math.max(...xs);
    case "sum":
      return xs.reduce((a, b) => a + b, 0);
    default:
      return xs[xs.length - 1];
  }
}
