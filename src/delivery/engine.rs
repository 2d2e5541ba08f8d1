//! The sending machinery shared by `emit`, `drain`, retries and tests: worker lanes sharing
//! one HTTP sender, fed by a coordinator (the engine) that alone touches the database. Claims
//! happen before work is handed out; outcomes are written in batches as they come back.
//! Slow receivers are kept off the main lane by the rules in [`super::isolation`].
//!
//! The engine's API (its state is private):
//!
//! | | |
//! |---|---|
//! | set up | [`Engine::new`], [`Engine::set_proxies`], [`Engine::keep_notes`], [`Engine::keep_outcomes`] |
//! | this run | [`Engine::now`], [`Engine::scope`], [`Engine::concurrency`], [`Engine::summary`] |
//! | the database, for this run's scope and lease owner | [`Engine::claim`], [`Engine::record_events`], [`Engine::record_test`], [`Engine::prune_if_due`]; reads: [`Engine::backlog`], [`Engine::next_due`], [`Engine::delivery`], [`Engine::webhook`], [`Engine::customer`], [`Engine::busy_timeout`] |
//! | sending | [`Engine::dispatch`] claimed work; [`Engine::room`] to claim, [`Engine::inflight`], [`Engine::suspects`] (not to claim in bulk), [`Engine::idle_suspects`] (to probe) |
//! | results | [`Engine::gather`] (no database) then [`Engine::write_ready`], or [`Engine::collect`] for both; [`Engine::settle`]; [`Engine::send_claimed`] = dispatch + settle; [`Engine::unrecorded`]; [`Engine::take_notes`], [`Engine::take_disabled`], [`Engine::take_unreadable`], [`Engine::take_outcomes`] |
//! | stopping | [`Engine::stop_starting`], [`Engine::stopping`], [`Engine::give_back_parked`] |

use std::collections::{HashSet, VecDeque};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use super::busy::Waiting;
use super::clock::Clock;
use super::isolation::Isolation;
use super::keys::KeyCache;
use super::outcome;
use super::pool::Lane;
use super::send::Sender;
use super::summary::{Note, Summary};
use super::work::{Done, Work};
use crate::domain::allowlist::TargetPolicy;
use crate::domain::proxy::Proxies;
use crate::domain::time::Millis;
use crate::domain::Scope;
use crate::store::{Disabled, Job, Outcome, Store, StoreError, Unreadable};

mod database;
mod record;

pub struct Engine<'s> {
    store: &'s mut Store,
    scope: Scope,
    /// This process's name on the leases it takes.
    owner: String,
    clock: Clock,
    summary: Summary,
    concurrency: usize,
    sender: Arc<Sender>,
    main: Lane,
    slow: Lane,
    /// Prepared, leased work waiting for a main-lane thread.
    queue: VecDeque<Work>,
    /// Finished attempts; `None` is a wake-up ([`Waker`]) that only ends a wait.
    done_tx: mpsc::Sender<Option<Box<Done>>>,
    done_rx: mpsc::Receiver<Option<Box<Done>>>,
    keys: KeyCache,
    isolation: Isolation,
    /// Outcomes known (attempts finished, deliveries with nowhere to go), not yet written.
    ready: Vec<Outcome>,
    /// Every outcome written, when the caller wants them (single retries, tests).
    outcomes: Option<Vec<Outcome>>,
    /// Claimed deliveries not sent after all: their leases are given back.
    released: Vec<i64>,
    /// Set by [`Engine::stop_starting`]: no request starts any more.
    stopping: bool,
    /// Every outcome as a log line tells it, when the caller wants them (`drain`'s log).
    notes: Option<Vec<Note>>,
    /// Whether the stored allow list is reread (not when every destination is allowed).
    follow_list: bool,
    /// Webhooks disabled by outcomes written, until [`Engine::take_disabled`].
    disabled: Vec<Disabled>,
    /// Claimed deliveries whose rows could not be read (not sent, left leased), until
    /// [`Engine::take_unreadable`].
    unreadable: Vec<Unreadable>,
    /// Every delivery this run found unreadable, and how many times one was claimed so.
    unreadable_seen: HashSet<i64>,
    unreadable_claimed: u64,
    /// Webhooks this run disabled, until a delivery of theirs is claimed enabled again: the
    /// notes of attempts still finishing say no further attempt follows.
    disabled_ids: HashSet<i64>,
}

