//! The delivery services behind the commands: `drain`, manual retries and tests (and `emit`,
//! from its own module).
//! Results go back to the caller (the CLI prints them).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use super::emit::{
    emit, validate_event, BusyWait, EmitError, EmitReport, EmitSummary, Held, Input,
};
use super::engine::{Engine, Unsettled};
pub use super::retry::{plan_retry_failed, retry_failed, retry_one, test_webhook};
pub use super::retry::{RetryError, RetryPlan};
use super::summary::{Note, Summary};
use crate::domain::time::Millis;
use crate::store::{Backlog, Claim, Disabled, Job, Retention, StoreError, Unreadable};

/// How often an idle `drain --watch` looks for work that other processes queued.
const WATCH_POLL: Duration = Duration::from_secs(1);

/// As [`WATCH_POLL`], on a database that announces new work (PostgreSQL's `LISTEN/NOTIFY`): the
/// announcement wakes the drain at once; this only bounds the wait.
const WATCH_POLL_ANNOUNCED: Duration = Duration::from_secs(10);

/// How long an idle `drain --watch` sleeps at a time before looking at its stop flag.
const NAP: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Default)]
pub struct DrainOptions {
    pub watch: bool,
    pub max_time: Option<Duration>,
    pub limit: Option<u64>,
    /// Set (by a signal handler) to stop: nothing more is claimed or started, claimed work not
    /// yet started is given back, and requests in flight finish and are recorded.
    pub stop: Option<Arc<AtomicBool>>,
    /// How often [`DrainReport::tick`] is called; `None`: never.
    pub tick_every: Option<Duration>,
    /// With `watch`: prune history older than this in idle moments ([`Retention`]).
    pub retain: Option<Duration>,
    /// With `watch`: set (by `serve`, on recording new events) to end an idle sleep at once.
    pub wake: Option<Arc<AtomicBool>>,
}

/// What `drain` tells its caller as it goes (the CLI logs it).
pub trait DrainReport {
    /// An outcome was recorded.
    fn recorded(&mut self, note: &Note);
    /// The database was busy (locked by another process past the busy timeout); `--watch`
    /// pauses and tries again.
    fn busy(&mut self, error: &StoreError);
    /// After [`DrainReport::busy`]: the database answered again and the run carries on.
    fn back(&mut self) {}
    /// A single run stopped by a busy database waited as long as `emit` does to record the
    /// results of the attempts it had made, in vain: those deliveries are sent again once
    /// their leases run out.
    fn unrecorded(&mut self, _count: usize, _waited: Duration) {}
    /// Recorded outcomes disabled a webhook (410 Gone, or failing too long).
    fn disabled(&mut self, webhook: &Disabled);
    /// Claimed deliveries whose stored rows could not be read: not sent, they stay queued.
    fn unreadable(&mut self, deliveries: &[Unreadable]);
    /// Every `tick_every`: what the run did since the last tick, and what is due now.
    /// `backlog` is `None` when it could not be read (the run goes on regardless).
    fn tick(&mut self, since_last: &Summary, backlog: Option<Backlog>);
    /// `--retain` pruned this many deliveries in an idle moment, or failed (it is tried again
    /// at the next interval).
    fn pruned(&mut self, result: Result<u64, &StoreError>);
    /// The stop flag was seen: `in_flight` requests are still to finish.
    fn stopping(&mut self, in_flight: usize);
}

/// A report that says nothing.
pub struct Quiet;

impl DrainReport for Quiet {
    fn recorded(&mut self, _: &Note) {}
    fn busy(&mut self, _: &StoreError) {}
    fn disabled(&mut self, _: &Disabled) {}
    fn unreadable(&mut self, _: &[Unreadable]) {}
    fn tick(&mut self, _: &Summary, _: Option<Backlog>) {}
    fn pruned(&mut self, _: Result<u64, &StoreError>) {}
    fn stopping(&mut self, _: usize) {}
}

