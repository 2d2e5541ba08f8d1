//! `webnet emit`: record events from arguments or stdin, deliver their first attempts now.

use std::io::IsTerminal;

use serde_json::{json, Map, Value};

use super::args::EmitArgs;
use super::output::{self, Format};
use super::{CliError, Context};
use crate::delivery::service::{BusyWait, EmitReport, Held, Input};
use crate::delivery::Note;
use crate::domain::payload::Event;
use crate::domain::text::escape_controls;
use crate::domain::time::rfc3339;
use crate::domain::{CustomerId, EventType, ValidationError};
use crate::ops;
use crate::store::Recorded;
use crate::store::{DeliveryStatus, Disabled, Unreadable};

pub fn run(ctx: &Context, args: EmitArgs) -> Result<(), CliError> {
    let input = match &args.event_type {
        Some(t) => Input::Values(vec![from_args(ctx, *t, &args)?]),
        None if std::io::stdin().is_terminal() => {
            return Err(CliError::usage(
                "TYPE",
                "give an event type (`webnet emit job.completed --customer 1 --data '{...}'`) or pipe JSON events on stdin",
            ))
        }
        None => Input::Reader(Box::new(std::io::stdin())),
    };
    let mut store = ctx.store()?;
    if args.event_type.is_some() {
        // One event from arguments: its customer is an option, refused as one (the stdin form
        // reports a missing customer per line and goes on with the others).
        ops::customers::require(&store, ctx.require_customer()?)?;
    }
    let sending = ctx.sending(args.concurrency)?;
    let mut report = Printer {
        format: ctx.format,
        passed_over: Vec::new(),
    };
    let summary = ops::delivery::emit(&mut store, &sending, input, args.queue, &mut report)?;
    if ctx.format == Format::Table {
        eprintln!(
            "{} event(s) recorded, {} delivery(ies){}",
            summary.events,
            summary.deliveries,
            if args.queue {
                " queued for `webnet drain`".to_string()
            } else {
                format!(
                    ": {} delivered, {} to retry, {}",
                    summary.attempts.succeeded,
                    summary.attempts.retrying,
                    failed_count(&summary.attempts)
                )
            }
        );
    }
    if summary.rejected > 0 {
        return Err(CliError::usage(
            "input",
            format!(
                "{} event(s) rejected (see above); {}",
                summary.rejected,
                match summary.events {
                    0 => "none was recorded".to_string(),
                    n => format!("the other event(s) were recorded ({n})"),
                }
            ),
        ));
    }
    Ok(())
}

/// The argument form as the same JSON an NDJSON line would carry.
fn from_args(ctx: &Context, t: EventType, args: &EmitArgs) -> Result<Value, CliError> {
    let customer = ctx.require_customer()?;
    let data: Value = args.data.clone().unwrap_or_else(|| json!({}));
    let mut event = Map::new();
    event.insert("customer".into(), json!(customer.0));
    event.insert("event_type".into(), json!(t.as_str()));
    if let Some(id) = args.event_id {
        event.insert("event_id".into(), json!(id));
    }
    if args.actor_id.is_some() || args.actor_username.is_some() {
        let mut actor = Map::new();
        if let Some(id) = args.actor_id {
            actor.insert("id".into(), json!(id));
        }
        if let Some(u) = &args.actor_username {
            actor.insert("username".into(), json!(u));
        }
        event.insert("actor".into(), Value::Object(actor));
    }
    event.insert(t.family().into(), data);
    Ok(Value::Object(event))
}

struct Printer {
    format: Format,
    /// Webhooks already said to be passed over (once per run, not once per event).
    passed_over: Vec<i64>,
}

