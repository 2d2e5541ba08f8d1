//! The sending machinery shared by `emit`, `drain` and `retry`: a bounded pool of worker threads
//! sharing one HTTP sender, fed by a coordinator that alone touches the database. Claims happen
//! before work is handed out; outcomes are written in batches as they come back.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::outcome;
use super::send::{Reply, Request, Sender, Sent, USER_AGENT};
use crate::domain::secret::SecretKey;
use crate::domain::signature::sign;
use crate::domain::time::Millis;
use crate::domain::Scope;
use crate::store::{Job, Outcome, Store, StoreError};

/// The clock, passed in so tests and benchmarks can drive time.
pub type Clock = fn() -> Millis;

/// The system clock.
pub fn system_clock() -> Millis {
    crate::domain::time::to_millis(std::time::SystemTime::now())
}

/// Messages to the coordinator: finished attempts, and (for `emit`) input from the reader.
pub enum Msg {
    Done(Box<Done>),
    Lines(Vec<(usize, Result<String, String>)>),
    Eof,
}

pub struct Done {
    job: Job,
    started_at: Millis,
    headers: Vec<(String, String)>,
    /// `None` when the lease ran out before a worker was free: nothing was sent.
    sent: Option<Sent>,
}

struct Work {
    job: Job,
    request: Request,
}

/// Counts of what a run did, for the command's summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub attempted: u64,
    pub succeeded: u64,
    pub retrying: u64,
    pub failed: u64,
}

impl Summary {
    fn add(&mut self, o: &Outcome) {
        use crate::store::DeliveryStatus as S;
        if o.attempt.is_some() {
            self.attempted += 1;
        }
        match o.status {
            S::Success => self.succeeded += 1,
            S::Retrying => self.retrying += 1,
            S::Failed => self.failed += 1,
            S::Pending => {}
        }
    }
}

