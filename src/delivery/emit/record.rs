//! Recording `emit`'s input: documents validated, their customers looked up, the good ones
//! recorded in one transaction; a busy database waited for, up to the patience.

use serde_json::Value;

use super::{BusyWait, EmitError, EmitReport, EmitState, EmitSummary};
use crate::delivery::busy::{Held, Waiting};
use crate::delivery::engine::Engine;
use crate::domain::payload::{from_document, Event};
use crate::domain::stream::Piece;
use crate::domain::{CustomerId, Scope, ValidationError};
use crate::store::{NewEvent, StoreError};

/// Validates documents and records the good ones in one transaction; returns the new delivery
/// ids, in order. A bad document is reported and skipped; a database failure (looking up a
/// customer, or recording) is not the input's fault: it ends `emit` (a busy database is
/// waited for first, up to the patience).
pub(super) fn record(
    engine: &mut Engine<'_>,
    docs: Vec<Piece>,
    st: &mut EmitState,
    summary: &mut EmitSummary,
    report: &mut dyn EmitReport,
) -> Result<Vec<i64>, EmitError> {
    let now = engine.now();
    let mut events: Vec<(usize, CustomerId, Event)> = Vec::new();
    for doc in docs {
        let (line, refused) = match doc {
            Piece::Bad { line, message } => (
                line,
                ValidationError {
                    field: "event",
                    message,
                },
            ),
            Piece::Doc { line, value, text } => match validate(engine.scope(), value, &text, now) {
                Err(e) => (line, e),
                Ok((c, e)) => {
                    // The first line not recorded, should the database stay busy.
                    let first = events.first().map_or(line, |(l, _, _)| *l);
                    if customer_exists(engine, st, c, first, report)? {
                        events.push((line, c, e));
                        continue;
                    }
                    let e = ValidationError::new("customer", format!("no customer {c}"));
                    (line, e)
                }
            },
        };
        summary.rejected += 1;
        report.rejected(line, &refused);
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
        let started = engine.now();
        match engine.record_events(&new, now) {
            Ok(recorded) => {
                st.waiting = Waiting::default();
                break recorded;
            }
            Err(e) if e.is_busy() => still_busy(engine, st, first, started, Held::of(&e), report)?,
            Err(source) => return Err(EmitError::Failed { first, source }),
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

/// Recording lines from `first` on found the database busy: wait and go on, or give up naming
/// the lines to send again.
fn still_busy(
    engine: &Engine<'_>,
    st: &mut EmitState,
    first: usize,
    started: i64,
    held: Held,
    report: &mut dyn EmitReport,
) -> Result<(), EmitError> {
    let last = st.last_line.max(first);
    st.waiting
        .busy(engine.busy_timeout(), engine.now(), started)
        .map_err(|waited| EmitError::NotRecorded {
            first,
            last,
            waited,
            held,
        })?;
    report.busy(&BusyWait::Recording { first, last }, held);
    Ok(())
}

/// Whether `customer` exists (looked up once per run). A lookup that fails is a database
/// failure, not a bad line: busy is waited for like recording (`first`: the first line not
/// recorded yet), anything else ends `emit`.
fn customer_exists(
    engine: &Engine<'_>,
    st: &mut EmitState,
    customer: CustomerId,
    first: usize,
    report: &mut dyn EmitReport,
) -> Result<bool, EmitError> {
    if st.known.contains(&customer) {
        return Ok(true);
    }
    loop {
        let started = engine.now();
        match engine.customer(customer) {
            Ok(_) => {
                st.known.insert(customer);
                return Ok(true);
            }
            Err(StoreError::NotFound { .. }) => return Ok(false),
            Err(e) if e.is_busy() => still_busy(engine, st, first, started, Held::of(&e), report)?,
            Err(source) => return Err(EmitError::Failed { first, source }),
        }
    }
}

/// One event's checks beyond its shape: whose it is (the customer it names, or the pinned one).
pub fn validate(
    scope: Scope,
    value: Value,
    text: &str,
    now: i64,
) -> Result<(CustomerId, Event), ValidationError> {
    let map = match value {
        Value::Object(map) => map,
        Value::Array(_) => return Err(ValidationError::new(
            "event",
            "is a JSON array, not an event object (on emit's stdin, one event per line: NDJSON)",
        )),
        _ => return Err(ValidationError::new("event", "must be a JSON object")),
    };
    let event = from_document(map, Some(text), now)?;
    let customer = match (event.customer, scope) {
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
                "is missing: give \"customer\" in the event (or emit for one customer: --customer, or that customer's API token)",
            ))
        }
    };
    Ok((customer, event))
}
