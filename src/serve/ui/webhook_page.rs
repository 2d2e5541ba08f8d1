//! The webhook form as HTML: what it shows (a webhook's settings, the defaults, or what was
//! just sent back with its mistakes) and the page around it. The secret is never shown back;
//! credential headers and a token in the URL show as "[redacted]".

use std::collections::HashMap;

use maud::{html, Markup};

use super::form::FormBody;
use super::layout::{csrf_field, page, Viewer};
use crate::domain::event_type::FAMILIES;
use crate::domain::format::PayloadFormat;
use crate::domain::{headers, EventType};
use crate::store::Webhook;

/// The form's fields as text, as they are shown.
pub struct Values {
    pub name: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub verify_ssl: bool,
    pub timeout_seconds: String,
    pub max_retries: String,
    pub retry_backoff: String,
    pub payload_format: String,
    pub headers: String,
    pub customer: String,
}

impl Values {
    /// A new webhook's: DESIGN §4's defaults.
    pub fn defaults() -> Values {
        use crate::domain::webhook::{DEFAULT_BACKOFF, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT};
        Values {
            name: String::new(),
            url: String::new(),
            event_types: Vec::new(),
            enabled: true,
            verify_ssl: true,
            timeout_seconds: DEFAULT_TIMEOUT.to_string(),
            max_retries: DEFAULT_MAX_RETRIES.to_string(),
            retry_backoff: DEFAULT_BACKOFF.to_string(),
            payload_format: "auto".into(),
            headers: String::new(),
            customer: String::new(),
        }
    }

    /// A stored webhook's (its format shown as "auto" when it is the one its URL gives).
    pub fn of(w: &Webhook) -> Values {
        let s = &w.settings;
        let format = if s.payload_format == s.url.detect_format() {
            "auto"
        } else {
            s.payload_format.as_str()
        };
        Values {
            name: s.name.clone(),
            url: s.url.shown(),
            event_types: s.event_types.iter().map(|t| t.as_string()).collect(),
            enabled: s.enabled,
            verify_ssl: s.verify_ssl,
            timeout_seconds: s.timeout_seconds.to_string(),
            max_retries: s.max_retries.to_string(),
            retry_backoff: s.retry_backoff.to_string(),
            payload_format: format.into(),
            headers: headers::redacted(&s.headers)
                .iter()
                .map(|(k, v)| format!("{k}: {v}\n"))
                .collect(),
            customer: w.customer.0.to_string(),
        }
    }

    /// What was sent (the secret is not kept).
    pub fn sent(f: &FormBody) -> Values {
        Values {
            name: f.text("name"),
            url: f.text("url"),
            event_types: f.all("event_types"),
            enabled: f.checked("enabled"),
            verify_ssl: f.checked("verify_ssl"),
            timeout_seconds: f.text("timeout_seconds"),
            max_retries: f.text("max_retries"),
            retry_backoff: f.text("retry_backoff"),
            payload_format: f.text("payload_format"),
            headers: f.text("headers"),
            customer: f.text("customer"),
        }
    }
}

/// Which form: a new webhook's, or webhook `id`'s (`has_secret`: whether one is stored).
pub enum Mode {
    New,
    Edit { id: i64, has_secret: bool },
}

/// Fields the form has; an error about any other is shown above it.
const FIELDS: &[&str] = &[
    "customer",
    "name",
    "url",
    "event_types",
    "secret",
    "enabled",
    "verify_ssl",
    "timeout_seconds",
    "max_retries",
    "retry_backoff",
    "payload_format",
    "routing_key",
    "headers",
];

