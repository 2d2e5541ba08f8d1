//! Webhook rows. Every function takes the caller's [`Scope`]: another customer's webhook is
//! "not found", exactly as a missing one.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension};

use super::{conflict_or, Result, Store, StoreError};
use crate::domain::event_type::Subscription;
use crate::domain::format::{PayloadFormat, RoutingKey};
use crate::domain::secret::SecretKey;
use crate::domain::time::Millis;
use crate::domain::{CustomerId, EventType, Scope, Secret, WebhookSettings, WebhookUrl};

/// A stored webhook. The secret itself is never loaded here; see [`Store::webhook_secret`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub customer: CustomerId,
    pub settings: WebhookSettings,
    pub has_secret: bool,
    /// Why the webhook was disabled automatically (410 Gone, failing too long), if it was.
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed; `None` while it delivers.
    pub failing_since: Option<Millis>,
    /// During a secret rotation: until when the previous secret still signs.
    pub previous_secret_until: Option<Millis>,
    /// Whether a PagerDuty routing key is stored (sealed; never loaded here).
    pub has_routing_key: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// What happens to the secret on update.
pub enum SecretChange {
    Keep,
    /// A new secret, sealed with the database's key as it is stored.
    Set(Secret),
    Clear,
}

/// Which webhooks `webhooks list` shows.
#[derive(Debug, Default, Clone)]
pub struct WebhookFilter {
    pub enabled: Option<bool>,
    pub event_type: Option<EventType>,
}

const SELECT: &str = "SELECT id, customer_id, name, url, event_types, secret IS NOT NULL, enabled,
        verify_ssl, timeout_seconds, max_retries, retry_backoff, headers, created_at, updated_at,
        auto_disable_after, disabled_reason, failing_since,
        CASE WHEN previous_secret IS NOT NULL THEN previous_until END, payload_format,
        routing_key IS NOT NULL
    FROM webhooks";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Webhook> {
    let bad = |i: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    };
    let url: String = r.get(3)?;
    let types: String = r.get(4)?;
    let headers: String = r.get(11)?;
    let event_types: Vec<String> =
        serde_json::from_str(&types).map_err(|e| bad(4, e.to_string()))?;
    Ok(Webhook {
        id: r.get(0)?,
        customer: CustomerId(r.get(1)?),
        settings: WebhookSettings {
            name: r.get(2)?,
            // Stored URLs were checked when written; private ones only if allowed then.
            url: WebhookUrl::parse_form(&url).map_err(|e| bad(3, e.to_string()))?,
            event_types: event_types
                .iter()
                .map(|t| Subscription::parse(t).map_err(|e| bad(4, e)))
                .collect::<rusqlite::Result<_>>()?,
            enabled: r.get(6)?,
            verify_ssl: r.get(7)?,
            timeout_seconds: r.get(8)?,
            max_retries: r.get(9)?,
            retry_backoff: r.get(10)?,
            headers: serde_json::from_str(&headers).map_err(|e| bad(11, e.to_string()))?,
            auto_disable_after: r.get(14)?,
            payload_format: PayloadFormat::parse(&r.get::<_, String>(18)?).unwrap_or_default(),
        },
        has_secret: r.get(5)?,
        disabled_reason: r.get(15)?,
        failing_since: r.get(16)?,
        previous_secret_until: r.get(17)?,
        has_routing_key: r.get(19)?,
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
    })
}

fn types_json(types: &[Subscription]) -> String {
    serde_json::Value::from(types.iter().map(|t| t.as_string()).collect::<Vec<_>>()).to_string()
}

fn headers_json(h: &BTreeMap<String, String>) -> String {
    serde_json::to_string(h).unwrap_or_else(|_| "{}".into())
}

/// Marks a header value stored sealed. Header values cannot hold control characters, so no
/// value a user gives can start with it.
pub const SEALED_PREFIX: &str = crate::domain::headers::SEALED_PREFIX;

/// Whether storing `headers` needs the secret key: a credential header not sealed yet.
fn headers_need_key(headers: &BTreeMap<String, String>) -> bool {
    headers
        .iter()
        .any(|(k, v)| crate::domain::headers::is_sensitive(k, v) && !v.starts_with(SEALED_PREFIX))
}

