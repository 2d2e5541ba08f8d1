//! Slow-receiver isolation, as rules: no threads, no channels, no database, time passed in.
//! The engine tells it what happened (work handed out, a request started or finished) and
//! asks it what to do (what to park, which suspect to probe, what to give back).
//!
//! - The main lane's *pace* is a moving average of its requests' durations.
//! - A main-lane request running ten times the pace (at least 10 ms, at most 1 s) makes its
//!   webhook a *suspect* at once; it then counts in the slow lane, not the main one (as far as
//!   the slow lane has room), so the main lane may start another request in its place.
//! - A request that timed out or could not connect makes its webhook a suspect too.
//! - A suspect's work is *parked*; one request at a time goes to the slow lane (*probing*).
//!   Parked work is given back (its lease released) at the end, or [`PARK_SLACK_MS`] before
//!   it could no longer start within its lease.
//! - One answer of any status clears a suspect: its parked work goes back to the main lane.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use super::send::{Reply, Sent};
use super::work::{fits_lease, Work};
use crate::domain::time::Millis;

/// Parked work is given back this long before it could no longer start within its lease, so a
/// worker never finds it too late (thread start-up and a loaded machine take time).
pub const PARK_SLACK_MS: Millis = 500;

#[derive(Default)]
pub struct Isolation {
    /// Moving average of main-lane request durations (ms); `None` until the first one.
    avg_ms: Option<f64>,
    suspects: HashSet<i64>,
    /// Deliveries handed out and not yet done, per webhook.
    per_webhook: HashMap<i64, usize>,
    /// Main-lane requests in flight: delivery → (webhook, started at).
    started: HashMap<i64, (i64, Instant)>,
    /// Main-lane requests found hanging and counted in the slow lane since.
    moved: HashSet<i64>,
    /// Suspects with a request in flight (slow lane, or moved there).
    probing: HashSet<i64>,
    /// A suspect's claimed work waiting for its one slow-lane request to finish.
    parked: HashMap<i64, VecDeque<Work>>,
    /// Main-lane requests found hanging so far.
    hanging_found: usize,
}

/// What a finished request means for the lanes and the queue.
#[derive(Default)]
pub struct Finished {
    /// It had been moved out of the main lane's count into the slow lane's.
    pub moved: bool,
    /// Its webhook is cleared: this parked work goes back to the front of the main queue.
    pub unparked: Option<VecDeque<Work>>,
}

impl Isolation {
    /// The main lane's pace (ms per request), once measured.
    pub fn pace_ms(&self) -> Option<f64> {
        self.avg_ms
    }

