//! The one place errors become a message and an exit code: 2 for invalid input (naming the
//! option or field), 1 for everything else.

use crate::domain::ValidationError;
use crate::store::StoreError;

#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    /// Invalid input: exit 2, the message names what was wrong.
    pub fn usage(what: &str, message: impl std::fmt::Display) -> CliError {
        CliError {
            code: 2,
            message: format!("{what}: {message}"),
        }
    }

    /// Any other failure: exit 1.
    pub fn failure(message: impl std::fmt::Display) -> CliError {
        CliError {
            code: 1,
            message: message.to_string(),
        }
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
        other => other.into(),
    }
}

impl From<ValidationError> for CliError {
    fn from(e: ValidationError) -> Self {
        CliError::usage(&option_for(e.field), e.message)
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(v) => v.into(),
            StoreError::NotOurs { .. } | StoreError::IsDirectory { .. } => CliError {
                code: 2,
                message: format!("--db: {e}"),
            },
            other => CliError::failure(other),
        }
    }
}
