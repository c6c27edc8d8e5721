// @sentry/node pointed at a Sightline DSN. Reads {"dsn", "scenario"} on stdin.
// "handled": an exception from a function, and a message, then flush.
// "unhandled": an exception nobody catches; the SDK reports it and the process exits with 1.
// "backoff": tracing on, a message, a span and a message (for X-Sentry-Rate-Limits).
const Sentry = require("@sentry/node");

let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", async () => {
  const cfg = JSON.parse(input);
  Sentry.init({
    dsn: cfg.dsn,
    release: "webapp@2.0.0",
    environment: "staging",
    tracesSampleRate: cfg.scenario === "backoff" ? 1.0 : 0,
  });
  if (cfg.scenario === "backoff") {
    // A message first: its answer may say "no spans"; then a traced operation and a message.
    Sentry.captureMessage("first");
    await Sentry.flush(5000);
    Sentry.startSpan({ name: "checkout" }, () => {});
    Sentry.captureMessage("second");
    await Sentry.flush(5000);
    console.log(JSON.stringify({ ok: true }));
    return;
  }
  Sentry.setUser({ id: "u-99", email: "bob@example.com" });
  if (cfg.scenario === "unhandled") {
    setTimeout(() => {
      const order = undefined;
      console.log(order.lines.length);
    }, 10);
    return;
  }
  function parseOrder(text) {
    return JSON.parse(text).lines.length;
  }
  try {
    parseOrder("{}");
  } catch (e) {
    Sentry.captureException(e);
  }
  Sentry.captureMessage("Cache miss storm on key users:42");
  await Sentry.flush(5000);
  console.log(JSON.stringify({ ok: true }));
});
