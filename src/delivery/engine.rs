//! The sending machinery shared by `emit`, `drain` and `retry`: worker lanes sharing one HTTP
//! sender, fed by a coordinator that alone touches the database. Claims happen before work is
//! handed out; outcomes are written in batches as they come back.
//!
//! Isolation: a webhook whose attempt timed out or could not connect becomes a *suspect*. Its
//! deliveries go to the slow lane, one at a time, and `drain` stops claiming its backlog in bulk,
//! so a hanging receiver cannot take the main lane's threads from healthy ones.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::outcome;
use super::pool::{fits_lease, Lane, Work};
use super::send::{Reply, Request, Sender, Sent};
use super::summary::{Note, Summary};
use crate::domain::allowlist::TargetPolicy;
use crate::domain::proxy::Proxies;
use crate::domain::secret::SecretKey;
use crate::domain::time::Millis;
use crate::domain::Scope;
use crate::store::{Disabled, Job, Outcome, Store, StoreError};

/// How often a key that failed is loaded again, after the first reload (see `Engine::key`).
const KEY_RELOAD: Duration = Duration::from_secs(1);

/// The clock, passed in so tests and benchmarks can drive time.
pub type Clock = fn() -> Millis;

/// The system clock: the business time every command reads (when a delivery is due, leases,
/// retention cut-offs, health windows).
pub fn system_clock() -> Millis {
    // Test-only (ARCHITECTURE.md, "Testing"): `WEBNET_TEST_CLOCK_OFFSET` (milliseconds, may be
    // negative) moves this process's clock, so tests run the next `drain` past a backoff instead
    // of sleeping. Read once; anything that is not a whole number is ignored.
    static OFFSET: std::sync::OnceLock<Millis> = std::sync::OnceLock::new();
    let offset = *OFFSET.get_or_init(|| {
        std::env::var("WEBNET_TEST_CLOCK_OFFSET")
            .ok()
            .and_then(|v| v.trim().parse::<Millis>().ok())
            .unwrap_or(0)
    });
    crate::domain::time::to_millis(std::time::SystemTime::now()).saturating_add(offset)
}

/// Messages to the coordinator: finished attempts, and (for `emit`) input from the reader.
pub enum Msg {
    Done(Box<Done>),
    Lines(Vec<(usize, Result<String, String>)>),
    Eof,
}

pub struct Done {
    pub job: Job,
    pub started_at: Millis,
    pub headers: Vec<(String, String)>,
    /// The body, when it is not the stored payload (a chat or alerting format), for the log.
    pub body: Option<std::sync::Arc<[u8]>>,
    /// `None` when the lease ran out before a worker was free: nothing was sent.
    pub sent: Option<Sent>,
    pub slow: bool,
}

/// Parked work is given back this long before it could no longer start within its lease, so a
/// worker never finds it too late (thread start-up and a loaded machine take time).
const PARK_SLACK_MS: Millis = 500;

