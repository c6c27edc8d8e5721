// Fetching what panels show: Graphite renders aligned on one time axis, and annotations.

import { getJson, GraphiteSeries, withQuery } from "../api";
import { Marker } from "../components/chart";
import { expandReferences, interpolate, Panel } from "../dashboard";
import { searchEvents } from "../events";
import { Issue } from "../issues";
import { graphiteTime, resolveRange, TimeRange } from "../time";

export interface Aligned {
  times: number[];
  series: { label: string; values: (number | null)[] }[];
}

/** The visible targets of a panel, references expanded and variables interpolated. */
export function panelTargets(panel: Panel, vars: Record<string, string>): string[] {
  const targets = (panel.targets ?? []).map((t) => ({ ...t, target: interpolate(t.target, vars) }));
  return expandReferences(targets)
    .filter((t) => !t.hide && t.target.trim() !== "")
    .map((t) => t.target);
}

export async function render(targets: string[], range: TimeRange, tz: string, maxDataPoints: number): Promise<Aligned> {
  if (targets.length === 0) return { times: [], series: [] };
  const now = Date.now();
  const url = withQuery("/render", {
    target: targets,
    from: graphiteTime(range.from, now, tz),
    until: graphiteTime(range.until, now, tz),
    format: "json",
    maxDataPoints: Math.max(10, Math.round(maxDataPoints)),
  });
  return align(await getJson<GraphiteSeries[]>(url));
}

/** Series on the union of their timestamps, null where a series has no point. */
export function align(list: GraphiteSeries[]): Aligned {
  const stamps = new Set<number>();
  for (const s of list) for (const [, t] of s.datapoints) stamps.add(t);
  const times = [...stamps].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const series = list.map((s) => {
    const values: (number | null)[] = times.map(() => null);
    for (const [v, t] of s.datapoints) values[index.get(t)!] = v;
    return { label: s.target, values };
  });
  return { times, series };
}

/** Markers for a graph: events matching a query, and issues first seen in the range. */
export async function annotations(panel: Panel, range: TimeRange, tz: string, vars: Record<string, string>): Promise<Marker[]> {
  const out: Marker[] = [];
  const a = panel.annotations;
  if (!a) return out;
  if (a.events) {
    const page = await searchEvents(interpolate(a.events, vars), range, tz, { limit: 100 });
    for (const e of page.events) out.push({ time: e.timestamp_ns / 1e9, label: e.message, kind: "event" });
  }
  if (a.issues) {
    const { fromMs, untilMs } = resolveRange(range, Date.now(), tz);
    const list = await getJson<{ issues: (Issue & { regressed_at?: number[] })[] }>(
      withQuery("/api/v1/issues", { status: "unresolved", sort: "last_seen", limit: 100, regressions: "true" }),
    );
    const inRange = (t: number) => t * 1000 >= fromMs && t * 1000 <= untilMs;
    for (const i of list.issues) {
      if (inRange(i.first_seen)) out.push({ time: i.first_seen, label: `new issue: ${i.title}`, kind: "issue" });
      for (const t of i.regressed_at ?? []) if (inRange(t)) out.push({ time: t, label: `regressed: ${i.title}`, kind: "issue" });
    }
  }
  return out;
}
