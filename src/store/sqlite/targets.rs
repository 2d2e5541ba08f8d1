//! The allowed non-public destinations (DESIGN §7): operator-wide, not per customer, so these
//! queries take no scope; the CLI refuses them while pinned to a customer.

use rusqlite::{params, OptionalExtension};

use super::{Result, SqliteStore, StoreError};
use crate::domain::allowlist::AllowedTarget;
use crate::domain::time::Millis;
use crate::store::AllowedTargetRow;

impl SqliteStore {
    /// Allows `target`; allowing it again replaces its note when one is given (empty clears
    /// it). Returns the entry and whether it is new.
    pub fn allow_target(
        &self,
        target: &AllowedTarget,
        note: Option<&str>,
        now: Millis,
    ) -> Result<(AllowedTargetRow, bool)> {
        let key = target.to_string();
        let existed = self
            .conn
            .prepare_cached("SELECT 1 FROM allowed_targets WHERE target = ?1")?
            .query_row([&key], |_| Ok(()))
            .optional()?
            .is_some();
        self.conn.execute(
            "INSERT INTO allowed_targets (target, note, created_at, updated_at)
             VALUES (?1, nullif(?2, ''), ?3, ?3)
             ON CONFLICT (target) DO UPDATE
             SET note = CASE WHEN ?4 THEN excluded.note ELSE note END,
                 updated_at = excluded.updated_at",
            params![key, note, now, note.is_some()],
        )?;
        let row = self
            .allowed_targets()?
            .into_iter()
            .find(|r| r.target == *target)
            .ok_or_else(|| StoreError::not_found("allowed target", key))?;
        Ok((row, !existed))
    }

    /// Every allowed destination, oldest first. A row that no longer parses (edited by hand)
    /// is left out: it allows nothing.
    pub fn allowed_targets(&self) -> Result<Vec<AllowedTargetRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT target, note, created_at, updated_at FROM allowed_targets
             ORDER BY created_at, target",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Millis>(2)?,
                r.get::<_, Millis>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (text, note, created_at, updated_at) = row?;
            if let Ok(target) = AllowedTarget::parse(&text) {
                out.push(AllowedTargetRow {
                    target,
                    note,
                    created_at,
                    updated_at,
                });
            }
        }
        Ok(out)
    }

    /// Stops allowing `target`; not found when it was not allowed.
    pub fn remove_target(&self, target: &AllowedTarget) -> Result<()> {
        let key = target.to_string();
        let n = self
            .conn
            .execute("DELETE FROM allowed_targets WHERE target = ?1", [&key])?;
        if n == 0 {
            return Err(StoreError::not_found("allowed target", key));
        }
        Ok(())
    }
}
