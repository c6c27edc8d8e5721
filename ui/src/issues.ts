// The issues API's shapes, and reading Sentry event payloads as SDKs send them (lists bare or
// under `values`, tags as objects or pairs).

export interface Issue {
  id: number;
  project_id: number;
  title: string;
  culprit: string | null;
  level: string;
  status: string;
  first_seen: number;
  last_seen: number;
  times_seen: number;
  users: number;
  first_release: string | null;
  last_release: string | null;
  resolved_at: number | null;
  resolved_in_next_release: boolean;
  ignored_until: number | null;
  ignored_until_events: number | null;
  grouping: { version: string; rule: string; components: string[] };
  hourly?: { hour: number; events: number }[];
  changes?: Record<string, unknown>[];
  tags?: { key: string; values: { value: string; events: number }[] }[];
}

export interface Frame {
  filename?: string;
  abs_path?: string;
  module?: string;
  function?: string;
  lineno?: number;
  colno?: number;
  context_line?: string;
  pre_context?: string[];
  post_context?: string[];
  in_app?: boolean;
  vars?: Record<string, unknown>;
}

export interface ExceptionValue {
  type?: string;
  value?: string;
  module?: string;
  mechanism?: { type?: string; handled?: boolean };
  stacktrace?: { frames?: Frame[] };
}

export interface Breadcrumb {
  timestamp?: number | string;
  category?: string;
  message?: string;
  level?: string;
  type?: string;
  data?: Record<string, unknown>;
}

/** A list the way Sentry payloads hold them: bare, or under `values`. */
export function values<T>(v: unknown): T[] {
  if (Array.isArray(v)) return v as T[];
  if (v && typeof v === "object" && Array.isArray((v as { values?: unknown }).values)) return (v as { values: T[] }).values;
  return [];
}

/** The exceptions of an event, outermost (the one raised last) first, as Sentry shows them. */
export function exceptions(event: Record<string, unknown>): ExceptionValue[] {
  return values<ExceptionValue>(event.exception).slice().reverse();
}

/** Tags as pairs, from `{k: v}` or `[[k, v]]`. */
export function tagPairs(tags: unknown): [string, string][] {
  if (Array.isArray(tags)) return tags.filter((t) => Array.isArray(t) && t.length === 2).map((t) => [String(t[0]), String(t[1])]);
  if (tags && typeof tags === "object") return Object.entries(tags as Record<string, unknown>).map(([k, v]) => [k, String(v)]);
  return [];
}

/** Seconds since the epoch, from a number or RFC 3339 text. */
export function eventSeconds(t: unknown): number | null {
  if (typeof t === "number") return t;
  if (typeof t === "string") {
    const n = Number(t);
    if (!Number.isNaN(n)) return n;
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? null : ms / 1000;
  }
  return null;
}

/** Frames grouped for display: in-app frames alone, runs of library frames collapsed. */
export function frameGroups(frames: Frame[]): { inApp: boolean; frames: Frame[] }[] {
  const anyInApp = frames.some((f) => f.in_app);
  const groups: { inApp: boolean; frames: Frame[] }[] = [];
  for (const f of frames.slice().reverse()) {
    const inApp = anyInApp ? !!f.in_app : true;
    const last = groups[groups.length - 1];
    if (last && !last.inApp && !inApp) last.frames.push(f);
    else groups.push({ inApp, frames: [f] });
  }
  return groups;
}

export const STATUS_LABELS: Record<string, string> = {
  unresolved: "Unresolved",
  resolved: "Resolved",
  ignored: "Ignored",
  regressed: "Regressed",
};
