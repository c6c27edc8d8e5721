//! The demo shop's events: what its services log, as structlog's JSON renderer writes it.
//!
//! Each metric batch's counts become events in the same interval, so the numbers agree: as many
//! `user.signed_up` events as `shop.signups.count` says, a `payment.succeeded` per order with
//! its amount and currency (the revenue series are these amounts summed), `payment.failed` and
//! `checkout.error` events when the web servers answer 5xx. One known customer,
//! alice@example.com, logs in, browses and pays every so often, so "what did this user do?" has
//! an answer. Lines go to the JSON-lines listener; they need no token.

use std::fmt::Write as _;

use serde_json::json;

use super::Rng;

/// What one metric batch counted, for its events.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Counts {
    pub(super) signups: u32,
    pub(super) orders: u32,
    pub(super) errors_5xx: u32,
    /// The revenue of the batch's orders in euros and dollars.
    pub(super) revenue_eur: f64,
    pub(super) revenue_usd: f64,
}

const PLANS: [&str; 3] = ["free", "pro", "team"];
/// How many errors a 5xx burst logs at most (the rest are only counted).
const MAX_ERRORS_LOGGED: u32 = 5;

/// The demo's event generator; the same seed gives the same events.
#[derive(Debug)]
pub(super) struct Events {
    rng: Rng,
    next_user: u64,
    /// The error lines written since the last `take_errors`, for the Sentry copies.
    errors: Vec<serde_json::Value>,
}

impl Events {
    pub(super) fn new(seed: u64) -> Events {
        Events {
            rng: Rng(seed ^ 0x5EED_E7E7),
            next_user: 1,
            errors: Vec::new(),
        }
    }

    /// The NDJSON lines of the interval that ends at `t` (a point at `t` counts the interval
    /// before it, as a statsd flush does), so no event is stamped after the batch's time.
    pub(super) fn batch(&mut self, t: i64, step: i64, counts: Counts) -> String {
        let mut out = String::new();
        let mut line = |ms: i64, mut value: serde_json::Value| {
            value["timestamp"] = json!(ms);
            let _ = writeln!(out, "{value}");
        };
        let base_ms = t * 1000;
        let span_ms = (step * 1000).max(1) as f64;
        for _ in 0..counts.signups {
            let id = self.next_user;
            self.next_user += 1;
            let plan = PLANS[(self.rng.next() * 3.0) as usize % 3];
            let at = base_ms - (self.rng.next() * span_ms) as i64;
            line(
                at,
                json!({"event": "user.signed_up", "level": "info", "service": "auth", "host": "web-1",
                       "user": {"id": id, "email": format!("user{id}@example.com")}, "plan": plan}),
            );
        }
        // Orders share the batch's revenue: a euro order's amount is its share of the euros.
        let eur_orders = (f64::from(counts.orders) * 0.6).round() as u32;
        let usd_orders = counts.orders - eur_orders.min(counts.orders);
        for (n, currency, revenue) in [
            (eur_orders, "EUR", counts.revenue_eur),
            (usd_orders, "USD", counts.revenue_usd),
        ] {
            for _ in 0..n {
                let amount = (revenue / f64::from(n) * 100.0).round() / 100.0;
                let user = self.customer();
                let at = base_ms - (self.rng.next() * span_ms) as i64;
                line(
                    at,
                    json!({"event": "payment.succeeded", "level": "info", "service": "billing", "host": "worker-1",
                           "user": user, "amount": amount, "currency": currency,
                           "order_id": (self.rng.next() * 1e9) as u64}),
                );
            }
        }
        for i in 0..counts.errors_5xx.min(MAX_ERRORS_LOGGED) {
            let at = base_ms - (self.rng.next() * span_ms) as i64;
            let user = self.customer();
            let event = if i % 2 == 0 {
                json!({"event": "checkout.error", "level": "error", "service": "web", "host": "web-2",
                       "user": user, "error": {"type": "TimeoutError", "message": "upstream timed out"}})
            } else {
                json!({"event": "payment.failed", "level": "error", "service": "billing", "host": "worker-1",
                       "user": user, "reason": "card_declined", "currency": "EUR",
                       "amount": (self.rng.next() * 9000.0 + 500.0).round() / 100.0})
            };
            let mut copy = event.clone();
            copy["timestamp"] = json!(at);
            self.errors.push(copy);
            line(at, event);
        }
        // Alice comes back about every ten minutes: she logs in and looks around.
        if self.rng.next() < step as f64 / 600.0 {
            let at = base_ms - (self.rng.next() * span_ms) as i64;
            let alice = json!({"id": 0, "email": "alice@example.com"});
            line(
                at - 1500,
                json!({"event": "user.logged_in", "level": "info", "service": "auth", "host": "web-1", "user": alice}),
            );
            line(
                at,
                json!({"event": "page.viewed", "level": "info", "service": "web", "host": "web-1",
                       "user": alice, "http": {"path": "/products/42", "status": 200}}),
            );
        }
        out
    }

    /// The error lines of the batches since the last call, with their epoch-ms `timestamp`.
    pub(super) fn take_errors(&mut self) -> Vec<serde_json::Value> {
        std::mem::take(&mut self.errors)
    }

    /// A paying customer: alice now and then, else someone who signed up before.
    fn customer(&mut self) -> serde_json::Value {
        if self.rng.next() < 0.05 || self.next_user == 1 {
            return json!({"id": 0, "email": "alice@example.com"});
        }
        let id = 1 + (self.rng.next() * (self.next_user - 1) as f64) as u64;
        json!({"id": id, "email": format!("user{id}@example.com")})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_agree_with_the_metrics() {
        let counts = Counts {
            signups: 3,
            orders: 5,
            errors_5xx: 40,
            revenue_eur: 150.0,
            revenue_usd: 90.0,
        };
        let text = Events::new(1).batch(1_700_000_000, 10, counts);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let count = |event: &str| lines.iter().filter(|l| l["event"] == event).count();
        assert_eq!(count("user.signed_up"), 3);
        assert_eq!(count("payment.succeeded"), 5);
        assert_eq!(
            count("checkout.error") + count("payment.failed"),
            5,
            "bursts are capped"
        );
        let eur: f64 = lines
            .iter()
            .filter(|l| l["event"] == "payment.succeeded" && l["currency"] == "EUR")
            .map(|l| l["amount"].as_f64().unwrap())
            .sum();
        assert!((eur - 150.0).abs() < 0.05, "{eur}");
        for l in &lines {
            let ms = l["timestamp"].as_i64().unwrap();
            assert!((1_699_999_988_000..=1_700_000_000_000).contains(&ms), "{l}");
        }
        assert_eq!(Events::new(1).batch(1_700_000_000, 10, counts), text);
    }
}
