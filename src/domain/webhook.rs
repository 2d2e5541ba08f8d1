//! A webhook's settings and the rules they obey (DESIGN §4): name, URL, subscriptions, limits.

pub use super::line::{is_invisible_format, validate_line};
use std::collections::BTreeMap;

use super::allowlist::TargetPolicy;
use super::event_type::Subscription;
use super::text::{quote, redact_userinfo};
use super::ValidationError;

pub const DEFAULT_TIMEOUT: u32 = 10;
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=120;
pub const DEFAULT_MAX_RETRIES: u32 = 3;
pub const MAX_RETRIES_LIMIT: u32 = 20;
pub const DEFAULT_BACKOFF: u32 = 60;
pub const BACKOFF_RANGE: std::ops::RangeInclusive<u64> = 1..=86_400;
const MAX_URL_LEN: usize = 2048;
/// Three days, as Svix and Stripe do before disabling a failing endpoint.
pub const DEFAULT_AUTO_DISABLE: u32 = 3 * 24 * 3600;
pub const AUTO_DISABLE_RANGE: std::ops::RangeInclusive<u64> = 0..=30 * 24 * 3600;

/// Everything about a webhook except its identity, owner, secret and timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    pub name: String,
    pub url: WebhookUrl,
    pub event_types: Vec<Subscription>,
    pub enabled: bool,
    pub verify_ssl: bool,
    pub timeout_seconds: u32,
    pub max_retries: u32,
    pub retry_backoff: u32,
    pub headers: BTreeMap<String, String>,
    /// Disable the webhook after this many seconds of failing without a success (0: never).
    pub auto_disable_after: u32,
    pub payload_format: super::format::PayloadFormat,
}

#[cfg(test)]
impl WebhookSettings {
    /// Settings for tests: webhook "w" at `url`, subscribed to `job.completed`, enabled, the
    /// default timeout, retries and backoff, no headers, never auto-disabled.
    pub fn example(url: &str) -> WebhookSettings {
        WebhookSettings {
            name: "w".into(),
            url: WebhookUrl::parse_form(url).expect("a test URL"),
            event_types: parse_event_types(&["job.completed"]).expect("a test event type"),
            enabled: true,
            verify_ssl: true,
            timeout_seconds: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            retry_backoff: DEFAULT_BACKOFF,
            headers: BTreeMap::new(),
            auto_disable_after: 0,
            payload_format: Default::default(),
        }
    }
}

