//! The parts of a destination URL that work as a credential, and the URL as it may be shown
//! without them. Many receivers are authenticated by their URL alone: Slack's and Discord's
//! incoming webhooks by a token in the path, Teams Workflows by `sig=` in the query, Google
//! Chat by `key=` and `token=`, Mattermost and Rocket.Chat by a random path segment after
//! `/hooks/`. Whoever reads such a URL can post to the channel, so lists, `show`, the API and
//! the web UI show those parts as [`REDACTED`], as they do credential headers; the stored URL
//! is sent as it was given.
//!
//! The shown form parses back as a URL. An edit that gives it back unchanged (a client that
//! reads a webhook, changes its name and writes the whole of it back) keeps the stored URL;
//! anything else with [`REDACTED`] in it is refused, never stored or sent.

use super::headers::REDACTED;

/// Query parameters whose value is a credential, by exact name (lower case)…
const SECRET_PARAMS: &[&str] = &["sig", "signature", "code", "auth", "pass"];
/// …or by a part of it (and any name ending in `key`).
const SECRET_PARAM_PARTS: &[&str] = &["token", "secret", "passw", "api_key", "api-key"];

/// The URL with every credential part replaced by [`REDACTED`] (see the module's rules);
/// `url` itself when it has none.
pub fn masked(url: &url::Url) -> String {
    let text = url.as_str();
    let path_start = path_start(url);
    let (before_fragment, fragment) = match text.find('#') {
        Some(at) => text.split_at(at),
        None => (text, ""),
    };
    let (before_query, query) = match before_fragment[path_start..].find('?') {
        Some(at) => before_fragment.split_at(path_start + at),
        None => (before_fragment, ""),
    };
    let (origin, path) = before_query.split_at(path_start);
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    out.push_str(origin);
    out.push_str(&masked_path(&host, path));
    out.push_str(&masked_query(query));
    out.push_str(fragment);
    out
}

/// Whether `text` holds [`REDACTED`] as written or as a URL parser escapes it.
pub fn has_mask(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains(REDACTED) || lower.contains("%5bredacted%5d")
}

/// Where the path begins in `url.as_str()` (after scheme, host and port).
fn path_start(url: &url::Url) -> usize {
    let text = url.as_str();
    let after_scheme = url.scheme().len() + "://".len();
    text[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |at| after_scheme + at)
}

