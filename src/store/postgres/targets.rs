//! The allowed non-public destinations (DESIGN §7): operator-wide, not per customer, so these
//! queries take no scope; the CLI refuses them while pinned to a customer.

use super::PgStore;
use crate::domain::allowlist::AllowedTarget;
use crate::domain::time::Millis;
use crate::store::{AllowedTargetRow, Result, StoreError};

impl PgStore {
    /// Allows `target`; allowing it again replaces its note when one is given (empty clears
    /// it). Returns the entry and whether it is new.
    pub fn allow_target(
        &self,
        target: &AllowedTarget,
        note: Option<&str>,
        now: Millis,
    ) -> Result<(AllowedTargetRow, bool)> {
        let key = target.to_string();
        let inserted: bool = {
            let mut client = self.client()?;
            // `xmax = 0` only on a row this statement inserted (an updated one has its xmax
            // set): whether it is new, decided by the same statement that writes it.
            client
                .query_one(
                    "INSERT INTO allowed_targets (target, note, created_at, updated_at)
                     VALUES ($1, nullif($2::text, ''), $3, $3)
                     ON CONFLICT (target) DO UPDATE
                     SET note = CASE WHEN $4 THEN excluded.note ELSE allowed_targets.note END,
                         updated_at = excluded.updated_at
                     RETURNING xmax = 0",
                    &[&key, &note, &now, &note.is_some()],
                )?
                .try_get(0)?
        };
        let row = self
            .allowed_targets()?
            .into_iter()
            .find(|r| r.target == *target)
            .ok_or_else(|| StoreError::not_found("allowed target", key))?;
        Ok((row, inserted))
    }

    /// Every allowed destination, oldest first. A row that no longer parses (edited by hand)
    /// is left out: it allows nothing.
    pub fn allowed_targets(&self) -> Result<Vec<AllowedTargetRow>> {
        let rows = self.client()?.query(
            "SELECT target, note, created_at, updated_at FROM allowed_targets
             ORDER BY created_at, target COLLATE \"C\"",
            &[],
        )?;
        let mut out = Vec::new();
        for r in &rows {
            let text: String = r.try_get(0)?;
            if let Ok(target) = AllowedTarget::parse(&text) {
                out.push(AllowedTargetRow {
                    target,
                    note: r.try_get(1)?,
                    created_at: r.try_get(2)?,
                    updated_at: r.try_get(3)?,
                });
            }
        }
        Ok(out)
    }

    /// Stops allowing `target`; not found when it was not allowed.
    pub fn remove_target(&self, target: &AllowedTarget) -> Result<()> {
        let key = target.to_string();
        let n = self
            .client()?
            .execute("DELETE FROM allowed_targets WHERE target = $1", &[&key])?;
        if n == 0 {
            return Err(StoreError::not_found("allowed target", key));
        }
        Ok(())
    }
}
