//! The event catalog: every event type webnet emits, and the payload object each one carries.

use std::fmt;
use std::str::FromStr;

macro_rules! catalog {
    ($($variant:ident => $name:literal, $family:literal, $about:literal;)*) => {
        /// One event type of the catalog (plus `webhook.test`, which only `webhooks test` sends).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType { $($variant),* }

        impl EventType {
            /// Every type, in catalog order, `webhook.test` last.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$variant => $name),* }
            }

            /// The payload key that holds this event's object (`job`, `device`, …).
            pub fn family(self) -> &'static str {
                match self { $(EventType::$variant => $family),* }
            }

            /// One line for people: when this event is sent.
            pub fn about(self) -> &'static str {
                match self { $(EventType::$variant => $about),* }
            }
        }
    };
}

catalog! {
    JobCreated => "job.created", "job", "Job is created";
    JobStarted => "job.started", "job", "Job execution begins";
    JobCompleted => "job.completed", "job", "Job finishes successfully";
    JobFailed => "job.failed", "job", "Job fails";
    DeviceCreated => "device.created", "device", "Device added to inventory";
    DeviceUpdated => "device.updated", "device", "Device attributes changed";
    DeviceDeleted => "device.deleted", "device", "Device removed from inventory";
    DeviceStatusChanged => "device.status_changed", "device", "Reachability status changed";
    ConfigBackupCreated => "config.backup_created", "config", "Configuration backup taken";
    ConfigChanged => "config.changed", "config", "Configuration drift detected";
    ConfigDeployed => "config.deployed", "config", "Configuration deployed to device";
    ComplianceCheckCompleted => "compliance.check_completed", "compliance", "Compliance check finishes";
    ComplianceViolationDetected => "compliance.violation_detected", "compliance", "Compliance violation found";
    WebhookTest => "webhook.test", "webhook", "Test event sent by `webnet webhooks test`";
}

impl EventType {
    /// The event `webhooks test` sends: recorded like any other, but never retried, silent
    /// about the receiver's health, and sent to a disabled webhook too.
    pub const TEST: EventType = EventType::WebhookTest;

    /// Whether this is [`EventType::TEST`].
    pub fn is_test(self) -> bool {
        self == EventType::TEST
    }

    /// The types a webhook can subscribe to and `emit` accepts (all but `webhook.test`).
    pub fn subscribable() -> impl Iterator<Item = EventType> {
        EventType::ALL
            .iter()
            .copied()
            .filter(|t| *t != EventType::WebhookTest)
    }

    /// Parses a type a user may subscribe to or emit; `webhook.test` is refused.
    pub fn parse_subscribable(s: &str) -> Result<EventType, String> {
        match s.parse::<EventType>() {
            Ok(EventType::WebhookTest) => Err(format!(
                "\"{}\" is sent only by `webnet webhooks test`; it cannot be subscribed to or emitted",
                EventType::TEST
            )),
            other => other,
        }
    }
}

impl FromStr for EventType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "{} is not an event type; known types: {}",
                    super::text::quote(s),
                    EventType::subscribable()
                        .map(EventType::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
}

/// The families of the catalog, for `family.*` subscriptions.
pub const FAMILIES: &[&str] = &["job", "device", "config", "compliance"];

/// What a webhook subscribes to: one type, every type of a family (`job.*`), or everything (`*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subscription {
    Exact(EventType),
    Family(&'static str),
    All,
}

impl Subscription {
    pub fn parse(s: &str) -> Result<Subscription, String> {
        if s == "*" {
            return Ok(Subscription::All);
        }
        if let Some(family) = s.strip_suffix(".*") {
            return FAMILIES
                .iter()
                .find(|f| **f == family)
                .map(|f| Subscription::Family(f))
                .ok_or_else(|| {
                    format!(
                        "{} is not a family wildcard; known: job.*, device.*, config.*, compliance.*, *",
                        super::text::quote(s)
                    )
                });
        }
        EventType::parse_subscribable(s).map(Subscription::Exact)
    }

    pub fn as_string(&self) -> String {
        match self {
            Subscription::Exact(t) => t.as_str().to_string(),
            Subscription::Family(f) => format!("{f}.*"),
            Subscription::All => "*".to_string(),
        }
    }

    /// A history filter: one event type (`webhook.test` included) or a family (`job.*`). Not
    /// `*`: as a subscription it leaves `webhook.test` out, as a filter it would be none.
    pub fn parse_filter(s: &str) -> Result<Subscription, String> {
        match s.parse::<EventType>() {
            Ok(t) => Ok(Subscription::Exact(t)),
            Err(_) if s == "*" => Err(format!(
                "{} is no filter: leave it out for every event type",
                super::text::quote(s)
            )),
            Err(_) => Subscription::parse(s),
        }
    }

    /// Whether an event of type `t` is delivered under this subscription.
    pub fn matches(&self, t: EventType) -> bool {
        match self {
            Subscription::Exact(e) => *e == t,
            Subscription::Family(f) => t.family() == *f && t != EventType::WebhookTest,
            Subscription::All => t != EventType::WebhookTest,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_round_trips_and_names_families() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(*t));
            assert!(t.as_str().starts_with(t.family()));
        }
        assert_eq!(EventType::subscribable().count(), 13);
    }

    #[test]
    fn a_history_filter_is_a_type_or_a_family_but_not_everything() {
        assert_eq!(
            Subscription::parse_filter("webhook.test"),
            Ok(Subscription::Exact(EventType::WebhookTest))
        );
        assert_eq!(
            Subscription::parse_filter("job.*"),
            Ok(Subscription::Family("job"))
        );
        assert!(Subscription::parse_filter("*")
            .unwrap_err()
            .contains("no filter"));
        assert!(Subscription::parse_filter("webhook.*").is_err());
        assert!(Subscription::parse_filter("job.nope").is_err());
    }

    #[test]
    fn wildcards_match_their_family_or_everything() {
        let job = Subscription::parse("job.*").unwrap();
        assert!(job.matches(EventType::JobFailed));
        assert!(!job.matches(EventType::DeviceCreated));
        assert!(Subscription::parse("*")
            .unwrap()
            .matches(EventType::ComplianceViolationDetected));
        assert!(!Subscription::All.matches(EventType::WebhookTest));
        assert!(Subscription::parse("nope.*").is_err());
        assert!(Subscription::parse("webhook.*").is_err());
        assert_eq!(job.as_string(), "job.*");
    }

    #[test]
    fn unknown_and_test_types_are_refused_for_subscriptions() {
        assert!(EventType::parse_subscribable("job.exploded")
            .unwrap_err()
            .contains("job.completed"));
        assert!(EventType::parse_subscribable("webhook.test").is_err());
    }
}
