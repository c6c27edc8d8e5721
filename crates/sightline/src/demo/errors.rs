//! The demo shop's errors, sent as a Sentry SDK sends them: one envelope per error to the
//! project's `/api/{id}/envelope/` with the DSN key in `X-Sentry-Auth`, over plain HTTP/1.1.
//!
//! Each error log line the events generator writes (`checkout.error`, `payment.failed`)
//! becomes an error event with the same user and time, a Python-style stack trace with
//! source context (the shop's own frames in-app, the HTTP library's not), breadcrumbs, tags,
//! release and environment; so one failure shows as a log line, an issue and a 5xx spike.

use std::io::{BufRead, BufReader, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

/// Where the errors go: a project's envelope URL and its public key.
#[derive(Debug, Clone)]
pub(super) struct SentryTarget {
    addr: String,
    host: String,
    path: String,
    key: String,
}

impl SentryTarget {
    /// From a DSN such as `http://KEY@127.0.0.1:8080/1` (plain HTTP: the demo runs beside the
    /// server).
    pub(super) fn from_dsn(dsn: &str) -> anyhow::Result<SentryTarget> {
        let bad = || anyhow::anyhow!("`{dsn}` is not a DSN like http://KEY@host:port/PROJECT");
        let rest = dsn.strip_prefix("http://").ok_or_else(bad)?;
        let (key, rest) = rest.split_once('@').ok_or_else(bad)?;
        let (host, path) = rest.split_once('/').ok_or_else(bad)?;
        let (prefix, project) = match path.trim_end_matches('/').rsplit_once('/') {
            Some((prefix, project)) => (format!("/{prefix}"), project),
            None => (String::new(), path.trim_end_matches('/')),
        };
        if key.is_empty() || project.parse::<u64>().is_err() {
            return Err(bad());
        }
        let addr = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:80")
        };
        Ok(SentryTarget {
            addr,
            host: host.to_owned(),
            path: format!("{prefix}/api/{project}/envelope/"),
            key: key.to_owned(),
        })
    }

    /// Sends one event; the server's refusal is an error naming its status and answer.
    pub(super) fn send(&self, event: &Value) -> anyhow::Result<()> {
        let body = envelope(event);
        let mut stream = TcpStream::connect(&self.addr)
            .with_context(|| format!("cannot reach the Sentry endpoint at {}", self.addr))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-sentry-envelope\r\nX-Sentry-Auth: Sentry sentry_version=7, sentry_key={key}, sentry_client=sightline-demo/1.0\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n",
            path = self.path,
            host = self.host,
            key = self.key,
            len = body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        let mut status = String::new();
        BufReader::new(&stream).read_line(&mut status)?;
        if status.split_whitespace().nth(1) == Some("200") {
            return Ok(());
        }
        anyhow::bail!("the Sentry endpoint answered {}", status.trim())
    }
}

fn envelope(event: &Value) -> String {
    let payload = event.to_string();
    format!(
        "{}\n{}\n{payload}\n",
        json!({"event_id": event["event_id"]}),
        json!({"type": "event", "length": payload.len()})
    )
}

/// The Sentry event for an error log line (`line` as the events generator wrote it, with its
/// epoch-ms `timestamp`).
pub(super) fn event_for(line: &Value, id: u64) -> Option<Value> {
    let ms = line["timestamp"].as_i64()?;
    let (exception, crumbs, transaction) = match line["event"].as_str()? {
        "checkout.error" => (timeout(), checkout_crumbs(ms), "/checkout"),
        "payment.failed" => (declined(line), payment_crumbs(ms, line), "billing.charge"),
        _ => return None,
    };
    Some(json!({
        "event_id": format!("{id:032x}"),
        "timestamp": ms as f64 / 1000.0,
        "platform": "python",
        "level": "error",
        "logger": line["service"],
        "server_name": line["host"],
        "release": "shop@2.3.1",
        "environment": "production",
        "transaction": transaction,
        "user": line["user"],
        "tags": {"service": line["service"], "host": line["host"]},
        "exception": {"values": exception},
        "breadcrumbs": {"values": crumbs},
        "sdk": {"name": "sightline.demo", "version": "1.0"},
    }))
}

fn frame(file: &str, function: &str, line: u32, source: [&str; 5], in_app: bool) -> Value {
    json!({
        "filename": file,
        "abs_path": format!("/srv/shop/{file}"),
        "module": file.trim_end_matches(".py").replace('/', "."),
        "function": function,
        "lineno": line,
        "pre_context": [source[0], source[1]],
        "context_line": source[2],
        "post_context": [source[3], source[4]],
        "in_app": in_app,
    })
}

