// Time ranges as the URL holds them ("-24h" to "now", or absolute instants), and the maths the
// pages need: resolving to milliseconds, naming a range, zooming and shifting, bucket sizes.

export interface TimeRange {
  /** `now`, a relative offset such as `-24h`, or an absolute instant (RFC 3339 or epoch ms). */
  from: string;
  until: string;
}

export const DEFAULT_RANGE: TimeRange = { from: "-24h", until: "now" };

const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};
const UNIT_WORDS: Record<string, string> = {
  s: "second",
  m: "minute",
  h: "hour",
  d: "day",
  w: "week",
  y: "year",
};

const RELATIVE = /^-(\d+)\s*(s|m|h|d|w|y)$/;

/** The offset in ms of `-30m` style text, or null when it is not one. */
export function parseRelative(text: string): number | null {
  const m = RELATIVE.exec(text.trim());
  if (!m) return null;
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** One end of a range in epoch ms, or null when the text is not a time. */
export function resolveTime(text: string, nowMs: number, tz = ""): number | null {
  const t = text.trim();
  if (t === "" || t === "now") return nowMs;
  if (t === "today") return startOfDay(nowMs, tz);
  const rel = parseRelative(t);
  if (rel !== null) return nowMs - rel;
  if (/^\d{10,13}$/.test(t)) return t.length === 13 ? Number(t) : Number(t) * 1000;
  const parsed = Date.parse(t);
  return Number.isNaN(parsed) ? null : parsed;
}

/** The range in epoch ms; throws a readable error when either end is not a time. */
export function resolveRange(
  range: TimeRange,
  nowMs: number,
  tz = "",
): { fromMs: number; untilMs: number } {
  const fromMs = resolveTime(range.from, nowMs, tz);
  const untilMs = resolveTime(range.until, nowMs, tz);
  if (fromMs === null) throw new Error(`"${range.from}" is not a time`);
  if (untilMs === null) throw new Error(`"${range.until}" is not a time`);
  if (fromMs >= untilMs) throw new Error("the start must be before the end");
  return { fromMs, untilMs };
}

export function isRelative(range: TimeRange): boolean {
  const fromRelative = range.from === "today" || parseRelative(range.from) !== null;
  return fromRelative && (range.until === "now" || range.until === "");
}

/** "Last 24 hours" for relative ranges, the two instants in `tz` otherwise. */
export function describeRange(range: TimeRange, tz: string, nowMs: number): string {
  const toNow = range.until === "now" || range.until === "";
  if (range.from === "today" && toNow) return "Today so far";
  const m = RELATIVE.exec(range.from.trim());
  if (m && toNow) {
    const n = Number(m[1]);
    const word = UNIT_WORDS[m[2]];
    return n === 1 ? `Last ${word}` : `Last ${n} ${word}s`;
  }
  const { fromMs, untilMs } = resolveRange(range, nowMs, tz);
  return `${formatInstant(fromMs, tz)} to ${formatInstant(untilMs, tz)}`;
}

/** `2026-12-03 10:15:00` in the time zone (`browser` or `UTC` or an IANA name). */
export function formatInstant(ms: number, tz: string, withSeconds = true): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zoneName(tz),
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: withSeconds ? "2-digit" : undefined,
    hourCycle: "h23",
  }).formatToParts(new Date(ms));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  const time = `${get("hour")}:${get("minute")}${withSeconds ? ":" + get("second") : ""}`;
  return `${get("year")}-${get("month")}-${get("day")} ${time}`;
}

/** The zone to hand Intl: undefined for the browser's own. */
export function zoneName(tz: string): string | undefined {
  return tz === "" || tz === "browser" ? undefined : tz;
}

/** An absolute range for a zoom to [fromMs, untilMs], as the URL stores it. */
export function absolute(fromMs: number, untilMs: number): TimeRange {
  return { from: new Date(Math.round(fromMs)).toISOString(), until: new Date(Math.round(untilMs)).toISOString() };
}

/** The range twice as long around the same middle. */
export function zoomOut(range: TimeRange, nowMs: number): TimeRange {
  const { fromMs, untilMs } = resolveRange(range, nowMs);
  const half = (untilMs - fromMs) / 2;
  return absolute(fromMs - half, Math.min(untilMs + half, nowMs));
}

/** The range moved by `direction` (−1 earlier, +1 later) half its length. */
export function shift(range: TimeRange, direction: number, nowMs: number): TimeRange {
  const { fromMs, untilMs } = resolveRange(range, nowMs);
  const step = ((untilMs - fromMs) / 2) * direction;
  return absolute(fromMs + step, untilMs + step);
}

/** The start of today in `tz`, for "today" ranges. */
export function startOfDay(nowMs: number, tz: string): number {
  const time = formatInstant(nowMs, tz).split(" ")[1];
  const [h, m, s] = time.split(":").map(Number);
  const msIntoDay = ((h * 60 + m) * 60 + s) * 1000 + (nowMs % 1000);
  return nowMs - msIntoDay;
}

const NICE_STEPS_S = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400, 604800];

/** A round bucket size (seconds) giving about `buckets` buckets over the span. */
export function niceInterval(spanMs: number, buckets: number): number {
  const raw = spanMs / 1000 / Math.max(1, buckets);
  return NICE_STEPS_S.find((s) => s >= raw) ?? NICE_STEPS_S[NICE_STEPS_S.length - 1];
}

/** `30s`, `5m`, `1h`, `1d` for a bucket size in seconds. */
export function intervalText(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** A time for Graphite's from/until: relative text as is, absolute as epoch seconds. */
export function graphiteTime(text: string, nowMs: number, tz = ""): string {
  if (text === "now" || parseRelative(text) !== null) return text;
  const ms = resolveTime(text, nowMs, tz);
  return ms === null ? text : String(Math.floor(ms / 1000));
}

/** A time for the native API (it takes the same relative forms and RFC 3339). */
export function apiTime(text: string, nowMs: number, tz = ""): string {
  if (text === "now" || parseRelative(text) !== null) return text;
  const ms = resolveTime(text, nowMs, tz);
  return ms === null ? text : new Date(ms).toISOString();
}

export const QUICK_RANGES: { label: string; from: string }[] = [
  { label: "Today so far", from: "today" },
  { label: "Last 5 minutes", from: "-5m" },
  { label: "Last 15 minutes", from: "-15m" },
  { label: "Last hour", from: "-1h" },
  { label: "Last 6 hours", from: "-6h" },
  { label: "Last 24 hours", from: "-24h" },
  { label: "Last 2 days", from: "-2d" },
  { label: "Last 7 days", from: "-7d" },
  { label: "Last 30 days", from: "-30d" },
];