/// A destination URL: absolute http or https with a host, no credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    /// Parses [`WebhookUrl::parse_form`] and checks [`WebhookUrl::check_destination`]: the
    /// URL a user types, in one step.
    pub fn parse_for(text: &str, policy: &TargetPolicy) -> Result<WebhookUrl, ValidationError> {
        let url = WebhookUrl::parse_form(text)?;
        url.check_destination(policy)?;
        Ok(url)
    }

    /// Parses a URL and checks its form only: absolute http or https, a host, no credentials,
    /// not too long. Where it may lead is [`WebhookUrl::check_destination`]'s question (a stored
    /// URL was checked when it was written).
    pub fn parse_form(text: &str) -> Result<WebhookUrl, ValidationError> {
        let err = |m: String| ValidationError::new("url", m);
        let text = text.trim();
        if text.len() > MAX_URL_LEN {
            return Err(err(format!(
                "the URL is longer than {MAX_URL_LEN} characters"
            )));
        }
        // A URL parser would quietly percent-encode a space and drop a tab or a line break: a
        // URL pasted with one is more likely cut or joined wrongly than meant so.
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err(format!(
                "{} contains a space or a control character; percent-encode it (%20 for a space) if it belongs in the URL",
                quote_given(text)
            )));
        }
        // `127.0.0.1:9000` reads as a relative URL, `localhost:9000/hook` as one of scheme
        // `localhost`: both are a host without its scheme.
        let no_scheme = || {
            err(format!(
                "{} has no scheme: write it with https:// (or http://) in front",
                quote_given(text)
            ))
        };
        let url = url::Url::parse(text).map_err(|e| match e {
            url::ParseError::RelativeUrlWithoutBase => no_scheme(),
            e => err(format!("{} is not a valid URL ({e})", quote_given(text))),
        })?;
        let host_as_scheme = url.scheme() == "localhost" || url.scheme().contains('.');
        if host_as_scheme && !text.starts_with(&format!("{}://", url.scheme())) {
            return Err(no_scheme());
        }
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(err(format!("{} is not http or https", quote_given(text))));
        }
        if !url.username().is_empty() || url.password().is_some() {
            // Not quoted: the point is not to repeat the password anywhere.
            return Err(err(
                "the URL contains a user name or password; send credentials with --header 'Authorization: …'"
                    .into(),
            ));
        }
        if url.host().is_none() {
            return Err(err(format!("{} has no host", quote_given(text))));
        }
        Ok(WebhookUrl(url))
    }

    /// Checks this URL's host against the destinations `policy` allows (DESIGN §7), before any
    /// DNS: an IP-literal host must be public or in an allowed range, `localhost` an allowed
    /// name. Other names are checked on every resolved address when sending.
    pub fn check_destination(&self, policy: &TargetPolicy) -> Result<(), ValidationError> {
        match self.0.host() {
            Some(host) => policy
                .check_url_host(&host)
                .map_err(|r| ValidationError::new("url", r.at_creation())),
            None => Ok(()),
        }
    }

    /// The URL as sent (never shown: see [`WebhookUrl::shown`]).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The URL as lists, `show`, the API and the UI show it: a token in its path or query
    /// (Slack, Discord, Teams `sig=`, Google Chat `key=`/`token=`, …) as "[redacted]".
    pub fn shown(&self) -> String {
        super::url_mask::masked(&self.0)
    }

    /// Refuses a URL that holds "[redacted]": the shown form of a stored URL, never a real one.
    pub fn check_unmasked(&self) -> Result<(), ValidationError> {
        if super::url_mask::has_mask(self.as_str()) {
            return Err(ValidationError::new(
                "url",
                format!(
                    "\"{}\" stands for a part of a stored URL that is never shown; give the whole URL",
                    super::headers::REDACTED
                ),
            ));
        }
        Ok(())
    }

    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    pub fn path(&self) -> &str {
        self.0.path()
    }

    /// The payload format this URL expects (Slack and Teams incoming webhooks are recognised).
    pub fn detect_format(&self) -> super::format::PayloadFormat {
        super::format::PayloadFormat::detect(self.host(), self.path())
    }
}

/// A URL refused, quoted for a message without its password or what may be a token: up to the
/// end of its host (`"https://hooks.slack.com/…"`). A stored URL's message is shown to whoever
/// lists webhooks.
fn quote_given(text: &str) -> String {
    let text = redact_userinfo(text);
    let after_scheme = text.find("://").map_or(0, |at| at + 3);
    match text[after_scheme..].find(['/', '?', '#']) {
        Some(at) => quote(&format!("{}…", &text[..after_scheme + at + 1])),
        None => quote(&text),
    }
}

/// Checks a webhook name: 1–100 characters, not blank, one line.
pub fn validate_name(name: &str) -> Result<String, ValidationError> {
    validate_label("name", name)
}

/// Checks a name (of a webhook or a customer) for `field`: 1–100 characters, one line; trimmed.
pub fn validate_label(field: &'static str, name: &str) -> Result<String, ValidationError> {
    let name = validate_line(field, "the name", name, 100)?;
    if name.is_empty() {
        return Err(ValidationError::new(field, "the name is empty"));
    }
    Ok(name)
}

/// Parses the subscribed event types: at least one, each from the catalog or a wildcard
/// (`job.*`, `*`); duplicates dropped.
pub fn parse_event_types<S: AsRef<str>>(raw: &[S]) -> Result<Vec<Subscription>, ValidationError> {
    let mut given = Vec::new();
    for item in raw {
        // `--event a,b` is accepted as well as `--event a --event b`.
        for part in item
            .as_ref()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            given.push(
                Subscription::parse(part).map_err(|m| ValidationError::new("event_types", m))?,
            );
        }
    }
    subscriptions(&given)
}

/// Subscriptions as stored: at least one, duplicates dropped, in order.
pub fn subscriptions(given: &[Subscription]) -> Result<Vec<Subscription>, ValidationError> {
    let mut out: Vec<Subscription> = Vec::new();
    for t in given {
        if !out.contains(t) {
            out.push(*t);
        }
    }
    if out.is_empty() {
        return Err(ValidationError::new(
            "event_types",
            "at least one event type is required",
        ));
    }
    out.sort();
    Ok(out)
}

