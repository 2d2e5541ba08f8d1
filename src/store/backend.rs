//! The storage backend: everything the layers above (`delivery`, `cli`, later `ops` and
//! `serve`) ask of a database, as one object-safe trait. SQLite implements it today; a
//! PostgreSQL implementation (DESIGN §11) is meant to fit it unchanged.
//!
//! What every implementation keeps:
//! - **Scope**: every query that reads or changes webhooks or deliveries takes the caller's
//!   [`Scope`]; another customer's row is "not found", exactly as a missing one.
//! - **Short transactions**: a claim leases in one short transaction and commits; nothing is
//!   held open while a request is in flight; outcomes are written in a second one.
//! - **Errors are classified** where they arise ([`StoreError`]): `Busy` (and a dropped
//!   connection, once a backend has one) is transient: nothing was changed, and the caller may
//!   try the same call again (`drain --watch` and `emit` do); stored data that does not decode
//!   is `Corrupt`, never a default.
//! - **Time comes from the caller** (`now`, in ms): it stamps rows and judges leases. A
//!   backend whose server has its own clock (PostgreSQL's `now()`) may judge and set leases by
//!   that clock instead, so that hosts with skewed clocks never take each other's leases; it
//!   must still record `now` where a row keeps a time the caller shows (attempt start, health).
//!
//! Methods take `&self` where SQLite needs no exclusive access; an implementation whose
//! connection needs `&mut` (a network client) keeps it in a `RefCell`: a `Store` is used by
//! one thread at a time (it is `Send`, not `Sync`); a second thread takes [`Backend::reopen`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{
    AllowedTargetRow, ApiToken, AttemptLog, Backlog, Claim, Claimed, Customer, Delivery,
    DeliveryFilter, Disabled, Job, NewEvent, NewKey, NewToken, Outcome, PruneCount, PruneOptions,
    PruneReport, PruneRule, Recorded, Reset, Result, Rotated, SecretChange, Store, Webhook,
    WebhookFilter, WebhookLabel,
};
use super::{AttemptStat, DeliveryCounts, MetricsSnapshot};
use crate::domain::allowlist::{AllowedTarget, TargetPolicy};
use crate::domain::format::RoutingKey;
use crate::domain::secret::SecretKey;
use crate::domain::time::Millis;
use crate::domain::{CustomerId, Scope, Secret, WebhookSettings};

/// An open webnet database. The layers above hold it as a [`Store`], which derefs to it.
pub trait Backend: Send {
    // ── Identity ────────────────────────────────────────────────────────────────────────────

    /// Where the database is, for messages (a file path; a server's address without its
    /// password for a server backend).
    fn path(&self) -> &Path;

    /// How long a write waits for another process's lock before failing as busy
    /// ([`StoreError::is_busy`](super::StoreError::is_busy)).
    fn busy_timeout(&self) -> Duration;

    /// A second, independent connection to the same database with the same key source, for
    /// another thread (the engine writing outcomes while it claims).
    fn reopen(&self) -> Result<Store>;

    /// Before a call on a connection kept idle in a pool (`serve`): a server connection the
    /// server ended meanwhile (a restart, a failover, `pg_terminate_backend`) is found out now,
    /// with an empty query, so that the call connects again instead of failing on it. Nothing
    /// to do on a file (SQLite), or on a connection used within the last second.
    fn revive_if_idle(&self) {}

    /// Which backend and schema version this is, for `db check`.
    fn describe(&self) -> Result<super::DbInfo>;

    /// Waits up to `timeout` for news of work other processes recorded; `Ok(true)` when some
    /// came. A backend that cannot be told (SQLite) sleeps and returns `Ok(false)`: the caller
    /// polls.
    fn wait_for_work(&self, timeout: Duration) -> Result<bool> {
        std::thread::sleep(timeout);
        Ok(false)
    }

    /// Whether [`Backend::wait_for_work`] is told of new work (PostgreSQL's `LISTEN/NOTIFY`),
    /// so a caller may poll rarely.
    fn announces_work(&self) -> bool {
        false
    }

    // ── Customers ───────────────────────────────────────────────────────────────────────────

    fn create_customer(&self, name: &str, now: Millis) -> Result<Customer>;

    fn customers(&self, scope: Scope) -> Result<Vec<Customer>>;

    /// One customer, if `scope` may see it.
    fn customer(&self, scope: Scope, id: CustomerId) -> Result<Customer>;

    // ── Webhooks ────────────────────────────────────────────────────────────────────────────

    /// Creates a webhook; its secret, routing key and credential headers are sealed with the
    /// database's key in the same transaction (a first secret creates the key).
    fn create_webhook_with(
        &self,
        customer: CustomerId,
        s: &WebhookSettings,
        secret: Option<&Secret>,
        routing_key: Option<&RoutingKey>,
        now: Millis,
    ) -> Result<Webhook>;

