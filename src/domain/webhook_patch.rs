//! What creating or changing a webhook is given, and the rules that turn it into settings:
//! a [`WebhookDraft`] (everything a new webhook has, with the defaults of DESIGN §4) and a
//! [`WebhookPatch`] (only what changes: a new URL brings its own payload format unless one is
//! given, custom headers are merged by name, "nothing to change" is refused). Pure: the CLI
//! and, later, HTTP handlers build these; `ops` applies them.

use std::collections::BTreeMap;
use std::time::Duration;

use super::event_type::Subscription;
use super::format::{PayloadFormat, RoutingKey};
use super::headers::{check_header, check_header_set, check_header_size, REDACTED};
use super::text::quote;
use super::time::human_seconds;
use super::webhook::{self, subscriptions, validate_max_retries, WebhookSettings, WebhookUrl};
use super::{Secret, ValidationError};

/// A new webhook: what it must have (name, URL, subscriptions), and the rest given or left to
/// its default.
#[derive(Debug, Clone)]
pub struct WebhookDraft {
    pub name: String,
    pub url: WebhookUrl,
    pub event_types: Vec<Subscription>,
    pub enabled: bool,
    pub verify_ssl: bool,
    /// [default: 10s]
    pub timeout: Option<Duration>,
    /// [default: 3]
    pub max_retries: Option<u32>,
    /// [default: 60s]
    pub retry_backoff: Option<Duration>,
    /// [default: 3 days]
    pub auto_disable_after: Option<Duration>,
    /// [default: detected from the URL]
    pub payload_format: Option<PayloadFormat>,
    /// Custom headers, `(name, value)`, each a valid header; a name given twice is refused.
    pub headers: Vec<(String, String)>,
    pub secret: Option<Secret>,
    pub routing_key: Option<RoutingKey>,
}

impl WebhookDraft {
    /// A draft with every optional setting at its default.
    pub fn new(name: String, url: WebhookUrl, event_types: Vec<Subscription>) -> WebhookDraft {
        WebhookDraft {
            name,
            url,
            event_types,
            enabled: true,
            verify_ssl: true,
            timeout: None,
            max_retries: None,
            retry_backoff: None,
            auto_disable_after: None,
            payload_format: None,
            headers: Vec::new(),
            secret: None,
            routing_key: None,
        }
    }

    /// The payload format the webhook gets: the one given, else the URL's.
    pub fn format(&self) -> PayloadFormat {
        self.payload_format
            .unwrap_or_else(|| self.url.detect_format())
    }

    /// The settings to store, every rule checked (a routing key with its format included).
    pub fn settings(&self) -> Result<WebhookSettings, ValidationError> {
        check_routing_key(self.format(), self.routing_key.is_some(), false)?;
        self.url.check_unmasked()?;
        Ok(WebhookSettings {
            name: webhook::validate_name(&self.name)?,
            url: self.url.clone(),
            event_types: subscriptions(&self.event_types)?,
            enabled: self.enabled,
            verify_ssl: self.verify_ssl,
            timeout_seconds: self
                .timeout
                .map(|d| seconds("timeout_seconds", d, webhook::TIMEOUT_RANGE))
                .transpose()?
                .unwrap_or(webhook::DEFAULT_TIMEOUT),
            max_retries: self
                .max_retries
                .map(|n| validate_max_retries(n.into()))
                .transpose()?
                .unwrap_or(webhook::DEFAULT_MAX_RETRIES),
            retry_backoff: self
                .retry_backoff
                .map(|d| seconds("retry_backoff", d, webhook::BACKOFF_RANGE))
                .transpose()?
                .unwrap_or(webhook::DEFAULT_BACKOFF),
            auto_disable_after: self
                .auto_disable_after
                .map(|d| seconds("auto_disable_after", d, webhook::AUTO_DISABLE_RANGE))
                .transpose()?
                .unwrap_or(webhook::DEFAULT_AUTO_DISABLE),
            payload_format: self.format(),
            headers: headers(&self.headers)?,
        })
    }
}

