// One issue, as Sentry's issue page shows it: the latest event's exceptions (chained, with
// source context, in-app frames open and library frames collapsed), breadcrumbs, tags with
// their distribution, user, request, release and environment, events per hour, why it
// grouped, and the activity log; resolve, resolve in the next release, ignore, unresolve; and
// links to the events and metrics around it.

import { useEffect, useState } from "preact/hooks";
import { canEdit, getJson, Principal, sendJson } from "../api";
import { Chart } from "../components/chart";
import { Breadcrumb, eventSeconds, exceptions, ExceptionValue, Frame, frameGroups, Issue, STATUS_LABELS, tagPairs, values } from "../issues";
import { filterTerm } from "../query";
import { formatInstant } from "../time";
import { href } from "../url";
import { ago, hourlySeries } from "./issues";

interface StoredEvent {
  event_id: string;
  received_at: number;
  event: Record<string, unknown>;
}

export function IssuePage({ id, params, user }: { id: string; params: URLSearchParams; user: Principal }) {
  const tz = params.get("tz") ?? "";
  const [issue, setIssue] = useState<Issue | null>(null);
  const [events, setEvents] = useState<StoredEvent[]>([]);
  const [error, setError] = useState("");
  const [tick, setTick] = useState(0);
  useEffect(() => {
    Promise.all([getJson<Issue>(`/api/v1/issues/${encodeURIComponent(id)}`), getJson<{ events: StoredEvent[] }>(`/api/v1/issues/${encodeURIComponent(id)}/events?limit=1`)]).then(
      ([i, e]) => {
        setIssue(i);
        setEvents(e.events);
      },
      (e) => setError(e.message),
    );
  }, [id, tick]);

  async function change(body: Record<string, unknown>) {
    setError("");
    try {
      setIssue({ ...(issue as Issue), ...(await sendJson<Issue>("PATCH", `/api/v1/issues/${encodeURIComponent(id)}`, body)) });
      setTick(tick + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  if (error && !issue)
    return (
      <main class="page">
        <p class="error" role="alert">
          {error}
        </p>
      </main>
    );
  if (!issue) return <main class="page loading">Loading…</main>;
  const latest = events[0]?.event ?? {};
  const at = eventSeconds(latest.timestamp) ?? issue.last_seen;
  const h = hourlySeries(issue.hourly, 14 * 24);
  return (
    <main class="page issue-page">
      <p class="crumbs">
        <a href={href({ name: "issues" })}>Issues</a> / {issue.id}
      </p>
      <div class="issue-head">
        <div>
          <h1>
            <span class={`level level-${issue.level}`}>{issue.level}</span> {issue.title}
          </h1>
          {issue.culprit && <p class="muted">{issue.culprit}</p>}
        </div>
        <div class="issue-stats">
          <Stat label="Events" value={issue.times_seen.toLocaleString()} />
          <Stat label="Users" value={issue.users.toLocaleString()} />
          <Stat label="First seen" value={ago(issue.first_seen)} title={formatInstant(issue.first_seen * 1000, tz)} />
          <Stat label="Last seen" value={ago(issue.last_seen)} title={formatInstant(issue.last_seen * 1000, tz)} />
        </div>
      </div>
      <div class="toolbar secondary">
        <span class={`status status-${issue.status}`} aria-label="Status">
          {statusText(issue)}
        </span>
        {canEdit(user) && <Actions issue={issue} onChange={change} />}
        <AroundLinks issue={issue} at={at} event={latest} />
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <section class="card">
        <h2>Events per hour, last 14 days</h2>
        <Chart times={h.times} series={[{ label: "Events", values: h.counts }]} kind="bars" height={120} tz={tz} showLegend={false} />
      </section>
      <div class="issue-columns">
        <div class="issue-main">
          {exceptions(latest).map((ex, i) => (
            <ExceptionBlock ex={ex} chained={i > 0} />
          ))}
          {exceptions(latest).length === 0 && typeof latest.message === "string" && (
            <section class="card">
              <h2>Message</h2>
              <pre class="message-text">{String(latest.message)}</pre>
            </section>
          )}
          <Breadcrumbs crumbs={values<Breadcrumb>(latest.breadcrumbs)} tz={tz} />
        </div>
        <aside class="issue-side">
          <EventFacts event={latest} />
          <Tags issue={issue} />
          <section class="card">
            <h2>Why these events grouped</h2>
            <p>
              Rule <code>{issue.grouping.rule}</code> (grouping {issue.grouping.version}) over:
            </p>
            <ul class="components">
              {issue.grouping.components.map((c) => (
                <li>
                  <code>{c}</code>
                </li>
              ))}
            </ul>
          </section>
          <Activity changes={issue.changes ?? []} tz={tz} />
        </aside>
      </div>
    </main>
  );
}

function statusText(issue: Issue): string {
  if (issue.status === "resolved" && issue.resolved_in_next_release) return "Resolved in the next release";
  if (issue.status === "ignored" && issue.ignored_until) return `Ignored until ${formatInstant(issue.ignored_until * 1000, "")}`;
  if (issue.status === "ignored" && issue.ignored_until_events) return `Ignored for ${issue.ignored_until_events} more events`;
  return STATUS_LABELS[issue.status] ?? issue.status;
}

function Stat(props: { label: string; value: string; title?: string }) {
  return (
    <div class="stat-box" title={props.title}>
      <div class="muted small">{props.label}</div>
      <div class="stat-value">{props.value}</div>
    </div>
  );
}

function Actions({ issue, onChange }: { issue: Issue; onChange: (b: Record<string, unknown>) => void }) {
  if (issue.status !== "unresolved") {
    return (
      <button class="primary" onClick={() => onChange({ status: "unresolved" })}>
        Unresolve
      </button>
    );
  }
  return (
    <>
      <button class="primary" onClick={() => onChange({ status: "resolved" })}>
        Resolve
      </button>
      <button class="ghost" onClick={() => onChange({ status: "resolved_in_next_release" })}>
        Resolve in next release
      </button>
      <button class="ghost" onClick={() => onChange({ status: "ignored" })}>
        Ignore
      </button>
      <button class="ghost" onClick={() => onChange({ status: "ignored", ignore_until: Math.floor(Date.now() / 1000) + 86400 })}>
        Ignore for 24 h
      </button>
      <button class="ghost" onClick={() => onChange({ status: "ignored", ignore_events: 100 })}>
        Ignore for 100 events
      </button>
    </>
  );
}

/** Links to what happened around the issue: its user's events, the events and issues at the
 * same time. */
function AroundLinks({ issue, at, event }: { issue: Issue; at: number; event: Record<string, unknown> }) {
  const from = new Date((at - 3600) * 1000).toISOString();
  const until = new Date((at + 3600) * 1000).toISOString();
  const user = (event.user ?? {}) as Record<string, unknown>;
  const email = typeof user.email === "string" ? user.email : null;
  const userId = user.id !== undefined ? String(user.id) : null;
  const userQuery = email ? filterTerm("user.email", email) : userId ? filterTerm("user.id", userId) : null;
  return (
    <span class="links">
      {userQuery && (
        <a href={href({ name: "explore" }, { q: userQuery, from: new Date((at - 86400) * 1000).toISOString(), until })}>This user's events</a>
      )}
      <a href={href({ name: "explore" }, { q: filterTerm("error.issue_id", String(issue.id)), from: new Date(issue.first_seen * 1000 - 3_600_000).toISOString(), until: new Date(issue.last_seen * 1000 + 3_600_000).toISOString() })}>
        This issue in Explore
      </a>
      <a href={href({ name: "explore" }, { q: "", from, until })}>Events around it</a>
      <a href={href({ name: "dashboard", uid: "overview" }, { from, until })}>Metrics around it</a>
    </span>
  );
}

function ExceptionBlock({ ex, chained }: { ex: ExceptionValue; chained: boolean }) {
  const frames = ex.stacktrace?.frames ?? [];
  return (
    <section class="card exception">
      {chained && <p class="muted small">During handling of the above, or caused by:</p>}
      <h2>
        <span class="ex-type">{ex.type ?? "Error"}</span>
        {ex.value && <span class="ex-value">: {ex.value}</span>}
      </h2>
      {ex.mechanism && (
        <p class="muted small">
          mechanism {ex.mechanism.type ?? "?"}
          {ex.mechanism.handled === false ? ", unhandled" : ex.mechanism.handled ? ", handled" : ""}
        </p>
      )}
      <ol class="frames">
        {frameGroups(frames).map((g) => (g.inApp ? g.frames.map((f) => <FrameView frame={f} open />) : <LibraryFrames frames={g.frames} />))}
      </ol>
    </section>
  );
}

function LibraryFrames({ frames }: { frames: Frame[] }) {
  const [open, setOpen] = useState(false);
  return (
    <li class="library">
      <button class="link small" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? "Hide" : "Show"} {frames.length} library frame{frames.length === 1 ? "" : "s"}
      </button>
      {open && (
        <ol class="frames">
          {frames.map((f) => (
            <FrameView frame={f} open={false} />
          ))}
        </ol>
      )}
    </li>
  );
}

function FrameView({ frame, open: initial }: { frame: Frame; open: boolean }) {
  const [open, setOpen] = useState(initial && !!frame.context_line);
  const where = frame.filename ?? frame.abs_path ?? frame.module ?? "?";
  const line = frame.lineno ?? 0;
  return (
    <li class={frame.in_app ? "frame in-app" : "frame"}>
      <button class="frame-head" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span class="file">{where}</span>
        {frame.function && (
          <>
            {" in "}
            <span class="fn">{frame.function}</span>
          </>
        )}
        {frame.lineno !== undefined && <span class="muted"> at line {frame.lineno}</span>}
        {frame.in_app && <span class="badge">in app</span>}
      </button>
      {open && frame.context_line !== undefined && (
        <pre class="source">
          {(frame.pre_context ?? []).map((l, i, all) => (
            <div class="src-line">
              <span class="ln">{line - all.length + i}</span>
              {l}
            </div>
          ))}
          <div class="src-line current">
            <span class="ln">{line}</span>
            {frame.context_line}
          </div>
          {(frame.post_context ?? []).map((l, i) => (
            <div class="src-line">
              <span class="ln">{line + 1 + i}</span>
              {l}
            </div>
          ))}
        </pre>
      )}
      {open && frame.vars && Object.keys(frame.vars).length > 0 && (
        <table class="fields vars">
          <tbody>
            {Object.entries(frame.vars).map(([k, v]) => (
              <tr>
                <th>{k}</th>
                <td>{typeof v === "string" ? v : JSON.stringify(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </li>
  );
}

function Breadcrumbs({ crumbs, tz }: { crumbs: Breadcrumb[]; tz: string }) {
  if (crumbs.length === 0) return null;
  return (
    <section class="card">
      <h2>Breadcrumbs</h2>
      <table class="data breadcrumbs">
        <tbody>
          {crumbs.map((c) => {
            const t = eventSeconds(c.timestamp);
            return (
              <tr>
                <td class="nowrap">{t ? formatInstant(t * 1000, tz) : ""}</td>
                <td>{c.category ?? c.type ?? ""}</td>
                <td>
                  <span class={`level level-${c.level ?? "info"}`}>{c.level ?? "info"}</span>
                </td>
                <td>{c.message ?? (c.data ? JSON.stringify(c.data) : "")}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function EventFacts({ event }: { event: Record<string, unknown> }) {
  const user = (event.user ?? null) as Record<string, unknown> | null;
  const req = (event.request ?? null) as Record<string, unknown> | null;
  const rows: [string, string][] = [];
  const add = (k: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== "") rows.push([k, typeof v === "string" ? v : JSON.stringify(v)]);
  };
  add("Release", event.release);
  add("Environment", event.environment);
  add("Server", event.server_name);
  add("Platform", event.platform);
  if (user) for (const [k, v] of Object.entries(user)) add(`User ${k}`, v);
  if (req) {
    add("Request", [req.method, req.url].filter(Boolean).join(" "));
    add("Query", req.query_string);
  }
  for (const [k, v] of tagPairs(event.tags)) add(`Tag ${k}`, v);
  return (
    <section class="card">
      <h2>Latest event</h2>
      <table class="fields">
        <tbody>
          {rows.map(([k, v]) => (
            <tr>
              <th>{k}</th>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Tags({ issue }: { issue: Issue }) {
  const tags = issue.tags ?? [];
  if (tags.length === 0) return null;
  return (
    <section class="card">
      <h2>Tags</h2>
      {tags.map((t) => {
        const total = t.values.reduce((n, v) => n + v.events, 0);
        return (
          <div class="tag-dist">
            <div class="tag-key">{t.key}</div>
            {t.values.map((v) => (
              <div class="tag-bar" title={`${v.events} events`}>
                <span class="tag-fill" style={{ width: `${(100 * v.events) / Math.max(1, total)}%` }} />
                <span class="tag-value">{v.value}</span>
                <span class="muted small">{Math.round((100 * v.events) / Math.max(1, total))}%</span>
              </div>
            ))}
          </div>
        );
      })}
    </section>
  );
}

function Activity({ changes, tz }: { changes: Record<string, unknown>[]; tz: string }) {
  return (
    <section class="card">
      <h2>Activity</h2>
      {changes.length === 0 && <p class="muted">No changes yet.</p>}
      <ol class="activity">
        {changes.map((c) => (
          <li>
            <time>{formatInstant(Number(c.at) * 1000, tz)}</time> {String(c.detail ?? c.status)}
            {c.by ? <span class="muted"> by {String(c.by)}</span> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}
