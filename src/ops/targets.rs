//! The non-public destinations webhooks may reach (DESIGN §7), stored for every process.
//! Operator actions: callers refuse them for a session pinned to a customer.

use super::error::{during, Action, Error, Result};
use crate::domain::allowlist::{validate_note, AllowedTarget};
use crate::domain::time::Millis;
use crate::store::{AllowedTargetRow, Store, StoreError};

/// Allows `target` (replacing its note when allowed already); `true` when it is new.
pub fn allow(
    store: &Store,
    target: &AllowedTarget,
    note: Option<&str>,
    now: Millis,
) -> Result<(AllowedTargetRow, bool)> {
    during(Action::AllowTarget, || {
        let note = note.map(validate_note).transpose()?;
        Ok(store.allow_target(target, note.as_deref(), now)?)
    })
}

pub fn list(store: &Store) -> Result<Vec<AllowedTargetRow>> {
    during(Action::ListTargets, || Ok(store.allowed_targets()?))
}

/// Stops allowing `target`; [`Error::TargetNotAllowed`] when it is not in the list.
pub fn remove(store: &Store, target: &AllowedTarget) -> Result<()> {
    during(Action::RemoveTarget, || match store.remove_target(target) {
        Err(StoreError::NotFound { .. }) => Err(Error::TargetNotAllowed(target.clone())),
        other => Ok(other?),
    })
}