/// What happens to a webhook's signing secret on update.
#[derive(Debug, Clone, Default)]
pub enum SecretEdit {
    #[default]
    Keep,
    Set(Secret),
    Clear,
}

/// A change to a webhook: only what is given changes.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub name: Option<String>,
    /// A new URL; the payload format follows it (detected) unless [`Self::payload_format`]
    /// is given too.
    pub url: Option<WebhookUrl>,
    /// The new subscriptions, replacing the old.
    pub event_types: Option<Vec<Subscription>>,
    pub enabled: Option<bool>,
    pub verify_ssl: Option<bool>,
    pub timeout: Option<Duration>,
    pub max_retries: Option<u32>,
    pub retry_backoff: Option<Duration>,
    pub auto_disable_after: Option<Duration>,
    pub payload_format: Option<PayloadFormat>,
    /// Remove every custom header first (then [`Self::headers`] are the new set).
    pub clear_headers: bool,
    /// Headers added, or replacing the one of the same name (case-insensitively).
    pub headers: Vec<(String, String)>,
    pub secret: SecretEdit,
    pub routing_key: Option<RoutingKey>,
}

impl WebhookPatch {
    /// Whether the patch changes nothing at all.
    pub fn is_empty(&self) -> bool {
        let WebhookPatch {
            name,
            url,
            event_types,
            enabled,
            verify_ssl,
            timeout,
            max_retries,
            retry_backoff,
            auto_disable_after,
            payload_format,
            clear_headers,
            headers,
            secret,
            routing_key,
        } = self;
        name.is_none()
            && url.is_none()
            && event_types.is_none()
            && enabled.is_none()
            && verify_ssl.is_none()
            && timeout.is_none()
            && max_retries.is_none()
            && retry_backoff.is_none()
            && auto_disable_after.is_none()
            && payload_format.is_none()
            && !clear_headers
            && headers.is_empty()
            && matches!(secret, SecretEdit::Keep)
            && routing_key.is_none()
    }

    /// Refuses a patch that changes nothing (field `update`).
    pub fn require_change(&self) -> Result<(), ValidationError> {
        if self.is_empty() {
            return Err(ValidationError::new(
                "update",
                "nothing to change; give at least one option (see `webnet webhooks update --help`)",
            ));
        }
        Ok(())
    }

    /// `current` with this patch applied, every rule checked. `has_routing_key`: whether the
    /// webhook holds one already (a `pagerduty` webhook must end with one).
    pub fn apply(
        &self,
        current: &WebhookSettings,
        has_routing_key: bool,
    ) -> Result<WebhookSettings, ValidationError> {
        self.require_change()?;
        let mut s = current.clone();
        if let Some(name) = &self.name {
            s.name = webhook::validate_name(name)?;
        }
        // The stored URL as shown (its token "[redacted]") given back is no change: a client
        // that writes back what it read keeps the URL.
        let shown_back = |u: &WebhookUrl| {
            u.as_str() != current.url.as_str() && u.as_str() == current.url.shown()
        };
        if let Some(url) = self.url.as_ref().filter(|u| !shown_back(u)) {
            url.check_unmasked()?;
            // A new URL brings its own format unless one is given.
            s.payload_format = url.detect_format();
            s.url = url.clone();
        }
        if let Some(f) = self.payload_format {
            s.payload_format = f;
        }
        if let Some(types) = &self.event_types {
            s.event_types = subscriptions(types)?;
        }
        if let Some(enabled) = self.enabled {
            s.enabled = enabled;
        }
        if let Some(verify) = self.verify_ssl {
            s.verify_ssl = verify;
        }
        if let Some(d) = self.timeout {
            s.timeout_seconds = seconds("timeout_seconds", d, webhook::TIMEOUT_RANGE)?;
        }
        if let Some(n) = self.max_retries {
            s.max_retries = validate_max_retries(n.into())?;
        }
        if let Some(d) = self.retry_backoff {
            s.retry_backoff = seconds("retry_backoff", d, webhook::BACKOFF_RANGE)?;
        }
        if let Some(d) = self.auto_disable_after {
            s.auto_disable_after = seconds("auto_disable_after", d, webhook::AUTO_DISABLE_RANGE)?;
        }
        if self.clear_headers {
            s.headers.clear();
        }
        for (k, v) in headers_keeping(&self.headers, &current.headers)? {
            s.headers.retain(|old, _| !old.eq_ignore_ascii_case(&k));
            s.headers.insert(k, v);
        }
        // Only when changed: a set stored before the limits still takes other changes (a PUT
        // gives the whole set back).
        if s.headers != current.headers {
            check_header_set(s.headers.iter())?;
        }
        check_routing_key(
            s.payload_format,
            self.routing_key.is_some(),
            has_routing_key,
        )?;
        Ok(s)
    }
}