/// Sends every due delivery; with `watch`, keeps going and sleeps until more is due.
///
/// The database may be locked by another process for longer than the busy timeout (a long
/// write, a backup): with `watch` that is waited out, with a report and a growing pause, for
/// as long as it lasts; a single run gives back what it has not started, records what was in
/// flight if it can, and fails with the busy error (cron runs it again a minute later).
pub fn drain(
    engine: &mut Engine<'_>,
    opts: &DrainOptions,
    report: &mut dyn DrainReport,
) -> Result<Summary, StoreError> {
    engine.keep_notes();
    let mut run = Run::new(engine, opts);
    loop {
        match run.round(engine, opts, report) {
            Ok(true) => {
                if std::mem::take(&mut run.waited) {
                    report.back();
                }
                run.backoff = BUSY_FIRST_PAUSE;
            }
            Ok(false) => break,
            Err(e) if e.is_busy() && opts.watch => {
                report.busy(&e);
                run.waited = true;
                run.pause_when_busy(opts);
            }
            Err(e) if e.is_busy() => {
                engine.stop_starting();
                // The results of requests already sent are waited for and recorded, as `emit`
                // does (for as long as its patience): one dropped here would be sent again
                // once its lease ran out, and the history would not know of the first.
                match engine.settle_patiently(|busy| report.busy(busy)) {
                    Ok(()) => {}
                    Err(Unsettled::GaveUp { waited, .. }) => {
                        report.unrecorded(engine.unrecorded(), waited);
                    }
                    Err(Unsettled::Failed(other)) => {
                        tell(engine, report);
                        return Err(other);
                    }
                }
                tell(engine, report);
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
    loop {
        match engine.settle() {
            Ok(()) => break,
            // Stopping (or at the end of `--max-time`): what was sent is recorded, however
            // long the lock lasts; a second signal exits at once.
            Err(e) if e.is_busy() && opts.watch => {
                tell(engine, report);
                report.busy(&e);
                std::thread::sleep(run.backoff);
                run.backoff = (run.backoff * 2).min(BUSY_MAX_PAUSE);
            }
            Err(e) => return Err(e),
        }
    }
    tell(engine, report);
    Ok(engine.summary())
}

/// The first pause of `drain --watch` after the database was found busy, doubled each time
/// it is busy again up to [`BUSY_MAX_PAUSE`]. (Each attempt has already waited the busy
/// timeout for the lock.)
const BUSY_FIRST_PAUSE: Duration = Duration::from_secs(1);
const BUSY_MAX_PAUSE: Duration = Duration::from_secs(30);

/// What one `drain` run keeps from round to round.
struct Run {
    deadline: Option<Millis>,
    claimed_total: u64,
    last_tick: (Millis, Summary),
    /// Only reached in `watch` mode's idle moments.
    retention: Option<Retention>,
    /// The pause after the database is next found busy.
    backoff: Duration,
    /// Whether the last round found the database busy (or unreachable) and was reported.
    waited: bool,
}

impl Run {
    fn new(engine: &Engine<'_>, opts: &DrainOptions) -> Run {
        let start = engine.now();
        Run {
            deadline: opts.max_time.map(|d| start + d.as_millis() as i64),
            claimed_total: 0,
            last_tick: (start, engine.summary()),
            retention: opts
                .retain
                .map(|d| Retention::new(d, Retention::WATCH_BUDGET)),
            backoff: BUSY_FIRST_PAUSE,
            waited: false,
        }
    }

    /// Waits after the database was found busy (a stop request ends the wait), a little longer
    /// each time.
    fn pause_when_busy(&mut self, opts: &DrainOptions) {
        nap(self.backoff, opts);
        self.backoff = (self.backoff * 2).min(BUSY_MAX_PAUSE);
    }

    /// One round: claim what is due and there is room for, collect results, report; idle, wait
    /// until more is due. `Ok(false)` when the run is over.
    fn round(
        &mut self,
        engine: &mut Engine<'_>,
        opts: &DrainOptions,
        report: &mut dyn DrainReport,
    ) -> Result<bool, StoreError> {
        let now = engine.now();
        if !engine.stopping() && stop_requested(opts) {
            engine.stop_starting();
            report.stopping(engine.inflight());
        }
        let out_of_time = self.deadline.is_some_and(|d| now >= d);
        let left = opts.limit.map(|l| l.saturating_sub(self.claimed_total));
        let may_claim = !engine.stopping() && !out_of_time && left != Some(0);
        if !may_claim {
            // Nothing more is claimed: a hanging receiver's parked backlog goes back at once
            // rather than one timeout at a time.
            engine.give_back_parked();
        }
        let mut claimed = 0;
        // Claim in batches: when a round's worth of room has opened, or nothing is in flight.
        let room = engine.room();
        if may_claim && (room >= engine.concurrency() || engine.inflight() == 0) {
            let n = room.min(left.unwrap_or(u64::MAX) as usize);
            if n > 0 {
                let exclude = engine.suspects();
                let how = Claim::Due {
                    limit: n,
                    exclude: &exclude,
                };
                claimed = claim(engine, how)?;
                self.claimed_total += claimed as u64;
            }
        }
        // Receivers that hung or refused connections get one delivery at a time, in the slow
        // lane, until one answers.
        if may_claim {
            for webhook in engine.idle_suspects() {
                if left.is_some_and(|l| self.claimed_total >= l) {
                    break;
                }
                let how = Claim::DueFor { webhook };
                let n = claim(engine, how)?;
                claimed += n;
                self.claimed_total += n as u64;
            }
        }
        let working = engine.inflight() > 0 || claimed > 0 || engine.unrecorded() > 0;
        if working {
            engine.collect(Some(Duration::from_millis(100)))?;
        }
        tell(engine, report);
        if let Some(every) = opts.tick_every {
            let now = engine.now();
            if now - self.last_tick.0 >= every.as_millis() as i64 {
                // Only for the log line: a failed read must not end the run (it would leave
                // requests in flight unrecorded).
                let backlog = engine.backlog(now).ok();
                report.tick(&engine.summary().since(&self.last_tick.1), backlog);
                self.last_tick = (now, engine.summary());
            }
        }
        if working {
            return Ok(true);
        }
        if !opts.watch || !may_claim {
            return Ok(false);
        }
        // Idle: prune history now and then (`--retain`), for a bounded moment.
        if let Some(r) = &mut self.retention {
            match engine.prune_if_due(r, now) {
                Ok(Some(done)) => report.pruned(Ok(done.deleted.deliveries)),
                Ok(None) => {}
                Err(e) => {
                    r.postpone(now);
                    report.pruned(Err(&e));
                }
            }
        }
        // Idle: sleep until the next delivery is due, a lease runs out, or the poll interval;
        // a stop request ends the sleep.
        let announced = engine.announces_work();
        let every = if announced {
            WATCH_POLL_ANNOUNCED
        } else {
            WATCH_POLL
        };
        let next = engine.next_due()?.unwrap_or(i64::MAX);
        let poll = now + every.as_millis() as i64;
        let wake = next.min(poll).min(self.deadline.unwrap_or(i64::MAX));
        let sleep = Duration::from_millis((wake - now).clamp(5, every.as_millis() as i64) as u64);
        if announced {
            wait_for_work(engine, sleep, opts)?;
        } else {
            nap(sleep, opts);
        }
        Ok(true)
    }
}

fn stop_requested(opts: &DrainOptions) -> bool {
    opts.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst))
}

/// Whether the wake-up flag was set (clearing it).
fn woken(opts: &DrainOptions) -> bool {
    opts.wake
        .as_ref()
        .is_some_and(|w| w.swap(false, Ordering::SeqCst))
}

/// Sleeps for `d`, in short naps so that a stop request (or a wake-up) ends it.
fn nap(d: Duration, opts: &DrainOptions) {
    let until = std::time::Instant::now() + d;
    while !stop_requested(opts) && !woken(opts) {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(NAP));
    }
}

