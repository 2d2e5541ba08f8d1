//! One function per user action (create a webhook from a draft, update it from a patch, emit,
//! drain, retry, prune, …), used by the CLI now and by `webnet serve` later. Nothing here
//! prints, prompts, reads the environment or knows about clap: callers translate their input
//! into domain values, call an action, and render what it returns. Errors are [`Error`]s,
//! classified where they arise and mapped once by the caller (`cli/error.rs`).
//!
//! Invariant: every action that reads or changes webhooks or deliveries takes the caller's
//! [`Scope`](crate::domain::Scope); time is passed in (`now`); what is sealed is decided by the
//! store (secrets, routing keys and credential headers, in the write's transaction).

pub mod customers;
pub mod deliveries;
pub mod delivery;
mod error;
pub mod events;
pub mod keys;
pub mod metrics;
pub mod targets;
pub mod tokens;
pub mod webhooks;

#[cfg(test)]
mod tests;

pub use delivery::Sending;
pub use error::{Action, Error, Result};

use crate::domain::allowlist::TargetPolicy;
use crate::store::Store;

/// The destinations an action may reach or register: everything when `allow_private` (the
/// stored list is not read), else public ones and the database's allow list (DESIGN §7). The
/// one place that choice is made.
pub fn target_policy(store: &Store, allow_private: bool) -> Result<TargetPolicy> {
    if allow_private {
        return Ok(TargetPolicy::any());
    }
    Ok(store.target_policy()?)
}
