//! `webnet drain`: send what is due, for cron (`--max-time`) or systemd (`--watch`).
//!
//! As a service it behaves: SIGTERM or SIGINT stops claiming, gives back what has not started,
//! lets requests in flight finish and records them, then exits 0; a second signal exits at once
//! (leases then expire as after `kill -9`). Failed attempts are logged one line each on stderr,
//! with a summary line every `--summary-every`; plain text, for journald and cron mail. On a
//! terminal, a long backlog shows a progress bar.

use std::io::{IsTerminal, Write};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::args::DrainArgs;
use super::metrics::MetricsFile;
use super::output::{self, Format};
use super::{CliError, Context};
use crate::delivery::service::{DrainOptions, DrainReport};
use crate::delivery::{system_clock, Note, Summary};
use crate::domain::text::{error_line, escape_controls};
use crate::domain::time::{rfc3339, Millis};
use crate::ops;
use crate::store::{Backlog, DeliveryStatus, Disabled, StoreError, Unreadable};

/// Without `--watch`, a run stops claiming after this long, so runs a minute apart from cron
/// rarely overlap (and are safe when they do).
const DEFAULT_MAX_TIME: Duration = Duration::from_secs(50);

/// A backlog at least this long gets a progress bar on a terminal.
const PROGRESS_FROM: u64 = 100;

pub fn run(ctx: &Context, args: DrainArgs) -> Result<(), CliError> {
    let max_time = match (args.max_time, args.watch) {
        (Some(t), _) => Some(t),
        (None, true) => None,
        (None, false) => Some(DEFAULT_MAX_TIME),
    };
    let metrics = args
        .metrics_file
        .as_deref()
        .map(MetricsFile::check)
        .transpose()?;
    let stop = Arc::new(AtomicBool::new(false));
    on_signals(&stop)?;
    let mut store = ctx.store()?;
    // `--watch`: the metrics file is kept current as the drain runs, on a connection of its own.
    let periodic = match &metrics {
        Some(file) if args.watch => Some(file.every(store.reopen()?, ctx.scope)),
        _ => None,
    };
    let progress = if !args.watch && !args.quiet && std::io::stderr().is_terminal() {
        let due = store.backlog(ctx.scope, ctx.now())?.due;
        let due = args.limit.map_or(due, |l| due.min(l));
        (due >= PROGRESS_FROM).then(|| progress_bar(due))
    } else {
        None
    };
    if args.watch && !args.quiet {
        // A service's first log line: which database, and how to stop it (tests wait for it).
        let whose = match ctx.scope {
            crate::domain::Scope::Customer(c) => format!(" of customer {c} only"),
            crate::domain::Scope::All => String::new(),
        };
        let _ = writeln!(
            std::io::stderr().lock(),
            "drain: watching {} for due deliveries{whose}; SIGTERM or Ctrl-C stops cleanly",
            ctx.location().shown()
        );
    }
    if args.watch {
        // A service that cannot sign would use up the retries of every signed delivery it
        // claims: say so once at the start, not only per delivery.
        if let Some(why) = ops::keys::unusable(&store).filter(ops::keys::is_key_problem) {
            let _ = writeln!(
                std::io::stderr().lock(),
                "warning: {why}; until that is fixed this host cannot sign, and each delivery it claims for a webhook with a secret fails an attempt"
            );
        }
    }
    let mut log = Log {
        progress,
        quiet: args.quiet,
        every: args.summary_every.into(),
        pruned: 0,
    };
    let sending = ctx.sending(args.concurrency)?;
    let opts = DrainOptions {
        watch: args.watch,
        max_time,
        limit: args.limit,
        stop: Some(stop),
        tick_every: (!args.quiet).then_some(args.summary_every.into()),
        // `--watch` prunes in its idle moments; a single run prunes after it (below).
        retain: args.retain.filter(|_| args.watch),
        wake: None,
    };
    let summary = ops::delivery::drain(&mut store, &sending, &opts, &mut log)?;
    if let Some(p) = &log.progress {
        p.finish_and_clear();
    }
    // `--retain` in a cron or timer run: prune once what was due has been sent.
    let pruned = match args.retain {
        Some(older_than) if !args.watch => Some(ops::deliveries::retain(
            &mut store,
            ctx.scope,
            older_than,
            ctx.now(),
        )),
        Some(_) => Some(Ok(log.pruned)),
        None => None,
    };
    let pruned_count = pruned.as_ref().and_then(|p| p.as_ref().ok()).copied();
    if let Some(p) = periodic {
        p.finish();
    }
    if let Some(file) = &metrics {
        file.update(&store, ctx.scope);
    }
    match ctx.format {
        Format::Json => {
            let mut value = serde_json::to_value(summary).unwrap_or_default();
            if let (Some(n), Some(map)) = (pruned_count, value.as_object_mut()) {
                map.insert("pruned".into(), n.into());
            }
            output::print_json(&value)
        }
        Format::Table => output::print_line(&format!(
            "{} attempted: {} succeeded, {} to retry, {}{}{}",
            summary.attempted,
            summary.succeeded,
            summary.retrying,
            super::emit::failed_count(&summary),
            super::emit::unsent_counts(&summary),
            pruned_count.map_or(String::new(), |n| format!("; {n} old deliveries pruned"))
        )),
    }
    // A failed prune is reported after what was sent.
    if let Some(Err(e)) = pruned {
        return Err(e.into());
    }
    // Rows that could not be read did not stop the rest, but the run did not do its job. (A
    // service stopped by a signal exits 0 however it went: it has logged them.)
    if summary.unreadable > 0 && !args.watch {
        return Err(CliError::failure(format!(
            "{} delivery(ies) not sent: their stored rows cannot be read (see above); they stay queued",
            summary.unreadable
        )));
    }
    // Likewise attempts this host could not sign: its problem, not the receivers'.
    if summary.not_signed > 0 && !args.watch {
        return Err(not_signed_error(summary.not_signed));
    }
    Ok(())
}