/// Checks `max_retries` (0–20).
pub fn validate_max_retries(n: i64) -> Result<u32, ValidationError> {
    if (0..=MAX_RETRIES_LIMIT as i64).contains(&n) {
        Ok(n as u32)
    } else {
        Err(ValidationError::new(
            "max_retries",
            format!("{n} is out of range: must be 0 to {MAX_RETRIES_LIMIT}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EventType;

    fn parse(text: &str, policy: &TargetPolicy) -> Result<WebhookUrl, ValidationError> {
        WebhookUrl::parse_for(text, policy)
    }

    #[test]
    fn urls_must_be_http_with_a_public_literal_host() {
        let public = TargetPolicy::default();
        assert!(parse("https://hooks.slack.com/services/X", &public).is_ok());
        assert!(parse("http://93.184.216.34/x", &public).is_ok());
        for bad in [
            "ftp://x.example/",
            "not a url",
            "https://user:pw@example.com/",
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.1/",
            "http://0x7f.1/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost:9000/",
        ] {
            assert!(parse(bad, &public).is_err(), "{bad} should be refused");
        }
        assert!(parse("http://127.0.0.1:8080/", &TargetPolicy::any()).is_ok());
        // The form alone: a private address passes, the rest does not.
        assert!(WebhookUrl::parse_form("http://127.0.0.1:8080/").is_ok());
        for bad in [
            "ftp://x.example/",
            "not a url",
            "https://user:pw@example.com/",
        ] {
            assert!(WebhookUrl::parse_form(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn url_messages_say_what_is_wrong_with_the_url() {
        let message = |text: &str| WebhookUrl::parse_form(text).unwrap_err().message;
        for given in [
            "https://user:hunter2@example.com/",
            "https://user@example.com/",
        ] {
            let m = message(given);
            assert_eq!(
                m,
                "the URL contains a user name or password; send credentials with --header 'Authorization: …'"
            );
        }
        let long = format!("https://example.com/{}", "x".repeat(MAX_URL_LEN));
        assert_eq!(message(&long), "the URL is longer than 2048 characters");
        // Inside the URL (around it, blanks are trimmed): the parser would encode or drop it.
        for given in [
            "http://127.0.0.1/ x",
            "https://example.com/a\tb",
            "https://example.com/a\nb",
            "https://exa mple.com/",
        ] {
            assert!(
                message(given)
                    .contains("contains a space or a control character; percent-encode it"),
                "{given:?}"
            );
        }
        assert_eq!(message("https://example.com/path x?sig=abc"),
            "\"https://example.com/…\" contains a space or a control character; percent-encode it (%20 for a space) if it belongs in the URL");
        assert!(WebhookUrl::parse_form("  https://example.com/a%20b \n").is_ok());
    }

    #[test]
    fn names_and_event_types() {
        assert!(validate_name("  ").is_err());
        assert!(validate_name(&"x".repeat(101)).is_err());
        assert_eq!(validate_name(" Slack ").unwrap(), "Slack");
        for hidden in [
            "abc\u{202E}evil",
            "a\u{2066}b",
            "\u{200F}x",
            "x\u{061C}",
            "zero\u{200B}width",
            "\u{FEFF}bom",
            "tag\u{E0041}",
        ] {
            let e = validate_label("customer_name", hidden).unwrap_err();
            assert_eq!(e.field, "customer_name");
            assert!(
                e.message.contains("invisible formatting character (U+"),
                "{e}"
            );
        }
        assert!(validate_line("note", "the note", "x\u{202D}y", 200).is_err());
        // Joiners shape scripts and emoji; accented and non-Latin text is welcome.
        for fine in [
            "\u{0645}\u{06CC}\u{200C}\u{062E}\u{0648}\u{0627}\u{0647}\u{0645}",
            "👩\u{200D}💻",
            "Zürich Ω 東京",
        ] {
            assert!(validate_name(fine).is_ok(), "{fine}");
        }
        assert_eq!(
            parse_event_types(&["job.failed,job.completed", "job.failed"]).unwrap(),
            vec![
                Subscription::Exact(EventType::JobCompleted),
                Subscription::Exact(EventType::JobFailed)
            ]
        );
        assert!(parse_event_types::<&str>(&[]).is_err());
        assert!(parse_event_types(&["job.nope"]).is_err());
        assert!(validate_max_retries(21).is_err());
        assert_eq!(validate_max_retries(0), Ok(0));
    }
}