/// The checkout's call to the stock service timing out, raised through the HTTP client.
fn timeout() -> Value {
    json!([{
        "type": "TimeoutError",
        "value": "upstream timed out",
        "module": "shop.clients",
        "mechanism": {"type": "generic", "handled": false},
        "stacktrace": {"frames": [
            frame("shop/views/checkout.py", "place_order", 57,
                  ["    cart = Cart.for_user(request.user)", "    with transaction.atomic():",
                   "        stock.reserve(cart.items)", "        order = Order.create(cart)",
                   "        payments.charge(order)"], true),
            frame("shop/clients/stock.py", "reserve", 23,
                  ["def reserve(items):", "    body = {\"items\": [i.sku for i in items]}",
                   "    return http.post(STOCK_URL + \"/reserve\", json=body, timeout=2.0)", "",
                   "def release(items):"], true),
            frame("httpx/_client.py", "post", 1144,
                  ["        \"\"\"", "        return self.request(",
                   "            \"POST\",", "            url,", "            content=content,"], false),
            frame("httpx/_transports/default.py", "handle_request", 232,
                  ["        with map_httpcore_exceptions():", "            resp = self._pool.handle_request(req)",
                   "        raise TimeoutError(\"upstream timed out\")", "", "    def close(self) -> None:"], false),
        ]},
    }])
}

/// A card declined by the issuer, raised from the payment provider's answer.
fn declined(line: &Value) -> Value {
    let amount = line["amount"].as_f64().unwrap_or(0.0);
    json!([{
        "type": "CardDeclined",
        "value": format!("card declined by issuer ({amount:.2} {})", line["currency"].as_str().unwrap_or("EUR")),
        "module": "shop.billing",
        "mechanism": {"type": "generic", "handled": true},
        "stacktrace": {"frames": [
            frame("shop/billing/worker.py", "handle", 88,
                  ["    def handle(self, job):", "        order = Order.get(job.order_id)",
                   "        result = charge(order)", "        order.mark_paid(result.id)",
                   "        self.ack(job)"], true),
            frame("shop/billing/charge.py", "charge", 41,
                  ["    answer = provider.charge(order.amount, order.currency, order.card)",
                   "    if answer.status == \"declined\":",
                   "        raise CardDeclined(answer.reason)", "    return answer", ""], true),
        ]},
    }])
}

fn crumb(ms: i64, back_ms: i64, category: &str, message: String, level: &str) -> Value {
    json!({"timestamp": (ms - back_ms) as f64 / 1000.0, "category": category, "message": message, "level": level})
}

fn checkout_crumbs(ms: i64) -> Value {
    json!([
        crumb(ms, 4200, "navigation", "/cart -> /checkout".into(), "info"),
        crumb(
            ms,
            2100,
            "query",
            "SELECT * FROM carts WHERE user_id = %s".into(),
            "info"
        ),
        crumb(
            ms,
            2000,
            "http",
            "POST http://stock.internal/reserve".into(),
            "warning"
        ),
    ])
}

fn payment_crumbs(ms: i64, line: &Value) -> Value {
    json!([
        crumb(
            ms,
            900,
            "queue",
            "job billing.charge received".into(),
            "info"
        ),
        crumb(
            ms,
            300,
            "http",
            format!(
                "POST https://payments.example/charges ({} {})",
                line["amount"],
                line["currency"].as_str().unwrap_or("")
            ),
            "info"
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsns_name_the_envelope_route() {
        let t = SentryTarget::from_dsn("http://abc@127.0.0.1:8080/3").unwrap();
        assert_eq!(
            (t.addr.as_str(), t.path.as_str(), t.key.as_str()),
            ("127.0.0.1:8080", "/api/3/envelope/", "abc")
        );
        let prefixed = SentryTarget::from_dsn("http://k@localhost/visibility/7").unwrap();
        assert_eq!(
            (prefixed.addr.as_str(), prefixed.path.as_str()),
            ("localhost:80", "/visibility/api/7/envelope/")
        );
        for bad in ["https://k@h/1", "http://h/1", "http://k@h/x", "nonsense"] {
            assert!(SentryTarget::from_dsn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_lines_become_events_with_the_same_user_and_time() {
        let line = json!({"event": "payment.failed", "timestamp": 1_700_000_000_123_i64, "service": "billing",
                          "host": "worker-1", "user": {"id": 7, "email": "user7@example.com"},
                          "currency": "EUR", "amount": 12.5});
        let event = event_for(&line, 9).unwrap();
        assert_eq!(event["event_id"], "00000000000000000000000000000009");
        assert_eq!(event["user"]["email"], "user7@example.com");
        assert_eq!(event["timestamp"], 1_700_000_000.123);
        let ex = &event["exception"]["values"][0];
        assert_eq!(ex["type"], "CardDeclined");
        assert_eq!(ex["value"], "card declined by issuer (12.50 EUR)");
        assert!(event_for(&json!({"event": "user.signed_up", "timestamp": 1}), 1).is_none());
        let text = envelope(&event);
        let lines: Vec<&str> = text.lines().collect();
        let header: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(header["length"].as_u64().unwrap() as usize, lines[2].len());
    }
}
