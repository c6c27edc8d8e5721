// Reading the events API for pages: searches, histograms and top values, with the page's time
// range turned into the API's times.

import { AggregateResult, getJson, SearchResult, withQuery } from "./api";
import { apiTime, niceInterval, resolveRange, TimeRange, intervalText } from "./time";

export function searchEvents(
  query: string,
  range: TimeRange,
  tz: string,
  opts: { limit?: number; sort?: "asc" | "desc"; cursor?: string } = {},
): Promise<SearchResult> {
  const now = Date.now();
  return getJson<SearchResult>(
    withQuery("/api/v1/events/search", {
      q: query,
      from: apiTime(range.from, now, tz),
      until: apiTime(range.until, now, tz),
      limit: opts.limit ?? 100,
      sort: opts.sort,
      cursor: opts.cursor,
    }),
  );
}

export function aggregateEvents(
  query: string,
  range: TimeRange,
  tz: string,
  opts: { by?: string; stats?: string; interval?: string; size?: number } = {},
): Promise<AggregateResult> {
  const now = Date.now();
  return getJson<AggregateResult>(
    withQuery("/api/v1/events/aggregate", {
      q: query,
      from: apiTime(range.from, now, tz),
      until: apiTime(range.until, now, tz),
      by: opts.by,
      stats: opts.stats,
      interval: opts.interval,
      size: opts.size,
    }),
  );
}

/** Counts over time in about `buckets` bars. */
export async function histogram(query: string, range: TimeRange, tz: string, buckets = 60) {
  const { fromMs, untilMs } = resolveRange(range, Date.now(), tz);
  const step = niceInterval(untilMs - fromMs, buckets);
  const result = await aggregateEvents(query, range, tz, { interval: intervalText(step) });
  const times: number[] = [];
  const counts: (number | null)[] = [];
  for (const row of result.rows) {
    times.push(Date.parse(String(row.time)) / 1000);
    counts.push(Number(row.count));
  }
  return { times, counts, total: result.total, step };
}

/** A field's most frequent values in the range, with their counts (missing as null). */
export async function topValues(query: string, field: string, range: TimeRange, tz: string, size = 10) {
  const result = await aggregateEvents(query, range, tz, { by: field, size });
  return {
    values: result.rows.map((r) => ({ value: r[field] === null ? null : String(r[field]), count: Number(r.count) })),
    total: result.total,
    other: result.other,
  };
}

/** Rows of a table as CSV (RFC 4180 quoting). */
export function toCsv(columns: string[], rows: Record<string, unknown>[]): string {
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.map(cell).join(","), ...rows.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}
