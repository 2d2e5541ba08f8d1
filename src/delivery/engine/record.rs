//! The engine's results side: gathering finished attempts, writing outcomes in batches, giving back leases, and what the
//! caller hears (notes, disabled webhooks, kept outcomes).

use std::time::Duration;

use super::Engine;
use crate::delivery::outcome;
use crate::delivery::summary::Note;
use crate::delivery::work::Done;
use crate::store::{DeliveryStatus, Disabled, Job, Outcome, StoreError};

impl Engine<'_> {
    /// Waits up to `wait` (`None`: as long as it takes) for finished attempts, and does their
    /// bookkeeping; their outcomes join those waiting for [`Engine::write_ready`]. Does not
    /// wait while outcomes wait to be written, nor when nothing is in flight; a [`Waker`]
    /// ends the wait (a wake-up is not a result). Touches no database.
    ///
    /// [`Waker`]: super::Waker
    pub(in crate::delivery) fn gather(&mut self, wait: Option<Duration>) {
        // Results that came back while this thread was busy elsewhere (a database write or
        // claim can take longer than the hang limit) are taken before judging what hangs: a
        // request that finished unseen is not hanging, and flagging it would park its
        // webhook's work behind a probe.
        let had_ready = !self.ready.is_empty();
        let mut woken = false;
        while let Ok(arrived) = self.done_rx.try_recv() {
            match arrived {
                Some(done) => {
                    if let Some(o) = self.finished(*done) {
                        self.ready.push(o);
                    }
                }
                None => woken = true,
            }
        }
        self.feed();
        self.flag_hanging();
        // Gather a batch: one transaction for many outcomes. While more results are due
        // shortly, wait a moment for them rather than commit each on its own.
        let want = (self.main.busy() + self.queue.len()).min(256);
        let mut gathered = self.ready.len();
        let mut next = if woken || had_ready || gathered >= want.max(1) {
            self.done_rx.try_recv().ok().flatten()
        } else if gathered > 0 {
            self.done_rx
                .recv_timeout(Duration::from_millis(2))
                .ok()
                .flatten()
        } else if self.inflight() == 0 {
            None
        } else if !self.isolation.watching() {
            match wait {
                None => self.done_rx.recv().ok().flatten(),
                Some(d) => self.done_rx.recv_timeout(d).ok().flatten(),
            }
        } else {
            // Main-lane requests in flight: wake often enough to notice one hanging.
            let d = wait.unwrap_or(Duration::MAX).min(Duration::from_millis(5));
            self.done_rx.recv_timeout(d).ok().flatten()
        };
        while let Some(done) = next {
            if let Some(o) = self.finished(*done) {
                self.ready.push(o);
                gathered += 1;
            }
            self.feed();
            if gathered >= want.max(1) {
                if gathered >= 1024 {
                    break;
                }
                next = self.done_rx.try_recv().ok().flatten();
            } else {
                next = self
                    .done_rx
                    .recv_timeout(Duration::from_millis(2))
                    .ok()
                    .flatten();
            }
        }
    }

    /// Bookkeeping for a finished job; its outcome, unless it was skipped.
    fn finished(&mut self, done: Done) -> Option<Outcome> {
        let id = done.job.delivery_id;
        let webhook = done.job.target.as_ref().map(|t| t.id);
        let f = self
            .isolation
            .finished(id, webhook, done.slow, done.sent.as_ref());
        if f.moved {
            self.main.moved_out_done();
            self.slow.done();
        } else if done.slow {
            self.slow.done();
        } else {
            self.main.done();
        }
        if let Some(mut q) = f.unparked {
            q.append(&mut self.queue);
            self.queue = q;
        }
        let Some(sent) = done.sent else {
            // Skipped for want of lease time: nothing was sent, so the lease is given back and
            // the delivery is due again at once (for this run's next claim or another process).
            self.released.push(id);
            return None;
        };
        let now = self.clock.now();
        let mut o = outcome::after_attempt(&done.job, done.started_at, &done.headers, &sent, now);
        if let Some(a) = o.attempt.as_mut() {
            // As sent, but never with a credential in it (PagerDuty's routing key).
            let format = done.job.target.as_ref().map(|t| t.payload_format);
            a.request_body = done
                .body
                .map(|b| format.unwrap_or_default().for_the_record(&b));
        }
        self.note(&done.job, &o);
        Some(o)
    }

    /// Keeps a [`Note`] of every outcome from now on, for [`Engine::take_notes`].
    pub(in crate::delivery) fn keep_notes(&mut self) {
        self.notes.get_or_insert_with(Vec::new);
    }

    /// The notes kept since the last call.
    pub(in crate::delivery) fn take_notes(&mut self) -> Vec<Note> {
        self.notes.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Keeps every outcome written from now on, for [`Engine::take_outcomes`].
    pub(in crate::delivery) fn keep_outcomes(&mut self) {
        self.outcomes.get_or_insert_with(Vec::new);
    }

    /// The outcomes written and kept since the last call, in the order written.
    pub(in crate::delivery) fn take_outcomes(&mut self) -> Vec<Outcome> {
        self.outcomes
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    pub(super) fn note(&mut self, job: &Job, o: &Outcome) {
        if let Some(notes) = &mut self.notes {
            let mut note = Note::new(job, o);
            note.webhook_disabled = note.webhook.is_some_and(|w| self.disabled_ids.contains(&w));
            notes.push(note);
        }
    }

    /// An outcome known without a request, written with the next batch.
    /// Ends a claimed delivery without sending it, saying why (recorded with the next batch).
    pub(in crate::delivery) fn end_unsent(&mut self, job: &Job, why: &str) {
        let o = outcome::not_sent(job, why);
        self.push_ready(job, o);
    }

    pub(super) fn push_ready(&mut self, job: &Job, o: Outcome) {
        self.note(job, &o);
        self.ready.push(o);
    }

    /// Waits up to `wait` for finished attempts ([`Engine::gather`]) and writes every outcome
    /// waiting in one transaction ([`Engine::write_ready`]).
    ///
    /// When the write fails (the database is busy: another process holds its lock), nothing is
    /// lost: the outcomes are kept and written with the next batch (a lost outcome would have
    /// its delivery sent again).
    pub(in crate::delivery) fn collect(
        &mut self,
        wait: Option<Duration>,
    ) -> Result<(), StoreError> {
        self.flush_released()?;
        self.gather(wait);
        self.write_ready()
    }

    /// Writes every outcome waiting (finished attempts, deliveries with nowhere to go) in one
    /// transaction, and gives back the leases of work not sent. On failure (the database is
    /// busy) everything is kept for the next call.
    pub(in crate::delivery) fn write_ready(&mut self) -> Result<(), StoreError> {
        self.flush_released()?;
        let outcomes = std::mem::take(&mut self.ready);
        self.write(outcomes)
    }

    /// Writes outcomes in one transaction; on failure keeps them (ahead of any newer ones) for
    /// the next write.
    fn write(&mut self, mut outcomes: Vec<Outcome>) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        match self.store.record_outcomes(&outcomes, &self.owner, now) {
            Ok(disabled) => {
                // As the store ended them: failed, no retry while the webhook is disabled (by
                // this batch or an earlier one of this run).
                let off: Vec<i64> = disabled
                    .iter()
                    .map(|d| d.webhook)
                    .chain(self.disabled_ids.iter().copied())
                    .collect();
                for o in outcomes.iter_mut() {
                    if crate::domain::delivery::waits_on_a_disabled_webhook(o, &off) {
                        o.status = DeliveryStatus::Failed;
                        o.next_attempt_at = None;
                    }
                }
                self.webhooks_disabled(disabled);
                for o in &outcomes {
                    self.summary.add(o);
                }
                if let Some(kept) = &mut self.outcomes {
                    kept.extend(outcomes);
                }
                Ok(())
            }
            Err(e) => {
                outcomes.append(&mut self.ready);
                self.ready = outcomes;
                Err(e)
            }
        }
    }

    /// Outcomes known (attempts made, or deliveries with nowhere to go) but not yet written:
    /// a write failed (the database was busy), or they wait for the next batch.
    pub(in crate::delivery) fn unrecorded(&self) -> usize {
        self.ready.len()
    }

    /// Webhooks the outcomes just written disabled: the notes about their deliveries say so
    /// (no further attempt while disabled), and the caller hears of each once
    /// ([`Engine::take_disabled`]).
    fn webhooks_disabled(&mut self, disabled: Vec<Disabled>) {
        if disabled.is_empty() {
            return;
        }
        self.disabled_ids.extend(disabled.iter().map(|d| d.webhook));
        if let Some(notes) = &mut self.notes {
            for n in notes.iter_mut() {
                if n.webhook.is_some_and(|w| self.disabled_ids.contains(&w)) {
                    n.webhook_disabled = true;
                }
            }
        }
        self.disabled.extend(disabled);
    }

    /// The webhooks disabled by outcomes written since the last call (410 Gone, or failing
    /// for longer than their `auto_disable_after`), each with its reason.
    pub(in crate::delivery) fn take_disabled(&mut self) -> Vec<Disabled> {
        std::mem::take(&mut self.disabled)
    }

    fn flush_released(&mut self) -> Result<(), StoreError> {
        if !self.released.is_empty() {
            let ids = std::mem::take(&mut self.released);
            if let Err(e) = self.store.release(&ids, &self.owner) {
                // Released with the next write (or, failing that, when the leases run out).
                self.released.extend(ids);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Sends and records everything handed out so far.
    pub(in crate::delivery) fn settle(&mut self) -> Result<(), StoreError> {
        self.release_parked(true);
        while self.inflight() > 0 || !self.ready.is_empty() {
            self.collect(None)?;
        }
        self.flush_released()
    }
}