/// The first SIGTERM or SIGINT sets `stop`; a second one ends the process at once, with the
/// shell's usual status for death by that signal.
fn on_signals(stop: &Arc<AtomicBool>) -> Result<(), CliError> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for signal in [SIGTERM, SIGINT] {
        // The exit must be registered first: it runs only once the flag is already set.
        signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, Arc::clone(stop))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(stop)))
            .map_err(|e| CliError::failure(format!("cannot handle signals: {e}")))?;
    }
    Ok(())
}

fn progress_bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{bar:30} {pos}/{len} attempted · {rate} · {elapsed} (eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    // Deliveries per second as a whole number (`181/s`): indicatif's `{per_sec}` shows four
    // decimals (`180.6385/s`), precision nobody reads off a moving bar.
    .with_key(
        "rate",
        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}/s", state.per_sec());
        },
    );
    bar.set_style(style);
    bar
}

/// The log of `serve`'s delivery worker: `drain --watch`'s, without a progress bar.
pub(super) fn service_log(every: Duration) -> impl DrainReport + Send + 'static {
    Log {
        progress: None,
        quiet: false,
        every,
        pruned: 0,
    }
}

/// `drain`'s log on stderr: one line per failed attempt, a summary line now and then, and on a
/// terminal a progress bar.
struct Log {
    progress: Option<ProgressBar>,
    quiet: bool,
    every: Duration,
    /// Deliveries pruned by `--watch --retain` so far.
    pruned: u64,
}

impl Log {
    /// One line on stderr; a closed stderr (a restarted log collector) does not stop the drain.
    fn line(&self, text: &str) {
        let write = || {
            use std::io::Write;
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        };
        match &self.progress {
            Some(p) => p.suspend(write),
            None => write(),
        }
    }
}

impl DrainReport for Log {
    fn recorded(&mut self, note: &Note) {
        let Some(attempt) = note.attempt else {
            return;
        };
        if let Some(p) = &self.progress {
            p.inc(1);
            if p.position() > p.length().unwrap_or(0) {
                p.set_length(p.position());
            }
        }
        if note.status != DeliveryStatus::Success {
            self.line(&format!("drain: {}", failed_line(note, attempt)));
        }
    }

    fn disabled(&mut self, d: &Disabled) {
        self.line(&format!("drain: {}", super::emit::disabled_line(d)));
    }

    fn unreadable(&mut self, deliveries: &[Unreadable]) {
        for line in super::emit::unreadable_lines(deliveries, &super::emit::unreadable_held()) {
            self.line(&format!("drain: {line}"));
        }
    }

