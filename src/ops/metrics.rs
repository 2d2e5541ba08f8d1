//! Prometheus metrics: what `/metrics` serves, `webnet metrics` prints and `drain
//! --metrics-file` writes, the same text for all three (exposition format 0.0.4).
//!
//! Every figure is read from the database, not counted by this process, so a scrape of any
//! host (or a cron run's file) describes the whole database in the caller's scope. That is why
//! the counts are **gauges**, not counters: they count the history the database still holds,
//! and pruning (`deliveries prune`, `drain --retain`) lowers them. Typed as counters, a prune
//! would read as a reset, and `rate()` would report the whole remaining history as sent in one
//! interval. Use `delta()` or `deriv()` on them, over windows without a prune for exact figures.
//! The attempt-duration histogram has the same nature, but the format has no gauge histogram:
//! it is typed `histogram` (as `histogram_quantile` expects); over all kept history
//! (`histogram_quantile(0.99, webnet_attempt_duration_seconds_bucket)`) it is exact, and a
//! `rate()` of it is wrong across a prune.

use std::collections::BTreeMap;

use super::error::during;
use super::{Action, Result};
use crate::domain::metrics_text::{Exposition, Kind};
use crate::domain::time::Millis;
use crate::domain::Scope;
use crate::store::{DeliveryStatus, MetricsSnapshot, MetricsWebhook, Store, DURATION_BUCKETS_MS};

/// The metrics of `scope` at `now`, as Prometheus text.
pub fn render(store: &Store, scope: Scope, now: Millis) -> Result<String> {
    let snapshot = during(Action::Metrics, || Ok(store.metrics(scope, now)?))?;
    Ok(text(&snapshot, now))
}

/// A snapshot as Prometheus text; `now` gives ages. Pure.
pub fn text(s: &MetricsSnapshot, now: Millis) -> String {
    let mut e = Exposition::new();

    // Every status of every webhook with deliveries, zeros included, so a series does not
    // vanish when its last delivery changes status.
    let mut by_status: BTreeMap<Key, [u64; 4]> = BTreeMap::new();
    for d in &s.deliveries {
        let i = DeliveryStatus::ALL
            .iter()
            .position(|x| *x == d.status)
            .unwrap_or(0);
        by_status.entry(Key::of(&d.webhook)).or_default()[i] += d.count;
    }
    e.family(
        "webnet_deliveries",
        Kind::Gauge,
        "Deliveries the database holds, by webhook and status (pruning lowers it: a gauge).",
    );
    for (k, counts) in &by_status {
        for (status, n) in DeliveryStatus::ALL.iter().zip(counts) {
            let labels = k.labels_with(("status", status.as_str()));
            e.sample("webnet_deliveries", &labels, *n as f64);
        }
    }

    let mut by_result: BTreeMap<Key, [u64; 2]> = BTreeMap::new();
    for a in &s.attempts {
        by_result.entry(Key::of(&a.webhook)).or_default()[usize::from(!a.success)] += a.count;
    }
    e.family(
        "webnet_attempts",
        Kind::Gauge,
        "Delivery attempts the database holds, by webhook and result: success is a 2xx answer \
         (pruning lowers it: a gauge).",
    );
    for (k, counts) in &by_result {
        for (result, n) in ["success", "failure"].iter().zip(counts) {
            let labels = k.labels_with(("result", result));
            e.sample("webnet_attempts", &labels, *n as f64);
        }
    }

    let h = &s.durations;
    e.family(
        "webnet_attempt_duration_seconds",
        Kind::Histogram,
        "How long delivery attempts took, over the attempts the database holds.",
    );
    let bounds: Vec<f64> = DURATION_BUCKETS_MS
        .iter()
        .map(|ms| *ms as f64 / 1000.0)
        .collect();
    e.histogram(
        "webnet_attempt_duration_seconds",
        &[],
        &bounds,
        &h.cumulative,
        h.count,
        h.sum_ms as f64 / 1000.0,
    );

    e.family(
        "webnet_deliveries_due",
        Kind::Gauge,
        "Deliveries due for an attempt now (those being sent included).",
    );
    e.sample("webnet_deliveries_due", &[], s.backlog.due as f64);
    e.family(
        "webnet_oldest_due_age_seconds",
        Kind::Gauge,
        "How long the oldest due delivery has been waiting; 0 when none is due.",
    );
    let age = match s.backlog.oldest_due_at {
        Some(at) if s.backlog.due > 0 => (now - at).max(0),
        _ => 0,
    };
    e.sample("webnet_oldest_due_age_seconds", &[], age as f64 / 1000.0);

    e.family(
        "webnet_webhooks",
        Kind::Gauge,
        "Webhooks by customer and state (enabled or disabled).",
    );
    for w in &s.webhooks {
        let customer = w.customer.0.to_string();
        for (state, n) in [("enabled", w.enabled), ("disabled", w.disabled)] {
            let labels = [("customer", customer.as_str()), ("state", state)];
            e.sample("webnet_webhooks", &labels, n as f64);
        }
    }
    e.family(
        "webnet_webhooks_failing",
        Kind::Gauge,
        "Enabled webhooks whose attempts have all failed since their last success.",
    );
    for w in &s.webhooks {
        let customer = w.customer.0.to_string();
        e.sample(
            "webnet_webhooks_failing",
            &[("customer", &customer)],
            w.failing as f64,
        );
    }
    e.family(
        "webnet_webhook_failing_seconds",
        Kind::Gauge,
        "For each failing enabled webhook: how long its attempts have been failing.",
    );
    for f in &s.failing {
        let k = Key::of(&f.webhook);
        let labels = k.labels();
        let seconds = (now - f.since).max(0) as f64 / 1000.0;
        e.sample("webnet_webhook_failing_seconds", &labels, seconds);
    }
    e.finish()
}

/// A webhook's labels, ordered by customer, then id (a lost id last), then name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    customer: i64,
    lost_id: bool,
    webhook: i64,
    customer_label: String,
    webhook_label: String,
    name: String,
}

impl Key {
    fn of(w: &MetricsWebhook) -> Key {
        Key {
            customer: w.customer.0,
            lost_id: w.webhook.is_none(),
            webhook: w.webhook.unwrap_or(0),
            customer_label: w.customer.0.to_string(),
            webhook_label: w.webhook.map(|id| id.to_string()).unwrap_or_default(),
            name: w.name.clone(),
        }
    }

    fn labels(&self) -> [(&str, &str); 3] {
        [
            ("customer", &self.customer_label),
            ("webhook", &self.webhook_label),
            ("webhook_name", &self.name),
        ]
    }

    fn labels_with<'a>(&'a self, extra: (&'a str, &'a str)) -> [(&'a str, &'a str); 4] {
        let [a, b, c] = self.labels();
        [a, b, c, extra]
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
