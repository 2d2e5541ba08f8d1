//! What a delivery run reports: counts for the command's summary ([`Summary`]) and one
//! [`Note`] per recorded outcome for `drain`'s log.

use crate::domain::time::Millis;
use crate::store::{DeliveryStatus, Job, Outcome};

/// One recorded outcome, as a log line tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub delivery_id: i64,
    /// `None` when the webhook was deleted.
    pub webhook: Option<i64>,
    pub webhook_name: String,
    pub event_type: String,
    /// The attempt's number; `None` when no request was made (webhook disabled or deleted).
    pub attempt: Option<u32>,
    /// How many attempts the webhook allows (`1 + max_retries`).
    pub max_attempts: Option<u32>,
    pub status: DeliveryStatus,
    pub error_message: Option<String>,
    pub next_attempt_at: Option<Millis>,
    /// Why the request could not be signed (the secret key is missing or wrong on this host):
    /// nothing was sent, and the receiver is not to blame.
    pub not_signed: Option<String>,
    /// The webhook was disabled by this outcome's batch (410 Gone, or failing too long): no
    /// further attempt is made unless it is enabled again.
    pub webhook_disabled: bool,
}

impl Note {
    pub(super) fn new(job: &Job, o: &Outcome) -> Note {
        Note {
            delivery_id: o.delivery_id,
            webhook: job.target.as_ref().map(|t| t.id),
            webhook_name: job.webhook_name.clone(),
            event_type: job.event_type.as_str().into(),
            attempt: o.attempt.as_ref().map(|_| job.attempt),
            max_attempts: job.target.as_ref().map(|t| t.max_retries + 1),
            status: o.status,
            error_message: o.error_message.clone(),
            next_attempt_at: o.next_attempt_at,
            not_signed: None,
            webhook_disabled: false,
        }
    }
}

/// Counts of what a run did, for the command's summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub attempted: u64,
    pub succeeded: u64,
    pub retrying: u64,
    pub failed: u64,
    /// Of `failed`, those closed without a request: their webhook was deleted or disabled.
    #[serde(skip_serializing_if = "is_zero")]
    pub not_sent: u64,
    /// Of the attempts, those that could not be signed (no usable secret key on this host):
    /// nothing was sent, and each counts against the webhook's retries.
    #[serde(skip_serializing_if = "is_zero")]
    pub not_signed: u64,
    /// Claimed deliveries whose stored rows could not be read: not sent, left queued.
    #[serde(skip_serializing_if = "is_zero")]
    pub unreadable: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Summary {
    /// What was counted since `earlier` (a copy of this summary taken before).
    pub fn since(&self, earlier: &Summary) -> Summary {
        Summary {
            attempted: self.attempted.saturating_sub(earlier.attempted),
            succeeded: self.succeeded.saturating_sub(earlier.succeeded),
            retrying: self.retrying.saturating_sub(earlier.retrying),
            failed: self.failed.saturating_sub(earlier.failed),
            not_sent: self.not_sent.saturating_sub(earlier.not_sent),
            not_signed: self.not_signed.saturating_sub(earlier.not_signed),
            unreadable: self.unreadable.saturating_sub(earlier.unreadable),
        }
    }

    pub(super) fn add(&mut self, o: &Outcome) {
        use crate::store::DeliveryStatus as S;
        if super::outcome::is_not_signed(o) {
            self.not_signed += 1;
        }
        match o.attempt {
            Some(_) => self.attempted += 1,
            None if o.status == S::Failed => self.not_sent += 1,
            None => {}
        }
        match o.status {
            S::Success => self.succeeded += 1,
            S::Retrying => self.retrying += 1,
            S::Failed => self.failed += 1,
            S::Pending => {}
        }
    }
}
