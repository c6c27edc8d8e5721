// The issue stream, as Sentry's: counts, users, a 24-hour sparkline, first and last seen and
// status; filters for project, environment, release, status and words; sorting; bulk resolve
// and ignore. The filters are the URL.

import { useEffect, useState } from "preact/hooks";
import { ApiError, canEdit, getJson, Principal, sendJson, withQuery } from "../api";
import { Sparkline } from "../components/sparkline";
import { Issue, STATUS_LABELS } from "../issues";
import { navigate } from "../nav";
import { formatInstant, resolveRange } from "../time";
import { href, withParams } from "../url";

export function ago(seconds: number, nowMs = Date.now()): string {
  const d = Math.max(0, nowMs / 1000 - seconds);
  if (d < 60) return `${Math.floor(d)}s ago`;
  if (d < 3600) return `${Math.floor(d / 60)}m ago`;
  if (d < 86400) return `${Math.floor(d / 3600)}h ago`;
  return `${Math.floor(d / 86400)}d ago`;
}

export function hourlySeries(hourly: { hour: number; events: number }[] | undefined, hours: number, nowMs = Date.now()) {
  const end = Math.floor(nowMs / 3_600_000) * 3600;
  const times: number[] = [];
  const counts: number[] = [];
  const byHour = new Map((hourly ?? []).map((h) => [h.hour, h.events]));
  for (let t = end - (hours - 1) * 3600; t <= end; t += 3600) {
    times.push(t);
    counts.push(byHour.get(t) ?? 0);
  }
  return { times, counts };
}

/** The `from`/`until` of the URL in epoch ms; a bad time means no window. */
function activeWindow(params: URLSearchParams): { fromMs: number; untilMs: number } | null {
  try {
    return resolveRange({ from: params.get("from") ?? "-24h", until: params.get("until") ?? "now" }, Date.now());
  } catch {
    return null;
  }
}

const FILTERS: [string, string][] = [
  ["project", "Project id"],
  ["environment", "Environment"],
  ["release", "Release"],
];

