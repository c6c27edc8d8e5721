// A dashboard: a grid of panels under a time picker, variables and auto-refresh, with a
// shared crosshair; in edit mode panels are added, moved, resized and edited, and the result
// saved as a new version. Versions can be compared by date and restored, and the dashboard
// exported as JSON. The time range and variables are the URL.

import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, canEdit, getJson, Principal, sendJson } from "../api";
import { TimePicker, timeState, useAutoRefresh } from "../components/timepicker";
import { ALL, customOptions, Dashboard, expandRepeats, GRID_COLUMNS, interpolate, newPanel, Panel, PanelType, Variable, variableText } from "../dashboard";
import { navigate } from "../nav";
import { PanelEditor } from "../panels/editor";
import { PanelBody, PanelContext, useWidth } from "../panels/panels";
import { absolute, formatInstant } from "../time";
import { href, withParams } from "../url";

export interface StoredDashboard {
  dashboard: Dashboard;
  version: number;
  read_only: boolean;
  source: string;
  updated_at: number | null;
  updated_by: string | null;
}

interface Version {
  version: number;
  author: string;
  at: number;
  message: string;
}

export const ROW_HEIGHT = 30;
/** The gap between grid cells and the height of a panel's title, in CSS pixels. */
const GAP = 8;
const HEADER = 40;

/** The height a panel's body has for its content. */
export function bodyHeight(rows: number): number {
  return rows * ROW_HEIGHT + (rows - 1) * GAP - HEADER;
}

