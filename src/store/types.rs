//! The values the [`Backend`](super::Backend) takes and returns, whatever the backend: rows as
//! the layers above see them, and what a command asks for.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use super::{DeliveryStatus, Job, StoreError, Target};
use crate::domain::allowlist::AllowedTarget;
use crate::domain::event_type::Subscription;
use crate::domain::time::Millis;
use crate::domain::{CustomerId, EventType, Secret, WebhookSettings};

/// A customer (tenant), with how many webhooks it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: CustomerId,
    pub name: String,
    pub webhooks: i64,
    pub created_at: Millis,
}

/// An event to record.
pub struct NewEvent<'a> {
    pub customer: CustomerId,
    pub event_type: EventType,
    pub event_id: Option<i64>,
    pub payload: &'a [u8],
}

/// What recording one event produced.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub event_row: i64,
    /// (delivery id, webhook id) for every matching enabled webhook.
    pub deliveries: Vec<(i64, i64)>,
    /// The enabled webhooks of the event's customer whose subscriptions could not be read
    /// (edited by hand, damaged): whether the event was theirs is unknown, so none was
    /// recorded for them — never one on a guess — and the others' were.
    pub passed_over: Vec<PassedOver>,
}

/// A webhook an event was not recorded for because its stored subscription does not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedOver {
    pub webhook: i64,
    /// The stored row and value that do not read (`webhooks row 3: event_types is not …`).
    pub why: String,
}

impl PassedOver {
    /// What `emit` and `serve` say of it (once per webhook, not once per event).
    pub fn line(&self) -> String {
        format!(
            "webhook {} was passed over: its stored row cannot be read ({}); events are recorded \
             without a delivery to it until the row is repaired or the webhook deleted (the \
             other webhooks get theirs)",
            self.webhook,
            crate::domain::text::error_line(&self.why)
        )
    }
}

