//! Group commit for `POST /api/v1/events/`. Every request's events are validated on its own
//! (token, fields, customer) and then handed to one recorder thread with its own connection,
//! which records everything waiting in one transaction: one disk sync for many requests, where
//! SQLite would otherwise take them one writer at a time, each with its own sync. Each request
//! is answered only once its events are committed, so a 202 still means recorded. If a
//! combined write fails for a reason that is not the database being busy (one request's
//! customer deleted meanwhile, say), each request is recorded alone, so one cannot fail
//! another.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::error::ApiError;
use crate::delivery::system_clock;
use crate::domain::payload::Event;
use crate::domain::CustomerId;
use crate::ops;
use crate::store::{Recorded, Store};

/// Events recorded in one transaction at most (a request carries up to 1000).
const GROUP_MAX: usize = 4000;

type Reply = oneshot::Sender<Result<Vec<Recorded>, ApiError>>;

struct Job {
    events: Vec<(CustomerId, Event)>,
    reply: Reply,
}

/// The recorder's door; dropping it (with the server) ends its thread.
pub struct Recorder {
    jobs: mpsc::Sender<Job>,
}

impl Recorder {
    pub fn start(store: Store) -> std::io::Result<Recorder> {
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("webnet-recorder".into())
            .spawn(move || run(store, rx))?;
        Ok(Recorder { jobs })
    }

    /// Records `events` (with the others waiting) and answers when they are committed.
    pub async fn record(
        &self,
        events: Vec<(CustomerId, Event)>,
    ) -> Result<(Vec<(CustomerId, Event)>, Vec<Recorded>), ApiError> {
        let stopped = || ApiError::Unavailable("The server is stopping; send again.".into());
        let (reply, answer) = oneshot::channel();
        let events_back = events.clone();
        self.jobs
            .send(Job { events, reply })
            .map_err(|_| stopped())?;
        match answer.await {
            Ok(Ok(recorded)) => Ok((events_back, recorded)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(stopped()),
        }
    }
}

/// How often the log repeats that a webhook is passed over (as `drain --watch` repeats an
/// unreadable row: once per hold).
const PASSED_OVER_SAID_EVERY: Duration = Duration::from_secs(300);

/// Webhooks the log has said were passed over (see [`crate::store::PassedOver`]), and when.
#[derive(Default)]
struct Said(HashMap<i64, Instant>);

impl Said {
    fn passed_over(&mut self, recorded: &[Recorded]) {
        for p in recorded.iter().flat_map(|r| &r.passed_over) {
            let now = Instant::now();
            match self.0.get(&p.webhook) {
                Some(at) if now.duration_since(*at) < PASSED_OVER_SAID_EVERY => {}
                _ => {
                    self.0.insert(p.webhook, now);
                    eprintln!("serve: warning: {}", p.line());
                }
            }
        }
    }
}

fn run(mut store: Store, rx: mpsc::Receiver<Job>) {
    let mut said = Said::default();
    while let Ok(first) = rx.recv() {
        store.revive_if_idle();
        let mut group = vec![first];
        let mut size = group[0].events.len();
        while size < GROUP_MAX {
            match rx.try_recv() {
                Ok(job) => {
                    size += job.events.len();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        record_group(&mut store, group, &mut said);
    }
}

fn record_group(store: &mut Store, group: Vec<Job>, said: &mut Said) {
    if group.len() > 1 {
        let all: Vec<(CustomerId, Event)> = group
            .iter()
            .flat_map(|j| j.events.iter().cloned())
            .collect();
        match ops::events::record(store, &all, system_clock()) {
            Ok(recorded) => {
                said.passed_over(&recorded);
                let mut recorded = recorded.into_iter();
                for job in group {
                    let mine: Vec<Recorded> = recorded.by_ref().take(job.events.len()).collect();
                    let _ = job.reply.send(Ok(mine));
                }
                return;
            }
            Err(e) if e.store_error().is_some_and(|s| s.is_busy()) => {
                // Nothing was written; every request hears it (503, try again).
                let e = ApiError::from(e);
                for job in group {
                    let _ = job.reply.send(Err(e.clone()));
                }
                return;
            }
            // One request's events spoil the group: each is recorded alone below.
            Err(_) => {}
        }
    }
    for job in group {
        let result =
            ops::events::record(store, &job.events, system_clock()).map_err(ApiError::from);
        if let Ok(recorded) = &result {
            said.passed_over(recorded);
        }
        let _ = job.reply.send(result);
    }
}
