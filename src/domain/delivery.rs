//! The delivery state machine and what one attempt produces: a delivery's status and which
//! status may follow which, the claimed work (`Job`, with its `Target`), and the outcome of an
//! attempt (`Outcome`, its `AttemptRecord` and what it says about the receiver, `Health`).
//! Pure data and rules; every backend stores and loads these, the engine produces them.

use std::collections::BTreeMap;

use super::format::PayloadFormat;
use super::time::Millis;
use super::EventType;

/// `pending → retrying → success | failed`; a manual retry takes `failed` or `retrying` back
/// for one more attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    Pending,
    Retrying,
    Success,
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 4] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Retrying,
        DeliveryStatus::Success,
        DeliveryStatus::Failed,
    ];

    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Success => "success",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// The status named `s`, if it is one. Stored data that is not one is corrupt: decoders
    /// report it, never pick a status in its place.
    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        DeliveryStatus::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// Waiting for an attempt (first or scheduled): claims take it when due.
    pub fn is_open(self) -> bool {
        matches!(self, DeliveryStatus::Pending | DeliveryStatus::Retrying)
    }

    /// Nothing more happens unless someone retries it by hand (`failed`), or ever (`success`).
    pub fn is_final(self) -> bool {
        !self.is_open()
    }

    /// Whether a delivery in this status may be retried by hand (`deliveries retry`).
    pub fn is_retryable(self) -> bool {
        matches!(self, DeliveryStatus::Failed | DeliveryStatus::Retrying)
    }

    /// Whether recording an outcome may move a delivery from `self` to `next`. An attempt on an
    /// open delivery ends it `success` or `failed`, or schedules another (`retrying`); a manual
    /// retry of a `failed` one is one extra attempt, so it ends `success` or stays `failed`. A
    /// `success` never changes, and nothing goes back to `pending`.
    pub fn may_become(self, next: DeliveryStatus) -> bool {
        use DeliveryStatus::*;
        matches!(
            (self, next),
            (Pending | Retrying, Retrying | Success | Failed) | (Failed, Success | Failed)
        )
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A webhook's settings as a claimed delivery needs them.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: i64,
    pub url: String,
    pub enabled: bool,
    pub verify_ssl: bool,
    pub timeout_seconds: u32,
    pub max_retries: u32,
    pub retry_backoff: u32,
    pub headers: BTreeMap<String, String>,
    pub sealed_secret: Option<Vec<u8>>,
    /// During a secret rotation: the old secret, signed with until `previous_until` (ms).
    pub previous_secret: Option<Vec<u8>>,
    pub previous_until: Option<Millis>,
    pub payload_format: PayloadFormat,
    /// PagerDuty's routing key, sealed; opened only to render a `pagerduty` body.
    pub sealed_routing_key: Option<Vec<u8>>,
}

#[cfg(test)]
impl Target {
    /// A target for tests: webhook `id` at `https://a.example.com/`, enabled, the default
    /// timeout, retries and backoff, nothing sealed, `json`.
    pub fn example(id: i64) -> Target {
        Target {
            id,
            url: "https://a.example.com/".into(),
            enabled: true,
            verify_ssl: true,
            timeout_seconds: 10,
            max_retries: 3,
            retry_backoff: 60,
            headers: BTreeMap::new(),
            sealed_secret: None,
            previous_secret: None,
            previous_until: None,
            payload_format: PayloadFormat::default(),
            sealed_routing_key: None,
        }
    }
}

/// A delivery claimed for one attempt.
#[derive(Debug, Clone)]
pub struct Job {
    pub delivery_id: i64,
    pub event_type: EventType,
    /// The webhook's name when the delivery was recorded (kept after a deletion).
    pub webhook_name: String,
    pub customer: i64,
    /// The `event_id` the platform gave the event, if any.
    pub event_id: Option<i64>,
    pub payload: Vec<u8>,
    /// The number this attempt will have (1 for the first).
    pub attempt: u32,
    pub status: DeliveryStatus,
    /// The lease ends then: past it another process may send this delivery.
    pub lease_until: Millis,
    /// `None` when the webhook was deleted.
    pub target: Option<std::sync::Arc<Target>>,
}

impl Job {
    /// A retry beyond what its webhook allows now (`max_retries` lowered after the delivery's
    /// earlier attempts): `drain` ends it instead of making it. Never a test delivery.
    pub fn retries_spent(&self) -> bool {
        self.status == DeliveryStatus::Retrying
            && !self.event_type.is_test()
            && self
                .target
                .as_ref()
                .is_some_and(|t| self.attempt > t.max_retries.saturating_add(1))
    }
}

