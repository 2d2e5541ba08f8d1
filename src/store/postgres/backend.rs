//! [`Backend`] for PostgreSQL: each method is the query module's function of the same name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::PgStore;
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

impl Backend for PgStore {
    fn path(&self) -> &Path {
        &self.shown
    }

    fn busy_timeout(&self) -> Duration {
        crate::store::busy_timeout()
    }

    fn revive_if_idle(&self) {
        PgStore::revive_if_idle(self)
    }

    fn wait_for_work(&self, timeout: Duration) -> Result<bool> {
        PgStore::wait_for_work(self, timeout)
    }

    fn announces_work(&self) -> bool {
        true
    }

    fn describe(&self) -> Result<crate::store::DbInfo> {
        let (version, schema, sealed) = PgStore::describe(self)?;
        Ok(crate::store::DbInfo {
            backend: "postgresql",
            version,
            schema: schema.unwrap_or(0),
            sealed,
        })
    }

    fn reopen(&self) -> Result<Store> {
        Ok(Store::new(PgStore::reopen(self)?))
    }

    fn create_customer(&self, name: &str, now: Millis) -> Result<Customer> {
        PgStore::create_customer(self, name, now)
    }

    fn customers(&self, scope: Scope) -> Result<Vec<Customer>> {
        PgStore::customers(self, scope)
    }

    fn customer(&self, scope: Scope, id: CustomerId) -> Result<Customer> {
        PgStore::customer(self, scope, id)
    }

    fn create_webhook_with(
        &self,
        customer: CustomerId,
        s: &WebhookSettings,
        secret: Option<&Secret>,
        routing_key: Option<&RoutingKey>,
        now: Millis,
    ) -> Result<Webhook> {
        PgStore::create_webhook_with(self, customer, s, secret, routing_key, now)
    }

    fn webhook(&self, scope: Scope, id: i64) -> Result<Webhook> {
        PgStore::webhook(self, scope, id)
    }

    fn webhooks(&self, scope: Scope, filter: &WebhookFilter) -> Result<Vec<Webhook>> {
        PgStore::webhooks(self, scope, filter)
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
        PgStore::update_webhook_with(self, scope, id, s, secret, routing_key, now)
    }

    fn rotate_secret(
        &self,
        scope: Scope,
        id: i64,
        secret: &Secret,
        grace_ms: Millis,
        now: Millis,
    ) -> Result<Webhook> {
        PgStore::rotate_secret(self, scope, id, secret, grace_ms, now)
    }

    fn webhook_label(&self, scope: Scope, id: i64) -> Result<WebhookLabel> {
        PgStore::webhook_label(self, scope, id)
    }

    fn delete_webhook(&mut self, scope: Scope, id: i64, now: Millis) -> Result<WebhookLabel> {
        PgStore::delete_webhook(self, scope, id, now)
    }

    fn webhook_secret(&self, scope: Scope, id: i64) -> Result<Option<Vec<u8>>> {
        PgStore::webhook_secret(self, scope, id)
    }

    fn webhook_known(&self, scope: Scope, id: i64) -> Result<()> {
        PgStore::webhook_known(self, scope, id)
    }

    fn record_events(&mut self, events: &[NewEvent<'_>], now: Millis) -> Result<Vec<Recorded>> {
        PgStore::record_events(self, events, now)
    }

    fn record_test(
        &mut self,
        scope: Scope,
        webhook: i64,
        payload: &[u8],
        owner: &str,
        now: Millis,
    ) -> Result<Job> {
        PgStore::record_test(self, scope, webhook, payload, owner, now)
    }

    fn claim(&mut self, scope: Scope, how: Claim<'_>, owner: &str, now: Millis) -> Result<Claimed> {
        PgStore::claim(self, scope, how, owner, now)
    }

    fn record_outcomes(
        &mut self,
        outcomes: &[Outcome],
        owner: &str,
        now: Millis,
    ) -> Result<Vec<Disabled>> {
        PgStore::record_outcomes(self, outcomes, owner, now)
    }

    fn release(&mut self, ids: &[i64], owner: &str) -> Result<()> {
        PgStore::release(self, ids, owner)
    }

    fn next_due(&self, scope: Scope) -> Result<Option<Millis>> {
        PgStore::next_due(self, scope)
    }

    fn backlog(&self, scope: Scope, now: Millis) -> Result<Backlog> {
        PgStore::backlog(self, scope, now)
    }

    fn deliveries(&self, scope: Scope, f: &DeliveryFilter) -> Result<Vec<Delivery>> {
        PgStore::deliveries(self, scope, f)
    }

    fn count_deliveries(&self, scope: Scope, f: &DeliveryFilter) -> Result<u64> {
        PgStore::count_deliveries(self, scope, f)
    }

    fn delivery(&self, scope: Scope, id: i64) -> Result<Delivery> {
        PgStore::delivery(self, scope, id)
    }

    fn attempts(&self, delivery: i64) -> Result<Vec<AttemptLog>> {
        PgStore::attempts(self, delivery)
    }

    fn stats(
        &self,
        scope: Scope,
        since: Millis,
        webhook: Option<i64>,
    ) -> Result<(Vec<DeliveryCounts>, Vec<AttemptStat>)> {
        PgStore::stats(self, scope, since, webhook)
    }

    fn metrics(&self, scope: Scope, now: Millis) -> Result<MetricsSnapshot> {
        PgStore::metrics(self, scope, now)
    }

    fn allow_target(
        &self,
        target: &AllowedTarget,
        note: Option<&str>,
        now: Millis,
    ) -> Result<(AllowedTargetRow, bool)> {
        PgStore::allow_target(self, target, note, now)
    }

    fn allowed_targets(&self) -> Result<Vec<AllowedTargetRow>> {
        PgStore::allowed_targets(self)
    }

    fn remove_target(&self, target: &AllowedTarget) -> Result<()> {
        PgStore::remove_target(self, target)
    }

    fn create_token(&self, token: &NewToken<'_>, now: Millis) -> Result<ApiToken> {
        PgStore::create_token(self, token, now)
    }

    fn tokens(&self) -> Result<Vec<ApiToken>> {
        PgStore::tokens(self)
    }

    fn revoke_token(&self, id: i64, now: Millis) -> Result<ApiToken> {
        PgStore::revoke_token(self, id, now)
    }

    fn token_by_hash(&self, hash: &[u8; 32], now: Millis) -> Result<Option<ApiToken>> {
        PgStore::token_by_hash(self, hash, now)
    }

    fn secret_key(&self) -> Result<SecretKey> {
        PgStore::secret_key(self)
    }

    fn key_file_in_use(&self) -> Option<PathBuf> {
        if self.keys().passphrase.is_some() {
            return None;
        }
        PgStore::key_file(self).map(Path::to_path_buf)
    }

    fn rotate_key(&self, new: NewKey) -> Result<Rotated> {
        PgStore::rotate_key(self, new)
    }

    fn check_key_lost(&self) -> Result<()> {
        PgStore::check_key_lost(self)
    }

    fn reset_key(&self, now: Millis) -> Result<Reset> {
        PgStore::reset_key(self, now)
    }

    fn count_prunable(&self, scope: Scope, rule: PruneRule, now: Millis) -> Result<PruneCount> {
        PgStore::count_prunable(self, scope, rule, now)
    }

    fn prune(
        &mut self,
        scope: Scope,
        rule: PruneRule,
        now: Millis,
        opts: &PruneOptions,
    ) -> Result<PruneReport> {
        PgStore::prune(self, scope, rule, now, opts)
    }
}
