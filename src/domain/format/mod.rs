//! Payload formats (DESIGN §8): `json` is the spec's payload, byte for byte; the others turn the
//! same event into a message for a chat or alerting destination, within that destination's
//! documented limits whatever the event's strings hold (cut with `…`, never rejected), with
//! what the platform interprets escaped. One module per format; [`event::EventView`] is what
//! they all read: the summary line, the important details, how good or bad the event is.
//!
//! Pure and deterministic: the same payload and context give the same bytes on every attempt.

mod cut;
mod discord;
pub mod event;
mod fit;
mod google_chat;
mod mattermost;
mod pagerduty;
mod slack;
mod teams;

use std::fmt;

use serde_json::Value;

pub use cut::{cut_bytes, cut_chars, escape_within, ELLIPSIS};
pub use event::EventView;
pub use pagerduty::RoutingKey;

/// How a webhook's body is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum PayloadFormat {
    #[default]
    Json,
    Slack,
    Teams,
    Discord,
    GoogleChat,
    Mattermost,
    PagerDuty,
}

/// What rendering needs besides the stored payload.
#[derive(Debug, Clone, Copy, Default)]
pub struct Render<'a> {
    /// The event's customer (PagerDuty's `dedup_key`).
    pub customer: Option<i64>,
    /// The `event_id` the platform gave the event, if any (PagerDuty's `dedup_key`).
    pub event_id: Option<i64>,
    /// PagerDuty's integration key (opened from its sealed form just before sending).
    pub routing_key: Option<&'a str>,
}

impl PayloadFormat {
    pub const ALL: [PayloadFormat; 7] = [
        PayloadFormat::Json,
        PayloadFormat::Slack,
        PayloadFormat::Teams,
        PayloadFormat::Discord,
        PayloadFormat::GoogleChat,
        PayloadFormat::Mattermost,
        PayloadFormat::PagerDuty,
    ];

    pub fn parse(s: &str) -> Option<PayloadFormat> {
        PayloadFormat::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PayloadFormat::Json => "json",
            PayloadFormat::Slack => "slack",
            PayloadFormat::Teams => "teams",
            PayloadFormat::Discord => "discord",
            PayloadFormat::GoogleChat => "google-chat",
            PayloadFormat::Mattermost => "mattermost",
            PayloadFormat::PagerDuty => "pagerduty",
        }
    }

    /// One line for `--help`: what the body is and where it is detected.
    pub fn about(self) -> &'static str {
        match self {
            PayloadFormat::Json => "the spec's JSON payload (anything not recognised below)",
            PayloadFormat::Slack => "Slack message: text + blocks (hooks.slack.com/services/…)",
            PayloadFormat::Teams => {
                "Teams Adaptive Card in a Workflows message (…logic.azure.com…/workflows/…, …api.powerplatform.com…/workflows/…, *.webhook.office.com/webhookb2/…)"
            }
            PayloadFormat::Discord => "Discord message: content + embeds (discord.com/api/webhooks/…)",
            PayloadFormat::GoogleChat => {
                "Google Chat message (chat.googleapis.com/v1/spaces/…/messages)"
            }
            PayloadFormat::Mattermost => "Mattermost message: text + attachments (never detected: force it)",
            PayloadFormat::PagerDuty => {
                "PagerDuty Events API v2 event, needs --routing-key (events.pagerduty.com/v2/enqueue)"
            }
        }
    }

    /// Whether this format needs a routing key (PagerDuty).
    pub fn needs_routing_key(self) -> bool {
        self == PayloadFormat::PagerDuty
    }

    /// The format a destination URL expects, from its host and path (DESIGN §8's table); `host`
    /// in any case, with or without its final dot.
    pub fn detect(host: &str, path: &str) -> PayloadFormat {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let under = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
        if host == "hooks.slack.com" && path.starts_with("/services/") {
            PayloadFormat::Slack
        } else if (under("logic.azure.com") || under("api.powerplatform.com"))
            && path.contains("/workflows/")
            || (host.ends_with(".webhook.office.com") && path.starts_with("/webhookb2/"))
            || (host == "outlook.office.com" && path.starts_with("/webhook/"))
        {
            PayloadFormat::Teams
        } else if is_discord_host(&host) && path.starts_with("/api/") && path.contains("/webhooks/")
        {
            PayloadFormat::Discord
        } else if host == "chat.googleapis.com"
            && path.starts_with("/v1/spaces/")
            && path.ends_with("/messages")
        {
            PayloadFormat::GoogleChat
        } else if is_pagerduty_events_host(&host) && path.starts_with("/v2/enqueue") {
            PayloadFormat::PagerDuty
        } else {
            PayloadFormat::Json
        }
    }

    /// The body to send for a stored spec payload. A payload that is not JSON (it always is:
    /// it was written by `emit`) is sent as it is.
    pub fn render(self, payload: &[u8], ctx: &Render<'_>) -> Vec<u8> {
        if self == PayloadFormat::Json {
            return payload.to_vec();
        }
        let Ok(event) = serde_json::from_slice::<Value>(payload) else {
            return payload.to_vec();
        };
        let view = EventView::new(&event);
        let body = match self {
            PayloadFormat::Json => return payload.to_vec(),
            PayloadFormat::Slack => slack::render(&view),
            PayloadFormat::Teams => teams::render(&view),
            PayloadFormat::Discord => discord::render(&view),
            PayloadFormat::GoogleChat => google_chat::render(&view),
            PayloadFormat::Mattermost => mattermost::render(&view),
            PayloadFormat::PagerDuty => pagerduty::render(&view, ctx),
        };
        serde_json::to_vec(&body).unwrap_or_else(|_| payload.to_vec())
    }
}

impl PayloadFormat {
    /// A body sent in this format as kept for the record (`attempts.request_body`, shown by
    /// `deliveries show`): PagerDuty's `routing_key` is a credential and is replaced by
    /// `[redacted]`; other formats carry none and are kept as sent.
    pub fn for_the_record(self, body: &[u8]) -> Vec<u8> {
        match self {
            PayloadFormat::PagerDuty => pagerduty::for_the_record(body),
            _ => body.to_vec(),
        }
    }
}

impl fmt::Display for PayloadFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Discord's webhook hosts (lower case, without a final dot).
pub(crate) fn is_discord_host(host: &str) -> bool {
    matches!(
        host,
        "discord.com" | "discordapp.com" | "ptb.discord.com" | "canary.discord.com"
    )
}

/// PagerDuty's Events API hosts (lower case, without a final dot).
pub(crate) fn is_pagerduty_events_host(host: &str) -> bool {
    host == "events.pagerduty.com" || host == "events.eu.pagerduty.com"
}

#[cfg(test)]
mod tests;