/// A name for this process's leases: unique enough across processes and restarts.
fn lease_owner() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}-{nanos:08x}", std::process::id())
}

impl<'s> Engine<'s> {
    /// An engine sending where `policy` allows: the caller read it (the CLI's
    /// `Context::target_policy`); unless it allows everything, the stored list is reread as
    /// work is handed out.
    pub fn new(
        store: &'s mut Store,
        scope: Scope,
        policy: TargetPolicy,
        concurrency: usize,
        clock: Clock,
    ) -> Engine<'s> {
        let concurrency = concurrency.clamp(1, 256);
        let (done_tx, done_rx) = mpsc::channel();
        let follow_list = !policy.allows_everything();
        Engine {
            store,
            scope,
            owner: lease_owner(),
            clock,
            summary: Summary::default(),
            concurrency,
            sender: Arc::new(Sender::with_policy(policy, concurrency)),
            main: Lane::new("send", concurrency, false),
            // Slow-lane threads mostly wait on receivers that do not answer: cheap, so many.
            slow: Lane::new("slow", (16 * concurrency).clamp(64, 512), true),
            queue: VecDeque::new(),
            done_tx,
            done_rx,
            keys: KeyCache::default(),
            isolation: Isolation::default(),
            ready: Vec::new(),
            outcomes: None,
            released: Vec::new(),
            stopping: false,
            notes: None,
            follow_list,
            disabled: Vec::new(),
            unreadable: Vec::new(),
            unreadable_seen: HashSet::new(),
            unreadable_claimed: 0,
            disabled_ids: HashSet::new(),
        }
    }

    /// Sends through the egress proxies `proxies` says (the CLI reads them once per command;
    /// the engine starts sending directly).
    pub fn set_proxies(&mut self, proxies: Proxies) {
        self.sender.set_proxies(proxies);
    }

    /// The engine's clock, read now.
    /// A handle that ends the engine's current or next wait for results ([`Engine::gather`])
    /// without a result: `emit`'s reader, when it has input.
    pub(in crate::delivery) fn waker(&self) -> Waker {
        Waker(self.done_tx.clone())
    }

    pub(in crate::delivery) fn now(&self) -> Millis {
        self.clock.now()
    }

    pub(in crate::delivery) fn scope(&self) -> Scope {
        self.scope
    }

    pub(in crate::delivery) fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// What this run has recorded so far.
    pub(in crate::delivery) fn summary(&self) -> Summary {
        self.summary
    }

    /// Starts no request any more: claimed work that has not started (queued, or parked behind
    /// a suspect) is given back at once, its lease released and no request made; requests in
    /// flight finish and are recorded by [`Engine::settle`]. For a graceful shutdown.
    pub(in crate::delivery) fn stop_starting(&mut self) {
        self.stopping = true;
        let queued: Vec<Work> = self.queue.drain(..).collect();
        for w in &queued {
            self.give_back(w);
        }
        self.release_parked(true);
    }

    /// Whether [`Engine::stop_starting`] was called.
    pub(in crate::delivery) fn stopping(&self) -> bool {
        self.stopping
    }

    /// Gives back the work parked behind suspects (when no more is claimed, probing the rest
    /// of a hanging receiver's backlog one timeout at a time would only hold the run up).
    pub(in crate::delivery) fn give_back_parked(&mut self) {
        self.release_parked(true);
    }

    /// Releases the lease of claimed work that will not be sent by this run.
    fn give_back(&mut self, w: &Work) {
        self.released.push(w.job.delivery_id);
        if let Some(webhook) = w.webhook() {
            self.isolation.given_back(webhook);
        }
    }

    /// Gives back parked work: all of it (`all`), or what could not be sent before its lease
    /// runs out. It is due again, for this run's next claim or another process.
    fn release_parked(&mut self, all: bool) {
        let now = self.clock.now();
        let given_back = self.isolation.release_parked(now, all);
        self.released.extend(given_back);
    }

    /// Rereads the allowed destinations before handing out claimed work, so a long-running
    /// `drain --watch` or `emit` stream follows `webnet targets allow|remove` for everything
    /// claimed after the change. (One read of a small table per non-empty claim batch.)
    ///
    /// The rule, here and at the start (`Engine::new`'s caller): requests go only where a list
    /// actually read allows. A list that cannot be read at the start fails the command; one
    /// that cannot be reread keeps the last one read (the next claim meets the same database
    /// and reports its error). Never an empty list in its place: that would refuse allowed
    /// destinations for good (a refusal is not retried) over a passing read error.
    fn refresh_targets(&mut self) {
        if !self.follow_list {
            return;
        }
        if let Ok(policy) = self.store.target_policy() {
            self.sender.set_policy(policy);
        }
    }

    /// Deliveries handed out and not yet recorded.
    pub(in crate::delivery) fn inflight(&self) -> usize {
        self.queue.len() + self.main.busy() + self.slow.busy()
    }

    /// How many more deliveries to claim now. Queued work holds leases, so only fast receivers
    /// earn a deep queue: with attempts taking the main lane's pace, the queue drains in well
    /// under a second. (A worker never starts a request that could outlive its lease anyway.)
    pub(in crate::delivery) fn room(&self) -> usize {
        // Until measured, assume slow receivers: claim only one round ahead.
        let avg = self.isolation.pace_ms().unwrap_or(1000.0);
        let per_worker = if avg < 5.0 {
            64
        } else if avg < 50.0 {
            8
        } else {
            2
        };
        (per_worker * self.concurrency).saturating_sub(self.queue.len() + self.main.busy())
    }

    /// Webhooks not to claim in bulk: their receivers hang or refuse connections.
    pub(in crate::delivery) fn suspects(&self) -> Vec<i64> {
        self.isolation.suspects().collect()
    }

    /// Suspects with nothing in flight, and room in the slow lane to probe them.
    pub(in crate::delivery) fn idle_suspects(&self) -> Vec<i64> {
        self.isolation.idle_suspects(self.slow.room())
    }

    /// Takes claimed deliveries; ones with nowhere to go fail at once, the rest are queued for
    /// the lanes.
    pub(in crate::delivery) fn dispatch(&mut self, jobs: Vec<Job>) {
        if self.stopping {
            // Nothing starts any more: work claimed now is given back at once, so `settle`
            // never waits for work no worker will take.
            self.released.extend(jobs.iter().map(|j| j.delivery_id));
            return;
        }
        if !jobs.is_empty() {
            self.refresh_targets();
        }
        for job in jobs {
            let Some(target) = &job.target else {
                let o = outcome::not_sent(&job, "Webhook was deleted");
                self.push_ready(&job, o);
                continue;
            };
            // `webhooks test` may test a disabled webhook; nothing else is sent to one.
            if !target.enabled && !job.event_type.is_test() {
                let o = outcome::not_sent(&job, "Webhook is disabled");
                self.push_ready(&job, o);
                continue;
            }
            let webhook = target.id;
            // Claimed enabled: enabled again since this run disabled it, if it did.
            self.disabled_ids.remove(&webhook);
            let now = self.clock.now();
            let request = match self.keys.prepare(self.store, &job, now) {
                Ok(r) => r,
                Err(why) => {
                    // A key problem on this host: the attempt fails (and is retried), but the
                    // receiver was not asked, so its health is untouched; the caller is told.
                    let why = why.to_string();
                    let o = outcome::not_signed(&job, &why, now);
                    if let Some(notes) = &mut self.notes {
                        notes.push(Note {
                            not_signed: Some(why),
                            ..Note::new(&job, &o)
                        });
                    }
                    self.ready.push(o);
                    continue;
                }
            };
            self.isolation.handed_out(webhook);
            self.queue.push_back(Work { job, request });
        }
        self.feed();
    }

    /// Moves queued work to threads. A suspect's work is parked and goes to the slow lane one
    /// request per webhook at a time (see [`Isolation`]). Everything else goes to the main
    /// lane as threads come free.
    fn feed(&mut self) {
        if self.stopping {
            return;
        }
        self.isolation.park(&mut self.queue);
        for w in self.isolation.probes(self.slow.room()) {
            self.slow.send(w, &self.done_tx, &self.sender, &self.clock);
        }
        while self.main.busy() < self.concurrency {
            let Some(w) = self.queue.pop_front() else {
                break;
            };
            if let Some(webhook) = w.webhook() {
                self.isolation
                    .started(w.job.delivery_id, webhook, Instant::now());
            }
            self.main.send(w, &self.done_tx, &self.sender, &self.clock);
        }
    }

    /// A main-lane request far slower than usual makes its webhook a suspect at once, and its
    /// thread stops counting against the main lane, which may start another in its place: a
    /// hanging receiver costs healthy ones a moment, not a timeout.
    fn flag_hanging(&mut self) {
        self.release_parked(false);
        let moved = self
            .isolation
            .flag_hanging(Instant::now(), self.slow.room());
        for _ in 0..moved {
            self.main.move_out();
            self.slow.move_in();
        }
        if self.isolation.any_moved() {
            self.feed();
        }
    }

    /// Sends claimed deliveries and waits for the results, recording them
    /// ([`Engine::settle_patiently`]).
    pub(in crate::delivery) fn send_claimed(&mut self, jobs: Vec<Job>) -> Result<(), StoreError> {
        self.dispatch(jobs);
        self.settle_patiently(|_| {}).map_err(Unsettled::into_error)
    }

    /// [`Engine::settle`], waiting out a busy database for as long as `emit` would
    /// ([`Waiting`]): an answer not recorded would be sent again once its lease ran out, and
    /// the caller told of an error after a send that worked. `on_busy` hears of each write
    /// that found the database busy.
    pub(in crate::delivery) fn settle_patiently(
        &mut self,
        mut on_busy: impl FnMut(&StoreError),
    ) -> Result<(), Unsettled> {
        let mut waiting = Waiting::default();
        loop {
            let started = self.now();
            match self.settle() {
                Ok(()) => return Ok(()),
                Err(e) if e.is_busy() => {
                    on_busy(&e);
                    if let Err(waited) = waiting.busy(self.busy_timeout(), self.now(), started) {
                        return Err(Unsettled::GaveUp { error: e, waited });
                    }
                }
                Err(e) => return Err(Unsettled::Failed(e)),
            }
        }
    }
}

/// Why [`Engine::settle_patiently`] ended with answers unrecorded.
pub(in crate::delivery) enum Unsettled {
    /// The database stayed busy for the whole patience (`waited`); `error` is its last word.
    GaveUp {
        error: StoreError,
        waited: std::time::Duration,
    },
    /// Any other store error.
    Failed(StoreError),
}

impl Unsettled {
    pub(in crate::delivery) fn into_error(self) -> StoreError {
        match self {
            Unsettled::GaveUp { error, .. } | Unsettled::Failed(error) => error,
        }
    }
}

impl Drop for Engine<'_> {
    fn drop(&mut self) {
        // Closing the lanes ends the workers once they finish their current request.
        self.main.close();
        self.slow.close();
    }
}

#[cfg(test)]
mod tests;

/// Ends a wait of [`Engine::gather`] from another thread (see [`Engine::waker`]).
pub struct Waker(mpsc::Sender<Option<Box<Done>>>);

impl Waker {
    pub fn wake(&self) {
        let _ = self.0.send(None);
    }
}
