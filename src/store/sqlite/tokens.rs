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