    fn busy(&mut self, e: &StoreError) {
        match e {
            StoreError::Unavailable { .. } => self.line(&format!("drain: {e}; trying again")),
            _ => self.line("drain: the database is busy (locked by another process); trying again"),
        }
    }

    fn back(&mut self) {
        self.line("drain: the database answers again; carrying on");
    }

    fn unrecorded(&mut self, count: usize, waited: std::time::Duration) {
        self.line(&format!(
            "drain: the database stayed busy for {}: the results of {count} attempt(s) were not recorded; those deliveries are sent again once their leases run out",
            humantime::format_duration(waited)
        ));
    }

    fn tick(&mut self, since_last: &Summary, backlog: Option<Backlog>) {
        if !self.quiet {
            self.line(&tick_line(self.every, since_last, backlog, system_clock()));
        }
    }

    fn pruned(&mut self, result: Result<u64, &StoreError>) {
        match result {
            Ok(n) => self.pruned += n,
            Err(e) => self.line(&format!(
                "drain: --retain: pruning failed, tried again later: {}",
                error_line(&e.to_string())
            )),
        }
    }

    fn stopping(&mut self, in_flight: usize) {
        if let Some(p) = self.progress.take() {
            p.finish_and_clear();
        }
        self.line(&format!(
            "drain: stopping: nothing more is sent; waiting for {in_flight} request(s) in flight (a second signal exits at once)"
        ));
    }
}

/// `delivery 42 (job.failed) to webhook 3 "ops": attempt 2 of 4 failed: HTTP 500: oops;
/// next attempt at 2026-12-01T21:05:00Z` (drain's log and emit's warnings).
pub(super) fn failed_line(n: &Note, attempt: u32) -> String {
    let of = n
        .max_attempts
        .map(|m| format!(" of {m}"))
        .unwrap_or_default();
    let to = match n.webhook {
        Some(w) => format!("webhook {w} {:?}", n.webhook_name),
        None => format!("deleted webhook {:?}", n.webhook_name),
    };
    let next = match (n.status, n.next_attempt_at) {
        _ if n.webhook_disabled => "no more attempts: failed (its webhook is disabled)".to_string(),
        (DeliveryStatus::Retrying, Some(at)) => format!("next attempt at {}", rfc3339(at)),
        _ => "no more attempts: failed".to_string(),
    };
    // A key problem on this host is not the receiver's failure: say which it was.
    let what = match &n.not_signed {
        Some(why) => format!("could not be signed: {}", escape_controls(why)),
        None => format!(
            "failed: {}",
            escape_controls(n.error_message.as_deref().unwrap_or("unknown error"))
        ),
    };
    format!(
        "delivery {} ({}) to {to}: attempt {attempt}{of} {what}; {next}",
        n.delivery_id, n.event_type,
    )
}

/// A run (drain, `deliveries retry --failed`) that met attempts it could not sign did not do
/// its job: the log lines above say why (the host's key, or a value that does not open).
pub(super) fn not_signed_error(n: u64) -> CliError {
    CliError::failure(format!(
        "{n} attempt(s) could not be signed on this host (see above for why; `webnet db check` checks its key); each counts against its webhook's retries"
    ))
}

