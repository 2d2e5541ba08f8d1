//! `ops::Error`: why a user action failed, classified where it arose (input refused, something
//! not there, the database, a delivery refusal) and carrying the lower layer's error as its
//! cause. The CLI maps it once to a message and an exit code (`cli/error.rs`); an HTTP handler
//! will map it to a status the same way.

use std::time::Duration;

use crate::delivery::service::{EmitError, RetryError};
use crate::domain::allowlist::AllowedTarget;
use crate::domain::{CustomerId, ValidationError};
use crate::store::StoreError;

/// The user action an error happened in, for logs and causes (messages stay the lower layer's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CreateCustomer,
    ListCustomers,
    CreateWebhook,
    UpdateWebhook,
    ShowWebhook,
    ListWebhooks,
    DeleteWebhook,
    EnableWebhook,
    RotateSecret,
    TestWebhook,
    ListDeliveries,
    ShowDelivery,
    RetryDelivery,
    RetryFailed,
    Prune,
    Emit,
    Drain,
    AllowTarget,
    ListTargets,
    RemoveTarget,
    RotateKey,
    ResetKey,
    Stats,
    CreateToken,
    ListTokens,
    RevokeToken,
    Authenticate,
    Metrics,
    Open,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::CreateCustomer => "create a customer",
            Action::ListCustomers => "list customers",
            Action::CreateWebhook => "create a webhook",
            Action::UpdateWebhook => "update a webhook",
            Action::ShowWebhook => "show a webhook",
            Action::ListWebhooks => "list webhooks",
            Action::DeleteWebhook => "delete a webhook",
            Action::EnableWebhook => "enable or disable a webhook",
            Action::RotateSecret => "rotate a webhook's secret",
            Action::TestWebhook => "test a webhook",
            Action::ListDeliveries => "list deliveries",
            Action::ShowDelivery => "show a delivery",
            Action::RetryDelivery => "retry a delivery",
            Action::RetryFailed => "retry failed deliveries",
            Action::Prune => "prune history",
            Action::Emit => "emit events",
            Action::Drain => "drain",
            Action::AllowTarget => "allow a destination",
            Action::ListTargets => "list allowed destinations",
            Action::RemoveTarget => "remove an allowed destination",
            Action::RotateKey => "rotate the secret key",
            Action::ResetKey => "reset the secret key",
            Action::Stats => "compute stats",
            Action::CreateToken => "create an API token",
            Action::ListTokens => "list API tokens",
            Action::RevokeToken => "revoke an API token",
            Action::Authenticate => "check an API token",
            Action::Metrics => "read metrics",
            Action::Open => "open the database",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a user action failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input broke a rule; `field` names it (the CLI shows the option). Nothing was changed.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The customer a command is pinned to does not exist.
    #[error("customer {0} not found (see \"webnet customers list\")")]
    PinnedCustomerMissing(CustomerId),
    /// `targets remove` of something not in the list.
    #[error("{0} not found among the allowed destinations (see `webnet targets list`)")]
    TargetNotAllowed(AllowedTarget),
    /// A single `drain` met a database locked past the busy timeout; the next run carries on.
    #[error("the database was locked by another process for {}: this drain stopped; the next run carries on", humantime::format_duration(*waited))]
    Locked {
        waited: Duration,
        #[source]
        source: StoreError,
    },
    /// A manual retry was refused (the delivery cannot be retried, or has nowhere to go).
    #[error(transparent)]
    Retry(RetryError),
    /// `emit` could not record its input or results (the database stayed locked).
    #[error(transparent)]
    Emit(EmitError),
    /// The store failed during `action` (set by [`Error::during`]).
    #[error("{source}")]
    Store {
        action: Option<Action>,
        #[source]
        source: StoreError,
    },
}

impl From<StoreError> for Error {
    fn from(source: StoreError) -> Self {
        match source {
            // A rule the database enforces (a name taken) is input refused, like any other.
            StoreError::Conflict(v) => Error::Invalid(v),
            source => Error::Store {
                action: None,
                source,
            },
        }
    }
}

impl From<RetryError> for Error {
    fn from(e: RetryError) -> Self {
        match e {
            RetryError::Store(e) => e.into(),
            e => Error::Retry(e),
        }
    }
}

impl From<EmitError> for Error {
    fn from(e: EmitError) -> Self {
        match e {
            EmitError::Store(e) => e.into(),
            e => Error::Emit(e),
        }
    }
}

impl Error {
    /// Records the action a store error happened in (the first one recorded stays).
    pub fn during(self, action: Action) -> Error {
        match self {
            Error::Store {
                action: None,
                source,
            } => Error::Store {
                action: Some(action),
                source,
            },
            other => other,
        }
    }

    /// The action a store error happened in, if known.
    pub fn action(&self) -> Option<Action> {
        match self {
            Error::Store { action, .. } => *action,
            Error::Locked { .. } => Some(Action::Drain),
            _ => None,
        }
    }

    /// The store error underneath, if there is one.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            Error::Store { source, .. } | Error::Locked { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Runs an action's body and records `action` on a store error it returns.
pub(crate) fn during<T>(action: Action, body: impl FnOnce() -> Result<T>) -> Result<T> {
    body().map_err(|e| e.during(action))
}