    pub fn suspects(&self) -> impl Iterator<Item = i64> + '_ {
        self.suspects.iter().copied()
    }

    /// Suspects with nothing handed out or in flight, at most `room`: each may be probed.
    pub fn idle_suspects(&self, room: usize) -> Vec<i64> {
        self.suspects
            .iter()
            .copied()
            .filter(|w| {
                !self.probing.contains(w) && self.per_webhook.get(w).copied().unwrap_or(0) == 0
            })
            .take(room)
            .collect()
    }

    /// Claimed work for `webhook` was handed out.
    pub fn handed_out(&mut self, webhook: i64) {
        *self.per_webhook.entry(webhook).or_default() += 1;
    }

    /// Work for `webhook` handed out earlier will not be sent (given back, or done).
    pub fn given_back(&mut self, webhook: i64) {
        if let Some(n) = self.per_webhook.get_mut(&webhook) {
            *n = n.saturating_sub(1);
        }
    }

    /// Moves the suspects' work out of `queue` into their parked queues.
    pub fn park(&mut self, queue: &mut VecDeque<Work>) {
        if self.suspects.is_empty() {
            return;
        }
        let (suspect, rest): (VecDeque<Work>, VecDeque<Work>) = queue
            .drain(..)
            .partition(|w| w.webhook().is_some_and(|id| self.suspects.contains(&id)));
        *queue = rest;
        for w in suspect {
            let webhook = w.webhook().unwrap_or(0);
            self.parked.entry(webhook).or_default().push_back(w);
        }
    }

    /// The next slow-lane requests, at most `room`: one for each webhook with parked work and
    /// nothing in flight, which is probing from now on.
    pub fn probes(&mut self, room: usize) -> Vec<Work> {
        let mut out = Vec::new();
        for (webhook, queue) in &mut self.parked {
            if out.len() >= room {
                break;
            }
            if self.probing.contains(webhook) {
                continue;
            }
            if let Some(w) = queue.pop_front() {
                self.probing.insert(*webhook);
                out.push(w);
            }
        }
        self.parked.retain(|_, q| !q.is_empty());
        out
    }

    /// A main-lane request for `webhook` started at `at`.
    pub fn started(&mut self, delivery: i64, webhook: i64, at: Instant) {
        self.started.insert(delivery, (webhook, at));
    }

    /// Main-lane requests in flight (the coordinator wakes often to watch them).
    pub fn watching(&self) -> bool {
        !self.started.is_empty()
    }

    /// How long a main-lane request may run before its webhook is a suspect.
    pub fn hang_limit(&self) -> Duration {
        let avg = self.avg_ms.unwrap_or(100.0);
        Duration::from_millis((10.0 * avg).clamp(10.0, 1000.0) as u64)
    }

    /// Flags main-lane requests running past [`Isolation::hang_limit`] at `now`: each makes
    /// its webhook a suspect, and up to `slow_room` of them move out of the main lane's count
    /// into the slow lane's (past that, a hanging request keeps its main-lane thread until it
    /// times out: threads are bounded). Returns how many moved.
    pub fn flag_hanging(&mut self, now: Instant, slow_room: usize) -> usize {
        let limit = self.hang_limit();
        let hanging: Vec<(i64, i64)> = self
            .started
            .iter()
            .filter(|(_, (_, at))| now.saturating_duration_since(*at) > limit)
            .map(|(d, (w, _))| (*d, *w))
            .collect();
        let mut moved = 0;
        for (delivery, webhook) in hanging {
            self.hanging_found += 1;
            self.suspects.insert(webhook);
            if moved >= slow_room {
                continue;
            }
            self.started.remove(&delivery);
            self.moved.insert(delivery);
            self.probing.insert(webhook);
            moved += 1;
        }
        moved
    }

    /// Requests moved to the slow lane's count and not finished yet.
    pub fn any_moved(&self) -> bool {
        !self.moved.is_empty()
    }

    /// Takes parked work out to be given back: all of it (`all`), or what could no longer start
    /// within its lease [`PARK_SLACK_MS`] after `now`. Returns the deliveries given back.
    pub fn release_parked(&mut self, now: Millis, all: bool) -> Vec<i64> {
        let mut given_back = Vec::new();
        for (webhook, queue) in &mut self.parked {
            queue.retain(|w| {
                let keep =
                    !all && fits_lease(now + PARK_SLACK_MS, w.request.timeout, w.job.lease_until);
                if !keep {
                    given_back.push((w.job.delivery_id, *webhook));
                }
                keep
            });
        }
        self.parked.retain(|_, q| !q.is_empty());
        given_back
            .into_iter()
            .map(|(delivery, webhook)| {
                self.given_back(webhook);
                delivery
            })
            .collect()
    }

    /// Main-lane requests found hanging so far.
    #[cfg(test)]
    pub fn hanging_found(&self) -> usize {
        self.hanging_found
    }

    /// Work parked behind suspects.
    #[cfg(test)]
    pub fn parked(&self) -> usize {
        self.parked.values().map(VecDeque::len).sum()
    }

    /// A request for `webhook` is done: by the slow lane (`slow`) or the main one; `sent` is
    /// `None` when it was not made (too little lease left).
    pub fn finished(
        &mut self,
        delivery: i64,
        webhook: Option<i64>,
        slow: bool,
        sent: Option<&Sent>,
    ) -> Finished {
        self.started.remove(&delivery);
        let moved = self.moved.remove(&delivery);
        if let Some(w) = webhook {
            self.given_back(w);
            if slow || moved {
                self.probing.remove(&w);
            }
        }
        let Some(sent) = sent else {
            return Finished {
                moved,
                unparked: None,
            };
        };
        // The main lane's typical pace; hanging requests moved out of it do not count.
        if !slow && !moved {
            let ms = sent.duration_ms as f64;
            self.avg_ms = Some(self.avg_ms.map_or(ms, |avg| 0.9 * avg + 0.1 * ms));
        }
        let Some(w) = webhook else {
            return Finished {
                moved,
                unparked: None,
            };
        };
        match sent.reply {
            Reply::Timeout | Reply::Error(_) => {
                self.suspects.insert(w);
            }
            Reply::Status { .. } => {
                self.suspects.remove(&w);
            }
            // Not the receiver's doing: its backlog stays in the main lane.
            Reply::Refused(_) | Reply::ProxyFailed(_) => {}
        }
        // An answer clears a suspect: its parked work goes back to the main lane.
        let unparked = if self.suspects.contains(&w) {
            None
        } else {
            self.parked.remove(&w)
        };
        Finished { moved, unparked }
    }
}

#[cfg(test)]
#[path = "isolation_tests.rs"]
mod tests;
