//! Why a delivery's request could not be made ready: typed, worded as the attempt's
//! `error_message` and `drain`'s log say it.

use std::sync::Arc;

use crate::domain::secret::KeyError;
use crate::store::StoreError;

/// Why a request could not be built. Every one fails the attempt without a request (it is
/// retried on its schedule) and says nothing about the receiver's health.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The delivery's webhook is gone (claims normally catch this first).
    #[error("Webhook was deleted")]
    WebhookDeleted,
    /// A sealed value must be opened and there is no key in hand.
    #[error("no secret key")]
    NoKey,
    /// The secret key could not be loaded (missing, wrong, malformed, or the read failed).
    #[error("{0}")]
    KeyUnavailable(Arc<StoreError>),
    /// A sealed value does not open with the key in hand.
    #[error("cannot decrypt {what}: {source}")]
    DoesNotOpen {
        what: Sealed,
        #[source]
        source: KeyError,
    },
    /// A sealed value opened but is not what was sealed (not text, not hex).
    #[error("{what} is damaged")]
    Damaged { what: Sealed },
    /// A `pagerduty` webhook without a routing key (`key reset` clears it).
    #[error("no PagerDuty routing key is stored (`key reset` clears it): set one with `webnet webhooks update {webhook} --routing-key-stdin`")]
    NoRoutingKey { webhook: i64 },
}

impl DeliveryError {
    /// A value was found that the key in hand does not open (or it is damaged): a newer key
    /// may open it, so the key is worth loading again.
    pub fn key_may_be_stale(&self) -> bool {
        matches!(
            self,
            DeliveryError::DoesNotOpen { .. } | DeliveryError::Damaged { .. }
        )
    }
}

/// Which sealed value of a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sealed {
    Secret,
    RoutingKey,
    Header(String),
}

impl std::fmt::Display for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sealed::Secret => f.write_str("the webhook secret"),
            Sealed::RoutingKey => f.write_str("the routing key"),
            Sealed::Header(name) => write!(f, "header {name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_are_those_the_notes_always_carried() {
        let cases = [
            (DeliveryError::NoKey, "no secret key"),
            (
                DeliveryError::DoesNotOpen {
                    what: Sealed::Secret,
                    source: KeyError::WrongKey,
                },
                "cannot decrypt the webhook secret: the key does not open this secret (was WEBNET_SECRET_KEY or the key file changed?)",
            ),
            (
                DeliveryError::Damaged {
                    what: Sealed::Header("Authorization".into()),
                },
                "header Authorization is damaged",
            ),
            (
                DeliveryError::Damaged {
                    what: Sealed::RoutingKey,
                },
                "the routing key is damaged",
            ),
            (
                DeliveryError::NoRoutingKey { webhook: 7 },
                "no PagerDuty routing key is stored (`key reset` clears it): set one with `webnet webhooks update 7 --routing-key-stdin`",
            ),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text);
        }
    }
}
