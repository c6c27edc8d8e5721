// The dashboards: the list (built-in, provisioned and saved), a new empty one, and import from
// JSON, ours or a Grafana export, listing what the import could not take.

import { useEffect, useState } from "preact/hooks";
import { ApiError, canEdit, getJson, Principal, sendJson } from "../api";
import { Dashboard, emptyDashboard } from "../dashboard";
import { importGrafana } from "../grafana";
import { navigate } from "../nav";
import { formatInstant } from "../time";
import { href } from "../url";
import { StoredDashboard } from "./dashboard";

interface Listed {
  uid: string;
  title: string;
  version: number;
  read_only: boolean;
  source: string;
  updated_at: number | null;
  updated_by: string | null;
}

export function DashboardList({ user }: { user: Principal }) {
  const [list, setList] = useState<Listed[] | null>(null);
  const [error, setError] = useState("");
  const [importing, setImporting] = useState(false);
  const [title, setTitle] = useState("");
  useEffect(() => {
    getJson<{ dashboards: Listed[] }>("/api/v1/dashboards").then((r) => setList(r.dashboards), (e) => setError(e.message));
  }, []);

  async function create(d: Dashboard) {
    setError("");
    try {
      const created = await sendJson<StoredDashboard>("POST", "/api/v1/dashboards", { dashboard: d });
      navigate(href({ name: "dashboard", uid: created.dashboard.uid }));
    } catch (e) {
      setError((e as ApiError).message);
    }
  }

  return (
    <main class="page">
      <div class="toolbar">
        <h1>Dashboards</h1>
        {canEdit(user) && (
          <>
            <form
              class="inline"
              onSubmit={(e) => {
                e.preventDefault();
                if (title.trim()) create(emptyDashboard(title.trim()));
              }}
            >
              <input aria-label="New dashboard title" placeholder="New dashboard title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
              <button class="primary" type="submit">
                Create
              </button>
            </form>
            <button class="ghost" aria-expanded={importing} onClick={() => setImporting(!importing)}>
              Import JSON
            </button>
          </>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {importing && <Importer onImport={create} />}
      {list && (
        <table class="data">
          <thead>
            <tr>
              <th>Dashboard</th>
              <th>Version</th>
              <th>Changed</th>
              <th>By</th>
            </tr>
          </thead>
          <tbody>
            {list.map((d) => (
              <tr>
                <td>
                  <a href={href({ name: "dashboard", uid: d.uid })}>{d.title}</a> {d.read_only && <span class="badge">{d.source === "builtin" ? "built in" : "provisioned"}</span>}
                </td>
                <td>{d.version}</td>
                <td>{d.updated_at ? formatInstant(d.updated_at * 1000, "") : ""}</td>
                <td>{d.updated_by ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}

/** Paste or upload a dashboard: Sightline's own JSON, or a Grafana export. */
function Importer({ onImport }: { onImport: (d: Dashboard) => void }) {
  const [text, setText] = useState("");
  const [result, setResult] = useState<{ dashboard: Dashboard; skipped: string[]; grafana: boolean } | null>(null);
  const [error, setError] = useState("");

  function read(t: string) {
    setText(t);
    setResult(null);
    setError("");
    if (!t.trim()) return;
    try {
      const json = JSON.parse(t);
      const ours = Array.isArray(json.panels) && json.panels.every((p: { gridPos?: unknown; type?: string }) => ["graph", "stat", "table", "bar", "logs", "issues"].includes(p.type ?? "")) && Array.isArray(json.variables);
      if (ours) setResult({ dashboard: json as Dashboard, skipped: [], grafana: false });
      else setResult({ ...importGrafana(json), grafana: true });
    } catch (e) {
      setError(`not JSON: ${(e as Error).message}`);
    }
  }

  return (
    <section class="card importer">
      <h2>Import a dashboard</h2>
      <p class="muted">Paste a Sightline dashboard, or a Grafana dashboard's JSON (Share → Export, or the JSON model) whose panels query Graphite.</p>
      <input type="file" accept="application/json,.json" aria-label="Dashboard file" onChange={async (e) => read(await e.currentTarget.files![0].text())} />
      <textarea aria-label="Dashboard JSON" rows={10} value={text} onInput={(e) => read(e.currentTarget.value)} placeholder='{"title": "…", "panels": […]}' />
      {error && <p class="error">{error}</p>}
      {result && (
        <div>
          <p>
            <strong>{result.dashboard.title}</strong>: {result.dashboard.panels.length} panels, {result.dashboard.variables.length} variables{result.grafana ? " (from Grafana)" : ""}.
          </p>
          {result.skipped.length > 0 && (
            <div class="skipped">
              <p>Not imported:</p>
              <ul>
                {result.skipped.map((s) => (
                  <li>{s}</li>
                ))}
              </ul>
            </div>
          )}
          <button class="primary" onClick={() => onImport(result.dashboard)}>
            Import
          </button>
        </div>
      )}
    </section>
  );
}
