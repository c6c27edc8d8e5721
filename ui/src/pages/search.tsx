// The one search box: dashboards, saved searches, issues and metrics whose names match.

import { useEffect, useState } from "preact/hooks";
import { getJson, withQuery } from "../api";
import { Issue } from "../issues";
import { href } from "../url";

interface Found {
  dashboards: { uid: string; title: string }[];
  searches: { id: number; name: string; query: string; from: string; until: string }[];
  issues: Issue[];
  metrics: string[];
}

export function SearchPage({ params }: { params: URLSearchParams }) {
  const q = (params.get("q") ?? "").trim();
  const [found, setFound] = useState<Found | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    setFound(null);
    if (!q) return;
    const lower = q.toLowerCase();
    Promise.all([
      getJson<{ dashboards: { uid: string; title: string }[] }>("/api/v1/dashboards"),
      getJson<{ searches: Found["searches"] }>("/api/v1/saved-searches"),
      getJson<{ issues: Issue[] }>(withQuery("/api/v1/issues", { query: q, limit: 20 })),
      getJson<string[]>(withQuery("/metrics/expand", { query: metricGlob(q), leavesOnly: 1 })).catch(() => ({ results: [] }) as unknown as string[]),
    ]).then(([d, s, i, m]) => {
      const metrics = Array.isArray(m) ? m : ((m as unknown as { results: string[] }).results ?? []);
      setFound({
        dashboards: d.dashboards.filter((x) => x.title.toLowerCase().includes(lower) || x.uid.includes(lower)),
        searches: s.searches.filter((x) => x.name.toLowerCase().includes(lower) || x.query.toLowerCase().includes(lower)),
        issues: i.issues,
        metrics: metrics.slice(0, 50),
      });
    }, (e) => setError(e.message));
  }, [q]);
  return (
    <main class="page search-page">
      <h1>Results for “{q}”</h1>
      {error && <p class="error">{error}</p>}
      {!found && q && !error && <p class="muted">Searching…</p>}
      {found && (
        <div class="search-results">
          <Group title="Dashboards" empty={found.dashboards.length === 0}>
            {found.dashboards.map((d) => (
              <li>
                <a href={href({ name: "dashboard", uid: d.uid })}>{d.title}</a>
              </li>
            ))}
          </Group>
          <Group title="Saved searches" empty={found.searches.length === 0}>
            {found.searches.map((s) => (
              <li>
                <a href={href({ name: "explore" }, { q: s.query, from: s.from, until: s.until })}>{s.name}</a> <code class="muted small">{s.query}</code>
              </li>
            ))}
          </Group>
          <Group title="Issues" empty={found.issues.length === 0}>
            {found.issues.map((i) => (
              <li>
                <a href={href({ name: "issue", id: String(i.id) })}>{i.title}</a> <span class="muted small">{i.status}</span>
              </li>
            ))}
          </Group>
          <Group title="Metrics" empty={found.metrics.length === 0}>
            {found.metrics.map((m) => (
              <li>
                <a href={href({ name: "dashboard", uid: "_graph" }, { target: m })} class="mono" title="Graph it">
                  {m}
                </a>
              </li>
            ))}
          </Group>
          <p>
            <a href={href({ name: "explore" }, { q })}>Search events for “{q}”</a>
          </p>
        </div>
      )}
    </main>
  );
}

/** Globs for series with `q` in one of their first three nodes, up to five nodes deep. */
export function metricGlob(q: string): string[] {
  const word = q.replace(/[^\w.-]/g, "");
  if (word === "") return [];
  if (word.includes(".")) return [`${word}*`, `${word}*.*`, `${word}*.*.*`];
  const out: string[] = [];
  for (let at = 0; at < 3; at++) {
    for (let depth = at + 1; depth <= 5; depth++) {
      const nodes = Array.from({ length: depth }, (_, i) => (i === at ? `*${word}*` : "*"));
      out.push(nodes.join("."));
    }
  }
  return out;
}

function Group(props: { title: string; empty: boolean; children: preact.ComponentChildren }) {
  return (
    <section class="card">
      <h2>{props.title}</h2>
      {props.empty ? <p class="muted">None.</p> : <ul>{props.children}</ul>}
    </section>
  );
}