    /// [`Backend::create_webhook_with`] without a routing key.
    fn create_webhook(
        &self,
        customer: CustomerId,
        s: &WebhookSettings,
        secret: Option<&Secret>,
        now: Millis,
    ) -> Result<Webhook> {
        self.create_webhook_with(customer, s, secret, None, now)
    }

    /// One webhook, if `scope` may see it.
    fn webhook(&self, scope: Scope, id: i64) -> Result<Webhook>;

    fn webhooks(&self, scope: Scope, filter: &WebhookFilter) -> Result<Vec<Webhook>>;

    /// Replaces a webhook's settings (and maybe its secret, and its routing key when one is
    /// given); returns the stored result. Sealed header values in `s` (read before, outside
    /// this transaction) are written back as the row holds them now: a key rotation in
    /// between must not bring back a value sealed under the old key.
    fn update_webhook_with(
        &self,
        scope: Scope,
        id: i64,
        s: &WebhookSettings,
        secret: SecretChange,
        routing_key: Option<&RoutingKey>,
        now: Millis,
    ) -> Result<Webhook>;

    /// [`Backend::update_webhook_with`] keeping the stored routing key.
    fn update_webhook(
        &self,
        scope: Scope,
        id: i64,
        s: &WebhookSettings,
        secret: SecretChange,
        now: Millis,
    ) -> Result<Webhook> {
        self.update_webhook_with(scope, id, s, secret, None, now)
    }

    /// Rotates the secret: `secret` signs from now on; the old one keeps signing beside it for
    /// `grace_ms` (none when 0, or when there was no secret).
    fn rotate_secret(
        &self,
        scope: Scope,
        id: i64,
        secret: &Secret,
        grace_ms: Millis,
        now: Millis,
    ) -> Result<Webhook>;

    /// Which webhook `id` is, if `scope` may see it, without decoding its settings (a damaged
    /// row can still be named and deleted).
    fn webhook_label(&self, scope: Scope, id: i64) -> Result<WebhookLabel>;

    /// Deletes a webhook, even one whose row does not decode. Its delivery history stays;
    /// deliveries still waiting for an attempt end `failed`.
    fn delete_webhook(&mut self, scope: Scope, id: i64, now: Millis) -> Result<WebhookLabel>;

    /// The sealed secret of a webhook, for signing.
    fn webhook_secret(&self, scope: Scope, id: i64) -> Result<Option<Vec<u8>>>;

    /// Whether a webhook id means anything to `scope`: a webhook it may see, or a deleted one
    /// whose deliveries it may see. Otherwise not found.
    fn webhook_known(&self, scope: Scope, id: i64) -> Result<()>;

    // ── Deliveries: record, claim, outcomes ─────────────────────────────────────────────────

