//! The delivery services behind the commands: `emit`, `drain`, manual retries and tests.
//! Results go back to the caller (the CLI prints them).

use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use super::engine::{Engine, Msg, Summary};
use crate::domain::payload::{from_object, Event, MAX_PAYLOAD_BYTES};
use crate::domain::stream::{Piece, Splitter};
use crate::domain::{CustomerId, Scope, ValidationError};
use crate::store::{
    Claim, DeliveryFilter, DeliveryStatus, NewEvent, Outcome, Recorded, StoreError,
};

/// How often an idle `drain --watch` looks for work that other processes queued.
const WATCH_POLL: Duration = Duration::from_secs(1);
/// Lines read from stdin before the reader waits for the coordinator to catch up.
const READ_BATCH: usize = 1000;

#[derive(Debug, Clone, Default)]
pub struct DrainOptions {
    pub watch: bool,
    pub max_time: Option<Duration>,
    pub limit: Option<u64>,
}

/// Sends every due delivery; with `watch`, keeps going and sleeps until more is due.
pub fn drain(engine: &mut Engine<'_>, opts: &DrainOptions) -> Result<Summary, StoreError> {
    let start = (engine.clock)();
    let deadline = opts.max_time.map(|d| start + d.as_millis() as i64);
    let mut claimed_total: u64 = 0;
    loop {
        let now = (engine.clock)();
        let out_of_time = deadline.is_some_and(|d| now >= d);
        let left = opts.limit.map(|l| l.saturating_sub(claimed_total));
        let may_claim = !out_of_time && left != Some(0);
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
                let jobs = engine.store.claim(engine.scope, how, &engine.owner, now)?;
                claimed = jobs.len();
                claimed_total += claimed as u64;
                engine.dispatch(jobs);
            }
        }
        // Receivers that hung or refused connections get one delivery at a time, in the slow
        // lane, until one answers.
        if may_claim {
            for webhook in engine.idle_suspects() {
                if left.is_some_and(|l| claimed_total >= l) {
                    break;
                }
                let how = Claim::DueFor { webhook };
                let jobs = engine.store.claim(engine.scope, how, &engine.owner, now)?;
                claimed += jobs.len();
                claimed_total += jobs.len() as u64;
                engine.dispatch(jobs);
            }
        }
        if engine.inflight() > 0 || claimed > 0 {
            engine.collect(Some(Duration::from_millis(100)))?;
            continue;
        }
        if !opts.watch || !may_claim {
            break;
        }
        // Idle: sleep until the next delivery is due, a lease runs out, or the poll interval.
        let next = engine.store.next_due(engine.scope)?.unwrap_or(i64::MAX);
        let poll = now + WATCH_POLL.as_millis() as i64;
        let wake = next.min(poll).min(deadline.unwrap_or(i64::MAX));
        std::thread::sleep(Duration::from_millis((wake - now).clamp(5, 1000) as u64));
    }
    engine.settle()?;
    Ok(engine.summary)
}

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
) -> Result<EmitSummary, StoreError> {
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
    let mut summary = EmitSummary::default();
    let mut state = EmitState {
        splitter: Splitter::new(),
        known: HashSet::new(),
        pending: VecDeque::new(),
        queue,
    };
    let result = emit_loop(engine, &mut state, &go_tx, &mut summary, report);
    drop(go_tx);
    // The reader may still be blocked on stdin after an error; it is not joined (the process
    // ends soon after), only detached.
    drop(reader);
    let settled = engine.settle();
    result.and(settled)?;
    summary.attempts = engine.summary;
    Ok(summary)
}

struct EmitState {
    splitter: Splitter,
    known: HashSet<CustomerId>,
    /// Recorded deliveries waiting for their first attempt.
    pending: VecDeque<i64>,
    queue: bool,
}