/// A `pagerduty` webhook needs a routing key (`given` now or `stored` already); any other
/// format sends none, so giving one is a mistake worth saying.
pub fn check_routing_key(
    format: PayloadFormat,
    given: bool,
    stored: bool,
) -> Result<(), ValidationError> {
    if format.needs_routing_key() && !given && !stored {
        return Err(ValidationError::new(
            "routing_key",
            "required for the pagerduty format: the integration key of a PagerDuty Events API v2 integration (give it with --routing-key-stdin)",
        ));
    }
    if given && !format.needs_routing_key() {
        return Err(ValidationError::new(
            "routing_key",
            format!(
                "only the pagerduty format sends a routing key, and this webhook's format is {format} (add --payload-format pagerduty)"
            ),
        ));
    }
    Ok(())
}

/// Custom headers as a map, refusing the same name twice (case-insensitively).
pub fn headers(given: &[(String, String)]) -> Result<BTreeMap<String, String>, ValidationError> {
    let set = headers_keeping(given, &BTreeMap::new())?;
    check_header_set(set.iter())?;
    Ok(set)
}

/// [`headers`], each checked ([`check_header`]); a value given as [`REDACTED`] (what lists
/// show in place of a credential) keeps the one `stored` under that name.
fn headers_keeping(
    given: &[(String, String)],
    stored: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ValidationError> {
    let mut out = BTreeMap::new();
    for (name, value) in given {
        let (mut name, mut value) = check_header(name, value)?;
        if out.keys().any(|k: &String| k.eq_ignore_ascii_case(&name)) {
            return Err(ValidationError::new(
                "headers",
                format!("{} is given more than once", quote(&name)),
            ));
        }
        // A value given back as stored (a PUT of what a GET showed) is not judged again: a set
        // stored before the limits still takes other changes.
        let as_stored = stored
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case(&name) && *v == value);
        if !as_stored {
            check_header_size(&name, &value)?;
        }
        if value.eq_ignore_ascii_case(REDACTED) {
            // The stored pair as it is (the store keeps a sealed value under its own name).
            (name, value) = stored
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&name))
                .map(|(k, v)| (k.clone(), v.clone()))
                .ok_or_else(|| {
                    ValidationError::new(
                        "headers",
                        format!("{name}: \"{REDACTED}\" stands for a stored value, and none is stored under this name; give the value"),
                    )
                })?;
        }
        out.insert(name, value);
    }
    Ok(out)
}

/// A duration for a seconds field: whole seconds within `range` (as
/// [`super::time::whole_seconds`] checks text).
pub fn seconds(
    field: &'static str,
    d: Duration,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u32, ValidationError> {
    let shown = quote(&humantime::format_duration(d).to_string().replace(' ', ""));
    if d.subsec_nanos() != 0 {
        return Err(ValidationError::new(
            field,
            format!("{shown} is not a whole number of seconds"),
        ));
    }
    let secs = d.as_secs();
    if !range.contains(&secs) {
        return Err(ValidationError::new(
            field,
            format!(
                "{shown} is out of range: must be {} to {}",
                human_seconds(*range.start()),
                human_seconds(*range.end())
            ),
        ));
    }
    u32::try_from(secs).map_err(|_| ValidationError::new(field, format!("{shown} is too long")))
}

#[cfg(test)]
#[path = "webhook_patch_tests.rs"]
mod tests;
