// The query bar's helpers: filters added from clicked values, the token under the cursor for
// autocomplete, and the split between a search and its pipe (`| stats …`, `| timechart …`).

/** `value` as the query language writes it: bare when it is a plain word, quoted otherwise. */
export function quoteValue(value: string): string {
  if (/^[A-Za-z0-9_.@-]+$/.test(value) && !/^(AND|OR|NOT|TO)$/.test(value)) return value;
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The filter for one field value, or its exclusion. */
export function filterTerm(field: string, value: string | null, exclude = false): string {
  const test = value === null ? `NOT ${field}:*` : `${field}:${quoteValue(value)}`;
  if (value === null) return exclude ? `${field}:*` : test;
  return exclude ? `-${test}` : test;
}

/** The search part and the pipe part of a query (the pipe keeps its leading `|`). */
export function splitPipe(query: string): { search: string; pipe: string } {
  let inQuote = false;
  for (let i = 0; i < query.length; i++) {
    const c = query[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === '"') inQuote = !inQuote;
    else if (c === "|" && !inQuote) {
      if (query[i + 1] === "|") {
        i++;
        continue;
      }
      return { search: query.slice(0, i).trim(), pipe: query.slice(i).trim() };
    }
  }
  return { search: query.trim(), pipe: "" };
}

/** The query with `term` added (ANDed); a term already present is not added twice, and the
 * opposite filter on the same value is replaced. */
export function addFilter(query: string, term: string): string {
  const { search, pipe } = splitPipe(query);
  const opposite = term.startsWith("-") ? term.slice(1) : `-${term}`;
  const words = tokens(search);
  const kept = words.filter((w) => w.text !== opposite);
  if (kept.some((w) => w.text === term)) return query;
  const base = kept.map((w) => w.text).join(" ");
  const joined = base === "" || base === "*" ? term : `${base} ${term}`;
  return pipe ? `${joined} ${pipe}` : joined;
}

export interface Token {
  text: string;
  start: number;
  end: number;
}

/** The query split on whitespace outside quotes and brackets. */
export function tokens(query: string): Token[] {
  const out: Token[] = [];
  let start = -1;
  let inQuote = false;
  let depth = 0;
  for (let i = 0; i <= query.length; i++) {
    const c = query[i];
    const atEnd = i === query.length;
    if (!atEnd && c === "\\" && inQuote) {
      i++;
      continue;
    }
    if (!atEnd && c === '"') inQuote = !inQuote;
    if (!atEnd && !inQuote && (c === "[" || c === "{" || c === "(")) depth++;
    if (!atEnd && !inQuote && (c === "]" || c === "}" || c === ")")) depth = Math.max(0, depth - 1);
    const space = atEnd || (!inQuote && depth === 0 && /\s/.test(c));
    if (space) {
      if (start >= 0) out.push({ text: query.slice(start, i), start, end: i });
      start = -1;
    } else if (start < 0) start = i;
  }
  return out;
}

export interface Completing {
  /** A field name being typed (no `:` yet), or the field whose value is being typed. */
  kind: "field" | "value";
  field: string;
  /** What has been typed of the name or value. */
  prefix: string;
  start: number;
  end: number;
}

/** What the word ending at `cursor` is: part of a field name, or a value after `field:`. */
export function completing(query: string, cursor: number): Completing | null {
  const before = query.slice(0, cursor);
  if (splitPipe(before).pipe !== "") return null;
  const m = /(^|[\s(])([-+!]?)([A-Za-z_@][\w.@-]*)(?::("?)([^\s"]*))?$/.exec(before);
  if (!m) return null;
  const sign = m[2].length;
  const nameStart = m.index + m[1].length + sign;
  if (m[4] === undefined && m[5] === undefined && !before.endsWith(":")) {
    if (/^(AND|OR|NOT|TO)$/.test(m[3])) return null;
    return { kind: "field", field: m[3], prefix: m[3], start: nameStart, end: cursor };
  }
  const valueStart = nameStart + m[3].length + 1;
  return { kind: "value", field: m[3], prefix: m[5] ?? "", start: valueStart, end: cursor };
}

/** The query with `[start, end)` replaced by `text`, and where the cursor goes after it. */
export function replaceRange(query: string, start: number, end: number, text: string): { query: string; cursor: number } {
  return { query: query.slice(0, start) + text + query.slice(end), cursor: start + text.length };
}

const RECENT_KEY = "sightline.recentQueries";
const RECENT_MAX = 10;

/** The list with `query` moved to the front, at most ten, no duplicates or empty ones. */
export function pushRecent(recent: string[], query: string): string[] {
  const q = query.trim();
  if (q === "") return recent;
  return [q, ...recent.filter((r) => r !== q)].slice(0, RECENT_MAX);
}

export function loadRecent(storage: Pick<Storage, "getItem"> | undefined): string[] {
  try {
    const parsed = JSON.parse(storage?.getItem(RECENT_KEY) ?? "[]");
    return Array.isArray(parsed) ? parsed.filter((x) => typeof x === "string") : [];
  } catch {
    return [];
  }
}

export function saveRecent(storage: Pick<Storage, "setItem"> | undefined, recent: string[]): void {
  storage?.setItem(RECENT_KEY, JSON.stringify(recent));
}

/** Every `(field, value)` path of an event's fields, flattened with dots as queries name them. */
export function flatten(fields: unknown, prefix = "", out: [string, unknown][] = []): [string, unknown][] {
  if (fields !== null && typeof fields === "object" && !Array.isArray(fields)) {
    for (const [k, v] of Object.entries(fields as Record<string, unknown>)) {
      flatten(v, prefix ? `${prefix}.${k}` : k, out);
    }
  } else if (prefix) {
    out.push([prefix, fields]);
  }
  return out;
}
