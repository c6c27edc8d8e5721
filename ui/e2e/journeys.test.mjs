// The UI's journeys in headless Chromium (Debian's, driven by playwright-core), against a real
// server that `crates/sightline/tests/it/ui.rs` started and filled over the real protocols:
// the demo's carbon metrics and JSON-lines events, an error from the Python Sentry SDK, and
// hostile names and values. Each journey saves screenshots to $SIGHTLINE_SCREENSHOTS.
//
// Run by `cargo test` (through ui.rs); by hand against a running server:
//   SIGHTLINE_URL=http://127.0.0.1:8080 SIGHTLINE_ADMIN_PASSWORD=… node --test e2e/

import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";

const BASE = process.env.SIGHTLINE_URL ?? "http://127.0.0.1:8080";
const ADMIN_PASSWORD = process.env.SIGHTLINE_ADMIN_PASSWORD ?? "";
const VIEWER = process.env.SIGHTLINE_VIEWER ?? "vera";
const VIEWER_PASSWORD = process.env.SIGHTLINE_VIEWER_PASSWORD ?? "";
const SHOTS = process.env.SIGHTLINE_SCREENSHOTS ?? new URL("./screenshots/", import.meta.url).pathname;
const HOSTILE = process.env.SIGHTLINE_HOSTILE ?? "";
const WAIT = 20_000;

mkdirSync(SHOTS, { recursive: true });
let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => browser?.close());

/** A fresh browser profile with a laptop-sized window; page errors fail the journey. */
async function open(t, opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: opts.dark ? "dark" : "light" });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("dialog", (d) => {
    problems.push(`a dialog opened: ${d.message()}`);
    d.dismiss();
  });
  t.after(async () => {
    await context.close();
    assert.deepEqual(problems, [], "the page raised no errors and opened no dialogs");
  });
  return page;
}