pub struct Engine<'s> {
    pub store: &'s mut Store,
    pub scope: Scope,
    pub owner: String,
    pub clock: Clock,
    pub summary: Summary,
    concurrency: usize,
    sender: Arc<Sender>,
    main: Lane,
    slow: Lane,
    /// Prepared, leased work waiting for a main-lane thread.
    queue: VecDeque<Work>,
    msg_tx: mpsc::Sender<Msg>,
    msg_rx: mpsc::Receiver<Msg>,
    /// The secret key and when it was loaded (ms).
    key: Option<(Result<SecretKey, String>, Millis)>,
    /// The key in hand was itself reloaded because its predecessor failed to open a value:
    /// another reload waits KEY_RELOAD (a damaged value must not reload it for every job).
    key_failed: bool,
    /// Outcomes known without a request (disabled, deleted), written with the next batch.
    ready: Vec<Outcome>,
    /// Every outcome written, when the caller wants them (single retries, tests).
    pub keep_outcomes: bool,
    pub outcomes: Vec<Outcome>,
    /// Moving average of main-lane attempt durations, sizing how far ahead to claim; `None`
    /// until the first one.
    avg_ms: Option<f64>,
    suspects: HashSet<i64>,
    /// Deliveries handed out and not yet done, per webhook.
    per_webhook: HashMap<i64, usize>,
    /// Main-lane requests in flight: delivery → (webhook, handed out at).
    started: HashMap<i64, (i64, Instant)>,
    /// Main-lane requests found hanging and counted in the slow lane since.
    moved: HashSet<i64>,
    /// Suspect webhooks with a request in flight (slow lane, or moved there).
    probing: HashSet<i64>,
    /// Claimed deliveries of suspects not sent after all: their leases are given back.
    released: Vec<i64>,
    /// A suspect's claimed work waiting for its one slow-lane request to finish: back to the
    /// main lane if the receiver answers, given back (released) at the end or near its lease.
    parked: HashMap<i64, VecDeque<Work>>,
    /// Set by [`Engine::stop_starting`]: no request starts any more.
    stopping: bool,
    /// Every outcome as a log line tells it, when the caller wants them (`drain`'s log).
    notes: Option<Vec<Note>>,
    /// Whether the stored allow list is reread (not when every destination is allowed).
    follow_list: bool,
    /// Webhooks disabled by outcomes written, until [`Engine::take_disabled`].
    disabled: Vec<Disabled>,
    /// Webhooks this run disabled, until a delivery of theirs is claimed enabled again: the
    /// notes of attempts still finishing say no further attempt follows.
    disabled_ids: HashSet<i64>,
    /// Input messages gathered by a [`Engine::collect`] whose write failed: the next call
    /// returns them.
    held_inputs: Vec<Msg>,
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
        let (msg_tx, msg_rx) = mpsc::channel::<Msg>();
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
            msg_tx,
            msg_rx,
            key: None,
            key_failed: false,
            ready: Vec::new(),
            keep_outcomes: false,
            outcomes: Vec::new(),
            avg_ms: None,
            suspects: HashSet::new(),
            per_webhook: HashMap::new(),
            started: HashMap::new(),
            moved: HashSet::new(),
            probing: HashSet::new(),
            released: Vec::new(),
            parked: HashMap::new(),
            stopping: false,
            notes: None,
            follow_list,
            disabled: Vec::new(),
            disabled_ids: HashSet::new(),
            held_inputs: Vec::new(),
        }
    }

    /// Keeps a [`Note`] of every outcome from now on, for [`Engine::take_notes`].
    pub fn keep_notes(&mut self) {
        self.notes.get_or_insert_with(Vec::new);
    }

    /// The notes kept since the last call.
    pub fn take_notes(&mut self) -> Vec<Note> {
        self.notes.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn note(&mut self, job: &Job, o: &Outcome) {
        if let Some(notes) = &mut self.notes {
            let mut note = Note::new(job, o);
            note.webhook_disabled = note.webhook.is_some_and(|w| self.disabled_ids.contains(&w));
            notes.push(note);
        }
    }

    /// Starts no request any more: claimed work that has not started (queued, or parked behind
    /// a suspect) is given back at once, its lease released and no request made; requests in
    /// flight finish and are recorded by [`Engine::settle`]. For a graceful shutdown.
    pub fn stop_starting(&mut self) {
        self.stopping = true;
        let queued: Vec<Work> = self.queue.drain(..).collect();
        for w in &queued {
            self.give_back(&w.job);
        }
        self.release_parked(true);
    }

    /// Whether [`Engine::stop_starting`] was called.
    pub fn stopping(&self) -> bool {
        self.stopping
    }

    /// Gives back the work parked behind suspects (when no more is claimed, probing the rest
    /// of a hanging receiver's backlog one timeout at a time would only hold the run up).
    pub fn give_back_parked(&mut self) {
        self.release_parked(true);
    }

    /// Releases the lease of claimed work that will not be sent by this run.
    fn give_back(&mut self, job: &Job) {
        self.released.push(job.delivery_id);
        if let Some(t) = &job.target {
            if let Some(n) = self.per_webhook.get_mut(&t.id) {
                *n = n.saturating_sub(1);
            }
        }
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

    /// Sends through the egress proxies `proxies` says (the CLI reads them once per command;
    /// the engine starts sending directly).
    pub fn set_proxies(&mut self, proxies: Proxies) {
        self.sender.set_proxies(proxies);
    }

    /// A sender for input messages (the `emit` reader).
    pub fn input(&self) -> mpsc::Sender<Msg> {
        self.msg_tx.clone()
    }

    /// Deliveries handed out and not yet recorded.
    pub fn inflight(&self) -> usize {
        self.queue.len() + self.main.busy + self.slow.busy
    }

    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// How many more deliveries to claim now. Queued work holds leases, so only fast receivers
    /// earn a deep queue: with attempts taking `avg_ms`, the queue drains in well under a second.
    /// (A worker never starts a request that could outlive its lease anyway.)
    pub fn room(&self) -> usize {
        // Until measured, assume slow receivers: claim only one round ahead.
        let avg = self.avg_ms.unwrap_or(1000.0);
        let per_worker = if avg < 5.0 {
            64
        } else if avg < 50.0 {
            8
        } else {
            2
        };
        (per_worker * self.concurrency).saturating_sub(self.queue.len() + self.main.busy)
    }

    /// Webhooks not to claim in bulk: their receivers hang or refuse connections.
    pub fn suspects(&self) -> Vec<i64> {
        self.suspects.iter().copied().collect()
    }

    /// Suspects with nothing in flight, and room in the slow lane to probe them.
    pub fn idle_suspects(&self) -> Vec<i64> {
        let room = self.slow.size.saturating_sub(self.slow.busy);
        self.suspects
            .iter()
            .copied()
            .filter(|w| {
                !self.probing.contains(w) && self.per_webhook.get(w).copied().unwrap_or(0) == 0
            })
            .take(room)
            .collect()
    }

    /// Takes claimed deliveries; ones with nowhere to go fail at once, the rest are queued for
    /// the lanes.
    pub fn dispatch(&mut self, jobs: Vec<Job>) {
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
            if !target.enabled && job.event_type != "webhook.test" {
                let o = outcome::not_sent(&job, "Webhook is disabled");
                self.push_ready(&job, o);
                continue;
            }
            let webhook = target.id;
            // Claimed enabled: enabled again since this run disabled it, if it did.
            self.disabled_ids.remove(&webhook);
            let request = match self.prepare(&job) {
                Ok(r) => r,
                Err(why) => {
                    // A key problem on this host: the attempt fails (and is retried), but the
                    // receiver was not asked, so its health is untouched; the caller is told.
                    let o = outcome::not_signed(&job, &why, (self.clock)());
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
            *self.per_webhook.entry(webhook).or_default() += 1;
            self.queue.push_back(Work { job, request });
        }
        self.feed();
    }

    /// An outcome known without a request, written with the next batch.
    fn push_ready(&mut self, job: &Job, o: Outcome) {
        self.note(job, &o);
        self.ready.push(o);
    }

    /// Moves queued work to threads. A suspect's work goes to the slow lane, one request per
    /// webhook at a time; the rest of its claimed work is given back (its leases released), to
    /// be probed later. Everything else goes to the main lane as threads come free.
    fn feed(&mut self) {
        if self.stopping {
            return;
        }
        if !self.suspects.is_empty() {
            let (suspect, rest): (VecDeque<Work>, VecDeque<Work>) =
                self.queue.drain(..).partition(|w| {
                    w.job
                        .target
                        .as_ref()
                        .is_some_and(|t| self.suspects.contains(&t.id))
                });
            self.queue = rest;
            for w in suspect {
                let webhook = w.job.target.as_ref().map_or(0, |t| t.id);
                self.parked.entry(webhook).or_default().push_back(w);
            }
        }
        // One request at a time per suspect, in the slow lane.
        let idle: Vec<i64> = self
            .parked
            .keys()
            .copied()
            .filter(|w| !self.probing.contains(w))
            .collect();
        for webhook in idle {
            if self.slow.busy >= self.slow.size {
                break;
            }
            if let Some(w) = self.parked.get_mut(&webhook).and_then(VecDeque::pop_front) {
                self.probing.insert(webhook);
                self.slow.send(w, &self.msg_tx, &self.sender, self.clock);
            }
        }
        self.parked.retain(|_, q| !q.is_empty());
        while self.main.busy < self.concurrency {
            let Some(w) = self.queue.pop_front() else {
                break;
            };
            if let Some(t) = &w.job.target {
                self.started
                    .insert(w.job.delivery_id, (t.id, Instant::now()));
            }
            self.main.send(w, &self.msg_tx, &self.sender, self.clock);
        }
    }

    /// Gives back parked work: all of it (`all`), or what could not be sent before its lease
    /// runs out. It is due again, for this run's next claim or another process.
    fn release_parked(&mut self, all: bool) {
        let now = (self.clock)();
        let mut given_back = Vec::new();
        for queue in self.parked.values_mut() {
            queue.retain(|w| {
                let keep =
                    !all && fits_lease(now + PARK_SLACK_MS, w.request.timeout, w.job.lease_until);
                if !keep {
                    given_back.push(w.job.clone());
                }
                keep
            });
        }
        self.parked.retain(|_, q| !q.is_empty());
        for job in &given_back {
            self.give_back(job);
        }
    }

    /// Work parked behind suspects.
    pub fn parked(&self) -> usize {
        self.parked.values().map(VecDeque::len).sum()
    }

    /// A main-lane request far slower than usual makes its webhook a suspect at once, and its
    /// thread stops counting against the main lane, which may start another in its place: a
    /// hanging receiver costs healthy ones a moment, not a timeout.
    fn flag_hanging(&mut self) {
        self.release_parked(false);
        let avg = self.avg_ms.unwrap_or(100.0);
        let limit = Duration::from_millis((10.0 * avg).clamp(10.0, 1000.0) as u64);
        let hanging: Vec<(i64, i64)> = self
            .started
            .iter()
            .filter(|(_, (_, at))| at.elapsed() > limit)
            .map(|(d, (w, _))| (*d, *w))
            .collect();
        for (delivery, webhook) in hanging {
            self.suspects.insert(webhook);
            // Threads are bounded: past the slow lane's size, a hanging request keeps its
            // main-lane thread until it times out.
            if self.slow.busy >= self.slow.size {
                continue;
            }
            self.started.remove(&delivery);
            self.moved.insert(delivery);
            self.probing.insert(webhook);
            self.main.busy = self.main.busy.saturating_sub(1);
            self.main.stuck += 1;
            self.slow.busy += 1;
        }
        if !self.moved.is_empty() {
            self.feed();
        }
    }

    /// The request for a job (see [`super::request::build`]).
    fn prepare(&mut self, job: &Job) -> Result<Request, String> {
        if !job.target.as_ref().is_some_and(|t| t.needs_key()) {
            return super::request::build(job, None, (self.clock)());
        }
        let key = self.key(false)?;
        let built = super::request::build(job, Some(&key), (self.clock)());
        if built.is_err() {
            // Maybe sealed under a newer key (a rotation since the key was loaded): load it
            // again and try once more; if that fails too, this attempt fails (and is retried).
            let again = self.key(true)?;
            return super::request::build(job, Some(&again), (self.clock)());
        }
        built
    }

    /// The secret key, loaded once; loaded again when `failed_to_open` (the one in hand did
    /// not open a value: `webnet key rotate`, or a first secret, may have changed it under a
    /// long-running `drain --watch`), and after a failed load. A reload after a failure is
    /// immediate the first time; a further one waits KEY_RELOAD, so a damaged value or a lost
    /// key cannot make every job reload it.
    fn key(&mut self, failed_to_open: bool) -> Result<SecretKey, String> {
        let now = (self.clock)();
        let throttled = |at: Millis| now - at < KEY_RELOAD.as_millis() as i64;
        let reload = match &self.key {
            None => true,
            Some((Err(_), at)) => !throttled(*at),
            Some((Ok(_), at)) => failed_to_open && !(self.key_failed && throttled(*at)),
        };
        if reload {
            let loaded = self.store.secret_key().map_err(|e| e.to_string());
            self.key_failed = failed_to_open;
            self.key = Some((loaded, now));
        }
        self.key
            .as_ref()
            .map_or_else(|| Err("no secret key".into()), |(k, _)| k.clone())
    }

    /// Waits up to `wait` for messages, writes every finished attempt (and any outcome known
    /// without a request) in one transaction, and returns the input messages that arrived.
    ///
    /// When the write fails (the database is busy: another process holds its lock), nothing is
    /// lost: the outcomes are kept and written with the next batch (a lost outcome would have
    /// its delivery sent again), and the input messages are returned by the next call.
    pub fn collect(&mut self, wait: Option<Duration>) -> Result<Vec<Msg>, StoreError> {
        self.flush_released()?;
        let inputs = self.gather(wait);
        match self.write_ready() {
            Ok(()) => Ok(inputs),
            Err(e) => {
                self.held_inputs = inputs;
                Err(e)
            }
        }
    }

    /// Waits up to `wait` for messages (not at all while outcomes wait to be written), does the
    /// bookkeeping of finished attempts, whose outcomes join those waiting for
    /// [`Engine::write_ready`], and returns the input messages that arrived. Touches no
    /// database.
    pub fn gather(&mut self, wait: Option<Duration>) -> Vec<Msg> {
        let mut inputs = std::mem::take(&mut self.held_inputs);
        self.flag_hanging();
        let first = if !self.ready.is_empty() || !inputs.is_empty() {
            self.msg_rx.try_recv().ok()
        } else if self.started.is_empty() {
            match wait {
                None => self.msg_rx.recv().ok(),
                Some(d) => self.msg_rx.recv_timeout(d).ok(),
            }
        } else {
            // Main-lane requests in flight: wake often enough to notice one hanging.
            let d = wait.unwrap_or(Duration::MAX).min(Duration::from_millis(5));
            self.msg_rx.recv_timeout(d).ok()
        };
        // Gather a batch: one transaction for many outcomes. While more results are due
        // shortly, wait a moment for them rather than commit each on its own.
        let want = (self.main.busy + self.queue.len()).min(256);
        let mut gathered = self.ready.len();
        let mut next = first;
        while let Some(msg) = next {
            match msg {
                Msg::Done(done) => {
                    if let Some(o) = self.finished(*done) {
                        self.ready.push(o);
                        gathered += 1;
                    }
                    self.feed();
                }
                other => inputs.push(other),
            }
            if gathered >= want.max(1) || !inputs.is_empty() {
                if gathered >= 1024 {
                    break;
                }
                next = self.msg_rx.try_recv().ok();
            } else {
                next = self.msg_rx.recv_timeout(Duration::from_millis(2)).ok();
            }
        }
        inputs
    }

    /// Writes every outcome waiting (finished attempts, deliveries with nowhere to go) in one
    /// transaction, and gives back the leases of work not sent. On failure (the database is
    /// busy) everything is kept for the next call.
    pub fn write_ready(&mut self) -> Result<(), StoreError> {
        self.flush_released()?;
        let outcomes = std::mem::take(&mut self.ready);
        self.write(outcomes)
    }

    /// Writes outcomes in one transaction; on failure keeps them (ahead of any newer ones) for
    /// the next write.
    fn write(&mut self, mut outcomes: Vec<Outcome>) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let now = (self.clock)();
        match self.store.record_outcomes(&outcomes, &self.owner, now) {
            Ok(disabled) => {
                self.webhooks_disabled(disabled);
                for o in &outcomes {
                    self.summary.add(o);
                }
                if self.keep_outcomes {
                    self.outcomes.extend(outcomes);
                }
                Ok(())
            }
            Err(e) => {
                outcomes.append(&mut self.ready);
                self.ready = outcomes;
                Err(e)
            }
        }
    }

    /// Outcomes known (attempts made, or deliveries with nowhere to go) but not yet written:
    /// a write failed (the database was busy), or they wait for the next batch.
    pub fn unrecorded(&self) -> usize {
        self.ready.len()
    }

    /// Webhooks the outcomes just written disabled: the notes about their deliveries say so
    /// (no further attempt while disabled), and the caller hears of each once
    /// ([`Engine::take_disabled`]).
    fn webhooks_disabled(&mut self, disabled: Vec<Disabled>) {
        if disabled.is_empty() {
            return;
        }
        self.disabled_ids.extend(disabled.iter().map(|d| d.webhook));
        if let Some(notes) = &mut self.notes {
            for n in notes.iter_mut() {
                if n.webhook.is_some_and(|w| self.disabled_ids.contains(&w)) {
                    n.webhook_disabled = true;
                }
            }
        }
        self.disabled.extend(disabled);
    }

    /// The webhooks disabled by outcomes written since the last call (410 Gone, or failing
    /// for longer than their `auto_disable_after`), each with its reason.
    pub fn take_disabled(&mut self) -> Vec<Disabled> {
        std::mem::take(&mut self.disabled)
    }

    /// Bookkeeping for a finished job; its outcome, unless it was skipped.
    fn finished(&mut self, done: Done) -> Option<Outcome> {
        let id = done.job.delivery_id;
        self.started.remove(&id);
        let moved = self.moved.remove(&id);
        if moved {
            self.main.stuck = self.main.stuck.saturating_sub(1);
            self.slow.busy = self.slow.busy.saturating_sub(1);
        } else {
            let lane = if done.slow {
                &mut self.slow
            } else {
                &mut self.main
            };
            lane.busy = lane.busy.saturating_sub(1);
        }
        let webhook = done.job.target.as_ref().map(|t| t.id);
        if let Some(w) = webhook {
            if let Some(n) = self.per_webhook.get_mut(&w) {
                *n = n.saturating_sub(1);
            }
            if done.slow || moved {
                self.probing.remove(&w);
            }
        }
        let Some(sent) = done.sent else {
            // Skipped for want of lease time: nothing was sent, so the lease is given back and
            // the delivery is due again at once (for this run's next claim or another process).
            self.released.push(id);
            return None;
        };
        // The main lane's typical pace; hanging requests moved out of it do not count.
        if !done.slow && !moved {
            let ms = sent.duration_ms as f64;
            self.avg_ms = Some(self.avg_ms.map_or(ms, |avg| 0.9 * avg + 0.1 * ms));
        }
        if let Some(w) = webhook {
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
        }
        // An answer clears a suspect: its parked work goes back to the main lane.
        if let Some(w) = webhook {
            if !self.suspects.contains(&w) {
                if let Some(mut q) = self.parked.remove(&w) {
                    q.append(&mut self.queue);
                    self.queue = q;
                }
            }
        }
        let now = (self.clock)();
        let mut o = outcome::after_attempt(&done.job, done.started_at, &done.headers, &sent, now);
        if let Some(a) = o.attempt.as_mut() {
            // As sent, but never with a credential in it (PagerDuty's routing key).
            let format = done.job.target.as_ref().map(|t| t.payload_format);
            a.request_body = done
                .body
                .map(|b| format.unwrap_or_default().for_the_record(&b));
        }
        self.note(&done.job, &o);
        Some(o)
    }

    fn flush_released(&mut self) -> Result<(), StoreError> {
        if !self.released.is_empty() {
            let ids = std::mem::take(&mut self.released);
            if let Err(e) = self.store.release(&ids, &self.owner) {
                // Released with the next write (or, failing that, when the leases run out).
                self.released.extend(ids);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Sends and records everything handed out so far.
    pub fn settle(&mut self) -> Result<(), StoreError> {
        self.release_parked(true);
        while self.inflight() > 0 || !self.ready.is_empty() {
            self.collect(None)?;
        }
        self.flush_released()
    }

    /// Sends claimed deliveries and waits for the results.
    pub fn send_claimed(&mut self, jobs: Vec<Job>) -> Result<(), StoreError> {
        self.dispatch(jobs);
        self.settle()
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
#[path = "engine_tests.rs"]
mod tests;
