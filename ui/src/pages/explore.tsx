// Explore: search events as Kibana's Discover or Papertrail do. A query bar, a histogram to
// zoom on, the matching events (expandable, matches marked), a sidebar of fields and their
// top values that add or exclude filters, live tail, an event's context, saved searches, and
// the pipe forms as a table or chart with CSV export. The state is the URL.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { AggregateResult, ApiError, EventHit, Principal, canEdit, getJson, sendJson } from "../api";
import { Chart } from "../components/chart";
import { Highlighted } from "../components/highlight";
import { QueryBar } from "../components/querybar";
import { TimePicker, timeState, useAutoRefresh } from "../components/timepicker";
import { searchEvents, histogram, topValues, toCsv } from "../events";
import { navigate } from "../nav";
import { addFilter, filterTerm, flatten, splitPipe } from "../query";
import { absolute, apiTime, formatInstant, TimeRange } from "../time";
import { href, withParams } from "../url";

/** Events per page, as Kibana shows them: more come with "Show more". */
const PAGE = 50;
const CORE_FIELDS = ["level", "service", "host"];
/** Fields the event line shows already, left out of its preview. */
const PREVIEW_SKIP = new Set(["level", "service", "host", "event", "message", "msg", "timestamp"]);

interface SavedSearch {
  id: number;
  name: string;
  query: string;
  from: string;
  until: string;
}

function go(params: URLSearchParams, changes: Record<string, string | undefined>, replace = false) {
  navigate(href({ name: "explore" }, withParams(params, changes)), replace);
}

export function Explore({ params, user }: { params: URLSearchParams; user: Principal }) {
  const time = timeState(params, { from: "-24h", until: "now" });
  const query = params.get("q") ?? "";
  const sort = params.get("sort") === "asc" ? "asc" : "desc";
  const live = params.get("live") === "1";
  const { pipe } = splitPipe(query);
  const [tick, setTick] = useState(0);
  const [error, setError] = useState<{ message: string; position?: number } | null>(null);
  const [hits, setHits] = useState<EventHit[]>([]);
  const [total, setTotal] = useState<number | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hist, setHist] = useState<{ times: number[]; counts: (number | null)[] } | null>(null);
  const [table, setTable] = useState<AggregateResult | null>(null);
  const [loading, setLoading] = useState(false);
  useAutoRefresh(time.refresh, () => setTick((t) => t + 1));

  useEffect(() => {
    let stale = false;
    setLoading(true);
    setError(null);
    const fail = (e: unknown) => {
      if (stale) return;
      setError(e instanceof ApiError ? { message: e.message, position: e.position } : { message: String(e) });
      setLoading(false);
    };
    if (pipe) {
      setHits([]);
      setHist(null);
      getJson<AggregateResult>(`/api/v1/events/search?${new URLSearchParams(apiParams(query, time.range, time.tz))}`)
        .then((r) => {
          if (stale) return;
          setTable(r);
          setTotal(r.total);
          setLoading(false);
        }, fail);
    } else {
      setTable(null);
      Promise.all([searchEvents(query, time.range, time.tz, { sort, limit: PAGE }), histogram(query, time.range, time.tz)]).then(
        ([page, h]) => {
          if (stale) return;
          setHits(page.events);
          setTotal(page.total);
          setCursor(page.next_cursor);
          setHist(h);
          setLoading(false);
        },
        fail,
      );
    }
    return () => {
      stale = true;
    };
  }, [query, time.range.from, time.range.until, time.tz, sort, tick]);

  const paused = useLiveTail(live && !pipe, query, (event) => setHits((old) => [event, ...old].slice(0, 500)));

  async function more() {
    if (!cursor) return;
    const page = await searchEvents(query, time.range, time.tz, { sort, cursor, limit: PAGE });
    setHits((old) => [...old, ...page.events]);
    setCursor(page.next_cursor);
  }

  const fields = useMemo(() => fieldNames(hits), [hits]);
  const valuesOf = (field: string) =>
    topValues(splitPipe(query).search, field, time.range, time.tz, 20).then((r) => r.values.flatMap((v) => (v.value === null ? [] : [v.value])));
  const filter = (field: string, value: string | null, exclude: boolean) => go(params, { q: addFilter(query, filterTerm(field, value, exclude)) });

  return (
    <main class="page explore">
      <div class="toolbar">
        <h1>Explore events</h1>
        <TimePicker state={time} onChange={(c) => go(params, c)} />
      </div>
      <QueryBar value={query} fields={fields} values={valuesOf} error={error} onSubmit={(q) => go(params, { q })} />
      <div class="toolbar secondary">
        <span class="count" aria-live="polite">
          {loading ? "Searching…" : total === null ? "" : `${total.toLocaleString()} ${pipe ? "events in the table" : total === 1 ? "event" : "events"}`}
        </span>
        {!pipe && (
          <>
            <button class="ghost" onClick={() => go(params, { sort: sort === "asc" ? undefined : "asc" })}>
              {sort === "asc" ? "Oldest first" : "Newest first"}
            </button>
            <button class={live ? "primary" : "ghost"} aria-pressed={live} onClick={() => go(params, { live: live ? undefined : "1" })}>
              {live ? "Live: on" : "Live tail"}
            </button>
            {live && (
              <button class="ghost" onClick={paused.toggle}>
                {paused.value ? "Resume" : "Pause"}
              </button>
            )}
          </>
        )}
        <SavedSearches params={params} user={user} query={query} range={time.range} />
      </div>
      {pipe ? (
        table && <PipeResult result={table} tz={time.tz} />
      ) : (
        <div class="explore-body">
          <FieldSidebar hits={hits} query={query} range={time.range} tz={time.tz} onFilter={filter} />
          <section class="results">
            {hist && hist.times.length > 0 && (
              <Chart
                times={hist.times}
                series={[{ label: "Events", values: hist.counts }]}
                kind="bars"
                height={140}
                tz={time.tz}
                showLegend={false}
                onZoom={(f, u) => go(params, absoluteChanges(f, u))}
              />
            )}
            {hits.length === 0 && !loading && !error && <p class="empty">No events match in this time range. Widen the range, or check the query.</p>}
            <ol class="events" aria-label="Events">
              {hits.map((h) => (
                <EventRow hit={h} tz={time.tz} onFilter={filter} />
              ))}
            </ol>
            {cursor && (
              <button class="ghost" onClick={more}>
                Show more
              </button>
            )}
          </section>
        </div>
      )}
    </main>
  );
}

