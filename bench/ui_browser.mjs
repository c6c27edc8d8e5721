// The browser half of bench/ui.py: cold loads of three pages in new Chromium profiles, timed
// with the Performance API. Prints JSON.
// playwright-core lives in ui/node_modules, which ESM resolution from bench/ does not search.
const { chromium } = await import(new URL("../ui/node_modules/playwright-core/index.mjs", import.meta.url).href);

const BASE = process.env.SIGHTLINE_URL;
const RUNS = 5;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

async function session() {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const res = await context.request.post(`${BASE}/api/v1/auth/login`, { data: { username: "admin", password: process.env.SIGHTLINE_ADMIN_PASSWORD } });
  if (!res.ok()) throw new Error(`login: ${res.status()}`);
  return context;
}

/** Every panel has drawn: no panel still loading, and each graph has its canvas. */
const panelsDrawn = () => {
  const panels = [...document.querySelectorAll("section.panel")];
  if (panels.length === 0) return false;
  return panels.every((p) => !p.textContent.includes("Loading…") && (p.dataset.panelType !== "graph" || p.querySelector("canvas") || p.querySelector(".panel-empty,.panel-error")));
};
const exploreDrawn = () => !!document.querySelector("ol.events li") && !!document.querySelector(".results .chart canvas");

async function measure(path, ready, asked) {
  const interactive = [];
  const drawn = [];
  const answered = [];
  for (let i = 0; i < RUNS; i++) {
    const context = await session();
    const page = await context.newPage();
    await page.goto(`${BASE}${path}`);
    await page.waitForFunction(ready, null, { timeout: 60_000, polling: "raf" });
    const t = await page.evaluate((asked) => {
      const nav = performance.getEntriesByType("navigation")[0];
      // When the page first asked for what `asked` names (its data, not the app's own start).
      const starts = performance.getEntriesByType("resource").filter((r) => asked && r.name.includes(asked)).map((r) => r.startTime);
      const now = performance.now();
      return { interactive: nav.domContentLoadedEventEnd, drawn: now, answered: starts.length ? now - Math.min(...starts) : null };
    }, asked ?? null);
    interactive.push(t.interactive);
    drawn.push(t.drawn);
    if (t.answered !== null) answered.push(t.answered);
    await context.close();
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const since = answered.length ? { asked_to_drawn_ms: median(answered), asked_to_drawn_max_ms: Math.max(...answered) } : {};
  return { interactive_ms: median(interactive), interactive_max_ms: Math.max(...interactive), ready_ms: median(drawn), ready_max_ms: Math.max(...drawn), ...since };
}

const DAY = "from=2026-01-01T00%3A00%3A00Z&until=2026-01-02T00%3A00%3A00Z";
const pages = {
  overview: { label: "Overview dashboard (demo data)", ...(await measure("/", panelsDrawn)) },
  twelve: { label: "12 graphs × 100 series × 24 h", ...(await measure("/dashboards/twelve", panelsDrawn)) },
  explore: { label: "Explore, a day of events", ...(await measure(`/explore?${DAY}`, exploreDrawn, "/api/v1/events/")) },
};

// Explore's own requests, as its page makes them (first page, histogram), timed in the page.
const context = await session();
const page = await context.newPage();
await page.goto(`${BASE}/login`);
const api = await page.evaluate(async (day) => {
  const time = async (url) => {
    const xs = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const res = await fetch(url);
      await res.json();
      xs.push(performance.now() - t0);
    }
    return xs.sort((a, b) => a - b)[2];
  };
  return {
    search_ms: await time(`/api/v1/events/search?q=&${day}&limit=100`),
    histogram_ms: await time(`/api/v1/events/aggregate?q=&${day}&interval=30m`),
  };
}, DAY);

// What the first page loads, as served with gzip.
let gz = 0;
let raw = 0;
const html = await (await context.request.get(`${BASE}/`, { headers: { accept: "text/html" } })).text();
for (const [, path] of html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)) {
  const compressed = await fetch(`${BASE}${path}`, { headers: { "accept-encoding": "gzip" } });
  gz += Number(compressed.headers.get("content-length"));
  raw += (await (await context.request.get(`${BASE}${path}`, { headers: { "accept-encoding": "identity" } })).body()).length;
}
await browser.close();
console.log(JSON.stringify({ pages, explore_api: api, bytes_gz: gz, bytes_raw: raw }));