/// How a claim picks deliveries.
pub enum Claim<'a> {
    /// Due ones, oldest due first, except those of the `exclude`d webhooks (drain).
    Due { limit: usize, exclude: &'a [i64] },
    /// The oldest due one of one webhook (a probe of a suspect receiver).
    DueFor { webhook: i64 },
    /// These ids if still due and free (the first attempts of `emit`).
    DueIds(&'a [i64]),
    /// These ids now, whatever their schedule, if `failed` or `retrying` and their webhook
    /// exists and is enabled (manual retry: anything else is refused untouched).
    RetryIds(&'a [i64]),
}

/// What a claim leased: the jobs ready to send, and the deliveries whose stored rows could not
/// be read (edited by hand, damaged, or written by a newer webnet). Those are never sent on a
/// guess: they stay leased for [`UNREADABLE_HOLD`], so the rest of the queue goes on without
/// them, and are claimed (and reported) again when that runs out.
#[derive(Debug, Default)]
pub struct Claimed {
    pub jobs: Vec<Job>,
    pub unreadable: Vec<Unreadable>,
}

/// How long a claimed delivery whose row could not be read is held (its lease, whatever its
/// webhook's timeout): the drains pass over it meanwhile, and say so again only when it runs
/// out. Repaired sooner, it waits for this.
pub const UNREADABLE_HOLD: std::time::Duration = std::time::Duration::from_secs(300);

impl Claimed {
    /// Loaded jobs split into those to send and those that could not be read. A delivery of
    /// `claimed` that did not load at all (its event row deleted by hand) is one that could not
    /// be read too.
    pub(crate) fn from_loaded(claimed: &[i64], loaded: Vec<Result<Job, Unreadable>>) -> Claimed {
        let mut out = Claimed::default();
        let mut seen = std::collections::HashSet::new();
        for job in loaded {
            match job {
                Ok(job) => {
                    seen.insert(job.delivery_id);
                    out.jobs.push(job);
                }
                Err(u) => {
                    seen.insert(u.delivery_id);
                    out.unreadable.push(u);
                }
            }
        }
        for &id in claimed.iter().filter(|id| !seen.contains(id)) {
            out.unreadable.push(Unreadable {
                delivery_id: id,
                error: StoreError::corrupt("deliveries", id, "its event is missing"),
            });
        }
        out
    }
}

/// A claimed delivery that could not be read, and why (a [`StoreError::Corrupt`] naming the
/// row and value, the delivery's or its webhook's).
#[derive(Debug)]
pub struct Unreadable {
    pub delivery_id: i64,
    pub error: StoreError,
}

/// A stored webhook. The secret itself is never loaded here; see [`Backend::webhook_secret`](super::Backend::webhook_secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub customer: CustomerId,
    pub settings: WebhookSettings,
    pub has_secret: bool,
    /// Why the webhook was disabled automatically (410 Gone, failing too long), if it was.
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed; `None` while it delivers.
    pub failing_since: Option<Millis>,
    /// During a secret rotation: until when the previous secret still signs.
    pub previous_secret_until: Option<Millis>,
    /// Whether a PagerDuty routing key is stored (sealed; never loaded here).
    pub has_routing_key: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Which webhook a row is, read without decoding the rest of it: enough to confirm and report
/// a deletion, so a row damaged beyond reading can still be deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookLabel {
    pub id: i64,
    pub customer: CustomerId,
    pub name: String,
}

/// A webhook's sealed values as stored, for a [`Target`] (opened only when a request is built).
pub struct Sealed {
    pub secret: Option<Vec<u8>>,
    pub previous_secret: Option<Vec<u8>>,
    pub routing_key: Option<Vec<u8>>,
}

impl Webhook {
    /// What sending to this webhook needs: its settings and its sealed values.
    pub fn into_target(self, sealed: Sealed) -> Target {
        Target {
            id: self.id,
            url: self.settings.url.as_str().to_string(),
            enabled: self.settings.enabled,
            verify_ssl: self.settings.verify_ssl,
            timeout_seconds: self.settings.timeout_seconds,
            max_retries: self.settings.max_retries,
            retry_backoff: self.settings.retry_backoff,
            headers: self.settings.headers,
            sealed_secret: sealed.secret,
            previous_secret: sealed.previous_secret,
            previous_until: self.previous_secret_until,
            payload_format: self.settings.payload_format,
            sealed_routing_key: sealed.routing_key,
        }
    }
}

/// What happens to the secret on update.
pub enum SecretChange {
    Keep,
    /// A new secret, sealed with the database's key as it is stored.
    Set(Secret),
    Clear,
}

/// Which webhooks `webhooks list` shows.
#[derive(Debug, Default, Clone)]
pub struct WebhookFilter {
    pub enabled: Option<bool>,
    /// Webhooks that receive this event type, or (a wildcard) any event it covers.
    pub event_type: Option<Subscription>,
}

impl WebhookFilter {
    /// The event filter as the values a subscription row is compared with: one of the webhook's
    /// subscriptions is `*`, or equals one of the first two, or (for a family) starts with the
    /// third as a `LIKE` pattern. `None` for all three: no filter (every webhook subscribes to
    /// something `*` covers).
    pub(crate) fn event_params(&self) -> [Option<String>; 3] {
        match self.event_type {
            None | Some(Subscription::All) => [None, None, None],
            Some(Subscription::Exact(t)) => [
                Some(t.as_str().to_string()),
                Some(format!("{}.*", t.family())),
                None,
            ],
            Some(Subscription::Family(f)) => [None, None, Some(format!("{f}.%"))],
        }
    }
}

/// A delivery as `deliveries list/show` present it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub customer: CustomerId,
    /// The webhook's id, kept after it is deleted (`None` only for deliveries of webhooks
    /// deleted before schema version 5).
    pub webhook: Option<i64>,
    pub webhook_name: String,
    /// The webhook was deleted (its history is kept).
    pub webhook_deleted: bool,
    pub event_type: EventType,
    pub event_id: Option<i64>,
    pub payload: Vec<u8>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub http_status: Option<u16>,
    pub response_body: Option<String>,
    pub error_message: Option<String>,
    pub duration_ms: Option<i64>,
    pub next_attempt_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Delivery {
    /// This delivery as claimed for its next attempt: leased until `lease_until` (ms), sent to
    /// `target` (`None`: its webhook is deleted).
    pub fn into_job(self, lease_until: Option<Millis>, target: Option<Arc<Target>>) -> Job {
        Job {
            delivery_id: self.id,
            event_type: self.event_type,
            webhook_name: self.webhook_name,
            customer: self.customer.0,
            event_id: self.event_id,
            payload: self.payload,
            attempt: self.attempts + 1,
            status: self.status,
            lease_until: lease_until.unwrap_or(0),
            target,
        }
    }
}

/// One logged attempt, for `deliveries show`.
#[derive(Debug, Clone)]
pub struct AttemptLog {
    pub attempt: u32,
    pub started_at: Millis,
    pub request_headers: Value,
    pub http_status: Option<u16>,
    pub response_body: Option<String>,
    pub duration_ms: i64,
    pub error_message: Option<String>,
    /// The body sent when it was not the payload (a chat or alerting format); `None`: the payload.
    pub request_body: Option<Vec<u8>>,
}

/// Which deliveries `deliveries list` and `retry --failed` take.
#[derive(Debug, Default, Clone)]
pub struct DeliveryFilter {
    pub webhook: Option<i64>,
    pub status: Option<DeliveryStatus>,
    /// One event type, or a family's (`job.*`); `*` is no filter.
    pub event_type: Option<Subscription>,
    pub since: Option<Millis>,
    pub limit: Option<u32>,
    /// Skip this many of the newest first (a page of the API's list).
    pub offset: u32,
}

impl DeliveryFilter {
    /// The event-type filter as an exact type and a `LIKE` pattern for a family (either `None`).
    pub(crate) fn event_params(&self) -> [Option<String>; 2] {
        match self.event_type {
            None | Some(Subscription::All) => [None, None],
            Some(Subscription::Exact(t)) => [Some(t.as_str().to_string()), None],
            Some(Subscription::Family(f)) => [None, Some(format!("{f}.%"))],
        }
    }
}

/// What is due now: how many deliveries, and since when the oldest has been waiting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    pub due: u64,
    pub oldest_due_at: Option<Millis>,
}

