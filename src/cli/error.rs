//! The one place errors become a message and an exit code: 2 for invalid input (naming the
//! option or field), 1 for everything else. Commands return `ops::Error`s (and their own
//! usage errors); [`CliError`] keeps the error it was made from as its cause, as cargo's
//! `CliError { error, exit_code }` does.

use crate::delivery::service::RetryError;
use crate::domain::ValidationError;
use crate::ops;
use crate::store::StoreError;

#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    /// The one line shown after `error: `.
    pub message: String,
    /// What failed underneath, kept for whoever wants more than the message.
    pub cause: Option<Box<dyn std::error::Error + 'static>>,
}

impl CliError {
    /// Invalid input: exit 2, the message names what was wrong.
    pub fn usage(what: &str, message: impl std::fmt::Display) -> CliError {
        CliError {
            code: 2,
            message: format!("{what}: {message}"),
            cause: None,
        }
    }

    /// Any other failure: exit 1.
    pub fn failure(message: impl std::fmt::Display) -> CliError {
        CliError {
            code: 1,
            message: message.to_string(),
            cause: None,
        }
    }

    fn caused_by(mut self, cause: impl std::error::Error + 'static) -> CliError {
        self.cause = Some(Box::new(cause));
        self
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref()
    }
}

/// The option a contract field is set with, for messages.
pub fn option_for(field: &str) -> String {
    match field {
        "name" => "--name".into(),
        "url" => "--url".into(),
        "event_types" => "--event".into(),
        "secret" => "--secret".into(),
        "routing_key" => "--routing-key".into(),
        "timeout_seconds" => "--timeout".into(),
        "max_retries" => "--max-retries".into(),
        "retry_backoff" => "--retry-backoff".into(),
        "auto_disable_after" => "--auto-disable-after".into(),
        "headers" => "--header".into(),
        "customer" => "--customer".into(),
        "customer_name" => "NAME".into(),
        "note" => "--note".into(),
        "grace" => "--grace".into(),
        other => other.into(),
    }
}

impl From<ValidationError> for CliError {
    fn from(e: ValidationError) -> Self {
        CliError::usage(&option_for(e.field), &e.message).caused_by(e)
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        store_error(&e).caused_by(e)
    }
}

/// A store error's message and exit code.
fn store_error(e: &StoreError) -> CliError {
    match e {
        StoreError::Conflict(v) => v.clone().into(),
        // Something to seal and no key given (PostgreSQL): the command line lacks an option.
        StoreError::NoKey => CliError {
            code: 2,
            message: e.to_string(),
            cause: None,
        },
        StoreError::NotOurs { .. } | StoreError::IsDirectory { .. } => CliError {
            code: 2,
            message: format!("--db: {e}"),
            cause: None,
        },
        other => CliError::failure(other),
    }
}

impl From<ops::Error> for CliError {
    fn from(e: ops::Error) -> Self {
        let shown = match &e {
            ops::Error::Invalid(v) => CliError::usage(&option_for(v.field), &v.message),
            ops::Error::Store { source, .. } => store_error(source),
            // A delivery in the wrong state is the id given being wrong; nowhere to send it,
            // or another process sending it, is not.
            ops::Error::Retry(r @ RetryError::NotRetryable { .. }) => CliError::usage("ID", r),
            ops::Error::PinnedCustomerMissing(_)
            | ops::Error::TargetNotAllowed(_)
            | ops::Error::Locked { .. }
            | ops::Error::Retry(_)
            | ops::Error::Emit(_) => CliError::failure(&e),
        };
        shown.caused_by(e)
    }
}