/// The path with its credential segments masked, by where the receiver keeps its token.
fn masked_path(host: &str, path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    // segments[0] is the empty string before the leading '/'.
    let mut secret = vec![false; segments.len()];
    let named = |name: &str| segments.iter().position(|s| s.eq_ignore_ascii_case(name));
    let mut hide_from = |from: usize| {
        for s in secret.iter_mut().skip(from) {
            *s = true;
        }
    };
    if host == "hooks.slack.com" {
        // /services/T…/B…/<token>, /triggers/T…/…/<token>, /workflows/T…/…/<token>
        hide_from(4);
    } else if is_discord(host) {
        // /api[/v10]/webhooks/<id>/<token>
        if let Some(at) = named("webhooks") {
            hide_from(at + 2);
        }
    } else if host.ends_with(".webhook.office.com") || host == "outlook.office.com" {
        // /webhookb2/<group>@<tenant>/IncomingWebhook/<id>/<owner>[/<key>]
        if let Some(at) = named("IncomingWebhook") {
            hide_from(at + 1);
        }
    } else if host == "hooks.zapier.com" {
        // /hooks/catch/<account>/<hook>/
        if let Some(at) = named("catch") {
            hide_from(at + 2);
        }
    }
    // Mattermost, Rocket.Chat, n8n, Make and the like: a random segment after `hooks`.
    let after_hooks = segments
        .iter()
        .position(|s| {
            ["hooks", "hook", "webhook", "webhooks"]
                .iter()
                .any(|n| s.eq_ignore_ascii_case(n))
        })
        .map_or(1, |at| at + 1);
    let host_is_hook = host.starts_with("hook.") || host.starts_with("hooks.");
    let from = if host_is_hook { 1 } else { after_hooks };
    if host_is_hook || from > 1 {
        for (i, s) in segments.iter().enumerate().skip(from) {
            if looks_random(s) {
                secret[i] = true;
            }
        }
    }
    segments
        .iter()
        .zip(&secret)
        .map(|(s, hide)| if *hide && !s.is_empty() { REDACTED } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

fn is_discord(host: &str) -> bool {
    matches!(
        host,
        "discord.com" | "discordapp.com" | "ptb.discord.com" | "canary.discord.com"
    )
}

/// A segment that reads as a generated token: 16 or more letters, digits, `-` or `_`, with
/// both letters and digits.
fn looks_random(s: &str) -> bool {
    s.len() >= 16
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes().any(|b| b.is_ascii_alphabetic())
}

/// `?…` with the values of credential parameters masked (`query` is empty or starts with `?`).
fn masked_query(query: &str) -> String {
    let Some(pairs) = query.strip_prefix('?') else {
        return query.to_string();
    };
    let parts: Vec<String> = pairs
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !value.is_empty() && is_secret_param(name) => {
                format!("{name}={REDACTED}")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("?{}", parts.join("&"))
}

fn is_secret_param(name: &str) -> bool {
    let name: String = url::form_urlencoded::parse(format!("{name}=").as_bytes())
        .next()
        .map(|(n, _)| n.to_ascii_lowercase())
        .unwrap_or_default();
    SECRET_PARAMS.contains(&name.as_str())
        || name.ends_with("key")
        || SECRET_PARAM_PARTS.iter().any(|p| name.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str) -> String {
        masked(&url::Url::parse(text).expect("a test URL"))
    }

    #[test]
    fn chat_platforms_tokens_are_masked_and_the_rest_kept() {
        let cases = [
            (
                "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx",
                "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/[redacted]",
            ),
            (
                "https://hooks.slack.com/triggers/T0123ABCD/5678/0123456789abcdef",
                "https://hooks.slack.com/triggers/T0123ABCD/5678/[redacted]",
            ),
            (
                "https://discord.com/api/webhooks/123456789012345678/AbC-dEf_123",
                "https://discord.com/api/webhooks/123456789012345678/[redacted]",
            ),
            (
                "https://discord.com/api/v10/webhooks/1234/tok",
                "https://discord.com/api/v10/webhooks/1234/[redacted]",
            ),
            (
                "https://prod-01.westeurope.logic.azure.com:443/workflows/0a1b2c/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=AbCdEf123",
                "https://prod-01.westeurope.logic.azure.com/workflows/0a1b2c/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=[redacted]",
            ),
            (
                "https://chat.googleapis.com/v1/spaces/AAAA1234/messages?key=AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI&token=abc%3D",
                "https://chat.googleapis.com/v1/spaces/AAAA1234/messages?key=[redacted]&token=[redacted]",
            ),
            (
                "https://contoso.webhook.office.com/webhookb2/a-b@c-d/IncomingWebhook/0123abc/e-f",
                "https://contoso.webhook.office.com/webhookb2/a-b@c-d/IncomingWebhook/[redacted]/[redacted]",
            ),
            (
                "https://chat.example.com/hooks/xk7b3oq9bjfg8ngmaaa4zt4cuw",
                "https://chat.example.com/hooks/[redacted]",
            ),
            (
                "https://rocket.example.com/hooks/6Mm8cqLzw3TQg5p2a/K3zbn8Q2WyBL9qgmaRXiJvwWZn4bdQTy",
                "https://rocket.example.com/hooks/[redacted]/[redacted]",
            ),
            (
                "https://hooks.zapier.com/hooks/catch/123456/abcdefg/",
                "https://hooks.zapier.com/hooks/catch/123456/[redacted]/",
            ),
            (
                "https://hook.eu1.make.com/abcdefghij0123456789klmnopqrst",
                "https://hook.eu1.make.com/[redacted]",
            ),
            (
                "https://ops.example.com/in?access_token=s3cr3t&team=netops#frag",
                "https://ops.example.com/in?access_token=[redacted]&team=netops#frag",
            ),
        ];
        for (given, want) in cases {
            assert_eq!(shown(given), want, "{given}");
            // What is shown parses back to itself, so an edit can give it back.
            assert_eq!(shown(want), want);
            assert_eq!(
                url::Url::parse(want).map(|u| u.to_string()).ok(),
                Some(want.to_string())
            );
            assert!(has_mask(want));
        }
    }

    #[test]
    fn urls_without_a_credential_are_shown_whole() {
        for given in [
            "http://127.0.0.1:9000/",
            "https://ops.example.com/hooks/webnet",
            "https://events.pagerduty.com/v2/enqueue",
            "https://nms.example.com/api/v1/in?team=netops&format=json",
            "https://ops.example.com/in?key=",
            "https://example.com",
            "https://[::1]:8443/a/b?x=1",
            "https://ops.example.com/2f1c7d9e-5b1a-4e2b-9a4c-0d9f1e2a3b4c/in",
        ] {
            let url = url::Url::parse(given).expect("a test URL");
            assert_eq!(masked(&url), url.as_str(), "{given}");
            assert!(!has_mask(url.as_str()));
        }
    }

    #[test]
    fn a_mask_is_recognised_escaped_or_in_any_case() {
        assert!(has_mask("https://a.example.com/%5Bredacted%5D"));
        assert!(has_mask("https://a.example.com/x?sig=[REDACTED]"));
        assert!(!has_mask("https://a.example.com/redacted"));
    }
}
