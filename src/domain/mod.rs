//! Pure domain rules: the event catalog, webhook validation, destinations, secrets, payloads,
//! signatures and the retry policy. Nothing here does I/O, reads the clock or prints.

pub mod allowlist;
pub mod cidr;
pub mod delivery;
pub mod event_type;
pub mod format;
pub mod headers;
pub mod json_doc;
pub mod json_scan;
pub mod line;
pub mod metrics_text;
pub mod payload;
pub mod proxy;
pub mod retry;
pub mod secret;
pub mod signature;
pub mod stream;
pub mod target;
pub mod text;
pub mod time;
pub mod url_mask;
pub mod webhook;
pub mod webhook_patch;

pub use event_type::EventType;
pub use secret::Secret;
pub use webhook::{WebhookSettings, WebhookUrl};

/// A rule broken by user input. `field` is the contract's field name (`url`, `event_types`,
/// …); the CLI maps it to the option the user typed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        ValidationError {
            field,
            message: message.into(),
        }
    }
}

/// A customer (tenant) id: a positive whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerId(pub i64);

impl std::str::FromStr for CustomerId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().parse::<i64>() {
            Ok(n) if n > 0 => Ok(CustomerId(n)),
            _ => Err(format!(
                "{} is not a customer id (a positive whole number; see `webnet customers list`)",
                text::quote(s)
            )),
        }
    }
}

impl std::fmt::Display for CustomerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which customers a command may see and change: all of them, or one pinned by
/// `--customer`/`WEBNET_CUSTOMER`. Every store query on webhooks or deliveries takes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Customer(CustomerId),
}

impl Scope {
    /// The pinned customer, if any, as a nullable SQL parameter.
    pub fn customer(&self) -> Option<i64> {
        match self {
            Scope::All => None,
            Scope::Customer(c) => Some(c.0),
        }
    }
}