async function shot(page, name) {
  await page.waitForTimeout(300);
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

async function login(page, user = "admin", password = ADMIN_PASSWORD) {
  await page.goto(`${BASE}/login`);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/login"), { timeout: WAIT });
}

/** Polls `check` until it returns a truthy value. */
async function until(check, what, timeout = WAIT) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

/** The API's answer with the page's session, as the UI itself would get it. */
async function api(page, path) {
  const res = await page.request.get(`${BASE}${path}`);
  assert.equal(res.status(), 200, `${path}: ${await res.text()}`);
  return res.json();
}

/** Sends one event over the HTTP ingest API, as an application would. */
async function ingest(event) {
  const res = await fetch(`${BASE}/api/v1/ingest`, {
    method: "POST",
    headers: { authorization: `Bearer ${process.env.SIGHTLINE_INGEST}` },
    body: JSON.stringify(event),
  });
  assert.equal(res.status, 200, await res.text());
}

const panel = (page, title) => page.locator(`section.panel[aria-label="${title}"]`);

describe("journeys", () => {
  test("1. log in, and log out", async (t) => {
    const page = await open(t);
    await page.goto(`${BASE}/explore?q=level:error`);
    await page.waitForURL(/\/login\?next=/);
    await page.getByLabel("User name").fill("admin");
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").waitFor();
    assert.match(await page.getByRole("alert").innerText(), /invalid|password/i);
    await shot(page, "01-login-refused");
    await page.getByLabel("Password").fill(ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    // Back where the link pointed, with its query.
    await page.waitForURL(/\/explore\?q=level(:|%3A)error$/);
    assert.equal(await page.getByLabel("Query").inputValue(), "level:error");
    await shot(page, "01-logged-in");
    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(/\/login/);
    await page.goto(`${BASE}/issues`);
    await page.waitForURL(/\/login\?next=%2Fissues/);
    const whoami = await page.request.get(`${BASE}/api/v1/auth/whoami`);
    assert.equal(whoami.status(), 401, "the session is gone");
    await shot(page, "01-logged-out");
  });

  test("2. the Overview dashboard shows what the demo sent", async (t) => {
    const page = await open(t);
    await login(page);
    await page.goto(`${BASE}/`);
    await page.getByRole("heading", { name: "Overview", level: 1 }).waitFor();
    // Graphs of the demo's series, with their legends.
    const requests = panel(page, "Requests by server");
    await requests.locator("canvas").first().waitFor({ timeout: WAIT });
    for (const host of ["web-1", "web-2", "web-3"]) await requests.locator(".u-legend").getByText(host).waitFor();
    await panel(page, "Income by currency").locator(".u-legend").getByText("eur").waitFor();
    // Stats with numbers, the income table and the sign-ups by plan.
    const signups = panel(page, "Sign-ups today").getByTestId("stat-value");
    const text = await until(async () => {
      const v = await signups.innerText();
      return /^\d/.test(v) && v;
    }, "the sign-ups stat");
    const expected = await api(page, `/api/v1/events/aggregate?q=event:user.signed_up&from=${encodeURIComponent(startOfTodayIso())}`);
    assert.equal(Number(text.replace(/[^\d.]/g, "")) > 0, true, `sign-ups today: ${text} (API: ${expected.total})`);
    const income = panel(page, "Income this week, by currency");
    await income.getByRole("cell", { name: "EUR" }).waitFor();
    await income.getByRole("cell", { name: "USD" }).waitFor();
    await panel(page, "Sign-ups today, by plan").locator("canvas").first().waitFor();
    // What is broken: the SDK's issue, and the errors in the log.
    await panel(page, "What is broken: recent issues").getByText("payment provider refused the currency").waitFor();
    await panel(page, "Errors in the log").getByText("checkout.error").first().waitFor();
    await shot(page, "02-overview");
    // The dark theme, as on a wall screen.
    await page.getByRole("button", { name: "Switch theme" }).click();
    await page.setViewportSize({ width: 2560, height: 1440 });
    await requests.locator("canvas").first().waitFor();
    await shot(page, "02-overview-dark-wall");
    // A drag on a graph zooms every panel to that window, in the URL.
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.waitForLoadState("networkidle");
    const box = await requests.locator(".u-over").boundingBox();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.8, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForURL(/from=20\d\d-/);
    const zoomed = new URL(page.url());
    assert.ok(Date.parse(zoomed.searchParams.get("until")) > Date.parse(zoomed.searchParams.get("from")));
    // The range carries over to Issues and to Explore.
    await page.getByRole("link", { name: "Issues in this range" }).click();
    await page.waitForURL(/\/issues\?/);
    await page.getByText("Seen between").waitFor();
    assert.equal(new URL(page.url()).searchParams.get("from"), zoomed.searchParams.get("from"));
    await page.goBack();
    await page.getByRole("link", { name: "Events in this range" }).click();
    await page.waitForURL(/\/explore\?/);
    assert.equal(new URL(page.url()).searchParams.get("from"), zoomed.searchParams.get("from"));
  });

  test("3. build a dashboard with a graph picked by autocomplete, save it, reload", async (t) => {
    const page = await open(t);
    await login(page);
    await page.goto(`${BASE}/dashboards`);
    await page.getByLabel("New dashboard title").fill("Checkout health");
    await page.getByRole("button", { name: "Create" }).click();
    await page.waitForURL(/\/dashboards\/checkout-health$/);
    await page.getByRole("button", { name: "Edit", exact: true }).click();
    await page.getByLabel("Panel type").selectOption("graph");
    await page.getByRole("button", { name: "Add panel" }).click();
    await page.getByRole("button", { name: "Edit panel" }).click();
    await page.getByLabel("Panel title").fill("Requests on web-1");
    const target = page.getByLabel("Target A");
    await target.click();
    await target.pressSequentially("ap");
    await page.getByRole("option", { name: /^app\./ }).click();
    await page.getByRole("option", { name: /^web-1\./ }).click();
    await page.getByRole("option", { name: /^requests\./ }).click();
    await page.getByRole("option", { name: /^count/ }).click();
    assert.equal(await target.inputValue(), "app.web-1.requests.count");
    await page.locator(".drawer .preview canvas").first().waitFor({ timeout: WAIT });
    await shot(page, "03-panel-editor");
    await page.getByRole("button", { name: "Done" }).click();
    await page.getByLabel("What changed").fill("a graph of web-1");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByRole("button", { name: "Edit", exact: true }).waitFor();
    await page.reload();
    const graph = panel(page, "Requests on web-1");
    await graph.locator(".u-legend").getByText("app.web-1.requests.count").waitFor({ timeout: WAIT });
    // Saved as version 2, by admin, with the message.
    await page.getByRole("button", { name: "Versions" }).click();
    await page.getByRole("cell", { name: "a graph of web-1" }).waitFor();
    await shot(page, "03-saved-dashboard");
  });

  test("4. what did alice@example.com do in the past 24 h, by clicking a field value", async (t) => {
    const page = await open(t);
    await login(page);
    await page.goto(`${BASE}/explore?from=-24h&until=now`);
    await page.locator("ol.events li").first().waitFor({ timeout: WAIT });
    await page.getByRole("button", { name: "user.email", exact: true }).click();
    await page.getByRole("button", { name: "alice@example.com", exact: true }).click();
    await page.waitForURL(/q=user\.email%3Aalice%40example\.com/);
    assert.equal(await page.getByLabel("Query").inputValue(), "user.email:alice@example.com");
    const expected = await api(page, `/api/v1/events/search?q=${encodeURIComponent("user.email:alice@example.com")}&from=-24h&limit=1`);
    assert.ok(expected.total > 0, "alice did something");
    await until(async () => (await page.locator(".count").innerText()).startsWith(`${expected.total.toLocaleString("en-US")} event`), `the count ${expected.total}`);
    // Oldest first, and each event says what she did.
    await page.getByRole("button", { name: "Newest first" }).click();
    await page.waitForURL(/sort=asc/);
    const first = page.locator("ol.events li").first();
    await first.waitFor();
    await first.locator(".event-line").click();
    await first.locator("table.fields").getByText("alice@example.com").first().waitFor();
    const kinds = new Set(await page.locator("ol.events .event-line .message .text").allInnerTexts());
    assert.ok(kinds.size > 1, `several kinds of events: ${[...kinds].slice(0, 5)}`);
    // The context of her event: what came before and after on the same host.
    await first.getByRole("button", { name: "Show context" }).click();
    await first.locator(".context li.current").waitFor();
    await shot(page, "04-alice");
    // Live tail: what she does next arrives at the top; paused, nothing more is added.
    await page.getByRole("button", { name: "Live tail" }).click();
    await page.waitForURL(/live=1/);
    await page.waitForTimeout(500);
    await ingest({ event: "cart.viewed", level: "info", service: "web", user: { email: "alice@example.com" } });
    await page.locator("ol.events li").first().locator(".event-line .message .text", { hasText: "cart.viewed" }).waitFor({ timeout: WAIT });
    await page.getByRole("button", { name: "Pause" }).click();
    await ingest({ event: "cart.emptied", level: "info", service: "web", user: { email: "alice@example.com" } });
    await page.waitForTimeout(1500);
    assert.equal(await page.locator("ol.events .message .text", { hasText: "cart.emptied" }).count(), 0, "paused");
    await shot(page, "04-alice-live");
  });

  test("5. who signed up today, and income this week by currency, from the UI alone", async (t) => {
    const page = await open(t);
    await login(page);
    await page.goto(`${BASE}/explore`);
    await page.getByRole("button", { name: /Last 24 hours/ }).click();
    await page.getByRole("button", { name: "Today so far" }).click();
    await page.waitForURL(/from=today/);
    const query = page.getByLabel("Query");
    await query.fill("event:user.signed_up");
    await query.press("Enter");
    await page.waitForURL(/q=event%3Auser\.signed_up/);
    const today = await api(page, `/api/v1/events/search?q=event:user.signed_up&from=${encodeURIComponent(startOfTodayIso())}&limit=1`);
    assert.ok(today.total > 0);
    await until(async () => (await page.locator(".count").innerText()).startsWith(today.total.toLocaleString("en-US")), `${today.total} sign-ups`);
    // Their e-mails are in the events; the sidebar counts them by plan.
    await page.locator("ol.events li").first().getByText(/user\d+@example\.com/).waitFor();
    await shot(page, "05-signups-today");
    await query.fill("event:user.signed_up | stats count() by plan");
    await query.press("Enter");
    const byPlan = page.locator(".pipe-result table.data");
    for (const plan of ["free", "pro", "team"]) await byPlan.getByRole("cell", { name: plan, exact: true }).waitFor({ timeout: WAIT });
    await shot(page, "05-signups-by-plan");

    // Income this week, by currency.
    await page.getByRole("button", { name: "Today so far" }).click();
    await page.getByRole("button", { name: "Last 7 days" }).click();
    await query.fill("event:payment.succeeded | stats sum(amount), count() by currency");
    await query.press("Enter");
    const income = page.locator(".pipe-result table.data");
    await income.getByRole("cell", { name: "EUR" }).waitFor({ timeout: WAIT });
    const want = await api(page, `/api/v1/events/aggregate?q=${encodeURIComponent("event:payment.succeeded | stats sum(amount), count() by currency")}&from=-7d`);
    const rows = await income.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    for (const row of want.rows) {
      const shown = rows.find((r) => r[0] === row.currency);
      assert.ok(shown, `a row for ${row.currency}`);
      assert.equal(shown[1], row.count.toLocaleString("en-US"));
      assert.equal(shown[2], row["sum(amount)"].toLocaleString("en-US", { maximumFractionDigits: 2 }));
    }
    // The table downloads as CSV.
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download CSV" }).click()]);
    const csv = readFileSync(await download.path(), "utf8");
    assert.match(csv, /^currency,count,sum\(amount\)\n/);
    assert.match(csv, /\nEUR,\d+,[\d.]+\n/);
    await shot(page, "05-income-by-currency");
  });

  test("6. open an issue made by the Python SDK, read its stack trace, and resolve it", async (t) => {
    const page = await open(t);
    await login(page);
    await page.goto(`${BASE}/issues`);
    await page.getByRole("link", { name: /payment provider refused the currency/ }).click();
    await page.waitForURL(/\/issues\/\d+$/);
    // The chained exceptions, the in-app frame with its source line, breadcrumbs, tags, user.
    await page.locator("h1", { hasText: "ValueError: payment provider refused the currency" }).waitFor();
    await page.getByRole("heading", { name: "ValueError: payment provider refused the currency", level: 2 }).waitFor();
    await page.getByRole("heading", { name: "KeyError: 'USD'", level: 2 }).waitFor();
    await page.locator(".frame.in-app .fn", { hasText: "charge" }).waitFor();
    await page.locator(".src-line.current", { hasText: 'rate = {"EUR": 1.0}[currency]' }).waitFor();
    await page.getByRole("cell", { name: "cart has 3 items" }).waitFor();
    await page.locator(".tag-dist", { hasText: "plan" }).getByText("pro").waitFor();
    await page.getByRole("cell", { name: "shop@1.4.2" }).waitFor();
    await shot(page, "06-issue");
    // "This user's events" goes to Explore for her, around the time.
    const userLink = page.getByRole("link", { name: "This user's events" });
    assert.match(await userLink.getAttribute("href"), /q=user\.email%3Aalice%40example\.com/);
    const status = page.getByLabel("Status");
    assert.equal(await status.innerText(), "Unresolved");
    await page.getByRole("button", { name: "Resolve", exact: true }).click();
    await until(async () => (await status.innerText()) === "Resolved", "the status to read Resolved");
    await page.getByRole("button", { name: "Unresolve" }).waitFor();
    await page.reload();
    await until(async () => (await status.innerText()) === "Resolved", "Resolved after a reload");
    await page.locator(".activity", { hasText: "by admin" }).waitFor();
    const id = new URL(page.url()).pathname.split("/").pop();
    assert.equal((await api(page, `/api/v1/issues/${id}`)).status, "resolved");
    await shot(page, "06-issue-resolved");
  });

  test("7. import a Grafana dashboard with Graphite panels", async (t) => {
    const page = await open(t);
    await login(page);
    await page.goto(`${BASE}/dashboards`);
    await page.getByRole("button", { name: "Import JSON" }).click();
    const json = readFileSync(new URL("./fixtures/grafana-legacy.json", import.meta.url), "utf8");
    await page.getByLabel("Dashboard JSON").fill(json);
    const skipped = page.locator(".skipped");
    await skipped.getByText('panel "Runbook": type text is not supported').waitFor();
    await skipped.getByText("variable $interval").waitFor();
    await skipped.getByText("series overrides").waitFor();
    await shot(page, "07-import-preview");
    await page.getByRole("button", { name: "Import", exact: true }).click();
    await page.waitForURL(/\/dashboards\/web-servers/);
    // The variable's options come from /metrics/find; All expands to a glob.
    await page.getByLabel("Variable host").locator("option", { hasText: "web-2" }).waitFor({ state: "attached" });
    const graph = panel(page, "Requests on {web-1,web-2,web-3}");
    for (const host of ["web-1", "web-2", "web-3"]) await graph.locator(".u-legend").getByText(host, { exact: true }).waitFor({ timeout: WAIT });
    await panel(page, "Orders (6 h)").getByTestId("stat-value").waitFor();
    await shot(page, "07-imported");
    // One host picked: the title and the graph follow, and the URL holds it.
    await page.getByLabel("Variable host").selectOption(["web-2"]);
    await page.waitForURL(/var-host=web-2/);
    await panel(page, "Requests on web-2").locator(".u-legend").getByText("web-2", { exact: true }).waitFor();
  });

  test("8. a viewer can look but not change", async (t) => {
    const page = await open(t);
    await login(page, VIEWER, VIEWER_PASSWORD);
    await page.goto(`${BASE}/`);
    await page.getByRole("heading", { name: "Overview", level: 1 }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Save as a copy" }).count(), 0);
    await page.goto(`${BASE}/dashboards/checkout-health`);
    await page.getByRole("heading", { name: "Checkout health" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Edit", exact: true }).count(), 0);
    await page.goto(`${BASE}/dashboards`);
    await page.getByRole("link", { name: "Overview" }).waitFor();
    assert.equal(await page.getByLabel("New dashboard title").count(), 0);
    await page.goto(`${BASE}/issues`);
    await page.locator("table.issue-table").waitFor();
    assert.equal(await page.getByRole("button", { name: "Resolve" }).count(), 0);
    await page.goto(`${BASE}/explore?q=level:error`);
    await page.locator("ol.events li").first().waitFor();
    assert.equal(await page.getByRole("button", { name: "Save search", exact: true }).count(), 0);
    await shot(page, "08-viewer");
    // The API refuses the change even when asked directly, from this same page.
    const refused = await page.evaluate(async () => {
      const res = await fetch("/api/v1/dashboards/checkout-health", { method: "DELETE" });
      return [res.status, await res.text()];
    });
    assert.equal(refused[0], 403, refused[1]);
    assert.match(refused[1], /editor/);
  });

  test("9. hostile names and values show as text and never run", async (t) => {
    assert.ok(HOSTILE, "the test server sent the hostile payloads (SIGHTLINE_HOSTILE)");
    const page = await open(t);
    await page.addInitScript(() => {
      window.__ran = [];
      window.alert = (m) => window.__ran.push(`alert ${m}`);
    });
    await login(page);
    const check = async (name) => {
      const ran = await page.evaluate(() => [window.__ran, document.title, !!window.__pwned]);
      assert.deepEqual(ran[0], [], `${name}: nothing ran`);
      assert.equal(ran[1], "Sightline", `${name}: the title is untouched`);
      assert.equal(ran[2], false, `${name}: no script set a flag`);
      assert.equal(await page.locator("img[src=x], script:not([src])").count(), 0, `${name}: no injected element`);
      await shot(page, `09-${name}`);
    };
    // Events: the message, a field's name and value.
    await page.goto(`${BASE}/explore?q=hostile&from=-1h`);
    const row = page.locator("ol.events li").first();
    await row.getByText(HOSTILE).first().waitFor({ timeout: WAIT });
    await row.locator(".event-line").click();
    await row.locator("table.fields").getByText(HOSTILE).first().waitFor();
    await page.getByRole("button", { name: `${HOSTILE}.key`, exact: true }).waitFor();
    await check("explore");
    // Errors: the title in the list, the exception, breadcrumbs and tags on the issue page.
    await page.goto(`${BASE}/issues?query=hostile`);
    await page.getByRole("link", { name: new RegExp(escape(HOSTILE)) }).first().click();
    await page.waitForURL(/\/issues\/\d+$/);
    await page.locator("h1", { hasText: HOSTILE }).waitFor();
    await page.getByRole("cell", { name: HOSTILE }).first().waitFor();
    await check("issue");
    // Metrics: a series name in a graph legend and in the global search.
    await page.goto(`${BASE}/dashboards/_graph?target=hostile.*.*`);
    await page.locator(".u-legend").getByText("<img", { exact: false }).first().waitFor({ timeout: WAIT });
    await check("graph");
    await page.goto(`${BASE}/search?q=hostile`);
    await page.locator(".search-results").getByText("<script>", { exact: false }).first().waitFor();
    await check("search");
  });
});

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Midnight today in the browser's zone, which the test server and browser share. */
function startOfTodayIso() {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d.toISOString();
}