export function IssueList({ params, user }: { params: URLSearchParams; user: Principal }) {
  const status = params.get("status") ?? "unresolved";
  const sort = params.get("sort") ?? "last_seen";
  const [issues, setIssues] = useState<Issue[] | null>(null);
  const [error, setError] = useState("");
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [text, setText] = useState(params.get("query") ?? "");
  const [tick, setTick] = useState(0);
  const go = (changes: Record<string, string | undefined>) => navigate(href({ name: "issues" }, withParams(params, changes)));
  // A window from a graph or an event: the issues seen in it.
  const seen = params.get("from") ? activeWindow(params) : null;

  useEffect(() => {
    setError("");
    const q = {
      status: status === "all" ? undefined : status,
      sort,
      query: params.get("query") ?? undefined,
      project: params.get("project") ?? undefined,
      environment: params.get("environment") ?? undefined,
      release: params.get("release") ?? undefined,
      hourly: "24",
    };
    getJson<{ issues: Issue[] }>(withQuery("/api/v1/issues", q)).then(
      (r) => {
        setIssues(seen ? r.issues.filter((i) => i.last_seen * 1000 >= seen.fromMs && i.first_seen * 1000 <= seen.untilMs) : r.issues);
        setSelected(new Set());
      },
      (e: ApiError) => setError(e.message),
    );
  }, [params.toString(), tick]);

  async function bulk(change: Record<string, unknown>) {
    setError("");
    try {
      for (const id of selected) await sendJson("PATCH", `/api/v1/issues/${id}`, change);
      setTick(tick + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  const editable = canEdit(user);
  return (
    <main class="page issues">
      <div class="toolbar">
        <h1>Issues</h1>
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            go({ query: text });
          }}
        >
          <input name="query" aria-label="Words in the title" placeholder="Words in the title" value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </form>
        <select aria-label="Status" value={status} onChange={(e) => go({ status: e.currentTarget.value })}>
          {["unresolved", "resolved", "ignored", "all"].map((s) => (
            <option value={s}>{s === "all" ? "Any status" : STATUS_LABELS[s]}</option>
          ))}
        </select>
        <select aria-label="Sort" value={sort} onChange={(e) => go({ sort: e.currentTarget.value })}>
          <option value="last_seen">Last seen</option>
          <option value="first_seen">First seen</option>
          <option value="events">Events</option>
          <option value="users">Users</option>
        </select>
        {FILTERS.map(([key, label]) => (
          <FilterInput name={key} label={label} value={params.get(key) ?? ""} onChange={(v) => go({ [key]: v })} />
        ))}
      </div>
      {seen && (
        <p class="muted">
          Seen between {formatInstant(seen.fromMs, "")} and {formatInstant(seen.untilMs, "")}.{" "}
          <a href={href({ name: "issues" }, withParams(params, { from: undefined, until: undefined }))}>Any time</a>
        </p>
      )}
      {editable && (
        <div class="toolbar secondary">
          <button class="ghost" disabled={selected.size === 0} onClick={() => bulk({ status: "resolved" })}>
            Resolve
          </button>
          <button class="ghost" disabled={selected.size === 0} onClick={() => bulk({ status: "ignored" })}>
            Ignore
          </button>
          <span class="muted small">{selected.size > 0 ? `${selected.size} selected` : "Select issues to resolve or ignore them together"}</span>
        </div>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {issues && issues.length === 0 && <p class="empty">No issues match. Errors that Sentry SDKs send appear here.</p>}
      {issues && issues.length > 0 && (
        <table class="data issue-table">
          <thead>
            <tr>
              {editable && (
                <th>
                  <input
                    type="checkbox"
                    aria-label="Select all"
                    checked={selected.size === issues.length}
                    onChange={(e) => setSelected(e.currentTarget.checked ? new Set(issues.map((i) => i.id)) : new Set())}
                  />
                </th>
              )}
              <th>Issue</th>
              <th>Last 24 h</th>
              <th class="num">Events</th>
              <th class="num">Users</th>
              <th>First seen</th>
              <th>Last seen</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {issues.map((issue) => {
              const h = hourlySeries(issue.hourly, 24);
              return (
                <tr>
                  {editable && (
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Select issue ${issue.id}`}
                        checked={selected.has(issue.id)}
                        onChange={(e) => {
                          const next = new Set(selected);
                          if (e.currentTarget.checked) next.add(issue.id);
                          else next.delete(issue.id);
                          setSelected(next);
                        }}
                      />
                    </td>
                  )}
                  <td class="issue-title">
                    <a href={href({ name: "issue", id: String(issue.id) })}>
                      <span class={`level level-${issue.level}`}>{issue.level}</span> {issue.title}
                    </a>
                    {issue.culprit && <div class="muted small">{issue.culprit}</div>}
                  </td>
                  <td>
                    <Sparkline times={h.times} values={h.counts} bars label={`events per hour for issue ${issue.id}`} />
                  </td>
                  <td class="num">{issue.times_seen.toLocaleString()}</td>
                  <td class="num">{issue.users.toLocaleString()}</td>
                  <td>{ago(issue.first_seen)}</td>
                  <td>{ago(issue.last_seen)}</td>
                  <td>
                    <span class={`status status-${issue.status}`}>{STATUS_LABELS[issue.status] ?? issue.status}</span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </main>
  );
}

function FilterInput(props: { name: string; label: string; value: string; onChange: (v: string) => void }) {
  const [v, setV] = useState(props.value);
  useEffect(() => setV(props.value), [props.value]);
  return (
    <form
      class="inline"
      onSubmit={(e) => {
        e.preventDefault();
        props.onChange(v.trim());
      }}
    >
      <input class="narrow" name={props.name} aria-label={props.label} placeholder={props.label} value={v} onInput={(e) => setV(e.currentTarget.value)} onBlur={() => v !== props.value && props.onChange(v.trim())} />
    </form>
  );
}
