//! Versioned schema migrations, applied in order inside one immediate transaction so that
//! concurrent first runs agree. `PRAGMA user_version` records how far a file has come.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::{Result, StoreError, APPLICATION_ID};

/// Each entry takes the schema from version `i` to `i + 1`.
/// Ids use AUTOINCREMENT: a deleted webhook's or delivery's id is never reused, since receivers
/// (`X-Webhook-Delivery`) and people's notes refer to them.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE customers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    name            TEXT NOT NULL,
    url             TEXT NOT NULL,
    event_types     TEXT NOT NULL,            -- JSON array of catalog names
    secret          BLOB,                     -- nonce || XChaCha20-Poly1305 ciphertext
    enabled         INTEGER NOT NULL DEFAULT 1,
    verify_ssl      INTEGER NOT NULL DEFAULT 1,
    timeout_seconds INTEGER NOT NULL DEFAULT 10,
    max_retries     INTEGER NOT NULL DEFAULT 3,
    retry_backoff   INTEGER NOT NULL DEFAULT 60,
    headers         TEXT NOT NULL DEFAULT '{}', -- JSON object name -> value
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (customer_id, name)
);

-- One row per event received; the payload bytes are exactly what every attempt sends.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    event_type      TEXT NOT NULL,
    source_event_id INTEGER,                  -- the event_id the caller gave, if any
    payload         BLOB NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_row       INTEGER NOT NULL REFERENCES events(id),
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    webhook_id      INTEGER REFERENCES webhooks(id) ON DELETE SET NULL,
    webhook_name    TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    event_id        INTEGER,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'retrying', 'success', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    http_status     INTEGER,
    response_body   TEXT,
    error_message   TEXT,
    duration_ms     INTEGER,
    next_attempt_at INTEGER,                  -- when the next attempt is due (ms); NULL when terminal
    lease_until     INTEGER,                  -- a sender holds the delivery until then (ms)
    lease_owner     TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_customer ON deliveries (customer_id, id);
CREATE INDEX deliveries_created ON deliveries (created_at);

-- Append-only: one row per attempt, never updated.
CREATE TABLE attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id     INTEGER NOT NULL REFERENCES deliveries(id),
    attempt         INTEGER NOT NULL,
    started_at      INTEGER NOT NULL,
    request_headers TEXT NOT NULL,            -- JSON object, credentials redacted
    http_status     INTEGER,
    response_body   TEXT,
    duration_ms     INTEGER NOT NULL,
    error_message   TEXT,
    UNIQUE (delivery_id, attempt)
);
"#,
    r#"
-- Endpoint health: why a webhook was disabled automatically, since when it has been failing,
-- and after how long without a successful delivery it is disabled (0 = never).
ALTER TABLE webhooks ADD COLUMN disabled_reason TEXT;
ALTER TABLE webhooks ADD COLUMN failing_since INTEGER;
ALTER TABLE webhooks ADD COLUMN auto_disable_after INTEGER NOT NULL DEFAULT 259200;
"#,
    r#"
-- Secret rotation: the old secret keeps signing (beside the new one) until previous_until.
ALTER TABLE webhooks ADD COLUMN previous_secret BLOB;
ALTER TABLE webhooks ADD COLUMN previous_until INTEGER;
"#,
    r#"
-- What the body looks like: the spec's JSON, or a Slack or Teams message.
ALTER TABLE webhooks ADD COLUMN payload_format TEXT NOT NULL DEFAULT 'json';
"#,
    r#"
-- History retention (`deliveries prune`): an event's remaining deliveries and the oldest events
-- are found by index, so pruning (and the foreign-key check on deleting an event) never scans
-- a table.
CREATE INDEX deliveries_event ON deliveries (event_row);
CREATE INDEX events_created ON events (created_at);
"#,
];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

pub fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current == LATEST {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have migrated while we waited for the write lock.
    let current: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > LATEST {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: current,
            known: LATEST,
        });
    }
    for sql in &MIGRATIONS[current as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", LATEST)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Scope;
    use crate::store::Store;

    #[test]
    fn a_version_1_database_is_upgraded_in_place_keeping_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute_batch(
                "INSERT INTO customers (name, created_at) VALUES ('acme', 0);
                 INSERT INTO webhooks (customer_id, name, url, event_types, created_at, updated_at)
                 VALUES (1, 'kept', 'https://a.example.com/', '[\"job.failed\"]', 0, 0);",
            )
            .unwrap();
        }
        let store = Store::open(&path, None).unwrap();
        let version: i64 = store
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, LATEST);
        let hook = store.webhook(Scope::All, 1).unwrap();
        assert_eq!(hook.settings.name, "kept");
        assert_eq!(
            hook.settings.auto_disable_after,
            3 * 24 * 3600,
            "new columns get their defaults"
        );
        assert_eq!(hook.disabled_reason, None);
    }
}
