//! Webhook rows. Every function takes the caller's [`Scope`]: another customer's webhook is
//! "not found", exactly as a missing one.

use crate::store::columns::{
    headers_json, headers_need_key, keep_stored_sealed, name_taken, seal_headers, types_json,
};

use rusqlite::{params, OptionalExtension};

use super::{conflict_or, decode, Result, SqliteStore, StoreError};
use crate::domain::format::RoutingKey;
use crate::domain::time::Millis;
use crate::domain::{CustomerId, Scope, Secret, WebhookSettings};
use crate::store::{SecretChange, Webhook, WebhookFilter, WebhookLabel};

/// A webhook row and whatever `tail` adds (conditions, order), as [`decode::webhook`] reads it.
fn select(tail: &str) -> String {
    format!("SELECT {} FROM webhooks w {tail}", decode::WEBHOOK)
}

/// A webhook row as [`select`] reads it (never NULL: no join).
fn row(r: &rusqlite::Row<'_>) -> Result<Webhook> {
    decode::webhook(r, 0)?.ok_or_else(|| StoreError::corrupt("webhooks", 0, "id is NULL"))
}

impl SqliteStore {
    /// Creates a webhook; its secret, routing key and credential headers are sealed with the
    /// database's key in the same transaction (a first secret creates the key file).
    pub fn create_webhook_with(
        &self,
        customer: CustomerId,
        s: &WebhookSettings,
        secret: Option<&Secret>,
        routing_key: Option<&RoutingKey>,
        now: Millis,
    ) -> Result<Webhook> {
        let needs_key = secret.is_some() || routing_key.is_some() || headers_need_key(&s.headers);
        let id = self.write_sealed(needs_key, |key| {
            let sealed = secret.zip(key).map(|(secret, key)| key.seal_secret(secret));
            let routing = routing_key
                .zip(key)
                .map(|(r, key)| key.seal(r.expose().as_bytes()));
            self.conn
                .prepare_cached(
                    "INSERT INTO webhooks (customer_id, name, url, event_types, secret, enabled,
                        verify_ssl, timeout_seconds, max_retries, retry_backoff, headers,
                        created_at, updated_at, auto_disable_after, payload_format, routing_key)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14, ?15)",
                )?
                .execute(params![
                    customer.0,
                    s.name,
                    s.url.as_str(),
                    types_json(&s.event_types),
                    sealed,
                    s.enabled,
                    s.verify_ssl,
                    s.timeout_seconds,
                    s.max_retries,
                    s.retry_backoff,
                    headers_json(&seal_headers(&s.headers, key)),
                    now,
                    s.auto_disable_after,
                    s.payload_format.as_str(),
                    routing
                ])
                .map_err(|e| conflict_or(e, "name", || name_taken(&s.name)))?;
            Ok(self.conn.last_insert_rowid())
        })?;
        self.webhook(Scope::Customer(customer), id)
    }

    /// One webhook, if `scope` may see it.
    pub fn webhook(&self, scope: Scope, id: i64) -> Result<Webhook> {
        let mut stmt = self.conn.prepare_cached(&select(
            "WHERE w.id = ?1 AND (?2 IS NULL OR w.customer_id = ?2)",
        ))?;
        let found = decode::first(stmt.query(params![id, scope.customer()])?, row)?;
        found.ok_or_else(|| StoreError::not_found("webhook", id))
    }

    pub fn webhooks(&self, scope: Scope, filter: &WebhookFilter) -> Result<Vec<Webhook>> {
        let mut stmt = self.conn.prepare_cached(&select(
            "WHERE (?1 IS NULL OR w.customer_id = ?1) AND (?2 IS NULL OR w.enabled = ?2)
               AND ((?3 IS NULL AND ?5 IS NULL) OR EXISTS (
                     SELECT 1 FROM json_each(w.event_types)
                     WHERE value IN (?3, ?4, '*') OR value LIKE ?5))
             ORDER BY w.id",
        ))?;
        let [exact, family, prefix] = filter.event_params();
        let rows = stmt.query(params![
            scope.customer(),
            filter.enabled,
            exact,
            family,
            prefix
        ])?;
        let hooks = decode::all(rows, row)?;
        Ok(hooks)
    }

    /// Replaces a webhook's settings (and maybe its secret), and the PagerDuty routing key
    /// when one is given (sealed like the secret; `None` keeps the stored one); returns the
    /// stored result. `s` is usually settings read before (outside this transaction): its
    /// sealed header values are taken from the row as it is now (see [`keep_stored_sealed`]).
    pub fn update_webhook_with(
        &self,
        scope: Scope,
        id: i64,
        s: &WebhookSettings,
        secret: SecretChange,
        routing_key: Option<&RoutingKey>,
        now: Millis,
    ) -> Result<Webhook> {
        let needs_key = matches!(secret, SecretChange::Set(_))
            || routing_key.is_some()
            || headers_need_key(&s.headers);
        self.write_sealed(needs_key, |key| {
            let (set_secret, sealed) = match &secret {
                SecretChange::Keep => (false, None),
                SecretChange::Set(v) => (true, key.map(|k| k.seal_secret(v))),
                SecretChange::Clear => (true, None),
            };
            let routing = routing_key
                .zip(key)
                .map(|(r, key)| key.seal(r.expose().as_bytes()));
            let stored: Option<String> = self
                .conn
                .prepare_cached(
                    "SELECT headers FROM webhooks WHERE id = ?1 AND (?2 IS NULL OR customer_id = ?2)",
                )?
                .query_row(params![id, scope.customer()], |r| r.get(0))
                .optional()?;
            let Some(stored) = stored else {
                return Err(StoreError::not_found("webhook", id));
            };
            let stored = decode::headers(id, &stored)?;
            let headers = keep_stored_sealed(&s.headers, &stored);
            let n = self
                .conn
                .prepare_cached(
                    "UPDATE webhooks SET name = ?3, url = ?4, event_types = ?5, enabled = ?6,
                        verify_ssl = ?7, timeout_seconds = ?8, max_retries = ?9, retry_backoff = ?10,
                        headers = ?11, secret = CASE WHEN ?12 THEN ?13 ELSE secret END,
                        -- A secret set (or cleared) by update replaces any rotation under way.
                        previous_secret = CASE WHEN ?12 THEN NULL ELSE previous_secret END,
                        previous_until = CASE WHEN ?12 THEN NULL ELSE previous_until END,
                        updated_at = ?14, auto_disable_after = ?15, payload_format = ?16,
                        -- Enabling again forgets why it was disabled and any run of failures.
                        disabled_reason = CASE WHEN ?6 THEN NULL ELSE disabled_reason END,
                        failing_since = CASE WHEN ?6 AND NOT enabled THEN NULL ELSE failing_since END,
                        -- Only the pagerduty format sends a routing key: another drops it.
                        routing_key = CASE WHEN ?16 = 'pagerduty'
                                           THEN COALESCE(?17, routing_key) END
                     WHERE id = ?1 AND (?2 IS NULL OR customer_id = ?2)",
                )?
                .execute(params![
                    id,
                    scope.customer(),
                    s.name,
                    s.url.as_str(),
                    types_json(&s.event_types),
                    s.enabled,
                    s.verify_ssl,
                    s.timeout_seconds,
                    s.max_retries,
                    s.retry_backoff,
                    headers_json(&seal_headers(&headers, key)),
                    set_secret,
                    sealed,
                    now,
                    s.auto_disable_after,
                    s.payload_format.as_str(),
                    routing
                ])
                .map_err(|e| conflict_or(e, "name", || name_taken(&s.name)))?;
            if n == 0 {
                return Err(StoreError::not_found("webhook", id));
            }
            Ok(())
        })?;
        self.webhook(scope, id)
    }

    /// Rotates the secret: `secret` signs from now on; the old one keeps signing beside it for
    /// `grace_ms` (none when 0, or when there was no secret).
    pub fn rotate_secret(
        &self,
        scope: Scope,
        id: i64,
        secret: &Secret,
        grace_ms: Millis,
        now: Millis,
    ) -> Result<Webhook> {
        self.write_sealed(true, |key| {
            let sealed = key.map(|k| k.seal_secret(secret));
            let n = self.conn.execute(
                "UPDATE webhooks SET
                    previous_secret = CASE WHEN ?3 > 0 THEN secret END,
                    previous_until = CASE WHEN ?3 > 0 AND secret IS NOT NULL THEN ?4 + ?3 END,
                    secret = ?5, updated_at = ?4
                 WHERE id = ?1 AND (?2 IS NULL OR customer_id = ?2)",
                params![id, scope.customer(), grace_ms, now, sealed],
            )?;
            if n == 0 {
                return Err(StoreError::not_found("webhook", id));
            }
            Ok(())
        })?;
        self.webhook(scope, id)
    }

    /// Which webhook `id` is (its customer and name), read without decoding the rest of its
    /// row: a damaged one can still be named and deleted.
    pub fn webhook_label(&self, scope: Scope, id: i64) -> Result<WebhookLabel> {
        self.conn
            .prepare_cached(
                "SELECT customer_id, CAST(name AS TEXT) FROM webhooks
                 WHERE id = ?1 AND (?2 IS NULL OR customer_id = ?2)",
            )?
            .query_row(params![id, scope.customer()], |r| {
                Ok(WebhookLabel {
                    id,
                    customer: CustomerId(r.get(0)?),
                    name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                })
            })
            .optional()?
            .ok_or_else(|| StoreError::not_found("webhook", id))
    }

    /// Deletes a webhook. Its delivery history stays (audit); deliveries still waiting for an
    /// attempt end `failed`, since there is nowhere left to send them. One being sent now (a
    /// live lease) is left to its sender, which records what the receiver answered (a retry it
    /// would need ends it `failed`; a lease that runs out unrecorded ends it at the next claim).
    pub fn delete_webhook(&mut self, scope: Scope, id: i64, now: Millis) -> Result<WebhookLabel> {
        let hook = self.webhook_label(scope, id)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE deliveries SET status = 'failed', error_message = 'Webhook was deleted',
                next_attempt_at = NULL, lease_until = NULL, lease_owner = NULL, updated_at = ?2
             WHERE webhook_id = ?1 AND status IN ('pending', 'retrying')
               AND (lease_until IS NULL OR lease_until <= ?2)",
            params![id, now],
        )?;
        // Its history goes on under the name it had last (each delivery was recorded under the
        // name of the day): only a renamed webhook's rows are touched.
        tx.execute(
            "UPDATE deliveries SET webhook_name = ?2 WHERE webhook_id = ?1 AND webhook_name <> ?2",
            params![id, hook.name],
        )?;
        tx.execute("DELETE FROM webhooks WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(hook)
    }

    /// The sealed secret of a webhook, for signing.
    pub fn webhook_secret(&self, scope: Scope, id: i64) -> Result<Option<Vec<u8>>> {
        self.conn
            .prepare_cached(
                "SELECT secret FROM webhooks WHERE id = ?1 AND (?2 IS NULL OR customer_id = ?2)",
            )?
            .query_row(params![id, scope.customer()], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::not_found("webhook", id))
    }
}

#[cfg(test)]
mod tests;