fn emit_loop(
    engine: &mut Engine<'_>,
    st: &mut EmitState,
    go: &mpsc::SyncSender<()>,
    summary: &mut EmitSummary,
    report: &mut dyn EmitReport,
) -> Result<(), StoreError> {
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
            let jobs = engine
                .store
                .claim(engine.scope, Claim::DueIds(&ids), &engine.owner, now)?;
            engine.dispatch(jobs);
        }
        // Let the reader go on once the first attempts have nearly caught up.
        if reader_waiting && st.pending.len() < 4 * engine.concurrency() {
            let _ = go.try_send(());
            reader_waiting = false;
        }
        if eof && st.pending.is_empty() && engine.inflight() == 0 {
            return Ok(());
        }
        for msg in engine.collect(None)? {
            match msg {
                Msg::Lines(lines) => {
                    let mut docs = Vec::new();
                    for (line, text) in lines {
                        match text {
                            Ok(text) => docs.extend(st.splitter.push(line, &text)),
                            Err(message) => docs.push(Piece::Bad { line, message }),
                        }
                    }
                    let ids = record(engine, docs, &mut st.known, summary, report)?;
                    if !st.queue {
                        st.pending.extend(ids);
                    }
                    reader_waiting = true;
                }
                Msg::Eof => {
                    if let Some(Piece::Bad { line, message }) = st.splitter.finish() {
                        summary.rejected += 1;
                        report.rejected(
                            line,
                            &ValidationError {
                                field: "event",
                                message,
                            },
                        );
                    }
                    eof = true;
                }
                Msg::Done(_) => {}
            }
        }
    }
}

/// Validates documents and records the good ones in one transaction; returns the new delivery
/// ids, in order.
fn record(
    engine: &mut Engine<'_>,
    docs: Vec<Piece>,
    known: &mut HashSet<CustomerId>,
    summary: &mut EmitSummary,
    report: &mut dyn EmitReport,
) -> Result<Vec<i64>, StoreError> {
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
            Piece::Doc { line, value } => validate(engine, value, now, known)
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
    let recorded = engine.store.record_events(&new, now)?;
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
    now: i64,
    known: &mut HashSet<CustomerId>,
) -> Result<(CustomerId, Event), ValidationError> {
    let Value::Object(map) = value else {
        return Err(ValidationError::new("event", "must be a JSON object"));
    };
    let event = from_object(map, now)?;
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

/// Why a manual retry was refused.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("delivery {id} is {status}: only failed or retrying deliveries can be retried")]
    NotRetryable { id: i64, status: &'static str },
    #[error("delivery {0} is being sent by another process right now; try again shortly")]
    Busy(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `deliveries retry ID`: one attempt now, on a failed or retrying delivery.
pub fn retry_one(engine: &mut Engine<'_>, id: i64) -> Result<Outcome, RetryError> {
    let d = engine.store.delivery(engine.scope, id)?;
    if !matches!(d.status, DeliveryStatus::Failed | DeliveryStatus::Retrying) {
        return Err(RetryError::NotRetryable {
            id,
            status: d.status.as_str(),
        });
    }
    let now = (engine.clock)();
    let jobs = engine
        .store
        .claim(engine.scope, Claim::RetryIds(&[id]), &engine.owner, now)?;
    if jobs.is_empty() {
        return Err(RetryError::Busy(id));
    }
    engine.keep_outcomes = true;
    engine.send_claimed(jobs)?;
    engine.outcomes.pop().ok_or(RetryError::Busy(id))
}

/// `deliveries retry --failed`: one attempt now for every failed delivery the filter selects.
pub fn retry_failed(
    engine: &mut Engine<'_>,
    filter: &DeliveryFilter,
) -> Result<Summary, StoreError> {
    let filter = DeliveryFilter {
        status: Some(DeliveryStatus::Failed),
        ..filter.clone()
    };
    let ids: Vec<i64> = engine
        .store
        .deliveries(engine.scope, &filter)?
        .iter()
        .map(|d| d.id)
        .collect();
    for chunk in ids.chunks(256) {
        let now = (engine.clock)();
        let jobs = engine
            .store
            .claim(engine.scope, Claim::RetryIds(chunk), &engine.owner, now)?;
        engine.send_claimed(jobs)?;
    }
    Ok(engine.summary)
}

/// `webhooks test ID`: a signed `webhook.test`, recorded and sent now.
pub fn test_webhook(engine: &mut Engine<'_>, webhook: i64) -> Result<Outcome, StoreError> {
    let now = (engine.clock)();
    let hook = engine.store.webhook(engine.scope, webhook)?;
    let payload = crate::domain::payload::test_payload(hook.id, &hook.settings.name, now);
    let job = engine
        .store
        .record_test(engine.scope, webhook, &payload, &engine.owner, now)?;
    let id = job.delivery_id;
    engine.keep_outcomes = true;
    engine.send_claimed(vec![job])?;
    engine.outcomes.pop().ok_or(StoreError::NotFound {
        what: "delivery",
        id: id.to_string(),
    })
}
