//! API tokens of `webnet serve`: operator-wide, so these queries take no scope (the CLI refuses
//! them while pinned to a customer). Only a token's SHA-256 and its last four characters are
//! stored; a revoked token stays, for the record, and is never found by its hash again.

use postgres::Row;

use super::customers::conflict_or;
use super::PgStore;
use crate::domain::time::Millis;
use crate::domain::CustomerId;
use crate::store::{ApiToken, NewToken, Result, StoreError, TOKEN_USE_RECORDED_EVERY};

const COLUMNS: &str =
    "id, name, customer_id, read_only, hint, created_at, last_used_at, revoked_at";

fn row(r: &Row) -> Result<ApiToken> {
    Ok(ApiToken {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        customer: r.try_get::<_, Option<i64>>(2)?.map(CustomerId),
        read_only: r.try_get(3)?,
        hint: r.try_get(4)?,
        created_at: r.try_get(5)?,
        last_used_at: r.try_get(6)?,
        revoked_at: r.try_get(7)?,
    })
}

impl PgStore {
    pub fn create_token(&self, t: &NewToken<'_>, now: Millis) -> Result<ApiToken> {
        let found = self
            .client()?
            .query_one(
                &format!(
                    "INSERT INTO api_tokens (name, customer_id, read_only, hash, hint, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
                ),
                &[
                    &t.name,
                    &t.customer.map(|c| c.0),
                    &t.read_only,
                    &&t.hash[..],
                    &t.hint,
                    &now,
                ],
            )
            // Two equal hashes are two equal 256-bit random tokens: never in practice.
            .map_err(|e| conflict_or(e, "token", || "this token exists already".into()))?;
        row(&found)
    }

    pub fn tokens(&self) -> Result<Vec<ApiToken>> {
        let rows = self.client()?.query(
            &format!("SELECT {COLUMNS} FROM api_tokens ORDER BY id DESC"),
            &[],
        )?;
        rows.iter().map(row).collect()
    }

    pub fn revoke_token(&self, id: i64, now: Millis) -> Result<ApiToken> {
        // `coalesce`: a revoked token keeps the time it was first revoked.
        let found = self.client()?.query_opt(
            &format!(
                "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1
                 RETURNING {COLUMNS}"
            ),
            &[&id, &now],
        )?;
        found
            .as_ref()
            .map(row)
            .transpose()?
            .ok_or_else(|| StoreError::not_found("token", id))
    }

    pub fn token_by_hash(&self, hash: &[u8; 32], now: Millis) -> Result<Option<ApiToken>> {
        let mut client = self.client()?;
        let select = self.stmt(
            &mut *client,
            &format!("SELECT {COLUMNS} FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL"),
        )?;
        let Some(found) = client.query_opt(&select, &[&&hash[..]])? else {
            return Ok(None);
        };
        let mut token = row(&found)?;
        if token
            .last_used_at
            .is_none_or(|at| now - at >= TOKEN_USE_RECORDED_EVERY)
        {
            // The same condition again in the write: of requests racing here, one writes.
            let touch = self.stmt(
                &mut *client,
                "UPDATE api_tokens SET last_used_at = $2
                 WHERE id = $1 AND (last_used_at IS NULL OR $2 - last_used_at >= $3)",
            )?;
            client.execute(&touch, &[&token.id, &now, &TOKEN_USE_RECORDED_EVERY])?;
            token.last_used_at = Some(now);
        }
        Ok(Some(token))
    }
}