    /// Records events and one `pending` delivery per enabled webhook of the event's customer
    /// subscribed to its type, all in one transaction, before anything is sent.
    fn record_events(&mut self, events: &[NewEvent<'_>], now: Millis) -> Result<Vec<Recorded>>;

    /// Records a `webhook.test` event and its one delivery to `webhook` (even if disabled),
    /// already leased to `owner`, and returns it ready to send.
    fn record_test(
        &mut self,
        scope: Scope,
        webhook: i64,
        payload: &[u8],
        owner: &str,
        now: Millis,
    ) -> Result<Job>;

    /// Leases deliveries to `owner` and returns them ready to send, in one short transaction.
    /// Two claims never return the same delivery while its lease runs: a server backend claims
    /// with `FOR UPDATE SKIP LOCKED`, so concurrent claimers pass over each other's rows
    /// instead of waiting for them. A lease lasts twice the webhook's timeout and a margin.
    /// A leased row that does not decode is returned as [`Unreadable`](super::Unreadable), not
    /// sent: it keeps its lease, so the claims that follow pass over it until the lease runs
    /// out.
    fn claim(&mut self, scope: Scope, how: Claim<'_>, owner: &str, now: Millis) -> Result<Claimed>;

    /// Writes outcomes (attempt log rows and delivery state) in one transaction and releases
    /// `owner`'s leases. A delivery whose lease another owner took over keeps that owner's
    /// state; the attempt is still logged. Returns the webhooks these outcomes disabled (410
    /// Gone, or failing for longer than `auto_disable_after`), each once.
    fn record_outcomes(
        &mut self,
        outcomes: &[Outcome],
        owner: &str,
        now: Millis,
    ) -> Result<Vec<Disabled>>;

    /// Gives back `owner`'s leases of claimed deliveries that were not sent: due again at once.
    fn release(&mut self, ids: &[i64], owner: &str) -> Result<()>;

    /// When the next delivery falls due or a lease runs out (for `drain --watch`).
    fn next_due(&self, scope: Scope) -> Result<Option<Millis>>;

    /// Deliveries due at `now` (leased ones included), and since when the oldest waits.
    fn backlog(&self, scope: Scope, now: Millis) -> Result<Backlog>;

    // ── History ─────────────────────────────────────────────────────────────────────────────

    /// Deliveries `f` selects, newest first.
    fn deliveries(&self, scope: Scope, f: &DeliveryFilter) -> Result<Vec<Delivery>>;

    /// How many deliveries `f` selects, its limit and offset aside (the API's `count`).
    fn count_deliveries(&self, scope: Scope, f: &DeliveryFilter) -> Result<u64>;

    /// One delivery, if `scope` may see it.
    fn delivery(&self, scope: Scope, id: i64) -> Result<Delivery>;

    /// Every attempt of a delivery, oldest first (the caller has checked its scope with
    /// [`Backend::delivery`]).
    fn attempts(&self, delivery: i64) -> Result<Vec<AttemptLog>>;

    /// `stats`: deliveries created since `since` counted by status per webhook, and every
    /// attempt of those deliveries, read at one moment so they agree.
    fn stats(
        &self,
        scope: Scope,
        since: Millis,
        webhook: Option<i64>,
    ) -> Result<(Vec<DeliveryCounts>, Vec<AttemptStat>)>;

    /// `/metrics` and `webnet metrics`: deliveries by webhook and status, attempts by webhook
    /// and result with their durations bucketed, what is due now, and the webhooks' health, in
    /// `scope`, read at one moment (one read transaction) so the figures agree. `now` judges
    /// what is due.
    fn metrics(&self, scope: Scope, now: Millis) -> Result<MetricsSnapshot>;

    // ── Allowed destinations (operator-wide: no scope) ──────────────────────────────────────

    /// Allows `target`; allowing it again replaces its note when one is given (empty clears
    /// it). Returns the entry and whether it is new.
    fn allow_target(
        &self,
        target: &AllowedTarget,
        note: Option<&str>,
        now: Millis,
    ) -> Result<(AllowedTargetRow, bool)>;

    /// Every allowed destination, oldest first; an entry that no longer parses allows nothing
    /// and is left out.
    fn allowed_targets(&self) -> Result<Vec<AllowedTargetRow>>;

    /// Stops allowing `target`; not found when it was not allowed.
    fn remove_target(&self, target: &AllowedTarget) -> Result<()>;

    /// Public addresses and the stored allow list.
    fn target_policy(&self) -> Result<TargetPolicy> {
        let targets = self.allowed_targets()?.into_iter().map(|r| r.target);
        Ok(TargetPolicy::allowing(targets))
    }

    // ── API tokens of `webnet serve` (operator-wide: no scope) ────────────────────────────────

    /// Stores a new token (its hash and hint, never the token itself).
    fn create_token(&self, token: &NewToken<'_>, now: Millis) -> Result<ApiToken>;

    /// Every token, revoked ones included, newest first.
    fn tokens(&self) -> Result<Vec<ApiToken>>;

    /// Revokes a token: it never authenticates again, and is kept for the record. Revoking a
    /// revoked token changes nothing (its first `revoked_at` stays); an unknown id is not
    /// found.
    fn revoke_token(&self, id: i64, now: Millis) -> Result<ApiToken>;

    /// The token whose SHA-256 is `hash`, unless revoked. Marks it used at `now` only when its
    /// `last_used_at` is a minute old or more, so a busy API does not write on every request.
    fn token_by_hash(&self, hash: &[u8; 32], now: Millis) -> Result<Option<ApiToken>>;

    // ── The secret key ──────────────────────────────────────────────────────────────────────

    /// The key that opens this database's sealed values, checked against the stored check
    /// value (so a wrong or lost key is told before anything is sealed or sent).
    fn secret_key(&self) -> Result<SecretKey>;

    /// The key file the key is read from: `None` when `WEBNET_SECRET_KEY` gives it, or when
    /// there is none to read (PostgreSQL without `--key-file`). It may not exist yet.
    fn key_file_in_use(&self) -> Option<PathBuf>;

    /// `key rotate`: re-seals every sealed value under `new` in one transaction.
    fn rotate_key(&self, new: NewKey) -> Result<Rotated>;

    /// Refuses (saying what to do instead) unless the key is lost.
    fn check_key_lost(&self) -> Result<()>;

    /// `key reset`: for a database whose key is lost, clears what can no longer be opened.
    fn reset_key(&self, now: Millis) -> Result<Reset>;

    // ── Retention ───────────────────────────────────────────────────────────────────────────

    /// Counts what [`Backend::prune`] would delete now; changes nothing.
    fn count_prunable(&self, scope: Scope, rule: PruneRule, now: Millis) -> Result<PruneCount>;

    /// Deletes the final deliveries `rule` selects in `scope`, their attempts and the events
    /// no delivery refers to any more, in short batches (never one long write), then gives the
    /// space back. `now` judges leases: a delivery leased to a sender is never deleted.
    fn prune(
        &mut self,
        scope: Scope,
        rule: PruneRule,
        now: Millis,
        opts: &PruneOptions,
    ) -> Result<PruneReport>;
}
