//! The secret key that seals secrets, routing keys and credential headers: rotate it, or reset
//! a database whose key is lost. Operator actions (they touch every customer).

use super::error::{during, Action, Result};
use crate::domain::time::Millis;
use crate::store::{KeyProblem, NewKey, Reset, Rotated, Store, StoreError};

/// Re-seals everything under `new`, in one transaction.
pub fn rotate(store: &Store, new: NewKey) -> Result<Rotated> {
    during(Action::RotateKey, || Ok(store.rotate_key(new)?))
}

/// Refuses a key that still works (before anything is asked or changed).
pub fn check_lost(store: &Store) -> Result<()> {
    during(Action::ResetKey, || Ok(store.check_key_lost()?))
}

/// Clears what the lost key sealed, so that new secrets can be stored.
pub fn reset(store: &Store, now: Millis) -> Result<Reset> {
    during(Action::ResetKey, || Ok(store.reset_key(now)?))
}

/// Why this host cannot use the stored secrets, if it cannot: what a scheduled or watching
/// drain would fail to sign with. A key not needed yet (nothing sealed, none given or no key
/// file yet) is fine. Any other error (the database, the key file's folder) is returned too:
/// callers that only warn keep to [`is_key_problem`].
pub fn unusable(store: &Store) -> Option<StoreError> {
    match store.secret_key() {
        Ok(_) | Err(StoreError::NoKey) | Err(StoreError::KeyProblem(KeyProblem::NoneYet(_))) => {
            None
        }
        Err(e) => Some(e),
    }
}

/// Whether `e` is about the key itself (wrong, missing, unreadable), not the database.
pub fn is_key_problem(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::KeyProblem(_) | StoreError::Key(_) | StoreError::Io { .. }
    )
}