function apiParams(query: string, range: TimeRange, tz: string): Record<string, string> {
  const now = Date.now();
  return { q: query, from: apiTime(range.from, now, tz), until: apiTime(range.until, now, tz) };
}

function absoluteChanges(fromMs: number, untilMs: number) {
  const r = absolute(fromMs, untilMs);
  return { from: r.from, until: r.until };
}

/** Field names seen on the page, core ones first, for the sidebar and autocomplete. */
function fieldNames(hits: EventHit[]): string[] {
  const seen = new Set<string>();
  for (const h of hits) for (const [path] of flatten(h.fields)) if (!CORE_FIELDS.includes(path)) seen.add(path);
  return [...CORE_FIELDS, ...[...seen].sort()];
}

function useLiveTail(on: boolean, query: string, onEvent: (e: EventHit) => void) {
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    if (!on) return;
    const source = new EventSource(`/api/v1/events/tail?${new URLSearchParams({ q: splitPipe(query).search })}`);
    source.addEventListener("event", (e) => {
      if (!pausedRef.current) handler.current(JSON.parse((e as MessageEvent).data));
    });
    return () => source.close();
  }, [on, query]);
  return { value: paused, toggle: () => setPaused(!paused) };
}

function LevelBadge({ level }: { level: string | null }) {
  return <span class={`level level-${level ?? "none"}`}>{level ?? "–"}</span>;
}

