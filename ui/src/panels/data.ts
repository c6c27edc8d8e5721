// Fetching what panels show: Graphite renders aligned on one time axis, and annotations.

import { getJson, request, withQuery } from "../api";
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
  // graphite-web's `raw` form, consolidated by `maxDataPoints` as Sightline does when asked
  // (`consolidate`; graphite-web never does for raw): a tenth of JSON's bytes to parse, and no
  // array per point for the collector to chase.
  const url = withQuery("/render", {
    target: targets,
    from: graphiteTime(range.from, now, tz),
    until: graphiteTime(range.until, now, tz),
    format: "raw",
    consolidate: "true",
    maxDataPoints: Math.max(10, Math.round(maxDataPoints)),
  });
  const res = await request("GET", url);
  return align(parseRaw(new Uint8Array(await res.arrayBuffer())));
}

export interface RawSeries {
  target: string;
  start: number;
  step: number;
  values: (number | null)[];
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
const decoder = new TextDecoder();

/**
 * Parses graphite-web's raw render output, one `name,start,end,step|v,v,…` line per series.
 * A name may hold commas and bars; the values never do, so the last bar ends the header and its
 * last three commas split off the numbers. `None`, `inf` and `nan` are gaps.
 */
export function parseRaw(bytes: Uint8Array): RawSeries[] {
  const out: RawSeries[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    let nl = bytes.indexOf(10, pos);
    if (nl < 0) nl = bytes.length;
    const bar = bytes.lastIndexOf(124, nl - 1);
    if (bar >= pos) {
      const header = decoder.decode(bytes.subarray(pos, bar));
      const c3 = header.lastIndexOf(",");
      const c2 = header.lastIndexOf(",", c3 - 1);
      const c1 = header.lastIndexOf(",", c2 - 1);
      if (c1 > 0) {
        out.push({
          target: header.slice(0, c1),
          start: Number(header.slice(c1 + 1, c2)),
          step: Number(header.slice(c3 + 1)),
          values: parseValues(bytes, bar + 1, nl),
        });
      }
    }
    pos = nl + 1;
  }
  return out;
}

/**
 * Comma-separated numbers in `bytes[from, to)`, in one pass that makes no string: an exact
 * mantissa and power of ten take one IEEE operation, so the double is correctly rounded; longer
 * forms go to `Number`. What is not a number (`None`, `inf`, `nan`, empty) is a gap.
 */
function parseValues(bytes: Uint8Array, from: number, to: number): (number | null)[] {
  const values: (number | null)[] = [];
  if (from >= to) return values;
  let i = from;
  for (;;) {
    const start = i;
    let c = i < to ? bytes[i] : 44;
    const negative = c === 45;
    if (negative || c === 43) c = ++i < to ? bytes[i] : 44;
    let mantissa = 0;
    let digits = 0;
    let scale = 0;
    let seen = false;
    while (c >= 48 && c <= 57) {
      seen = true;
      if (mantissa !== 0 || c !== 48) digits++;
      mantissa = mantissa * 10 + (c - 48);
      c = ++i < to ? bytes[i] : 44;
    }
    if (c === 46) {
      c = ++i < to ? bytes[i] : 44;
      while (c >= 48 && c <= 57) {
        seen = true;
        if (mantissa !== 0 || c !== 48) digits++;
        mantissa = mantissa * 10 + (c - 48);
        scale--;
        c = ++i < to ? bytes[i] : 44;
      }
    }
    if (seen && (c === 101 || c === 69)) {
      c = ++i < to ? bytes[i] : 44;
      const minus = c === 45;
      if (minus || c === 43) c = ++i < to ? bytes[i] : 44;
      let e = 0;
      while (c >= 48 && c <= 57) {
        e = e * 10 + (c - 48);
        c = ++i < to ? bytes[i] : 44;
      }
      scale += minus ? -e : e;
    }
    let value: number | null = null;
    if (seen && c === 44) {
      const exact = digits <= 15 && scale >= -22 && scale <= 22;
      const v = exact ? (scale < 0 ? mantissa / POW10[-scale] : mantissa * POW10[scale]) : Math.abs(Number(decoder.decode(bytes.subarray(start, i))));
      if (Number.isFinite(v)) value = negative ? -v : v;
    }
    while (c !== 44) c = ++i < to ? bytes[i] : 44; // the rest of a token that is not a number
    values.push(value);
    if (i >= to) break;
    i++;
  }
  return values;
}

/** Series on one time axis: shared as it is when they agree, else the union of their times. */
export function align(list: RawSeries[]): Aligned {
  if (list.length === 0) return { times: [], series: [] };
  const first = list[0];
  const series = list.map((s) => ({ label: s.target, values: s.values }));
  if (list.every((s) => s.start === first.start && s.step === first.step && s.values.length === first.values.length)) {
    return { times: first.values.map((_, i) => first.start + i * first.step), series };
  }
  const stamps = new Set<number>();
  for (const s of list) for (let i = 0; i < s.values.length; i++) stamps.add(s.start + i * s.step);
  const times = [...stamps].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  return {
    times,
    series: list.map((s) => {
      const values: (number | null)[] = times.map(() => null);
      for (let i = 0; i < s.values.length; i++) values[index.get(s.start + i * s.step)!] = s.values[i];
      return { label: s.target, values };
    }),
  };
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
