//! Versioned schema migrations, applied in order inside one immediate transaction so that
//! concurrent first runs agree. `PRAGMA user_version` records how far a file has come.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::{Result, StoreError, APPLICATION_ID};

/// Each entry takes the schema from version `i` to `i + 1`.
/// Ids use AUTOINCREMENT: a deleted webhook's or delivery's id is never reused, since receivers
/// (`X-Webhook-Delivery`) and people's notes refer to them.
pub(super) const MIGRATIONS: &[&str] = &[
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
-- A deleted webhook's history stays findable by its id: deliveries.webhook_id loses its
-- `ON DELETE SET NULL` (SQLite cannot alter a foreign key, so the table is rebuilt; ids are
-- never reused, so a webhook_id without a webhooks row means "deleted"). Rows of webhooks
-- deleted before this version had their id set to NULL already and keep it NULL.
-- Runs with foreign keys off (see `migrate`), as SQLite's table-rebuild procedure requires.
CREATE TABLE deliveries_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_row       INTEGER NOT NULL REFERENCES events(id),
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    webhook_id      INTEGER,                  -- kept when the webhook is deleted
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
INSERT INTO deliveries_new (id, event_row, customer_id, webhook_id, webhook_name, event_type,
        event_id, status, attempts, http_status, response_body, error_message, duration_ms,
        next_attempt_at, lease_until, lease_owner, created_at, updated_at)
    SELECT id, event_row, customer_id, webhook_id, webhook_name, event_type,
        event_id, status, attempts, http_status, response_body, error_message, duration_ms,
        next_attempt_at, lease_until, lease_owner, created_at, updated_at
    FROM deliveries ORDER BY id;
-- Keep the AUTOINCREMENT high-water mark: ids of deliveries deleted earlier are never reused.
DELETE FROM sqlite_sequence WHERE name = 'deliveries_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'deliveries_new', seq FROM sqlite_sequence WHERE name = 'deliveries';
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_customer ON deliveries (customer_id, id);
CREATE INDEX deliveries_created ON deliveries (created_at);
"#,
    r#"
-- Non-public destinations the operator allows (DESIGN §7), read by every process that creates
-- webhooks or sends: a CIDR range ('10.20.0.0/16', '::1/128') or an exact host name (lower
-- case, no trailing dot), in the canonical form `webnet targets allow` writes.
CREATE TABLE allowed_targets (
    target     TEXT PRIMARY KEY,
    note       TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
"#,
    r#"
-- History retention (`deliveries prune`): an event's remaining deliveries and the oldest events
-- are found by index, so pruning (and the foreign-key check on deleting an event) never scans
-- a table.
CREATE INDEX deliveries_event ON deliveries (event_row);
CREATE INDEX events_created ON events (created_at);
"#,
    r#"
-- The body an attempt sent when it was not the stored payload itself (a chat or alerting
-- format renders the event): `deliveries show` says what the receiver got. NULL: the payload.
ALTER TABLE attempts ADD COLUMN request_body BLOB;
"#,
    r#"
-- PagerDuty's integration key (`--routing-key`), sealed with the secret key like `secret`
-- (nonce ‖ ciphertext); NULL when none. Sent only inside the body PagerDuty gets.
ALTER TABLE webhooks ADD COLUMN routing_key BLOB;
"#,
    r#"
-- API tokens of `webnet serve` (DESIGN §12). The token itself is never stored: only the SHA-256
-- of the whole string, and its last four characters for lists. NULL customer_id: an admin
-- token. Revoked tokens stay, for the record, and never authenticate again.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    customer_id  INTEGER REFERENCES customers(id),
    read_only    INTEGER NOT NULL DEFAULT 0,
    hash         BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
    hint         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
"#,
];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

pub fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current == LATEST {
        return Ok(());
    }
    // Rebuilding a table (SQLite's procedure for changing a foreign key) needs foreign keys
    // off: dropping the old table would otherwise count as deleting rows others refer to. The
    // pragma cannot change inside a transaction; `SqliteStore::open` turns them on again. (No
    // `foreign_key_check` afterwards: the rebuild copies every row as it was and only drops a
    // constraint, so it cannot break a reference.)
    conn.pragma_update(None, "foreign_keys", "OFF")?;
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
    use super::super::SqliteStore;
    use super::*;
    use crate::domain::Scope;

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
        let store = SqliteStore::open(&path, None).unwrap();
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

    /// A database at schema 4 (deliveries.webhook_id with `ON DELETE SET NULL`), with a
    /// webhook deleted before the upgrade and a delivery id past the last row (deleted).
    fn version_4_database(path: &std::path::Path) {
        let conn = Connection::open(path).unwrap();
        for sql in &MIGRATIONS[..4] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", 4).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        conn.execute_batch(
            "INSERT INTO customers (name, created_at) VALUES ('acme', 0);
             INSERT INTO webhooks (customer_id, name, url, event_types, created_at, updated_at)
             VALUES (1, 'kept', 'https://a.example.com/', '[\"job.failed\"]', 0, 0),
                    (1, 'gone', 'https://b.example.com/', '[\"job.failed\"]', 0, 0);
             INSERT INTO events (customer_id, event_type, payload, created_at)
             VALUES (1, 'job.failed', X'7B7D', 0);
             INSERT INTO deliveries (event_row, customer_id, webhook_id, webhook_name, event_type,
                 status, attempts, created_at, updated_at)
             VALUES (1, 1, 1, 'kept', 'job.failed', 'success', 1, 0, 0),
                    (1, 1, 2, 'gone', 'job.failed', 'failed', 1, 0, 0),
                    (1, 1, 1, 'kept', 'job.failed', 'success', 1, 0, 0);
             INSERT INTO attempts (delivery_id, attempt, started_at, request_headers, duration_ms)
             VALUES (1, 1, 0, '{}', 5), (2, 1, 0, '{}', 7);
             DELETE FROM deliveries WHERE id = 3;
             DELETE FROM webhooks WHERE id = 2;",
        )
        .unwrap();
        let lost: Option<i64> = conn
            .query_row("SELECT webhook_id FROM deliveries WHERE id = 2", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(lost, None, "schema 4 forgot the deleted webhook's id");
    }

    #[test]
    fn the_deliveries_rebuild_keeps_rows_indexes_references_and_the_id_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v4.db");
        version_4_database(&path);
        let rows = |conn: &Connection| -> Vec<String> {
            let mut stmt = conn
                .prepare("SELECT * FROM deliveries ORDER BY id")
                .unwrap();
            let n = stmt.column_count();
            stmt.query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
        };
        let before = rows(&Connection::open(&path).unwrap());

        let mut store = SqliteStore::open(&path, None).unwrap();
        let conn = store.conn();
        assert_eq!(rows(conn), before, "every row as it was");
        let indexes: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries' AND sql IS NOT NULL ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            indexes,
            [
                "deliveries_created",
                "deliveries_customer",
                "deliveries_due",
                "deliveries_event", // added by the retention migration after the rebuild
                "deliveries_webhook"
            ]
        );
        let seq: i64 = conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'deliveries'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(seq, 3, "the id of the deleted last delivery is not reused");
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'deliveries_new'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0);
        // References still hold, both ways.
        assert!(conn
            .execute(
                "INSERT INTO attempts (delivery_id, attempt, started_at, request_headers, duration_ms)
                 VALUES (99, 1, 0, '{}', 1)",
                [],
            )
            .is_err());
        assert!(conn
            .execute(
                "INSERT INTO deliveries (event_row, customer_id, webhook_name, event_type, status,
                     created_at, updated_at) VALUES (99, 1, 'x', 'job.failed', 'pending', 0, 0)",
                [],
            )
            .is_err());
        let fk: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(fk, 0);

        // A delivery deleted before the upgrade lost its id; one deleted after keeps it.
        let gone = store.delivery(Scope::All, 2).unwrap();
        assert_eq!((gone.webhook, gone.webhook_deleted), (None, true));
        store.delete_webhook(Scope::All, 1, 1).unwrap();
        let kept = store.delivery(Scope::All, 1).unwrap();
        assert_eq!((kept.webhook, kept.webhook_deleted), (Some(1), true));
        assert_eq!(kept.webhook_name, "kept");
        let next = store
            .conn()
            .query_row(
                "INSERT INTO deliveries (event_row, customer_id, webhook_name, event_type, status,
                     created_at, updated_at) VALUES (1, 1, 'x', 'job.failed', 'pending', 0, 0)
                 RETURNING id",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap();
        assert_eq!(next, 4);
    }
}
