//! `emit`: events from arguments or a stream (JSON or NDJSON, read incrementally), validated,
//! recorded with their deliveries one batch per transaction, then their first attempts made at
//! once. A bad document is reported with its line number and does not stop the others.

use std::collections::{HashSet, VecDeque};
use std::io::Read;
use std::sync::mpsc;

use serde_json::Value;

use super::busy::Waiting;
pub use super::busy::{BusyWait, EmitError, Held};
use super::engine::Engine;
use super::summary::{Note, Summary};
use crate::domain::payload::Event;
use crate::domain::stream::Splitter;
use crate::domain::{CustomerId, ValidationError};
use crate::store::{Claim, Disabled, Recorded, Unreadable};

mod read;
mod record;
use read::{read_lines, Lines};
use record::record;
pub use record::validate as validate_event;

/// Where `emit` reads events from.
pub enum Input {
    /// Documents already in hand (the argument form), with their "line" numbers.
    Values(Vec<Value>),
    /// A stream of JSON or NDJSON, read incrementally.
    Reader(Box<dyn Read + Send>),
}

/// What `emit` tells its caller as it goes.
pub trait EmitReport {
    /// An event was recorded (with its deliveries) before any attempt.
    fn recorded(&mut self, line: usize, customer: CustomerId, event: &Event, recorded: &Recorded);
    /// An input document was refused.
    fn rejected(&mut self, line: usize, error: &ValidationError);
    /// A delivery's request could not be signed (`note.not_signed` says why: the secret key
    /// is missing or wrong on this host); the attempt failed and is retried on its schedule.
    fn not_signed(&mut self, note: &Note);
    /// An attempt failed (`note` says why, and whether it is retried): the user at a terminal
    /// would otherwise see only a count.
    fn failed(&mut self, note: &Note);
    /// Recorded outcomes disabled a webhook (410 Gone, or failing too long).
    fn disabled(&mut self, webhook: &Disabled);
    /// Recorded deliveries whose rows could not be read back to send them: they stay queued
    /// (`drain` reports them too).
    fn unreadable(&mut self, deliveries: &[Unreadable]);
    /// The database is busy (locked by another process past the busy timeout, or its server
    /// unreachable): what waits, and why.
    fn busy(&mut self, waiting: &BusyWait, held: Held);
}

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct EmitSummary {
    pub events: u64,
    pub rejected: u64,
    pub deliveries: u64,
    #[serde(flatten)]
    pub attempts: Summary,
}

/// Records events (one transaction per batch) and, unless `queue`, makes their first attempts
/// at once, in parallel; failures are left for `drain`.
pub fn emit(
    engine: &mut Engine<'_>,
    input: Input,
    queue: bool,
    report: &mut dyn EmitReport,
) -> Result<EmitSummary, EmitError> {
    let (go_tx, go_rx) = mpsc::sync_channel::<()>(1);
    // Input comes on its own channel; the engine's carries only finished attempts.
    let (tx, input_rx) = mpsc::channel::<Lines>();
    let reader = match input {
        Input::Values(values) => {
            let lines = values
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i + 1, Ok(v.to_string())))
                .collect();
            let _ = tx.send(Lines::Batch(lines));
            let _ = tx.send(Lines::End);
            None
        }
        Input::Reader(r) => {
            let wake = engine.waker();
            std::thread::Builder::new()
                .name("webnet-stdin".into())
                .spawn(move || read_lines(r, &tx, &go_rx, &wake))
                .ok()
        }
    };
    // Notes tell what the caller must hear about (an unsigned delivery), taken after each
    // batch of outcomes.
    engine.keep_notes();
    let mut summary = EmitSummary::default();
    let mut state = EmitState {
        splitter: Splitter::new(),
        known: HashSet::new(),
        pending: VecDeque::new(),
        queue,
        last_line: 0,
        waiting: Waiting::default(),
    };
    let result = emit_loop(engine, &mut state, &input_rx, &go_tx, &mut summary, report);
    drop(go_tx);
    // The reader may still be blocked on stdin after an error; it is not joined (the process
    // ends soon after), only detached.
    drop(reader);
    let settled = settle(engine, &mut state.waiting, report);
    tell(engine, report);
    result.and(settled)?;
    summary.attempts = engine.summary();
    Ok(summary)
}

