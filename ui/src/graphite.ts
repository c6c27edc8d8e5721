// Autocomplete for Graphite targets: metric paths from `/metrics/find`, function names from
// `/functions`, and tags and values from `/tags/autoComplete` inside `seriesByTag(…)`.

import { getJson } from "./api";

export interface Completion {
  label: string;
  insert: string;
  hint: string;
  start: number;
  end: number;
}

/** What is being typed at the cursor: a path, a function name, or a tag expression. */
export function targetToken(text: string, cursor: number): { kind: "path" | "function" | "tag" | "tagValue"; word: string; start: number; tag?: string } | null {
  const before = text.slice(0, cursor);
  const tagExpr = /seriesByTag\([^)]*['"]([^'"]*)$/.exec(before);
  if (tagExpr) {
    const expr = tagExpr[1];
    const start = cursor - expr.length;
    const m = /^([\w.-]+)(=~|!=~|!=|=)(.*)$/.exec(expr);
    if (m) return { kind: "tagValue", word: m[3], start: start + m[1].length + m[2].length, tag: m[1] };
    return { kind: "tag", word: expr, start };
  }
  const m = /[\w.*{},\-[\]?]*$/.exec(before);
  if (!m) return null;
  const word = m[0];
  const start = cursor - word.length;
  if (word === "") return null;
  if (!word.includes(".") && /^[a-zA-Z]\w*$/.test(word)) return { kind: "function", word, start };
  return { kind: "path", word, start };
}

let functionNames: Promise<string[]> | null = null;
function functions(): Promise<string[]> {
  functionNames ??= getJson<Record<string, unknown>>("/functions").then((f) => Object.keys(f).sort(), () => []);
  return functionNames;
}

interface FindNode {
  id: string;
  text: string;
  leaf: number | boolean;
  expandable: number | boolean;
}

export async function completeTarget(text: string, cursor: number): Promise<Completion[]> {
  const t = targetToken(text, cursor);
  if (!t) return [];
  const end = cursor;
  if (t.kind === "tag") {
    const tags = await getJson<string[]>(`/tags/autoComplete/tags?tagPrefix=${encodeURIComponent(t.word)}&limit=20`).catch(() => []);
    return tags.map((tag) => ({ label: tag, insert: `${tag}=`, hint: "tag", start: t.start, end }));
  }
  if (t.kind === "tagValue") {
    const vals = await getJson<string[]>(`/tags/autoComplete/values?tag=${encodeURIComponent(t.tag!)}&valuePrefix=${encodeURIComponent(t.word)}&limit=20`).catch(() => []);
    return vals.map((v) => ({ label: v, insert: v, hint: t.tag!, start: t.start, end }));
  }
  const out: Completion[] = [];
  if (t.kind === "function") {
    const names = await functions();
    for (const n of names.filter((n) => n.toLowerCase().startsWith(t.word.toLowerCase())).slice(0, 12)) out.push({ label: n, insert: `${n}(`, hint: "function", start: t.start, end });
  }
  const dot = t.word.lastIndexOf(".");
  const parent = dot >= 0 ? t.word.slice(0, dot + 1) : "";
  const found = await getJson<FindNode[]>(`/metrics/find?query=${encodeURIComponent(t.word + "*")}`).catch(() => [] as FindNode[]);
  for (const node of found.slice(0, 30)) {
    const branch = !!node.expandable;
    out.push({ label: node.text + (branch ? "." : ""), insert: parent + node.text + (branch ? "." : ""), hint: branch ? "branch" : "series", start: t.start, end });
  }
  return out;
}
