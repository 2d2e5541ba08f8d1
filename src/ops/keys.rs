//! The secret key that seals secrets, routing keys and credential headers: rotate it, or reset
//! a database whose key is lost. Operator actions (they touch every customer).

use super::error::{during, Action, Result};
use crate::domain::time::Millis;
use crate::store::{NewKey, Reset, Rotated, Store};

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