impl EmitReport for Printer {
    fn recorded(&mut self, line: usize, customer: CustomerId, event: &Event, rec: &Recorded) {
        for p in &rec.passed_over {
            if !self.passed_over.contains(&p.webhook) {
                self.passed_over.push(p.webhook);
                eprintln!("warning: line {line}: {}", p.line());
            }
        }
        let deliveries: Vec<Value> = rec
            .deliveries
            .iter()
            .map(|(d, w)| json!({"id": d, "webhook": w}))
            .collect();
        match self.format {
            Format::Json => output::print_json(&json!({
                "line": line,
                "event": rec.event_row,
                "customer": customer.0,
                "event_type": event.event_type.as_str(),
                "event_id": event.event_id,
                "deliveries": deliveries,
            })),
            Format::Table => output::print_line(&format!(
                "event {} {} (customer {customer}): {}",
                rec.event_row,
                event.event_type,
                match rec.deliveries.len() {
                    0 => "no subscribed webhooks".to_string(),
                    n => format!(
                        "{n} delivery(ies): {}",
                        rec.deliveries
                            .iter()
                            .map(|(d, _)| d.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            )),
        }
    }

    fn not_signed(&mut self, note: &Note) {
        eprintln!("warning: {}", not_signed_line(note));
    }

    fn failed(&mut self, note: &Note) {
        if let Some(attempt) = note.attempt {
            eprintln!("warning: {}", super::drain::failed_line(note, attempt));
        }
    }

    fn busy(&mut self, waiting: &BusyWait, held: Held) {
        let what = match *waiting {
            BusyWait::Recording { first, last } if first == last => {
                format!("line {first} is not recorded yet: trying again")
            }
            BusyWait::Recording { first, last } => {
                format!("lines {first} to {last} are not recorded yet: trying again")
            }
            BusyWait::Results { count } => {
                format!("the results of {count} attempt(s) are not recorded yet: trying again")
            }
            BusyWait::LeftForDrain { deliveries } => {
                format!("{deliveries} recorded delivery(ies) are left for `webnet drain` to send")
            }
        };
        eprintln!("warning: the database is {}; {what}", held.now());
    }

    fn disabled(&mut self, d: &Disabled) {
        eprintln!("warning: {}", disabled_line(d));
    }

    fn unreadable(&mut self, deliveries: &[Unreadable]) {
        for line in unreadable_lines(deliveries, &unreadable_held()) {
            eprintln!("warning: {line}");
        }
    }

    fn rejected(&mut self, line: usize, e: &ValidationError) {
        let what = format!("{}: {}", e.field, e.message);
        eprintln!(
            "error: line {line}: {}",
            crate::domain::text::error_line(&what)
        );
    }
}

/// `delivery 38 to webhook 3 "ops" could not be signed: <why>; it will be retried at …`
/// Claimed deliveries whose stored rows could not be read, as log lines ending with `then`
/// (what becomes of them): one per reason (a webhook's row that does not decode holds up all
/// of its deliveries), in the order met.
pub(super) fn unreadable_lines(deliveries: &[Unreadable], then: &str) -> Vec<String> {
    let mut groups: Vec<(String, Vec<i64>)> = Vec::new();
    for u in deliveries {
        let why = crate::domain::text::error_line(&u.error.to_string());
        match groups.iter_mut().find(|(w, _)| *w == why) {
            Some((_, ids)) => ids.push(u.delivery_id),
            None => groups.push((why, vec![u.delivery_id])),
        }
    }
    groups
        .into_iter()
        .map(|(why, ids)| match ids.as_slice() {
            [id] => {
                format!("delivery {id} not sent: its stored row cannot be read ({why}); {then}")
            }
            _ => {
                const SHOWN: usize = 10;
                let mut list: Vec<String> = ids.iter().take(SHOWN).map(i64::to_string).collect();
                if ids.len() > SHOWN {
                    list.push("…".into());
                }
                format!(
                    "{} deliveries not sent ({}): their stored rows cannot be read ({why}); {then}",
                    ids.len(),
                    list.join(", ")
                )
            }
        })
        .collect()
}

/// `2 failed`, or `2 failed (1 not sent: webhook deleted or disabled, or out of retries)`: a run can fail
/// deliveries it made no attempt for, which "0 attempted … 2 failed" would leave unexplained.
pub(super) fn failed_count(summary: &crate::delivery::Summary) -> String {
    match summary.not_sent {
        0 => format!("{} failed", summary.failed),
        n => format!(
            "{} failed ({n} not sent: webhook deleted or disabled, or out of retries)",
            summary.failed
        ),
    }
}

/// `; N unreadable, not sent` (and `; N could not be signed here`) for a summary line, when
/// some were.
pub(super) fn unsent_counts(summary: &crate::delivery::Summary) -> String {
    let unsigned = match summary.not_signed {
        0 => String::new(),
        n => format!("; {n} could not be signed here"),
    };
    match summary.unreadable {
        0 => unsigned,
        n => format!("; {n} unreadable, not sent{unsigned}"),
    }
}

/// What becomes of a delivery `drain` or `emit` claimed and could not read.
pub(super) fn unreadable_held() -> String {
    format!(
        "held for {}, then tried again",
        humantime::format_duration(crate::store::UNREADABLE_HOLD)
    )
}

fn not_signed_line(n: &Note) -> String {
    let why = n.not_signed.as_deref().unwrap_or("no secret key");
    let next = match (n.status, n.next_attempt_at) {
        // `why` says what to do (the key problems' messages name the key file or
        // WEBNET_SECRET_KEY, whichever this database uses).
        (DeliveryStatus::Retrying, Some(at)) => format!("it will be retried at {}", rfc3339(at)),
        _ => format!(
            "no more attempts: it failed (once the key is back: webnet deliveries retry {})",
            n.delivery_id
        ),
    };
    let to = match n.webhook {
        Some(w) => format!("webhook {w} {:?}", n.webhook_name),
        None => format!("deleted webhook {:?}", n.webhook_name),
    };
    format!(
        "delivery {} to {to} could not be signed: {}; {next}",
        n.delivery_id,
        escape_controls(why)
    )
}

/// `webhook 3 "ops" disabled: <reason>; enable it with "webnet webhooks enable 3"` (also
/// `drain`'s log line, after `drain: `).
pub(super) fn disabled_line(d: &Disabled) -> String {
    format!(
        "webhook {} {:?} disabled: {}; enable it with \"webnet webhooks enable {}\"",
        d.webhook,
        d.name,
        escape_controls(&d.reason),
        d.webhook
    )
}

#[cfg(test)]
mod tests {
    use super::unreadable_lines;
    use crate::store::{StoreError, Unreadable};

    fn bad(delivery_id: i64, table: &'static str, id: i64) -> Unreadable {
        Unreadable {
            delivery_id,
            error: StoreError::corrupt(table, id, "headers is not a JSON object"),
        }
    }

    #[test]
    fn unreadable_deliveries_are_told_once_per_reason() {
        let mut met = vec![bad(7, "deliveries", 7)];
        met.extend((1..=12).map(|d| bad(d * 100, "webhooks", 3)));
        let lines = unreadable_lines(&met, "held");
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0] == "delivery 7 not sent: its stored row cannot be read (deliveries row 7: headers is not a JSON object); held",
            "{}",
            lines[0]
        );
        // A webhook's row that does not decode holds up all its deliveries: one line, the
        // first ten named.
        assert!(
            lines[1] == "12 deliveries not sent (100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, …): their stored rows cannot be read (webhooks row 3: headers is not a JSON object); held",
            "{}",
            lines[1]
        );
    }
}