/// One attempt, for `stats`.
#[derive(Debug, Clone)]
pub struct AttemptStat {
    pub webhook: Option<i64>,
    pub webhook_name: String,
    pub started_at: Millis,
    pub ok: bool,
    pub duration_ms: i64,
}

/// Deliveries of one webhook by status, for `stats`.
#[derive(Debug, Clone, Default)]
pub struct DeliveryCounts {
    /// `None` only for deliveries of webhooks deleted before schema version 5: those are
    /// grouped by `webhook_name`.
    pub webhook: Option<i64>,
    /// The webhook's current name (the last one recorded once it is deleted).
    pub webhook_name: String,
    pub webhook_deleted: bool,
    pub total: i64,
    pub success: i64,
    pub failed: i64,
    pub open: i64,
}

/// One entry of the allow list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedTargetRow {
    pub target: AllowedTarget,
    pub note: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// The new key of `key rotate`.
pub enum NewKey {
    /// A new random key file replacing the old one.
    File,
    /// A passphrase: from then on `WEBNET_SECRET_KEY` must carry it; the key file is removed.
    Passphrase(String),
}

/// What `key rotate` did.
#[derive(Debug, Clone, Default)]
pub struct Rotated {
    /// Webhooks with at least one value re-sealed.
    pub webhooks: usize,
    pub secrets: usize,
    pub previous_secrets: usize,
    pub headers: usize,
    /// PagerDuty routing keys.
    pub routing_keys: usize,
    /// The key file now in use; `None` when the new key is a passphrase.
    pub key_file: Option<PathBuf>,
    /// The key file removed because the new key is a passphrase.
    pub key_file_removed: Option<PathBuf>,
}

/// What `key reset` cleared.
#[derive(Debug, Clone, Default)]
pub struct Reset {
    /// Webhooks that lost their secret (or a rotation's previous secret).
    pub secrets: Vec<i64>,
    /// Webhooks that lost credential headers, with those headers' names.
    pub headers: Vec<(i64, Vec<String>)>,
    /// Webhooks that lost their PagerDuty routing key.
    pub routing_keys: Vec<i64>,
    /// Where the old key file was moved, if there was one.
    pub old_key_file: Option<PathBuf>,
}

/// What `db check` and `db migrate` say of a database.
#[derive(Debug, Clone)]
pub struct DbInfo {
    /// `sqlite` or `postgresql`.
    pub backend: &'static str,
    /// The SQLite library's or the PostgreSQL server's version.
    pub version: String,
    /// The schema version the database is at (this build's, once opened).
    pub schema: i64,
    /// Whether anything was ever sealed with a key (the database keeps a check of it).
    pub sealed: bool,
}

