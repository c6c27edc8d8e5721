// The one HTTP client of the UI: same-origin requests with the session cookie, JSON in and
// out, and every failure turned into an `ApiError` carrying the server's own message (and,
// for a query, the position where it went wrong).

export class ApiError extends Error {
  status: number;
  code: string;
  position?: number;

  constructor(status: number, code: string, message: string, position?: number) {
    super(message);
    this.status = status;
    this.code = code;
    this.position = position;
  }
}

/** Called when a request finds the session gone, so the app can show the login page. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

async function failure(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const body = JSON.parse(text);
    const e = body?.error;
    if (e && typeof e.message === "string") return new ApiError(res.status, e.code ?? "error", e.message, e.position);
    if (typeof body?.detail === "string") return new ApiError(res.status, "error", body.detail);
  } catch {
    // Graphite answers its errors as plain text, as graphite-web does.
  }
  return new ApiError(res.status, "error", text.trim() || `${res.status} ${res.statusText}`);
}

/** GETs started before the app rendered, each taken once by the first request for its path. */
const early = new Map<string, Promise<Response>>();

/** Starts a GET the first page is about to make, so it overlaps the app's own start. */
export function prefetch(path: string): void {
  if (!early.has(path)) {
    const started = fetch(path, { credentials: "same-origin" });
    started.catch(() => {}); // the request that takes it sees the failure
    early.set(path, started);
  }
}

export async function request(method: string, path: string, body?: unknown): Promise<Response> {
  const init: RequestInit = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  let res: Response;
  const started = method === "GET" ? early.get(path) : undefined;
  early.delete(path);
  try {
    res = await (started ?? fetch(path, init));
  } catch (e) {
    throw new ApiError(0, "network", `the server did not answer (${String(e)})`);
  }
  if (!res.ok) {
    const err = await failure(res);
    if (res.status === 401) early.clear(); // logged out: what was fetched early is refused too
    if (res.status === 401 && !path.startsWith("/api/v1/auth/login")) onUnauthorized();
    throw err;
  }
  return res;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await request("GET", path)).json() as Promise<T>;
}

export async function sendJson<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await request(method, path, body);
  if (res.status === 204) return undefined as T;
  return res.json() as Promise<T>;
}

/** `path?k=v&…`, leaving out undefined and empty values. */
export function withQuery(path: string, params: Record<string, string | number | undefined | string[]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.append(k, String(v));
  }
  const text = q.toString();
  return text ? `${path}?${text}` : path;
}

export interface Principal {
  user_id: number | null;
  name: string;
  role: "viewer" | "editor" | "admin";
  via: string;
}

export function canEdit(p: Principal | null): boolean {
  return p !== null && (p.role === "editor" || p.role === "admin");
}

// The native API's shapes, as far as the pages read them.

export interface EventHit {
  timestamp: string;
  timestamp_ns: number;
  message: string;
  level: string | null;
  service: string | null;
  host: string | null;
  fields: Record<string, unknown>;
  highlight?: { message: [number, number][]; fields: string[] };
}

export interface SearchResult {
  total: number;
  events: EventHit[];
  next_cursor: string | null;
}

export interface AggregateResult {
  total: number;
  interval_seconds: number | null;
  columns: string[];
  rows: Record<string, unknown>[];
  totals: Record<string, unknown>;
  other: number;
}