export function DashboardPage({ uid, params, user }: { uid: string; params: URLSearchParams; user: Principal }) {
  const [stored, setStored] = useState<StoredDashboard | null>(null);
  const [draft, setDraft] = useState<Dashboard | null>(null);
  const [error, setError] = useState("");
  const [tick, setTick] = useState(0);
  const [editing, setEditing] = useState<number | null>(null);
  const [panel, setPanel] = useState<"versions" | "json" | null>(null);
  useEffect(() => {
    setError("");
    setDraft(null);
    if (uid === "_graph") {
      setStored(adhocGraph(params.getAll("target")));
      return;
    }
    getJson<StoredDashboard>(`/api/v1/dashboards/${encodeURIComponent(uid)}`).then(setStored, (e) => setError(e.message));
  }, [uid]);

  const board = draft ?? stored?.dashboard ?? null;
  const time = timeState(params, board?.time ?? { from: "-24h", until: "now" });
  if (!time.refresh && board?.refresh && !params.has("refresh")) time.refresh = board.refresh;
  useAutoRefresh(time.refresh, () => setTick((t) => t + 1));
  const options = useVariableOptions(board?.variables ?? [], tick);

  if (error && !board)
    return (
      <main class="page">
        <p class="error" role="alert">
          {error}
        </p>
        <a href={href({ name: "dashboards" })}>All dashboards</a>
      </main>
    );
  if (!board || !stored) return <main class="page loading">Loading…</main>;

  const selected: Record<string, string[]> = {};
  const vars: Record<string, string> = {};
  for (const v of board.variables) {
    const fromUrl = params.getAll(`var-${v.name}`);
    const opts = options[v.name] ?? [];
    const sel = fromUrl.length ? fromUrl : v.current?.length ? v.current : v.includeAll ? [ALL] : opts.slice(0, 1);
    selected[v.name] = sel;
    vars[v.name] = variableText(sel, opts);
  }
  const go = (changes: Record<string, string | string[] | undefined>, replace = false) =>
    navigate(href({ name: "dashboard", uid }, withParams(params, changes)), replace);
  const ctx: PanelContext = {
    range: time.range,
    tz: time.tz,
    vars,
    tick,
    onZoom: (f, u) => {
      const r = absolute(f, u);
      go({ from: r.from, until: r.until });
    },
  };
  const editable = canEdit(user) && !stored.read_only;
  const isEditing = draft !== null;
  const update = (d: Dashboard) => setDraft(d);
  const updatePanel = (p: Panel) => update({ ...board, panels: board.panels.map((x) => (x.id === p.id ? p : x)) });

  async function save(message: string) {
    if (!draft || !stored) return;
    setError("");
    try {
      const next = await sendJson<StoredDashboard>("PUT", `/api/v1/dashboards/${encodeURIComponent(uid)}`, { dashboard: draft, version: stored.version, message });
      setStored(next);
      setDraft(null);
      setEditing(null);
    } catch (e) {
      setError((e as ApiError).message);
    }
  }

  async function saveAsCopy() {
    const title = `${board!.title} (copy)`;
    try {
      const created = await sendJson<StoredDashboard>("POST", "/api/v1/dashboards", { dashboard: { ...board!, uid: "", title } });
      navigate(href({ name: "dashboard", uid: created.dashboard.uid }));
    } catch (e) {
      setError((e as ApiError).message);
    }
  }

  return (
    <main class={params.get("kiosk") ? "page dashboard kiosk" : "page dashboard"}>
      <div class="toolbar">
        <h1>{interpolate(board.title, vars)}</h1>
        {stored.read_only && (
          <span class="badge" title={stored.source === "builtin" ? "built into Sightline" : "provisioned from a folder"}>
            read-only
          </span>
        )}
        <TimePicker state={time} onChange={(c) => go(c)} />
        <button class="ghost" onClick={() => setTick(tick + 1)} title="Refresh now">
          Refresh
        </button>
        <a class="button ghost" href={href({ name: "explore" }, { from: time.range.from, until: time.range.until })}>
          Events in this range
        </a>
        <a class="button ghost" href={href({ name: "issues" }, { status: "all", from: time.range.from, until: time.range.until })}>
          Issues in this range
        </a>
        {editable && !isEditing && (
          <button class="primary" onClick={() => setDraft(structuredClone(board))}>
            Edit
          </button>
        )}
        {canEdit(user) && stored.read_only && (
          <button class="ghost" onClick={saveAsCopy}>
            Save as a copy
          </button>
        )}
        <button class="ghost" aria-expanded={panel === "versions"} onClick={() => setPanel(panel === "versions" ? null : "versions")}>
          Versions
        </button>
        <button class="ghost" aria-expanded={panel === "json"} onClick={() => setPanel(panel === "json" ? null : "json")}>
          JSON
        </button>
      </div>
      <Variables variables={board.variables} options={options} selected={selected} onChange={(name, values) => go({ [`var-${name}`]: values })} />
      {isEditing && <EditBar board={board} onChange={update} onSave={save} onCancel={() => (setDraft(null), setEditing(null))} onAdd={(t) => update({ ...board, panels: [...board.panels, newPanel(board.panels, t)] })} />}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {panel === "versions" && <Versions uid={uid} user={user} readOnly={stored.read_only} onRestored={(s) => (setStored(s), setDraft(null))} tz={time.tz} />}
      {panel === "json" && <JsonView board={board} />}
      {board.panels.length === 0 && <p class="empty">This dashboard has no panels yet.{editable ? " Choose Edit, then add one." : ""}</p>}
      <Grid board={board} selected={selected} options={options} ctx={ctx} editing={isEditing} onMove={updatePanel} onEdit={setEditing} onRemove={(id) => update({ ...board, panels: board.panels.filter((p) => p.id !== id) })} />
      {isEditing && editing !== null && board.panels.find((p) => p.id === editing) && (
        <PanelEditor panel={board.panels.find((p) => p.id === editing)!} ctx={ctx} onChange={updatePanel} onClose={() => setEditing(null)} />
      )}
    </main>
  );
}

/** A one-graph view of the `target` parameters (the global search's metric links). */
function adhocGraph(targets: string[]): StoredDashboard {
  const panel: Panel = {
    id: 1,
    type: "graph",
    title: targets.join(", "),
    gridPos: { x: 0, y: 0, w: 24, h: 12 },
    targets: targets.map((target, i) => ({ refId: String.fromCharCode(65 + (i % 26)), target })),
  };
  const dashboard = { uid: "_graph", title: "Graph", time: { from: "-24h", until: "now" }, variables: [], panels: [panel] };
  return { dashboard, version: 0, read_only: true, source: "adhoc", updated_at: null, updated_by: null };
}

/** Each variable's options: a custom list, or what `/metrics/find` gives for its query. */
function useVariableOptions(variables: Variable[], tick: number): Record<string, string[]> {
  const [options, setOptions] = useState<Record<string, string[]>>({});
  const key = JSON.stringify(variables.map((v) => [v.name, v.type, v.query]));
  useEffect(() => {
    let stale = false;
    Promise.all(
      variables.map(async (v): Promise<[string, string[]]> => {
        if (v.type === "custom") return [v.name, customOptions(v.query)];
        try {
          const found = await getJson<{ text: string }[]>(`/metrics/find?query=${encodeURIComponent(v.query)}`);
          return [v.name, found.map((f) => f.text)];
        } catch {
          return [v.name, []];
        }
      }),
    ).then((pairs) => !stale && setOptions(Object.fromEntries(pairs)));
    return () => {
      stale = true;
    };
  }, [key, tick]);
  return options;
}