#[cfg(test)]
impl Job {
    /// A first attempt of delivery `delivery` (`job.completed`, payload `{}`, customer 1) to
    /// `target`, leased until `lease_until`.
    pub fn example(delivery: i64, target: Target, lease_until: Millis) -> Job {
        Job {
            delivery_id: delivery,
            event_type: EventType::JobCompleted,
            webhook_name: "w".into(),
            customer: 1,
            event_id: None,
            payload: b"{}".to_vec(),
            attempt: 1,
            status: DeliveryStatus::Pending,
            lease_until,
            target: Some(std::sync::Arc::new(target)),
        }
    }
}

/// One attempt, for the append-only log.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub started_at: Millis,
    pub request_headers: BTreeMap<String, String>,
    pub http_status: Option<u16>,
    pub response_body: Option<String>,
    pub duration_ms: i64,
    pub error_message: Option<String>,
    /// The body sent, when it was not the stored payload itself (a chat or alerting format).
    pub request_body: Option<Vec<u8>>,
}

/// The result of handling a claimed delivery.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub delivery_id: i64,
    /// `None` when no request was made (webhook disabled or deleted).
    pub attempt: Option<AttemptRecord>,
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<Millis>,
    pub error_message: Option<String>,
    /// What the attempt says about the webhook's receiver, with the webhook's id.
    pub health: Option<(i64, Health)>,
}

/// What an attempt says about a receiver (endpoint health).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// It answered 2xx: any run of failures is over.
    Up,
    /// It failed: a run of failures starts (or goes on).
    Failing,
    /// It answered `410 Gone`: the webhook is disabled at once.
    Gone,
}

/// A webhook that a batch of outcomes disabled, and why (as `disabled_reason` records it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disabled {
    pub webhook: i64,
    pub name: String,
    pub reason: String,
}

/// Whether outcome `o` ends `failed` rather than waiting for a retry that will not come while
/// its webhook is disabled (`disabled`: the webhooks known to be): as a `410 Gone` ends its
/// delivery at once, with the attempt's answer kept. The store decides by the webhook row;
/// this is the same rule for what a run reports.
pub fn waits_on_a_disabled_webhook(o: &Outcome, disabled: &[i64]) -> bool {
    waits_for_a_retry(o) && o.health.is_some_and(|(w, _)| disabled.contains(&w))
}

/// Whether outcome `o` would wait for a retry (its webhook's state decides, in the store).
pub fn waits_for_a_retry(o: &Outcome) -> bool {
    o.status == DeliveryStatus::Retrying && o.health.is_some()
}

/// `disabled_reason` for a webhook failing since `since` (ms) for longer than its
/// `auto_disable_after` (seconds), in words: `failing since 2026-01-02T03:04:05Z (no successful
/// delivery for longer than 3days)`.
pub fn failing_too_long(since: Millis, auto_disable_after: u64) -> String {
    format!(
        "failing since {} (no successful delivery for longer than {})",
        super::time::rfc3339(since),
        humantime::format_duration(std::time::Duration::from_secs(auto_disable_after))
    )
}

#[cfg(test)]
mod tests {
    use super::DeliveryStatus::{self, *};
    use super::*;

    #[test]
    fn statuses_round_trip_and_unknown_text_is_none() {
        for s in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(DeliveryStatus::parse("bogus"), None);
        assert_eq!(DeliveryStatus::parse("Pending"), None);
        assert_eq!(DeliveryStatus::parse(""), None);
    }

    #[test]
    fn which_status_may_follow_which() {
        // (from, to, allowed)
        let table = [
            (Pending, Pending, false),
            (Pending, Retrying, true),
            (Pending, Success, true),
            (Pending, Failed, true),
            (Retrying, Pending, false),
            (Retrying, Retrying, true),
            (Retrying, Success, true),
            (Retrying, Failed, true),
            (Failed, Pending, false),
            (Failed, Retrying, false),
            (Failed, Success, true),
            (Failed, Failed, true),
            (Success, Pending, false),
            (Success, Retrying, false),
            (Success, Success, false),
            (Success, Failed, false),
        ];
        for (from, to, allowed) in table {
            assert_eq!(from.may_become(to), allowed, "{from} → {to}");
        }
        assert!(Pending.is_open() && Retrying.is_open());
        assert!(Success.is_final() && Failed.is_final());
        assert!(Failed.is_retryable() && Retrying.is_retryable());
        assert!(!Success.is_retryable() && !Pending.is_retryable());
    }

    #[test]
    fn the_auto_disable_reason_says_the_duration_in_human_form() {
        assert_eq!(
            failing_too_long(1_764_637_200_000, 2),
            "failing since 2025-12-02T01:00:00Z (no successful delivery for longer than 2s)"
        );
        assert_eq!(
            failing_too_long(0, 3 * 86400),
            "failing since 1970-01-01T00:00:00Z (no successful delivery for longer than 3days)"
        );
        assert!(failing_too_long(0, 90 * 60).ends_with("for longer than 1h 30m)"));
    }
}
