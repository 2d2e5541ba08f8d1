//! [`Backend`] for SQLite: each method is the query module's function of the same name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::SqliteStore;
use crate::domain::allowlist::AllowedTarget;
use crate::domain::format::RoutingKey;
use crate::domain::secret::SecretKey;
use crate::domain::time::Millis;
use crate::domain::{CustomerId, Scope, Secret, WebhookSettings};
use crate::store::{
    AllowedTargetRow, ApiToken, AttemptLog, AttemptStat, Backend, Backlog, Claim, Claimed,
    Customer, Delivery, DeliveryCounts, DeliveryFilter, Disabled, Job, MetricsSnapshot, NewEvent,
    NewKey, NewToken, Outcome, PruneCount, PruneOptions, PruneReport, PruneRule, Recorded, Reset,
    Result, Rotated, SecretChange, Store, Webhook, WebhookFilter, WebhookLabel,
};

impl Backend for SqliteStore {
    fn path(&self) -> &Path {
        &self.path
    }

    fn busy_timeout(&self) -> Duration {
        self.busy_timeout
    }

    fn describe(&self) -> Result<crate::store::DbInfo> {
        let schema: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        Ok(crate::store::DbInfo {
            backend: "sqlite",
            version: rusqlite::version().to_string(),
            schema,
            sealed: self.key_check()?.is_some(),
        })
    }

    fn reopen(&self) -> Result<Store> {
        Ok(Store::new(SqliteStore::reopen(self)?))
    }

    fn create_customer(&self, name: &str, now: Millis) -> Result<Customer> {
        SqliteStore::create_customer(self, name, now)
    }

    fn customers(&self, scope: Scope) -> Result<Vec<Customer>> {
        SqliteStore::customers(self, scope)
    }

    fn customer(&self, scope: Scope, id: CustomerId) -> Result<Customer> {
        SqliteStore::customer(self, scope, id)
    }

    fn create_webhook_with(
        &self,
        customer: CustomerId,
        s: &WebhookSettings,
        secret: Option<&Secret>,
        routing_key: Option<&RoutingKey>,
        now: Millis,
    ) -> Result<Webhook> {
        SqliteStore::create_webhook_with(self, customer, s, secret, routing_key, now)
    }

    fn webhook(&self, scope: Scope, id: i64) -> Result<Webhook> {
        SqliteStore::webhook(self, scope, id)
    }

    fn webhooks(&self, scope: Scope, filter: &WebhookFilter) -> Result<Vec<Webhook>> {
        SqliteStore::webhooks(self, scope, filter)
    }

    fn update_webhook_with(
        &self,
        scope: Scope,
        id: i64,
        s: &WebhookSettings,
        secret: SecretChange,
        routing_key: Option<&RoutingKey>,
        now: Millis,
    ) -> Result<Webhook> {
        SqliteStore::update_webhook_with(self, scope, id, s, secret, routing_key, now)
    }

    fn rotate_secret(
        &self,
        scope: Scope,
        id: i64,
        secret: &Secret,
        grace_ms: Millis,
        now: Millis,
    ) -> Result<Webhook> {
        SqliteStore::rotate_secret(self, scope, id, secret, grace_ms, now)
    }

    fn webhook_label(&self, scope: Scope, id: i64) -> Result<WebhookLabel> {
        SqliteStore::webhook_label(self, scope, id)
    }

    fn delete_webhook(&mut self, scope: Scope, id: i64, now: Millis) -> Result<WebhookLabel> {
        SqliteStore::delete_webhook(self, scope, id, now)
    }

    fn webhook_secret(&self, scope: Scope, id: i64) -> Result<Option<Vec<u8>>> {
        SqliteStore::webhook_secret(self, scope, id)
    }

    fn webhook_known(&self, scope: Scope, id: i64) -> Result<()> {
        SqliteStore::webhook_known(self, scope, id)
    }

