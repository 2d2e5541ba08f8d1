//! Worker threads. Two lanes share one HTTP sender: the main lane (`--concurrency` threads)
//! for healthy receivers, and a slow lane for webhooks that just timed out or could not be
//! reached, so a hanging receiver ties up only threads that would otherwise idle.
//!
//! A lane keeps its own counts: work handed to it and not yet done (`busy`), and threads held
//! by a request moved out of its count (`stuck`: a hanging receiver's, counted in the slow
//! lane since). The coordinator says what happened; the lane counts.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::clock::Clock;
use super::send::Sender;
use super::work::{fits_lease, Done, Work};

/// A lane: its threads and the channel that feeds them.
pub struct Lane {
    tx: Option<mpsc::Sender<Work>>,
    rx: Arc<Mutex<mpsc::Receiver<Work>>>,
    threads: Vec<JoinHandle<()>>,
    /// Jobs handed to this lane (or moved into its count) and not yet done.
    busy: usize,
    /// Threads still held by a request moved out of this lane's count: they are busy, but the
    /// lane may start others in their place.
    stuck: usize,
    /// Most threads this lane may have (beyond the stuck ones).
    size: usize,
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

    /// Work in this lane's count.
    pub fn busy(&self) -> usize {
        self.busy
    }

    /// How much more work this lane may take now.
    pub fn room(&self) -> usize {
        self.size.saturating_sub(self.busy)
    }

    /// Hands `work` to a thread, starting one if every thread is busy and the lane has room.
    pub fn send(
        &mut self,
        work: Work,
        done: &mpsc::Sender<Option<Box<Done>>>,
        sender: &Arc<Sender>,
        clock: &Clock,
    ) -> bool {
        if self.threads.len() <= self.busy + self.stuck
            && self.threads.len() < self.size + self.stuck
        {
            let rx = Arc::clone(&self.rx);
            let tx = done.clone();
            let sender = Arc::clone(sender);
            let clock = clock.clone();
            let n = self.threads.len();
            let slow = self.slow;
            if let Ok(t) = std::thread::Builder::new()
                .name(format!("webnet-{}-{n}", self.name))
                .stack_size(512 * 1024)
                .spawn(move || worker(&rx, &tx, &sender, &clock, slow))
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

    /// Work this lane was handed is done.
    pub fn done(&mut self) {
        self.busy = self.busy.saturating_sub(1);
    }

    /// A request of this lane hangs and now counts in another lane: its thread stays held, but
    /// the lane may start another in its place.
    pub fn move_out(&mut self) {
        self.busy = self.busy.saturating_sub(1);
        self.stuck += 1;
    }

    /// A request moved out of this lane's count is done: its thread is free again.
    pub fn moved_out_done(&mut self) {
        self.stuck = self.stuck.saturating_sub(1);
    }

    /// Another lane's hanging request counts in this lane until it is done ([`Lane::done`]).
    pub fn move_in(&mut self) {
        self.busy += 1;
    }

    /// Ends the threads once they finish their current request.
    pub fn close(&mut self) {
        self.tx = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn worker(
    rx: &Mutex<mpsc::Receiver<Work>>,
    tx: &mpsc::Sender<Option<Box<Done>>>,
    sender: &Sender,
    clock: &Clock,
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
        let started_at = clock.now();
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
        if tx.send(Some(Box::new(done))).is_err() {
            return;
        }
    }
}