/// The whole page. `errors`: the fields in the wrong and what is wrong with each; `customers`:
/// for an admin, every customer by id.
pub fn render(
    viewer: &Viewer,
    mode: &Mode,
    v: &Values,
    errors: &[(String, String)],
    customers: &HashMap<i64, String>,
) -> Markup {
    let (title, action, submit) = match mode {
        Mode::New => (
            "New webhook",
            "/settings/webhooks/".to_string(),
            "Create webhook",
        ),
        Mode::Edit { id, .. } => ("Edit webhook", format!("/settings/webhooks/{id}"), "Save"),
    };
    let err = |field: &str| -> Markup {
        html! {
            @if let Some((f, m)) = errors.iter().find(|(f, _)| f == field) {
                p.error id={ "error-" (f) } { (m) }
            }
        }
    };
    let mut customer_ids: Vec<&i64> = customers.keys().collect();
    customer_ids.sort();
    let body = html! {
        @for (f, m) in errors.iter().filter(|(f, _)| !FIELDS.contains(&f.as_str())) {
            p.error.page id={ "error-" (f) } { (f) ": " (m) }
        }
        form.stacked id="webhook-form" method="post" action=(action) {
            (csrf_field(&viewer.csrf))
            @if viewer.admin && matches!(mode, Mode::Edit { .. }) {
                // A webhook's customer cannot change: shown, not offered (sent back as it is,
                // so the form shown again after a mistake still names it).
                input type="hidden" name="customer" value=(v.customer);
                p id="customer" {
                    "Customer: "
                    @if let Some(name) = v.customer.parse::<i64>().ok().and_then(|id| customers.get(&id)) {
                        (name) " "
                    }
                    "(" (v.customer) ")"
                }
            } @else if viewer.admin {
                label for="customer" { "Customer" }
                select id="customer" name="customer" required {
                    @if matches!(mode, Mode::New) { option value="" { "Choose a customer" } }
                    @for id in customer_ids {
                        option value=(id) selected[v.customer == id.to_string()] {
                            (customers.get(id).map(String::as_str).unwrap_or("")) " (" (id) ")"
                        }
                    }
                }
                (err("customer"))
            }
            label for="name" { "Name" }
            input type="text" id="name" name="name" value=(v.name) required maxlength="100";
            (err("name"))
            label for="url" { "URL" }
            input type="url" id="url" name="url" value=(v.url) required placeholder="https://example.com/hooks/webnet";
            @if let Mode::Edit { .. } = mode {
                p.hint { "A token in the URL (Slack, Discord, Teams sig=, …) shows as [redacted]; leave it so to keep the stored URL." }
            }
            (err("url"))
            fieldset {
                legend { "Event types" }
                @for t in choices() {
                    label.check {
                        input type="checkbox" name="event_types" value=(t.0) checked[v.event_types.contains(&t.0)];
                        " " code { (t.0) } " — " (t.1)
                    }
                }
            }
            (err("event_types"))
            label for="secret" { "Signing secret" }
            input type="password" id="secret" name="secret" autocomplete="new-password";
            @match mode {
                Mode::New => p.hint {
                    "Optional: events are signed with it (X-Webhook-Signature)."
                    @if !errors.is_empty() { " A secret typed before is not kept: type it again." }
                },
                Mode::Edit { has_secret, .. } => {
                    p.hint {
                        @if *has_secret { "A secret is set; leave empty to keep it." } @else { "No secret is set; leave empty to keep it so." }
                        @if !errors.is_empty() { " A new secret typed before is not kept: type it again." }
                    }
                    label.check { input type="checkbox" name="clear_secret" value="on"; " Remove the secret" }
                }
            }
            (err("secret"))
            label.check { input type="checkbox" name="enabled" value="on" checked[v.enabled]; " Enabled" }
            label.check { input type="checkbox" name="verify_ssl" value="on" checked[v.verify_ssl]; " Verify TLS certificates" }
            label for="timeout_seconds" { "Timeout (seconds)" }
            input type="number" id="timeout_seconds" name="timeout_seconds" min="1" max="120" value=(v.timeout_seconds);
            (err("timeout_seconds"))
            label for="max_retries" { "Retries after a failure" }
            input type="number" id="max_retries" name="max_retries" min="0" max="20" value=(v.max_retries);
            (err("max_retries"))
            label for="retry_backoff" { "First retry after (seconds; doubles each time)" }
            input type="number" id="retry_backoff" name="retry_backoff" min="1" max="86400" value=(v.retry_backoff);
            (err("retry_backoff"))
            label for="payload_format" { "Payload format" }
            select id="payload_format" name="payload_format" {
                option value="auto" selected[v.payload_format == "auto" || v.payload_format.is_empty()] { "auto (detected from the URL)" }
                @for f in PayloadFormat::ALL {
                    option value=(f.as_str()) selected[v.payload_format == f.as_str()] { (f.as_str()) }
                }
            }
            (err("payload_format"))
            label for="routing_key" { "PagerDuty routing key" }
            input type="password" id="routing_key" name="routing_key" autocomplete="off";
            p.hint { "For the pagerduty format only (its integration key); never shown again. Leave empty to keep the stored one." }
            (err("routing_key"))
            label for="headers" { "Custom headers" }
            textarea id="headers" name="headers" rows="4" placeholder="X-Team: netops" { (v.headers) }
            p.hint { "One 'Name: value' per line. Credentials show as [redacted]; leave such a line as it is to keep the stored value." }
            (err("headers"))
            p { button.primary type="submit" { (submit) } " " a.button href="/settings/webhooks/" { "Cancel" } }
        }
    };
    page(title, Some(viewer), None, body)
}

/// Every subscription the form offers, with what it means: everything, each family, each type.
fn choices() -> Vec<(String, String)> {
    let mut out = vec![("*".to_string(), "every event type".to_string())];
    for family in FAMILIES {
        out.push((format!("{family}.*"), format!("every {family} event")));
    }
    out.extend(EventType::subscribable().map(|t| (t.as_str().to_string(), t.about().to_string())));
    out
}
