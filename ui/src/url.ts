// Every page's state lives in its URL: the route is the path, and the time range, query,
// filters and options are query parameters. These functions turn one into the other, so a
// link reproduces the view.

export type Page =
  | { name: "login" }
  | { name: "dashboards" }
  | { name: "dashboard"; uid: string }
  | { name: "explore" }
  | { name: "issues" }
  | { name: "issue"; id: string }
  | { name: "search" }
  | { name: "not-found"; path: string };

export interface Route {
  page: Page;
  params: URLSearchParams;
}

/** The page a path names. */
export function parsePath(path: string): Page {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { name: "dashboard", uid: "overview" };
  const [head, id, ...rest] = parts;
  if (rest.length > 0) return { name: "not-found", path };
  switch (head) {
    case "login":
      return id === undefined ? { name: "login" } : { name: "not-found", path };
    case "dashboards":
      return id === undefined ? { name: "dashboards" } : { name: "dashboard", uid: id };
    case "explore":
      return id === undefined ? { name: "explore" } : { name: "not-found", path };
    case "issues":
      return id === undefined ? { name: "issues" } : { name: "issue", id };
    case "search":
      return { name: "search" };
    default:
      return { name: "not-found", path };
  }
}

/** The path of a page. */
export function pagePath(page: Page): string {
  switch (page.name) {
    case "login":
      return "/login";
    case "dashboards":
      return "/dashboards";
    case "dashboard":
      return `/dashboards/${encodeURIComponent(page.uid)}`;
    case "explore":
      return "/explore";
    case "issues":
      return "/issues";
    case "issue":
      return `/issues/${encodeURIComponent(page.id)}`;
    case "search":
      return "/search";
    case "not-found":
      return page.path;
  }
}

export function parseRoute(path: string, search: string): Route {
  return { page: parsePath(path), params: new URLSearchParams(search) };
}

/** A link to `page` with `params`, leaving out empty values, in a stable order. */
export function href(page: Page, params: Record<string, string | string[] | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const key of Object.keys(params).sort()) {
    const value = params[key];
    const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
    for (const v of values) if (v !== "") query.append(key, v);
  }
  const text = query.toString();
  return pagePath(page) + (text ? `?${text}` : "");
}

/** `params` with `changes` applied (undefined or "" removes a key), as an object for `href`. */
export function withParams(
  params: URLSearchParams,
  changes: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const all = params.getAll(key);
    out[key] = all.length === 1 ? all[0] : all;
  }
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) delete out[key];
    else out[key] = value;
  }
  return out;
}

/** Where to go after logging in: a path on this site only, never another origin. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  return next;
}
