//! `emit`: events from arguments or a stream (JSON or NDJSON, read incrementally), validated,
//! recorded with their deliveries one batch per transaction, then their first attempts made at
//! once. A bad document is reported with its line number and does not stop the others.

use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc;

use serde_json::Value;

use super::busy::Waiting;
pub use super::busy::{BusyWait, EmitError};
use super::engine::{Engine, Msg};
use super::summary::{Note, Summary};
use crate::domain::payload::{from_document, Event, MAX_PAYLOAD_BYTES};
use crate::domain::stream::{Piece, Splitter};
use crate::domain::{CustomerId, Scope, ValidationError};
use crate::store::{Claim, Disabled, NewEvent, Recorded, StoreError};

/// Lines read from stdin before the reader waits for the coordinator to catch up.
const READ_BATCH: usize = 1000;

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
    /// Recorded outcomes disabled a webhook (410 Gone, or failing too long).
    fn disabled(&mut self, webhook: &Disabled);
    /// The database is busy (locked by another process past the busy timeout): what waits.
    fn busy(&mut self, waiting: &BusyWait);
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
    let tx = engine.input();
    let reader = match input {
        Input::Values(values) => {
            let lines = values
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i + 1, Ok(v.to_string())))
                .collect();
            let _ = tx.send(Msg::Lines(lines));
            let _ = tx.send(Msg::Eof);
            None
        }
        Input::Reader(r) => std::thread::Builder::new()
            .name("webnet-stdin".into())
            .spawn(move || read_lines(r, &tx, &go_rx))
            .ok(),
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
    let result = emit_loop(engine, &mut state, &go_tx, &mut summary, report);
    drop(go_tx);
    // The reader may still be blocked on stdin after an error; it is not joined (the process
    // ends soon after), only detached.
    drop(reader);
    let settled = settle(engine, &mut state.waiting, report);
    tell(engine, report);
    result.and(settled)?;
    summary.attempts = engine.summary;
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
        let started = (engine.clock)();
        match engine.settle() {
            Ok(()) => return Ok(()),
            Err(e) if e.is_busy() => results_busy(engine, waiting, started, report)?,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Writing results found the database busy: wait and go on, or give up.
fn results_busy(
    engine: &mut Engine<'_>,
    waiting: &mut Waiting,
    started: i64,
    report: &mut dyn EmitReport,
) -> Result<(), EmitError> {
    let count = engine.unrecorded();
    waiting
        .busy(engine, started)
        .map_err(|waited| EmitError::ResultsNotRecorded { count, waited })?;
    report.busy(&BusyWait::Results { count });
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
            let now = (engine.clock)();
            // Deliveries a concurrent `drain` took already are simply not returned.
            match engine
                .store
                .claim(engine.scope, Claim::DueIds(&ids), &engine.owner, now)
            {
                Ok(jobs) => engine.dispatch(jobs),
                Err(e) if e.is_busy() => {
                    // They are recorded and due: `drain` sends them. Waiting for the lock here
                    // would hold up recording the input too.
                    let deliveries = ids.len() + st.pending.len();
                    st.pending.clear();
                    report.busy(&BusyWait::LeftForDrain { deliveries });
                }
                Err(e) => return Err(e.into()),
            }
        }
        // Let the reader go on once the first attempts have nearly caught up.
        if reader_waiting && st.pending.len() < 4 * engine.concurrency() {
            let _ = go.try_send(());
            reader_waiting = false;
        }
        if eof && st.pending.is_empty() && engine.inflight() == 0 && engine.unrecorded() == 0 {
            return Ok(());
        }
        let inputs = engine.gather(None);
        // The input first: its lines are recorded (or reported) before any result is written.
        for msg in inputs {
            match msg {
                Msg::Lines(lines) => {
                    let mut docs = Vec::new();
                    for (line, text) in lines {
                        st.last_line = st.last_line.max(line);
                        match text {
                            Ok(text) => docs.extend(st.splitter.push(line, &text)),
                            Err(message) => docs.extend(st.splitter.push_unreadable(line, message)),
                        }
                    }
                    let ids = record(engine, docs, st, summary, report)?;
                    if !st.queue {
                        st.pending.extend(ids);
                    }
                    reader_waiting = true;
                }
                Msg::Eof => {
                    // An unfinished document is reported; lines held back after it may still
                    // be events.
                    let docs = st.splitter.finish();
                    let ids = record(engine, docs, st, summary, report)?;
                    if !st.queue {
                        st.pending.extend(ids);
                    }
                    eof = true;
                }
                Msg::Done(_) => {}
            }
        }
        let started = (engine.clock)();
        match engine.write_ready() {
            Ok(()) => st.waiting = Waiting::default(),
            Err(e) if e.is_busy() => results_busy(engine, &mut st.waiting, started, report)?,
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
        }
    }
    for d in engine.take_disabled() {
        report.disabled(&d);
    }
}

