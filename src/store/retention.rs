//! History retention (`deliveries prune`, `drain --retain`), whatever the backend: which
//! deliveries a prune deletes, how it runs and what it did, and `drain --retain`'s schedule.
//! The backend's `prune` deletes in short batches, so other writers wait for one batch, not
//! for the whole prune.

use std::time::Duration;

use super::{DeliveryStatus, Result, Store};
use crate::domain::time::Millis;
use crate::domain::Scope;

/// Which deliveries a prune deletes.
#[derive(Debug, Clone, Copy)]
pub struct PruneRule {
    /// Final deliveries whose last change (`updated_at`: when they became final, or their last
    /// manual retry) is before this. Their `created_at` is too, which bounds the index scan.
    pub before: Millis,
    /// Only `success` or only `failed` ones; `None` for both. `pending` and `retrying` are never
    /// pruned, whatever is given here.
    pub status: Option<DeliveryStatus>,
}

/// How many rows a prune deleted (or, counting, would delete).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneCount {
    pub deliveries: u64,
    pub attempts: u64,
    pub events: u64,
}

/// How a prune runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct PruneOptions {
    /// Stop after about this long (what is left goes next time); `None` runs to the end.
    pub budget: Option<Duration>,
    /// Rewrite the whole file afterwards (`VACUUM`), whatever its size: other writers wait
    /// meanwhile. Also switches a file made before incremental reclaim to it.
    pub full_vacuum: bool,
}

/// What a prune did.
#[derive(Debug, Clone, Copy, Default)]
pub struct PruneReport {
    pub deleted: PruneCount,
    /// How much smaller the database became (the file itself shrinks at the next checkpoint,
    /// at the latest when the last connection closes).
    pub reclaimed_bytes: u64,
    /// False when the budget ran out first.
    pub complete: bool,
    /// The file was rewritten (`VACUUM`).
    pub vacuumed: bool,
}

/// `drain --retain`: prunes deliveries that became final more than `older_than` ago (both
/// statuses, the drain's scope), a few seconds at a time, at most every few minutes. The drain
/// loop calls [`Retention::run_if_due`] when it is idle.
#[derive(Debug, Clone)]
pub struct Retention {
    older_than: Duration,
    budget: Duration,
    next_at: Millis,
}

impl Retention {
    /// Between two runs that finished their work.
    pub const EVERY: Duration = Duration::from_secs(300);
    /// Between two runs while a backlog remains.
    pub const AGAIN: Duration = Duration::from_secs(15);
    /// The budget of a run at the end of `drain` (cron or a timer: one run per process).
    pub const RUN_BUDGET: Duration = Duration::from_secs(5);
    /// The budget of a run in an idle moment of `drain --watch`: due retries wait at most this.
    pub const WATCH_BUDGET: Duration = Duration::from_secs(1);

    /// `budget` bounds each run; the first call is always due.
    pub fn new(older_than: Duration, budget: Duration) -> Retention {
        Retention {
            older_than,
            budget,
            next_at: Millis::MIN,
        }
    }

    /// After a failed run: the next one waits the usual interval.
    pub fn postpone(&mut self, now: Millis) {
        self.next_at = now.saturating_add(Self::EVERY.as_millis() as i64);
    }

    /// Prunes if due; `None` if not.
    pub fn run_if_due(
        &mut self,
        store: &mut Store,
        scope: Scope,
        now: Millis,
    ) -> Result<Option<PruneReport>> {
        if now < self.next_at {
            return Ok(None);
        }
        let rule = PruneRule {
            before: cutoff(now, self.older_than),
            status: None,
        };
        let opts = PruneOptions {
            budget: Some(self.budget),
            full_vacuum: false,
        };
        let report = store.prune(scope, rule, now, &opts)?;
        let wait = if report.complete {
            Self::EVERY
        } else {
            Self::AGAIN
        };
        self.next_at = now.saturating_add(wait.as_millis() as i64);
        Ok(Some(report))
    }
}

/// `now` minus `older_than`, in stored milliseconds (saturating for absurd durations).
pub fn cutoff(now: Millis, older_than: Duration) -> Millis {
    now.saturating_sub(older_than.as_millis().min(i64::MAX as u128) as i64)
}