/// An API token of `webnet serve` (DESIGN §12), as stored: the token itself never is, only
/// the SHA-256 of it (looked up by [`Backend::token_by_hash`](super::Backend::token_by_hash))
/// and its last four characters, so a list can tell tokens apart as Stripe's does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// The one customer the token may see; `None`: an admin token (every customer).
    pub customer: Option<CustomerId>,
    /// The token may read but not change anything.
    pub read_only: bool,
    /// The token's last four characters.
    pub hint: String,
    pub created_at: Millis,
    /// When a request last carried it (kept to the minute: see `token_by_hash`).
    pub last_used_at: Option<Millis>,
    /// Revoked tokens are kept for the record and never authenticate again.
    pub revoked_at: Option<Millis>,
}

/// How stale a token's `last_used_at` may grow before a request records it again: a busy API
/// writes once a minute per token, not on every request.
pub const TOKEN_USE_RECORDED_EVERY: Millis = 60_000;

/// A token to store: what [`ApiToken`] holds, with the hash that finds it again.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub name: &'a str,
    pub customer: Option<CustomerId>,
    pub read_only: bool,
    /// SHA-256 of the whole token string.
    pub hash: &'a [u8; 32],
    pub hint: &'a str,
}

/// The upper bounds, in milliseconds, of the attempt-duration histogram's buckets (the last,
/// `+Inf`, is implied): Prometheus's usual latency buckets, up to the 30 s a slow receiver may
/// be given. Fixed, so a scrape's buckets never change.
pub const DURATION_BUCKETS_MS: [i64; 12] = [
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000,
];

/// What `/metrics` and `webnet metrics` show, read from the database at one moment
/// ([`Backend::metrics`](super::Backend::metrics)): counts of the history it still holds, not
/// running totals (pruning lowers them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// Deliveries by customer, webhook and status.
    pub deliveries: Vec<MetricsDeliveries>,
    /// Attempts by customer, webhook and result.
    pub attempts: Vec<MetricsAttempts>,
    /// What is due now (leased deliveries included) and since when the oldest waits.
    pub backlog: Backlog,
    /// Webhooks per customer: how many are enabled, disabled and failing.
    pub webhooks: Vec<MetricsWebhooks>,
    /// Each enabled webhook whose attempts have failed since some time, with that time.
    pub failing: Vec<MetricsFailing>,
    /// Every attempt's duration, bucketed.
    pub durations: DurationHistogram,
}

/// Which webhook a metrics row counts: by id (kept after it is deleted) and its name (the
/// current one; for a deleted webhook, the one its latest delivery recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsWebhook {
    pub customer: CustomerId,
    /// `None` only for deliveries of webhooks deleted before schema version 5.
    pub webhook: Option<i64>,
    pub name: String,
}

/// Deliveries of one webhook with one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsDeliveries {
    pub webhook: MetricsWebhook,
    pub status: DeliveryStatus,
    pub count: u64,
}

/// Attempts of one webhook that succeeded (a 2xx answer) or failed (anything else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsAttempts {
    pub webhook: MetricsWebhook,
    pub success: bool,
    pub count: u64,
}

/// One customer's webhooks. `failing` counts enabled ones whose latest attempts all failed
/// (`failing_since` is set); a disabled webhook is counted as disabled only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsWebhooks {
    pub customer: CustomerId,
    pub enabled: u64,
    pub disabled: u64,
    pub failing: u64,
}

/// An enabled webhook failing since `since` (ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsFailing {
    pub webhook: MetricsWebhook,
    pub since: Millis,
}

/// Attempt durations: `cumulative[i]` attempts took at most [`DURATION_BUCKETS_MS`]`[i]`;
/// `count` is all of them (the `+Inf` bucket), `sum_ms` their total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DurationHistogram {
    pub cumulative: [u64; DURATION_BUCKETS_MS.len()],
    pub count: u64,
    pub sum_ms: i64,
}

impl DurationHistogram {
    /// Adds another histogram's counts (one webhook's, read as one row).
    pub fn add(&mut self, other: &DurationHistogram) {
        for (mine, theirs) in self.cumulative.iter_mut().zip(other.cumulative) {
            *mine += theirs;
        }
        self.count += other.count;
        self.sum_ms += other.sum_ms;
    }
}