function EventRow({ hit, tz, onFilter }: { hit: EventHit; tz: string; onFilter: (f: string, v: string | null, ex: boolean) => void }) {
  const [open, setOpen] = useState(false);
  const [context, setContext] = useState(false);
  const fields: [string, unknown][] = [
    ["level", hit.level],
    ["service", hit.service],
    ["host", hit.host],
    // A core field that also came as a key of the event is listed once, above.
    ...flatten(hit.fields).filter(([k]) => !CORE_FIELDS.includes(k)),
  ];
  const matched = new Set(hit.highlight?.fields ?? []);
  const ms = hit.timestamp_ns / 1e6;
  return (
    <li class={open ? "event open" : "event"}>
      <button class="event-line" aria-expanded={open} onClick={() => setOpen(!open)}>
        <time dateTime={hit.timestamp}>{formatInstant(ms, tz)}</time>
        <LevelBadge level={hit.level} />
        <span class="source">{[hit.service, hit.host].filter(Boolean).join(" · ")}</span>
        <span class="message">
          <span class="text">
            <Highlighted text={hit.message} ranges={hit.highlight?.message} />
          </span>
          <span class="field-preview">
            {flatten(hit.fields)
              .filter(([k]) => !PREVIEW_SKIP.has(k))
              .slice(0, 5)
              .map(([k, v]) => (
                <span class={matched.has(k) ? "kv matched" : "kv"}>
                  {k}=<b>{typeof v === "string" ? v : JSON.stringify(v)}</b>
                </span>
              ))}
          </span>
        </span>
      </button>
      {open && (
        <div class="event-detail">
          <table class="fields">
            <tbody>
              {fields
                .filter(([, v]) => v !== null && v !== undefined)
                .map(([k, v]) => (
                  <tr class={matched.has(k) ? "matched" : ""}>
                    <th>{k}</th>
                    <td>{typeof v === "string" ? v : JSON.stringify(v)}</td>
                    <td class="actions">
                      <button class="ghost small" title={`Only events with this ${k}`} aria-label={`Filter for ${k}`} onClick={() => onFilter(k, String(v), false)}>
                        +
                      </button>
                      <button class="ghost small" title={`Leave out events with this ${k}`} aria-label={`Exclude ${k}`} onClick={() => onFilter(k, String(v), true)}>
                        −
                      </button>
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
          <div class="row">
            <button class="ghost" onClick={() => setContext(!context)}>
              {context ? "Hide context" : "Show context"}
            </button>
            {typeof (hit.fields as Record<string, unknown>)?.["error.issue_id"] !== "undefined" && (
              <a href={href({ name: "issue", id: String((hit.fields as Record<string, unknown>)["error.issue_id"]) })}>Open the issue</a>
            )}
          </div>
          {context && <Context hit={hit} tz={tz} />}
        </div>
      )}
    </li>
  );
}

/** What came just before and after an event from the same host (or service). */
function Context({ hit, tz }: { hit: EventHit; tz: string }) {
  const by = hit.host ? "host" : "service";
  const value = hit.host ?? hit.service;
  const [rows, setRows] = useState<{ before: EventHit[]; after: EventHit[] } | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    if (!value) return;
    const q = filterTerm(by, value);
    const at = hit.timestamp_ns / 1e6;
    const around = { from: new Date(at - 3_600_000).toISOString(), until: new Date(at + 3_600_000).toISOString() };
    Promise.all([
      searchEvents(q, { from: around.from, until: new Date(at).toISOString() }, tz, { limit: 10, sort: "desc" }),
      searchEvents(q, { from: new Date(at + 0.001).toISOString(), until: around.until }, tz, { limit: 10, sort: "asc" }),
    ]).then(([b, a]) => setRows({ before: b.events.reverse(), after: a.events }), (e) => setError(String(e.message ?? e)));
  }, [hit.timestamp_ns]);
  if (!value) return <p class="muted">This event names no host or service.</p>;
  if (error) return <p class="error">{error}</p>;
  if (!rows) return <p class="muted">Loading the context…</p>;
  const line = (e: EventHit, current = false) => (
    <li class={current ? "current" : ""}>
      <time>{formatInstant(e.timestamp_ns / 1e6, tz)}</time> <LevelBadge level={e.level} /> <span class="message">{e.message}</span>
    </li>
  );
  return (
    <div class="context">
      <p class="muted small">
        Before and after, from {by} <strong>{value}</strong>
      </p>
      <ol>
        {rows.before.filter((e) => e.timestamp_ns !== hit.timestamp_ns || e.message !== hit.message).map((e) => line(e))}
        {line(hit, true)}
        {rows.after.map((e) => line(e))}
      </ol>
    </div>
  );
}

function FieldSidebar(props: {
  hits: EventHit[];
  query: string;
  range: TimeRange;
  tz: string;
  onFilter: (f: string, v: string | null, ex: boolean) => void;
}) {
  const [open, setOpen] = useState<string | null>(null);
  const fields = useMemo(() => fieldNames(props.hits), [props.hits]);
  return (
    <aside class="field-sidebar" aria-label="Fields">
      <h2>Fields</h2>
      <ul>
        {fields.map((f) => (
          <li>
            <button class="link field-name" aria-expanded={open === f} onClick={() => setOpen(open === f ? null : f)}>
              {f}
            </button>
            {open === f && <TopValues field={f} {...props} />}
          </li>
        ))}
      </ul>
    </aside>
  );
}

function TopValues(props: { field: string; query: string; range: TimeRange; tz: string; onFilter: (f: string, v: string | null, ex: boolean) => void }) {
  const [result, setResult] = useState<Awaited<ReturnType<typeof topValues>> | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    topValues(splitPipe(props.query).search, props.field, props.range, props.tz, 5).then(setResult, (e) => setError(e.message));
  }, [props.field, props.query, props.range.from, props.range.until]);
  if (error) return <p class="error small">{error}</p>;
  if (!result) return <p class="muted small">Counting…</p>;
  return (
    <ul class="top-values">
      {result.values.map((v) => (
        <li>
          <button class="link value" title={`Only events where ${props.field} is ${v.value ?? "missing"}`} onClick={() => props.onFilter(props.field, v.value, false)}>
            {v.value ?? "(missing)"}
          </button>
          <span class="muted small">{Math.round((100 * v.count) / Math.max(1, result.total))}%</span>
          <button class="ghost small" aria-label={`Exclude ${v.value ?? "missing"}`} title="Leave these out" onClick={() => props.onFilter(props.field, v.value, true)}>
            −
          </button>
        </li>
      ))}
    </ul>
  );
}