function Variables(props: { variables: Variable[]; options: Record<string, string[]>; selected: Record<string, string[]>; onChange: (name: string, values: string[]) => void }) {
  if (props.variables.length === 0) return null;
  return (
    <div class="variables">
      {props.variables.map((v) => {
        const opts = props.options[v.name] ?? [];
        const sel = props.selected[v.name] ?? [];
        const choices = [...(v.includeAll ? [ALL] : []), ...opts];
        return (
          <label class="variable">
            <span>{v.label ?? v.name}</span>
            <select
              multiple={!!v.multi}
              size={v.multi ? Math.min(4, choices.length) : undefined}
              aria-label={`Variable ${v.name}`}
              onChange={(e) => props.onChange(v.name, Array.from(e.currentTarget.selectedOptions).map((o) => o.value))}
            >
              {choices.map((c) => (
                <option value={c} selected={sel.includes(c)}>
                  {c === ALL ? "All" : c}
                </option>
              ))}
            </select>
          </label>
        );
      })}
    </div>
  );
}

function EditBar(props: { board: Dashboard; onChange: (d: Dashboard) => void; onSave: (message: string) => void; onCancel: () => void; onAdd: (t: PanelType) => void }) {
  const [message, setMessage] = useState("");
  const [type, setType] = useState<PanelType>("graph");
  return (
    <div class="editbar" role="toolbar" aria-label="Edit dashboard">
      <label>
        Title <input aria-label="Dashboard title" value={props.board.title} onInput={(e) => props.onChange({ ...props.board, title: e.currentTarget.value })} />
      </label>
      <select aria-label="Panel type" value={type} onChange={(e) => setType(e.currentTarget.value as PanelType)}>
        <option value="graph">Graph (Graphite)</option>
        <option value="stat">Single stat</option>
        <option value="table">Table (events)</option>
        <option value="bar">Bar chart (events)</option>
        <option value="logs">Log stream</option>
        <option value="issues">Issue list</option>
      </select>
      <button class="ghost" onClick={() => props.onAdd(type)}>
        Add panel
      </button>
      <input aria-label="What changed" placeholder="What changed (optional)" value={message} onInput={(e) => setMessage(e.currentTarget.value)} />
      <button class="primary" onClick={() => props.onSave(message)}>
        Save
      </button>
      <button class="ghost" onClick={props.onCancel}>
        Cancel
      </button>
    </div>
  );
}

function Grid(props: {
  board: Dashboard;
  selected: Record<string, string[]>;
  options: Record<string, string[]>;
  ctx: PanelContext;
  editing: boolean;
  onMove: (p: Panel) => void;
  onEdit: (id: number) => void;
  onRemove: (id: number) => void;
}) {
  const [ref, width] = useWidth();
  // Narrow screens stack panels at the grid's full width (theme.css, max-width 900px).
  const stacked = typeof matchMedia === "function" && matchMedia("(max-width: 900px)").matches;
  const colWidth = (width + GAP) / GRID_COLUMNS;
  const items = props.editing ? props.board.panels.map((panel) => ({ panel, scope: {} })) : expandRepeats(props.board.panels, props.selected, props.options);
  return (
    <div class="grid" ref={ref}>
      {width > 0 && items.map(({ panel, scope }) => (
        <PanelFrame
          key={panel.id}
          panel={panel}
          ctx={{ ...props.ctx, vars: { ...props.ctx.vars, ...scope } }}
          colWidth={colWidth}
          bodyWidth={(w) => (stacked ? width : colWidth * w - GAP) - 24}
          editing={props.editing}
          onMove={props.onMove}
          onEdit={() => props.onEdit(panel.id)}
          onRemove={() => props.onRemove(panel.id)}
        />
      ))}
    </div>
  );
}

