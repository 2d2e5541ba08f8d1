//! API tokens of `webnet serve`: operator-wide, so these queries take no scope (the CLI refuses
//! them while pinned to a customer). Only a token's SHA-256 and its last four characters are
//! stored; a revoked token stays, for the record, and is never found by its hash again.

use rusqlite::{params, OptionalExtension};

use super::{conflict_or, Result, SqliteStore, StoreError};
use crate::domain::time::Millis;
use crate::domain::CustomerId;
use crate::store::{ApiToken, NewToken, TOKEN_USE_RECORDED_EVERY};

const SELECT: &str = "SELECT id, name, customer_id, read_only, hint, created_at, last_used_at,
        revoked_at
    FROM api_tokens";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        id: r.get(0)?,
        name: r.get(1)?,
        customer: r.get::<_, Option<i64>>(2)?.map(CustomerId),
        read_only: r.get(3)?,
        hint: r.get(4)?,
        created_at: r.get(5)?,
        last_used_at: r.get(6)?,
        revoked_at: r.get(7)?,
    })
}

impl SqliteStore {
    pub fn create_token(&self, t: &NewToken<'_>, now: Millis) -> Result<ApiToken> {
        self.conn
            .execute(
                "INSERT INTO api_tokens (name, customer_id, read_only, hash, hint, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    t.name,
                    t.customer.map(|c| c.0),
                    t.read_only,
                    &t.hash[..],
                    t.hint,
                    now
                ],
            )
            // Two equal hashes are two equal 256-bit random tokens: never in practice.
            .map_err(|e| conflict_or(e, "token", || "this token exists already".into()))?;
        self.token(self.conn.last_insert_rowid())
    }

    pub fn tokens(&self) -> Result<Vec<ApiToken>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{SELECT} ORDER BY id DESC"))?;
        let rows = stmt.query_map([], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn revoke_token(&self, id: i64, now: Millis) -> Result<ApiToken> {
        self.conn.execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now],
        )?;
        self.token(id)
    }

    pub fn token_by_hash(&self, hash: &[u8; 32], now: Millis) -> Result<Option<ApiToken>> {
        let found = self
            .conn
            .prepare_cached(&format!("{SELECT} WHERE hash = ?1 AND revoked_at IS NULL"))?
            .query_row([&hash[..]], row)
            .optional()?;
        let Some(mut token) = found else {
            return Ok(None);
        };
        if token
            .last_used_at
            .is_none_or(|at| now - at >= TOKEN_USE_RECORDED_EVERY)
        {
            // The same condition again in the write: of requests racing here, one writes.
            self.conn
                .prepare_cached(
                    "UPDATE api_tokens SET last_used_at = ?2
                     WHERE id = ?1 AND (last_used_at IS NULL OR ?2 - last_used_at >= ?3)",
                )?
                .execute(params![token.id, now, TOKEN_USE_RECORDED_EVERY])?;
            token.last_used_at = Some(now);
        }
        Ok(Some(token))
    }

    fn token(&self, id: i64) -> Result<ApiToken> {
        self.conn
            .prepare_cached(&format!("{SELECT} WHERE id = ?1"))?
            .query_row([id], row)
            .optional()?
            .ok_or_else(|| StoreError::not_found("token", id))
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::super::migrations::MIGRATIONS;
    use super::super::APPLICATION_ID;
    use super::*;
    use crate::domain::Scope;

    #[test]
    fn a_database_from_before_tokens_gains_the_table_and_keeps_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v9.db");
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..9] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
            conn.pragma_update(None, "user_version", 9).unwrap();
            conn.execute_batch(
                "INSERT INTO customers (name, created_at) VALUES ('acme', 0);
                 INSERT INTO webhooks (customer_id, name, url, event_types, created_at, updated_at)
                 VALUES (1, 'kept', 'https://a.example.com/', '[\"job.failed\"]', 0, 0);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path, None).unwrap();
        assert_eq!(store.webhook(Scope::All, 1).unwrap().settings.name, "kept");
        let hash = [7u8; 32];
        let made = store
            .create_token(
                &crate::store::NewToken {
                    name: "ci",
                    customer: Some(crate::domain::CustomerId(1)),
                    read_only: true,
                    hash: &hash,
                    hint: "abcd",
                },
                5,
            )
            .unwrap();
        assert_eq!(
            store.token_by_hash(&hash, 6).unwrap(),
            Some(crate::store::ApiToken {
                last_used_at: Some(6),
                ..made
            })
        );
        // A token for a customer that does not exist, or a hash of another length, is refused
        // by the table itself.
        for bad in [
            "INSERT INTO api_tokens (name, customer_id, hash, hint, created_at)
             VALUES ('x', 99, zeroblob(32), 'abcd', 0)",
            "INSERT INTO api_tokens (name, hash, hint, created_at)
             VALUES ('x', zeroblob(31), 'abcd', 0)",
            "INSERT INTO api_tokens (name, hash, hint, created_at)
             VALUES ('x', X'0707070707070707070707070707070707070707070707070707070707070707', 'abcd', 0)",
        ] {
            assert!(store.conn().execute(bad, []).is_err(), "{bad}");
        }
    }
}