    fn record_events(&mut self, events: &[NewEvent<'_>], now: Millis) -> Result<Vec<Recorded>> {
        SqliteStore::record_events(self, events, now)
    }

    fn record_test(
        &mut self,
        scope: Scope,
        webhook: i64,
        payload: &[u8],
        owner: &str,
        now: Millis,
    ) -> Result<Job> {
        SqliteStore::record_test(self, scope, webhook, payload, owner, now)
    }

    fn claim(&mut self, scope: Scope, how: Claim<'_>, owner: &str, now: Millis) -> Result<Claimed> {
        SqliteStore::claim(self, scope, how, owner, now)
    }

    fn record_outcomes(
        &mut self,
        outcomes: &[Outcome],
        owner: &str,
        now: Millis,
    ) -> Result<Vec<Disabled>> {
        SqliteStore::record_outcomes(self, outcomes, owner, now)
    }

    fn release(&mut self, ids: &[i64], owner: &str) -> Result<()> {
        SqliteStore::release(self, ids, owner)
    }

    fn next_due(&self, scope: Scope) -> Result<Option<Millis>> {
        SqliteStore::next_due(self, scope)
    }

    fn backlog(&self, scope: Scope, now: Millis) -> Result<Backlog> {
        SqliteStore::backlog(self, scope, now)
    }

    fn deliveries(&self, scope: Scope, f: &DeliveryFilter) -> Result<Vec<Delivery>> {
        SqliteStore::deliveries(self, scope, f)
    }

    fn count_deliveries(&self, scope: Scope, f: &DeliveryFilter) -> Result<u64> {
        SqliteStore::count_deliveries(self, scope, f)
    }

    fn delivery(&self, scope: Scope, id: i64) -> Result<Delivery> {
        SqliteStore::delivery(self, scope, id)
    }

    fn attempts(&self, delivery: i64) -> Result<Vec<AttemptLog>> {
        SqliteStore::attempts(self, delivery)
    }

    fn stats(
        &self,
        scope: Scope,
        since: Millis,
        webhook: Option<i64>,
    ) -> Result<(Vec<DeliveryCounts>, Vec<AttemptStat>)> {
        SqliteStore::stats(self, scope, since, webhook)
    }

    fn metrics(&self, scope: Scope, now: Millis) -> Result<MetricsSnapshot> {
        SqliteStore::metrics(self, scope, now)
    }

    fn allow_target(
        &self,
        target: &AllowedTarget,
        note: Option<&str>,
        now: Millis,
    ) -> Result<(AllowedTargetRow, bool)> {
        SqliteStore::allow_target(self, target, note, now)
    }

    fn allowed_targets(&self) -> Result<Vec<AllowedTargetRow>> {
        SqliteStore::allowed_targets(self)
    }

    fn remove_target(&self, target: &AllowedTarget) -> Result<()> {
        SqliteStore::remove_target(self, target)
    }

    fn create_token(&self, token: &NewToken<'_>, now: Millis) -> Result<ApiToken> {
        SqliteStore::create_token(self, token, now)
    }

    fn tokens(&self) -> Result<Vec<ApiToken>> {
        SqliteStore::tokens(self)
    }

    fn revoke_token(&self, id: i64, now: Millis) -> Result<ApiToken> {
        SqliteStore::revoke_token(self, id, now)
    }

    fn token_by_hash(&self, hash: &[u8; 32], now: Millis) -> Result<Option<ApiToken>> {
        SqliteStore::token_by_hash(self, hash, now)
    }

    fn secret_key(&self) -> Result<SecretKey> {
        SqliteStore::secret_key(self)
    }

    fn key_file_in_use(&self) -> Option<PathBuf> {
        self.passphrase.is_none().then(|| self.key_file_path())
    }

    fn rotate_key(&self, new: NewKey) -> Result<Rotated> {
        SqliteStore::rotate_key(self, new)
    }

    fn check_key_lost(&self) -> Result<()> {
        SqliteStore::check_key_lost(self)
    }

    fn reset_key(&self, now: Millis) -> Result<Reset> {
        SqliteStore::reset_key(self, now)
    }

    fn count_prunable(&self, scope: Scope, rule: PruneRule, now: Millis) -> Result<PruneCount> {
        SqliteStore::count_prunable(self, scope, rule, now)
    }

    fn prune(
        &mut self,
        scope: Scope,
        rule: PruneRule,
        now: Millis,
        opts: &PruneOptions,
    ) -> Result<PruneReport> {
        SqliteStore::prune(self, scope, rule, now, opts)
    }
}