function PipeResult({ result, tz }: { result: AggregateResult; tz: string }) {
  const timed = result.columns[0] === "time";
  const csv = () => {
    const blob = new Blob([toCsv(result.columns, result.rows)], { type: "text/csv" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "sightline-events.csv";
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  return (
    <section class="pipe-result">
      {timed && <TimeChart result={result} tz={tz} />}
      <div class="row">
        <button class="ghost" onClick={csv}>
          Download CSV
        </button>
        {result.other > 0 && <span class="muted">{result.other.toLocaleString()} events in other groups</span>}
      </div>
      <DataTable result={result} tz={tz} />
    </section>
  );
}

export function DataTable({ result, tz }: { result: AggregateResult; tz: string }) {
  return (
    <table class="data">
      <thead>
        <tr>
          {result.columns.map((c) => (
            <th class={typeof result.rows[0]?.[c] === "number" ? "num" : ""}>{c}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {result.rows.map((row) => (
          <tr>
            {result.columns.map((c) => (
              <td class={typeof row[c] === "number" ? "num" : ""}>{cellText(c, row[c], tz)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function cellText(column: string, v: unknown, tz: string): string {
  if (v === null || v === undefined) return "(missing)";
  if (column === "time") return formatInstant(Date.parse(String(v)), tz);
  if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString() : v.toLocaleString(undefined, { maximumFractionDigits: 2 });
  return String(v);
}

/** A timechart's rows as one series per group. */
function TimeChart({ result, tz }: { result: AggregateResult; tz: string }) {
  const { times, series } = useMemo(() => {
    const metric = result.columns[result.columns.length - 1];
    const groupCol = result.columns.length > 2 && result.columns[1] !== "count" ? result.columns[1] : null;
    const timeSet = [...new Set(result.rows.map((r) => Date.parse(String(r.time)) / 1000))].sort((a, b) => a - b);
    const index = new Map(timeSet.map((t, i) => [t, i]));
    const groups = new Map<string, (number | null)[]>();
    for (const r of result.rows) {
      const name = groupCol ? String(r[groupCol] ?? "(missing)") : metric;
      if (!groups.has(name)) groups.set(name, timeSet.map(() => null));
      groups.get(name)![index.get(Date.parse(String(r.time)) / 1000)!] = r[metric] as number;
    }
    return { times: timeSet, series: [...groups].map(([label, values]) => ({ label, values })) };
  }, [result]);
  return <Chart times={times} series={series} tz={tz} height={240} />;
}

function SavedSearches(props: { params: URLSearchParams; user: Principal; query: string; range: TimeRange }) {
  const [list, setList] = useState<SavedSearch[]>([]);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState("");
  const load = () => getJson<{ searches: SavedSearch[] }>("/api/v1/saved-searches").then((r) => setList(r.searches), (e) => setError(e.message));
  useEffect(() => {
    if (open) load();
  }, [open]);
  const [naming, setNaming] = useState(false);
  const [name, setName] = useState("");
  async function save(e: Event) {
    e.preventDefault();
    if (!name.trim()) return;
    try {
      await sendJson("POST", "/api/v1/saved-searches", { name, query: props.query, from: props.range.from, until: props.range.until });
      setError("");
      setNaming(false);
      setName("");
      load();
      setOpen(true);
    } catch (e) {
      setError((e as Error).message);
    }
  }
  return (
    <div class="saved">
      <button class="ghost" aria-expanded={open} onClick={() => setOpen(!open)}>
        Saved searches
      </button>
      {canEdit(props.user) && !naming && (
        <button class="ghost" onClick={() => setNaming(true)} disabled={props.query.trim() === ""}>
          Save search
        </button>
      )}
      {naming && (
        <form class="inline" onSubmit={save}>
          <input aria-label="Name of the search" placeholder="Name this search" value={name} onInput={(e) => setName(e.currentTarget.value)} />
          <button type="submit" class="primary">
            Save
          </button>
          <button type="button" class="ghost" onClick={() => setNaming(false)}>
            Cancel
          </button>
        </form>
      )}
      {error && <span class="error small">{error}</span>}
      {open && (
        <ul class="popover saved-list">
          {list.length === 0 && <li class="muted">No saved searches yet.</li>}
          {list.map((s) => (
            <li>
              <a href={href({ name: "explore" }, { q: s.query, from: s.from, until: s.until })} onClick={() => setOpen(false)}>
                {s.name}
              </a>
              <code class="small muted">{s.query}</code>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
