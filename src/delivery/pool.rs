//! Worker threads. Two lanes share one HTTP sender: the main lane (`--concurrency` threads)
//! for healthy receivers, and a slow lane for webhooks that just timed out or could not be
//! reached, so a hanging receiver ties up only threads that would otherwise idle.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::engine::{Clock, Done, Msg};
use super::send::{Request, Sender};
use crate::domain::time::Millis;
use crate::store::Job;

pub struct Work {
    pub job: Job,
    pub request: Request,
}

/// A lane: its threads and the channel that feeds them.
pub struct Lane {
    tx: Option<mpsc::Sender<Work>>,
    rx: Arc<Mutex<mpsc::Receiver<Work>>>,
    threads: Vec<JoinHandle<()>>,
    /// Jobs handed to this lane and not yet done.
    pub busy: usize,
    /// Threads still held by a request whose job was moved out of this lane's count (a hanging
    /// receiver): they are busy, but the lane may start others in their place.
    pub stuck: usize,
    /// Most threads this lane may have.
    pub size: usize,
    name: &'static str,
    slow: bool,
}

impl Lane {
    pub fn new(name: &'static str, size: usize, slow: bool) -> Lane {
        let (tx, rx) = mpsc::channel();
        Lane {
            tx: Some(tx),
            rx: Arc::new(Mutex::new(rx)),
            threads: Vec::new(),
            busy: 0,
            stuck: 0,
            size,
            name,
            slow,
        }
    }

    /// Hands `work` to a thread, starting one if every thread is busy and the lane has room.
    pub fn send(
        &mut self,
        work: Work,
        done: &mpsc::Sender<Msg>,
        sender: &Arc<Sender>,
        clock: Clock,
    ) -> bool {
        if self.threads.len() <= self.busy + self.stuck
            && self.threads.len() < self.size + self.stuck
        {
            let rx = Arc::clone(&self.rx);
            let tx = done.clone();
            let sender = Arc::clone(sender);
            let n = self.threads.len();
            let slow = self.slow;
            if let Ok(t) = std::thread::Builder::new()
                .name(format!("webnet-{}-{n}", self.name))
                .stack_size(512 * 1024)
                .spawn(move || worker(&rx, &tx, &sender, clock, slow))
            {
                self.threads.push(t);
            }
        }
        match &self.tx {
            Some(tx) if tx.send(work).is_ok() => {
                self.busy += 1;
                true
            }
            _ => false,
        }
    }

    /// Ends the threads once they finish their current request.
    pub fn close(&mut self) {
        self.tx = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Whether a request of `timeout` started at `start` ends, with a second to record it, before
/// `lease_until`.
pub fn fits_lease(start: Millis, timeout: std::time::Duration, lease_until: Millis) -> bool {
    start + timeout.as_millis() as Millis + 1000 <= lease_until
}

fn worker(
    rx: &Mutex<mpsc::Receiver<Work>>,
    tx: &mpsc::Sender<Msg>,
    sender: &Sender,
    clock: Clock,
    slow: bool,
) {
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
        let sent =
            fits_lease(started_at, request.timeout, job.lease_until).then(|| sender.send(&request));
        let done = Done {
            job,
            started_at,
            headers: request.headers,
            body: request.rendered.then_some(request.body),
            sent,
            slow,
        };
        if tx.send(Msg::Done(Box::new(done))).is_err() {
            return;
        }
    }
}