/// Waits up to `d` for another process to announce new work, in short waits so that a stop
/// request ends it.
fn wait_for_work(engine: &Engine<'_>, d: Duration, opts: &DrainOptions) -> Result<(), StoreError> {
    let until = std::time::Instant::now() + d;
    while !stop_requested(opts) && !woken(opts) {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || engine.wait_for_work(left.min(NAP * 2))? {
            break;
        }
    }
    Ok(())
}

/// Claims (`how`) and hands the jobs out; how many deliveries were claimed, counting those
/// that could not be read (not sent, but claimed: a batch of nothing else does not end the
/// run while more may be due behind it, and they count towards `--limit`).
fn claim(engine: &mut Engine<'_>, how: Claim<'_>) -> Result<usize, StoreError> {
    let unreadable = engine.unreadable_claimed();
    let jobs = engine.claim(how)?;
    let n = jobs.len() + (engine.unreadable_claimed() - unreadable) as usize;
    // A retry past what the webhook now allows (its max_retries lowered since) is not made.
    let (spent, jobs): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(Job::retries_spent);
    for job in &spent {
        let allowed = job.target.as_ref().map_or(0, |t| t.max_retries);
        engine.end_unsent(
            job,
            &format!("no more attempts: the webhook's max_retries is now {allowed}"),
        );
    }
    engine.dispatch(jobs);
    Ok(n)
}

/// Passes on the outcomes recorded since the last call, then the webhooks they disabled, then
/// the deliveries that could not be read.
fn tell(engine: &mut Engine<'_>, report: &mut dyn DrainReport) {
    for note in engine.take_notes() {
        report.recorded(&note);
    }
    for d in engine.take_disabled() {
        report.disabled(&d);
    }
    let unreadable = engine.take_unreadable();
    if !unreadable.is_empty() {
        report.unreadable(&unreadable);
    }
}