pub struct Engine<'s> {
    pub store: &'s mut Store,
    pub scope: Scope,
    pub owner: String,
    pub clock: Clock,
    pub summary: Summary,
    concurrency: usize,
    inflight: usize,
    work_tx: Option<mpsc::Sender<Work>>,
    msg_tx: mpsc::Sender<Msg>,
    msg_rx: mpsc::Receiver<Msg>,
    workers: Vec<JoinHandle<()>>,
    key: Option<Result<SecretKey, String>>,
    /// Outcomes known without a request (disabled, deleted), written with the next batch.
    ready: Vec<Outcome>,
    /// Every outcome written, when the caller wants them (single retries, tests).
    pub keep_outcomes: bool,
    pub outcomes: Vec<Outcome>,
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
    pub fn new(
        store: &'s mut Store,
        scope: Scope,
        allow_private: bool,
        concurrency: usize,
        clock: Clock,
    ) -> Engine<'s> {
        let concurrency = concurrency.clamp(1, 256);
        let sender = Arc::new(Sender::new(allow_private, concurrency));
        let (work_tx, work_rx) = mpsc::channel::<Work>();
        let (msg_tx, msg_rx) = mpsc::channel::<Msg>();
        let work_rx = Arc::new(Mutex::new(work_rx));
        let workers = (0..concurrency)
            .map(|i| {
                let rx = Arc::clone(&work_rx);
                let tx = msg_tx.clone();
                let sender = Arc::clone(&sender);
                std::thread::Builder::new()
                    .name(format!("webnet-send-{i}"))
                    .spawn(move || worker(&rx, &tx, &sender, clock))
            })
            .filter_map(Result::ok)
            .collect();
        Engine {
            store,
            scope,
            owner: lease_owner(),
            clock,
            summary: Summary::default(),
            concurrency,
            inflight: 0,
            work_tx: Some(work_tx),
            msg_tx,
            msg_rx,
            workers,
            key: None,
            ready: Vec::new(),
            keep_outcomes: false,
            outcomes: Vec::new(),
        }
    }

    /// A sender for input messages (the `emit` reader).
    pub fn input(&self) -> mpsc::Sender<Msg> {
        self.msg_tx.clone()
    }

    pub fn inflight(&self) -> usize {
        self.inflight
    }

    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// How many more deliveries to claim now: enough to keep every worker busy and one more
    /// round queued, no more (queued work holds leases).
    pub fn room(&self) -> usize {
        (2 * self.concurrency).saturating_sub(self.inflight)
    }

    /// Hands claimed deliveries to the workers; ones with nowhere to go fail at once.
    pub fn dispatch(&mut self, jobs: Vec<Job>) {
        for job in jobs {
            let Some(target) = &job.target else {
                self.ready
                    .push(outcome::not_sent(&job, "Webhook was deleted"));
                continue;
            };
            // `webhooks test` may test a disabled webhook; nothing else is sent to one.
            if !target.enabled && job.event_type != "webhook.test" {
                self.ready
                    .push(outcome::not_sent(&job, "Webhook is disabled"));
                continue;
            }
            let request = match self.prepare(&job) {
                Ok(r) => r,
                Err(message) => {
                    let now = (self.clock)();
                    let failed = Sent {
                        reply: Reply::Error(message),
                        duration_ms: 0,
                    };
                    self.ready
                        .push(outcome::after_attempt(&job, now, &[], &failed, now));
                    continue;
                }
            };
            if let Some(tx) = &self.work_tx {
                if tx.send(Work { job, request }).is_ok() {
                    self.inflight += 1;
                }
            }
        }
    }

    /// The request for a job: stored payload bytes, signed when the webhook has a secret.
    fn prepare(&mut self, job: &Job) -> Result<Request, String> {
        let target = job.target.as_ref().ok_or("Webhook was deleted")?;
        let mut headers: Vec<(String, String)> = vec![
            ("Content-Type".into(), "application/json".into()),
            ("User-Agent".into(), USER_AGENT.into()),
        ];
        headers.extend(target.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        headers.push(("X-Webhook-Event".into(), job.event_type.clone()));
        headers.push(("X-Webhook-Delivery".into(), job.delivery_id.to_string()));
        if let Some(sealed) = &target.sealed_secret {
            let key = self.key()?;
            let secret = key
                .open_secret(sealed)
                .map_err(|e| format!("cannot decrypt the webhook secret: {e}"))?;
            headers.push(("X-Webhook-Signature".into(), sign(&secret, &job.payload)));
        }
        Ok(Request {
            url: target.url.clone(),
            body: Arc::from(job.payload.as_slice()),
            headers,
            timeout: Duration::from_secs(target.timeout_seconds.into()),
            verify_ssl: target.verify_ssl,
        })
    }

    fn key(&mut self) -> Result<SecretKey, String> {
        if self.key.is_none() {
            self.key = Some(
                self.store
                    .secret_key(false)
                    .map_err(|e| format!("cannot decrypt the webhook secret: {e}")),
            );
        }
        self.key
            .clone()
            .unwrap_or_else(|| Err("no secret key".into()))
    }

    /// Waits up to `wait` for messages, writes every finished attempt (and any outcome known
    /// without a request) in one transaction, and returns the input messages that arrived.
    pub fn collect(&mut self, wait: Option<Duration>) -> Result<Vec<Msg>, StoreError> {
        let mut inputs = Vec::new();
        let mut outcomes = std::mem::take(&mut self.ready);
        let first = if !outcomes.is_empty() {
            self.msg_rx.try_recv().ok()
        } else {
            match wait {
                None => self.msg_rx.recv().ok(),
                Some(d) => self.msg_rx.recv_timeout(d).ok(),
            }
        };
        let mut next = first;
        while let Some(msg) = next {
            match msg {
                Msg::Done(done) => {
                    self.inflight = self.inflight.saturating_sub(1);
                    if let Some(o) = self.outcome_of(*done) {
                        outcomes.push(o);
                    }
                }
                other => inputs.push(other),
            }
            if outcomes.len() >= 1024 {
                break;
            }
            next = self.msg_rx.try_recv().ok();
        }
        if !outcomes.is_empty() {
            let now = (self.clock)();
            self.store.record_outcomes(&outcomes, &self.owner, now)?;
            for o in &outcomes {
                self.summary.add(o);
            }
            if self.keep_outcomes {
                self.outcomes.extend(outcomes);
            }
        }
        Ok(inputs)
    }

    fn outcome_of(&self, done: Done) -> Option<Outcome> {
        // Skipped for want of lease time: the lease runs out and another claim sends it.
        let sent = done.sent?;
        let now = (self.clock)();
        Some(outcome::after_attempt(
            &done.job,
            done.started_at,
            &done.headers,
            &sent,
            now,
        ))
    }

    /// Sends and records everything handed out so far.
    pub fn settle(&mut self) -> Result<(), StoreError> {
        while self.inflight > 0 || !self.ready.is_empty() {
            self.collect(None)?;
        }
        Ok(())
    }

    /// Claims `ids` (manual retry or first attempts) and sends them, waiting for the results.
    pub fn send_claimed(&mut self, jobs: Vec<Job>) -> Result<(), StoreError> {
        for chunk in jobs.chunks(self.concurrency.max(1)) {
            self.dispatch(chunk.to_vec());
            while self.inflight >= self.concurrency {
                self.collect(None)?;
            }
        }
        self.settle()
    }
}

impl Drop for Engine<'_> {
    fn drop(&mut self) {
        // Closing the work channel ends the workers once they finish their current request.
        self.work_tx = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn worker(rx: &Mutex<mpsc::Receiver<Work>>, tx: &mpsc::Sender<Msg>, sender: &Sender, clock: Clock) {
    loop {
        let work = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        let Ok(Work { job, request }) = work else {
            return;
        };
        let started_at = clock();
        // Never start a request that could outlive the lease: another process may then take
        // the delivery, and it must not be sent twice at once.
        let need = started_at + request.timeout.as_millis() as Millis + 1000;
        let sent = (need <= job.lease_until).then(|| sender.send(&request));
        let done = Done {
            job,
            started_at,
            headers: request.headers,
            sent,
        };
        if tx.send(Msg::Done(Box::new(done))).is_err() {
            return;
        }
    }
}