/// Custom headers as stored: credential values (`Authorization`, `X-Api-Key`, …, or a value
/// such as `Bearer …` under any name) sealed with the secret key like webhook secrets, so they
/// are never in clear in the file. `key` is given
/// whenever [`headers_need_key`].
fn seal_headers(
    headers: &BTreeMap<String, String>,
    key: Option<&SecretKey>,
) -> BTreeMap<String, String> {
    let mut out = headers.clone();
    let Some(key) = key else {
        return out;
    };
    for (k, v) in out.iter_mut() {
        if crate::domain::headers::is_sensitive(k, v) && !v.starts_with(SEALED_PREFIX) {
            *v = format!("{SEALED_PREFIX}{}", hex::encode(key.seal(v.as_bytes())));
        }
    }
    out
}

/// The headers to write back on update. A sealed value in `given` is one the caller read
/// earlier and did not change; `key rotate` (or `key reset`) may have re-sealed (or dropped) it
/// since, so the value stored now is written back instead, never the caller's copy: that one
/// may be sealed under a key that no longer exists. A sealed header the stored row no longer
/// has (a reset dropped it) stays dropped.
fn keep_stored_sealed(
    given: &BTreeMap<String, String>,
    stored: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    given
        .iter()
        .filter_map(|(k, v)| {
            if !v.starts_with(SEALED_PREFIX) {
                return Some((k.clone(), v.clone()));
            }
            stored
                .get(k)
                .filter(|now| now.starts_with(SEALED_PREFIX))
                .map(|now| (k.clone(), now.clone()))
        })
        .collect()
}

fn name_taken(name: &str) -> String {
    format!("a webhook named {name:?} already exists for this customer")
}

impl Store {
    /// Creates a webhook; its secret and credential headers are sealed with the database's
    /// key in the same transaction (a first secret creates the key file).
    pub fn create_webhook(
        &self,
        customer: CustomerId,
        s: &WebhookSettings,
        secret: Option<&Secret>,
        now: Millis,
    ) -> Result<Webhook> {
        self.create_webhook_with(customer, s, secret, None, now)
    }