/// `drain: last 1m: 120 attempted, 118 succeeded, 1 to retry, 1 failed; 35 due now, the oldest
/// for 2m 3s`
fn tick_line(every: Duration, s: &Summary, backlog: Option<Backlog>, now: Millis) -> String {
    let due = match backlog.map(|b| (b.due, b.oldest_due_at)) {
        None => "backlog unknown (the database could not be read)".to_string(),
        Some((due, Some(at))) if due > 0 => {
            let waited = Duration::from_secs(((now - at).max(0) / 1000) as u64);
            format!(
                "{due} due now, the oldest for {}",
                humantime::format_duration(waited)
            )
        }
        _ => "nothing due".to_string(),
    };
    format!(
        "drain: last {}: {} attempted, {} succeeded, {} to retry, {}; {due}",
        humantime::format_duration(every),
        s.attempted,
        s.succeeded,
        s.retrying,
        super::emit::failed_count(s)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(status: DeliveryStatus, next: Option<Millis>) -> Note {
        Note {
            delivery_id: 42,
            webhook: Some(3),
            webhook_name: "ops".into(),
            event_type: "job.failed".into(),
            attempt: Some(2),
            max_attempts: Some(4),
            status,
            error_message: Some("HTTP 500: oops".into()),
            next_attempt_at: next,
            not_signed: None,
            webhook_disabled: false,
        }
    }

    #[test]
    fn a_failed_attempt_is_one_plain_line() {
        assert_eq!(
            failed_line(&note(DeliveryStatus::Retrying, Some(1_764_637_200_000)), 2),
            "delivery 42 (job.failed) to webhook 3 \"ops\": attempt 2 of 4 failed: HTTP 500: oops; next attempt at 2025-12-02T01:00:00Z"
        );
        let mut last = note(DeliveryStatus::Failed, None);
        last.webhook = None;
        assert_eq!(
            failed_line(&last, 4),
            "delivery 42 (job.failed) to deleted webhook \"ops\": attempt 4 of 4 failed: HTTP 500: oops; no more attempts: failed"
        );
    }

    #[test]
    fn an_attempt_that_could_not_be_signed_says_so() {
        let mut n = note(DeliveryStatus::Retrying, Some(1_764_637_200_000));
        n.not_signed = Some("secret key: WEBNET_SECRET_KEY is not set".into());
        n.error_message =
            Some("could not be signed: secret key: WEBNET_SECRET_KEY is not set".into());
        assert_eq!(
            failed_line(&n, 2),
            "delivery 42 (job.failed) to webhook 3 \"ops\": attempt 2 of 4 could not be signed: secret key: WEBNET_SECRET_KEY is not set; next attempt at 2025-12-02T01:00:00Z"
        );
    }

    #[test]
    fn a_webhook_disabled_by_the_batch_gets_no_next_attempt() {
        let mut n = note(DeliveryStatus::Retrying, Some(1_764_637_200_000));
        n.webhook_disabled = true;
        assert!(
            failed_line(&n, 2).ends_with("; no more attempts: failed (its webhook is disabled)"),
            "{}",
            failed_line(&n, 2)
        );
        let d = Disabled {
            webhook: 3,
            name: "ops".into(),
            reason: "the receiver answered 410 Gone at 2025-12-02T01:00:00Z".into(),
        };
        assert_eq!(
            format!("drain: {}", super::super::emit::disabled_line(&d)),
            "drain: webhook 3 \"ops\" disabled: the receiver answered 410 Gone at 2025-12-02T01:00:00Z; enable it with \"webnet webhooks enable 3\""
        );
    }

    #[test]
    fn receiver_text_in_a_log_line_is_escaped() {
        let mut n = note(DeliveryStatus::Retrying, Some(0));
        n.error_message = Some("HTTP 500: \u{1b}[2Jgone\r".into());
        let line = failed_line(&n, 2);
        assert!(!line.contains('\u{1b}') && !line.contains('\r'), "{line}");
        assert!(line.contains("\\x1b[2Jgone"), "{line}");
    }

    #[test]
    fn the_summary_line_names_the_backlog() {
        let s = Summary {
            attempted: 120,
            succeeded: 118,
            retrying: 1,
            failed: 1,
            not_sent: 0,
            not_signed: 0,
            unreadable: 0,
        };
        let backlog = Backlog {
            due: 35,
            oldest_due_at: Some(0),
        };
        assert_eq!(
            tick_line(Duration::from_secs(60), &s, Some(backlog), 123_000),
            "drain: last 1m: 120 attempted, 118 succeeded, 1 to retry, 1 failed; 35 due now, the oldest for 2m 3s"
        );
        assert!(
            tick_line(Duration::from_secs(60), &s, Some(Backlog::default()), 0)
                .ends_with("; nothing due")
        );
        assert!(tick_line(Duration::from_secs(60), &s, None, 0)
            .ends_with("; backlog unknown (the database could not be read)"));
        // Deliveries closed without a request (their webhook deleted or disabled) are failed
        // but not attempted: the line says why, rather than "0 attempted … 2 failed".
        let closed = Summary {
            attempted: 0,
            succeeded: 0,
            retrying: 0,
            failed: 2,
            not_sent: 2,
            not_signed: 0,
            unreadable: 0,
        };
        assert_eq!(
            tick_line(Duration::from_secs(60), &closed, Some(Backlog::default()), 0),
            "drain: last 1m: 0 attempted, 0 succeeded, 0 to retry, 2 failed (2 not sent: webhook deleted or disabled, or out of retries); nothing due"
        );
    }
}
