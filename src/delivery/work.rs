//! What passes between the coordinator and the worker lanes: a job with its request
//! ([`Work`]), and what came of it ([`Done`]).

use std::sync::Arc;
use std::time::Duration;

use super::send::{Request, Sent};
use crate::domain::time::Millis;
use crate::store::Job;

/// A claimed delivery and its request, ready for a worker.
pub struct Work {
    pub job: Job,
    pub request: Request,
}

impl Work {
    /// The webhook the work goes to (`None`: deleted; such work is never queued).
    pub fn webhook(&self) -> Option<i64> {
        self.job.target.as_ref().map(|t| t.id)
    }
}

/// A finished attempt, back from a worker.
pub struct Done {
    pub job: Job,
    pub started_at: Millis,
    pub headers: Vec<(String, String)>,
    /// The body, when it is not the stored payload (a chat or alerting format), for the log.
    pub body: Option<Arc<[u8]>>,
    /// `None` when the lease ran out before a worker was free: nothing was sent.
    pub sent: Option<Sent>,
    /// Sent by the slow lane.
    pub slow: bool,
}

/// Whether a request of `timeout` started at `start` ends, with a second to record it, before
/// `lease_until`.
pub fn fits_lease(start: Millis, timeout: Duration, lease_until: Millis) -> bool {
    start + timeout.as_millis() as Millis + 1000 <= lease_until
}