/** One panel in the grid; in edit mode its header drags it and its corner resizes it. */
function PanelFrame(props: { panel: Panel; ctx: PanelContext; colWidth: number; bodyWidth: (w: number) => number; editing: boolean; onMove: (p: Panel) => void; onEdit: () => void; onRemove: () => void }) {
  const { panel } = props;
  const drag = useRef<{ x: number; y: number; start: Panel; mode: "move" | "resize" } | null>(null);
  const [preview, setPreview] = useState<Panel | null>(null);
  const shown = preview ?? panel;
  const g = shown.gridPos;
  const style = { gridColumn: `${g.x + 1} / span ${g.w}`, gridRow: `${g.y + 1} / span ${g.h}` };

  function start(e: PointerEvent, mode: "move" | "resize") {
    if (!props.editing) return;
    e.preventDefault();
    (e.currentTarget as Element).setPointerCapture(e.pointerId);
    drag.current = { x: e.clientX, y: e.clientY, start: panel, mode };
  }
  function moved(e: PointerEvent) {
    const d = drag.current;
    if (!d) return;
    const dx = Math.round((e.clientX - d.x) / Math.max(1, props.colWidth));
    const dy = Math.round((e.clientY - d.y) / (ROW_HEIGHT + GAP));
    const s = d.start.gridPos;
    const gridPos =
      d.mode === "move"
        ? { ...s, x: Math.max(0, Math.min(GRID_COLUMNS - s.w, s.x + dx)), y: Math.max(0, s.y + dy) }
        : { ...s, w: Math.max(2, Math.min(GRID_COLUMNS - s.x, s.w + dx)), h: Math.max(2, s.h + dy) };
    setPreview({ ...d.start, gridPos });
  }
  function end() {
    if (drag.current && preview) props.onMove(preview);
    drag.current = null;
    setPreview(null);
  }

  const title = interpolate(panel.title, props.ctx.vars);
  return (
    <section class={props.editing ? "panel editing" : "panel"} style={style} aria-label={title || "panel"} data-panel-type={panel.type}>
      <header class="panel-head" onPointerDown={(e) => start(e, "move")} onPointerMove={moved} onPointerUp={end}>
        <h2 title={title}>{title}</h2>
        {props.editing && (
          <span class="panel-tools">
            <button class="ghost small" onPointerDown={(e) => e.stopPropagation()} onClick={props.onEdit}>
              Edit panel
            </button>
            <button class="ghost small" aria-label={`Remove ${title}`} onPointerDown={(e) => e.stopPropagation()} onClick={props.onRemove}>
              Remove
            </button>
          </span>
        )}
      </header>
      <div class="panel-body">
        <PanelBody panel={panel} ctx={props.ctx} width={props.bodyWidth(g.w)} height={bodyHeight(g.h)} />
      </div>
      {props.editing && <div class="resize-handle" aria-label="Resize" onPointerDown={(e) => start(e, "resize")} onPointerMove={moved} onPointerUp={end} />}
    </section>
  );
}

function Versions(props: { uid: string; user: Principal; readOnly: boolean; onRestored: (s: StoredDashboard) => void; tz: string }) {
  const [versions, setVersions] = useState<Version[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    getJson<{ versions: Version[] }>(`/api/v1/dashboards/${encodeURIComponent(props.uid)}/versions`).then((r) => setVersions(r.versions), (e) => setError(e.message));
  }, [props.uid]);
  async function restore(v: number) {
    try {
      props.onRestored(await sendJson<StoredDashboard>("POST", `/api/v1/dashboards/${encodeURIComponent(props.uid)}/versions/${v}/restore`));
    } catch (e) {
      setError((e as Error).message);
    }
  }
  return (
    <section class="card versions">
      <h2>Versions</h2>
      {error && <p class="error">{error}</p>}
      {versions && versions.length === 0 && <p class="muted">This dashboard has no saved versions.</p>}
      <table class="data compact">
        <tbody>
          {(versions ?? []).map((v, i) => (
            <tr>
              <td>v{v.version}</td>
              <td>{formatInstant(v.at * 1000, props.tz)}</td>
              <td>{v.author}</td>
              <td>{v.message}</td>
              <td>{i > 0 && canEdit(props.user) && !props.readOnly && <button class="ghost small" onClick={() => restore(v.version)}>Restore</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function JsonView({ board }: { board: Dashboard }) {
  const text = JSON.stringify(board, null, 2);
  const download = () => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    a.download = `${board.uid || "dashboard"}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  return (
    <section class="card">
      <div class="row">
        <h2>Dashboard JSON</h2>
        <button class="ghost" onClick={download}>
          Download
        </button>
      </div>
      <pre class="json">{text}</pre>
    </section>
  );
}