    /// [`Store::create_webhook`] with a PagerDuty routing key, sealed like the secret.
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
        self.conn
            .prepare_cached(&format!(
                "{SELECT} WHERE id = ?1 AND (?2 IS NULL OR customer_id = ?2)"
            ))?
            .query_row(params![id, scope.customer()], row)
            .optional()?
            .ok_or(StoreError::NotFound {
                what: "webhook",
                id: id.to_string(),
            })
    }

    pub fn webhooks(&self, scope: Scope, filter: &WebhookFilter) -> Result<Vec<Webhook>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{SELECT} WHERE (?1 IS NULL OR customer_id = ?1) AND (?2 IS NULL OR enabled = ?2)
               AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(event_types)
                                           WHERE value IN (?3, ?4, '*')))
             ORDER BY id"
        ))?;
        let rows = stmt.query_map(
            params![
                scope.customer(),
                filter.enabled,
                filter.event_type.map(|t| t.as_str()),
                filter.event_type.map(|t| format!("{}.*", t.family()))
            ],
            row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Replaces a webhook's settings (and maybe its secret); returns the stored result.
    /// `s` is usually settings read before (outside this transaction): its sealed header
    /// values are taken from the row as it is now (see [`keep_stored_sealed`]).
    pub fn update_webhook(
        &self,
        scope: Scope,
        id: i64,
        s: &WebhookSettings,
        secret: SecretChange,
        now: Millis,
    ) -> Result<Webhook> {
        self.update_webhook_with(scope, id, s, secret, None, now)
    }

    /// [`Store::update_webhook`] that also replaces the PagerDuty routing key when one is
    /// given (sealed like the secret); `None` keeps the stored one.
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
                return Err(StoreError::NotFound {
                    what: "webhook",
                    id: id.to_string(),
                });
            };
            // Unreadable stored headers: nothing sealed can be vouched for, so none is kept.
            let stored: BTreeMap<String, String> =
                serde_json::from_str(&stored).unwrap_or_default();
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
                        routing_key = COALESCE(?17, routing_key)
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
                return Err(StoreError::NotFound {
                    what: "webhook",
                    id: id.to_string(),
                });
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
                return Err(StoreError::NotFound {
                    what: "webhook",
                    id: id.to_string(),
                });
            }
            Ok(())
        })?;
        self.webhook(scope, id)
    }

    /// Deletes a webhook. Its delivery history stays (audit); deliveries still waiting for an
    /// attempt end `failed`, since there is nowhere left to send them.
    pub fn delete_webhook(&mut self, scope: Scope, id: i64, now: Millis) -> Result<Webhook> {
        let hook = self.webhook(scope, id)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE deliveries SET status = 'failed', error_message = 'Webhook was deleted',
                next_attempt_at = NULL, lease_until = NULL, lease_owner = NULL, updated_at = ?2
             WHERE webhook_id = ?1 AND status IN ('pending', 'retrying')",
            params![id, now],
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
            .ok_or(StoreError::NotFound {
                what: "webhook",
                id: id.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewKey;

    fn settings(headers: &[(&str, &str)]) -> WebhookSettings {
        WebhookSettings {
            name: "w".into(),
            url: WebhookUrl::parse_form("https://a.example.com/").unwrap(),
            event_types: crate::domain::webhook::parse_event_types(&["job.completed"]).unwrap(),
            enabled: true,
            verify_ssl: true,
            timeout_seconds: 10,
            max_retries: 3,
            retry_backoff: 60,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            auto_disable_after: 0,
            payload_format: Default::default(),
        }
    }

    /// The credential header as the current key opens it.
    fn opened(store: &Store, id: i64, name: &str) -> String {
        let stored = &store.webhook(Scope::All, id).unwrap().settings.headers[name];
        let sealed = hex::decode(stored.strip_prefix(SEALED_PREFIX).unwrap()).unwrap();
        let plain = store.secret_key().unwrap().open(&sealed).unwrap();
        String::from_utf8(plain).unwrap()
    }

    #[test]
    fn an_update_read_before_a_key_rotation_keeps_the_headers_it_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("w.db"), None).unwrap();
        let customer = store.create_customer("acme", 0).unwrap().id;
        let hook = store
            .create_webhook(
                customer,
                &settings(&[("Authorization", "Bearer tok-1"), ("X-Plain", "p")]),
                None,
                0,
            )
            .unwrap();
        // `webhooks update` reads the settings (sealed under the first key), a rotation
        // commits meanwhile, then the update writes.
        let mut read = store.webhook(Scope::All, hook.id).unwrap().settings;
        store.rotate_key(NewKey::File).unwrap();
        read.timeout_seconds = 5;
        let updated = store
            .update_webhook(Scope::All, hook.id, &read, SecretChange::Keep, 1)
            .unwrap();
        assert_eq!(updated.settings.timeout_seconds, 5);
        assert_eq!(updated.settings.headers["X-Plain"], "p");
        assert_eq!(opened(&store, hook.id, "Authorization"), "Bearer tok-1");
        // Nothing is left sealed under the old key: the next rotation opens everything.
        let r = store.rotate_key(NewKey::File).unwrap();
        assert_eq!(r.headers, 1);
        assert_eq!(opened(&store, hook.id, "Authorization"), "Bearer tok-1");

        // A header the update sets anew is sealed under the current key.
        let mut read = store.webhook(Scope::All, hook.id).unwrap().settings;
        read.headers.insert("X-Api-Key".into(), "k-2".into());
        store.rotate_key(NewKey::File).unwrap();
        store
            .update_webhook(Scope::All, hook.id, &read, SecretChange::Keep, 2)
            .unwrap();
        assert_eq!(opened(&store, hook.id, "X-Api-Key"), "k-2");
        assert_eq!(opened(&store, hook.id, "Authorization"), "Bearer tok-1");
    }

    #[test]
    fn an_update_read_before_a_key_reset_does_not_bring_back_what_it_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("w.db"), None).unwrap();
        let customer = store.create_customer("acme", 0).unwrap().id;
        let hook = store
            .create_webhook(
                customer,
                &settings(&[("Authorization", "Bearer tok-1"), ("X-Plain", "p")]),
                None,
                0,
            )
            .unwrap();
        let read = store.webhook(Scope::All, hook.id).unwrap().settings;
        std::fs::remove_file(store.key_file_path()).unwrap();
        store.reset_key(1).unwrap();
        store
            .update_webhook(Scope::All, hook.id, &read, SecretChange::Keep, 2)
            .unwrap();
        let headers = store.webhook(Scope::All, hook.id).unwrap().settings.headers;
        assert!(!headers.contains_key("Authorization"), "{headers:?}");
        assert_eq!(headers["X-Plain"], "p");
        // The next secret can be stored (nothing sealed under the lost key came back).
        let s = Secret::new("new-secret").unwrap();
        store.rotate_secret(Scope::All, hook.id, &s, 0, 3).unwrap();
        store.rotate_key(NewKey::File).unwrap();
    }
}