/// Validates documents and records the good ones in one transaction; returns the new delivery
/// ids, in order.
fn record(
    engine: &mut Engine<'_>,
    docs: Vec<Piece>,
    st: &mut EmitState,
    summary: &mut EmitSummary,
    report: &mut dyn EmitReport,
) -> Result<Vec<i64>, EmitError> {
    let known = &mut st.known;
    let now = (engine.clock)();
    let mut events: Vec<(usize, CustomerId, Event)> = Vec::new();
    for doc in docs {
        let checked = match doc {
            Piece::Bad { line, message } => Err((
                line,
                ValidationError {
                    field: "event",
                    message,
                },
            )),
            Piece::Doc { line, value, text } => validate(engine, value, &text, now, known)
                .map(|(c, e)| (line, c, e))
                .map_err(|e| (line, e)),
        };
        match checked {
            Ok(ok) => events.push(ok),
            Err((line, e)) => {
                summary.rejected += 1;
                report.rejected(line, &e);
            }
        }
    }
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let new: Vec<NewEvent<'_>> = events
        .iter()
        .map(|(_, c, e)| NewEvent {
            customer: *c,
            event_type: e.event_type,
            event_id: e.event_id,
            payload: &e.payload,
        })
        .collect();
    // A busy database is waited for (the lines are in hand, and a streaming producer such as
    // `tail -F` will not send them again), up to the patience; then the caller is told which
    // lines to send again.
    let first = events.first().map_or(0, |(line, _, _)| *line);
    let recorded = loop {
        let started = (engine.clock)();
        match engine.store.record_events(&new, now) {
            Ok(recorded) => {
                st.waiting = Waiting::default();
                break recorded;
            }
            Err(e) if e.is_busy() => {
                let last = st.last_line.max(first);
                st.waiting
                    .busy(engine, started)
                    .map_err(|waited| EmitError::NotRecorded {
                        first,
                        last,
                        waited,
                    })?;
                report.busy(&BusyWait::Recording { first, last });
            }
            Err(e) => return Err(e.into()),
        }
    };
    let mut ids = Vec::new();
    for ((line, customer, event), rec) in events.iter().zip(&recorded) {
        summary.events += 1;
        summary.deliveries += rec.deliveries.len() as u64;
        ids.extend(rec.deliveries.iter().map(|(d, _)| *d));
        report.recorded(*line, *customer, event, rec);
    }
    Ok(ids)
}

/// One event's checks beyond its shape: whose it is, and that the customer exists.
fn validate(
    engine: &Engine<'_>,
    value: Value,
    text: &str,
    now: i64,
    known: &mut HashSet<CustomerId>,
) -> Result<(CustomerId, Event), ValidationError> {
    let Value::Object(map) = value else {
        return Err(ValidationError::new("event", "must be a JSON object"));
    };
    let event = from_document(map, Some(text), now)?;
    let customer = match (event.customer, engine.scope) {
        (Some(c), Scope::Customer(pinned)) if c != pinned => {
            return Err(ValidationError::new(
                "customer",
                format!("{c} is not the pinned customer {pinned}; refused"),
            ))
        }
        (Some(c), _) => c,
        (None, Scope::Customer(pinned)) => pinned,
        (None, Scope::All) => {
            return Err(ValidationError::new(
                "customer",
                "is missing: give \"customer\" in the event or --customer",
            ))
        }
    };
    if !known.contains(&customer) {
        match engine.store.customer(Scope::All, customer) {
            Ok(_) => {
                known.insert(customer);
            }
            Err(StoreError::NotFound { .. }) => {
                return Err(ValidationError::new(
                    "customer",
                    format!("no customer {customer}"),
                ))
            }
            Err(e) => return Err(ValidationError::new("customer", e.to_string())),
        }
    }
    Ok((customer, event))
}

/// Reads lines incrementally, in batches of what is already buffered, waiting for the
/// coordinator's go-ahead between batches so a fast producer cannot outrun delivery.
fn read_lines(input: Box<dyn Read + Send>, tx: &mpsc::Sender<Msg>, go: &mpsc::Receiver<()>) {
    let max_line = (2 * MAX_PAYLOAD_BYTES) as u64;
    let mut r = BufReader::with_capacity(64 * 1024, input);
    let mut line_no = 0usize;
    loop {
        let mut batch = Vec::new();
        let mut eof = false;
        loop {
            let mut bytes = Vec::new();
            match (&mut r).take(max_line).read_until(b'\n', &mut bytes) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    line_no += 1;
                    batch.push((line_no, Err(format!("cannot read standard input: {e}"))));
                    eof = true;
                    break;
                }
            }
            line_no += 1;
            if bytes.last() != Some(&b'\n') && bytes.len() as u64 == max_line {
                // Too long: skip to the end of this line.
                let mut rest = Vec::new();
                while let Ok(n) = (&mut r).take(64 * 1024).read_until(b'\n', &mut rest) {
                    if n == 0 || rest.last() == Some(&b'\n') {
                        break;
                    }
                    rest.clear();
                }
                batch.push((
                    line_no,
                    Err(format!("line is longer than {max_line} bytes")),
                ));
            } else {
                while matches!(bytes.last(), Some(b'\n' | b'\r')) {
                    bytes.pop();
                }
                batch.push((
                    line_no,
                    String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string()),
                ));
            }
            if batch.len() >= READ_BATCH || !r.buffer().contains(&b'\n') {
                break;
            }
        }
        if !batch.is_empty() && (tx.send(Msg::Lines(batch)).is_err() || go.recv().is_err()) {
            return;
        }
        if eof {
            let _ = tx.send(Msg::Eof);
            return;
        }
    }
}