/// Sends and records what is in flight; a busy database is waited for as long as the
/// patience lasts.
fn settle(
    engine: &mut Engine<'_>,
    waiting: &mut Waiting,
    report: &mut dyn EmitReport,
) -> Result<(), EmitError> {
    loop {
        let started = engine.now();
        match engine.settle() {
            Ok(()) => return Ok(()),
            Err(e) if e.is_busy() => results_busy(engine, waiting, started, Held::of(&e), report)?,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Writing results found the database busy: wait and go on, or give up.
fn results_busy(
    engine: &mut Engine<'_>,
    waiting: &mut Waiting,
    started: i64,
    held: Held,
    report: &mut dyn EmitReport,
) -> Result<(), EmitError> {
    let count = engine.unrecorded();
    waiting
        .busy(engine.busy_timeout(), engine.now(), started)
        .map_err(|waited| EmitError::ResultsNotRecorded {
            count,
            waited,
            held,
        })?;
    report.busy(&BusyWait::Results { count }, held);
    Ok(())
}

struct EmitState {
    splitter: Splitter,
    known: HashSet<CustomerId>,
    /// Recorded deliveries waiting for their first attempt.
    pending: VecDeque<i64>,
    queue: bool,
    /// The last input line read so far.
    last_line: usize,
    /// Writes finding the database busy.
    waiting: Waiting,
}

fn emit_loop(
    engine: &mut Engine<'_>,
    st: &mut EmitState,
    input: &mpsc::Receiver<Lines>,
    go: &mpsc::SyncSender<()>,
    summary: &mut EmitSummary,
    report: &mut dyn EmitReport,
) -> Result<(), EmitError> {
    let mut reader_waiting = false;
    let mut eof = false;
    loop {
        // Keep the workers busy with first attempts.
        while !st.pending.is_empty()
            && (engine.room() >= engine.concurrency() || engine.inflight() == 0)
        {
            let take = engine.room().min(st.pending.len());
            let ids: Vec<i64> = st.pending.drain(..take).collect();
            // Deliveries a concurrent `drain` took already are simply not returned.
            match engine.claim(Claim::DueIds(&ids)) {
                Ok(jobs) => {
                    let unreadable = engine.take_unreadable();
                    if !unreadable.is_empty() {
                        report.unreadable(&unreadable);
                    }
                    engine.dispatch(jobs);
                }
                Err(e) if e.is_busy() => {
                    // They are recorded and due: `drain` sends them. Waiting for the lock here
                    // would hold up recording the input too.
                    let deliveries = ids.len() + st.pending.len();
                    st.pending.clear();
                    report.busy(&BusyWait::LeftForDrain { deliveries }, Held::of(&e));
                }
                Err(e) => return Err(e.into()),
            }
        }
        // Let the reader go on once the first attempts have nearly caught up.
        if reader_waiting && st.pending.len() < 4 * engine.concurrency() {
            let _ = go.try_send(());
            reader_waiting = false;
        }
        let results_due = engine.inflight() > 0 || engine.unrecorded() > 0;
        if eof && st.pending.is_empty() && !results_due {
            return Ok(());
        }
        // Wait for results, or (with none due) for input.
        let mut lines = Vec::new();
        if results_due {
            // Until a result comes back, or the reader wakes it with input.
            engine.gather(None);
        } else if !eof {
            lines.push(input.recv().unwrap_or(Lines::End));
        }
        if !eof {
            loop {
                match input.try_recv() {
                    Ok(l) => lines.push(l),
                    Err(mpsc::TryRecvError::Empty) => break,
                    // The reader is gone without saying so: the input ended.
                    Err(mpsc::TryRecvError::Disconnected) => {
                        lines.push(Lines::End);
                        break;
                    }
                }
            }
        }
        // The input first: its lines are recorded (or reported) before any result is written.
        for l in lines {
            if eof {
                break;
            }
            let docs = match l {
                Lines::Batch(batch) => {
                    reader_waiting = true;
                    let mut docs = Vec::new();
                    for (line, text) in batch {
                        st.last_line = st.last_line.max(line);
                        match text {
                            Ok(text) => docs.extend(st.splitter.push(line, &text)),
                            Err(message) => docs.extend(st.splitter.push_unreadable(line, message)),
                        }
                    }
                    docs
                }
                Lines::End => {
                    // An unfinished document is reported; lines held back after it may still
                    // be events.
                    eof = true;
                    st.splitter.finish()
                }
            };
            let ids = record(engine, docs, st, summary, report)?;
            if !st.queue {
                st.pending.extend(ids);
            }
        }
        let started = engine.now();
        match engine.write_ready() {
            Ok(()) => st.waiting = Waiting::default(),
            Err(e) if e.is_busy() => {
                results_busy(engine, &mut st.waiting, started, Held::of(&e), report)?
            }
            Err(e) => return Err(e.into()),
        }
        tell(engine, report);
    }
}

/// Passes on what the outcomes recorded so far say that the user must hear about.
fn tell(engine: &mut Engine<'_>, report: &mut dyn EmitReport) {
    for note in engine.take_notes() {
        if note.not_signed.is_some() {
            report.not_signed(&note);
        } else if note.attempt.is_some() && note.status != crate::store::DeliveryStatus::Success {
            report.failed(&note);
        }
    }
    for d in engine.take_disabled() {
        report.disabled(&d);
    }
}
