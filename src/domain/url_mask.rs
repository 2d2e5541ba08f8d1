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

use super::format::{is_discord_host, is_pagerduty_events_host};
use super::headers::REDACTED;

/// Query parameters whose value is a credential, by exact name (lower case)…
const SECRET_PARAMS: &[&str] = &["sig", "code", "auth", "pass", "jwt"];
/// …or by a part of it (and any name ending in `key`).
const SECRET_PARAM_PARTS: &[&str] = &[
    "token",
    "secret",
    "passw",
    "api_key",
    "api-key",
    "signature",
];
/// Path segments after which every random-looking segment is a token.
const HOOK_SEGMENTS: &[&str] = &["hooks", "hook", "webhook", "webhooks", "webhook-test"];
/// Credential parts shorter than this are not looked for in a receiver's answer (a `?code=1`
/// would otherwise hide every `1`).
pub const MIN_ECHOED: usize = 8;

/// The URL with every credential part replaced by [`REDACTED`] (see the module's rules);
/// `url` itself when it has none.
pub fn masked(url: &url::Url) -> String {
    split(url).0
}

/// `text` (a receiver's answer, an error message) with every credential part of `url` that
/// it repeats replaced by [`REDACTED`]: a receiver that redirects to its own URL, or echoes it
/// in an error, does not show the token through the attempt log.
pub fn redact_echoes(url: &url::Url, text: &str) -> String {
    let mut out = text.to_string();
    for part in split(url).1 {
        if part.len() >= MIN_ECHOED && out.contains(&part) {
            out = out.replace(&part, REDACTED);
        }
    }
    out
}

/// The shown URL, and the credential parts it hides as written in the URL.
fn split(url: &url::Url) -> (String, Vec<String>) {
    use url::Position;
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let mut hidden = Vec::new();
    let mut out = String::with_capacity(url.as_str().len());
    out.push_str(&url[..Position::BeforePath]);
    out.push_str(&masked_path(&host, url.path(), &mut hidden));
    if let Some(query) = url.query() {
        out.push('?');
        out.push_str(&masked_query(query, &mut hidden));
    }
    out.push_str(&url[Position::AfterQuery..]);
    (out, hidden)
}

/// Whether `text` holds [`REDACTED`], as written or with its brackets escaped.
pub fn has_mask(text: &str) -> bool {
    text.to_ascii_lowercase()
        .replace("%5b", "[")
        .replace("%5d", "]")
        .contains(REDACTED)
}

/// The path with its credential segments masked, by where the receiver keeps its token; the
/// segments hidden are added to `hidden`.
fn masked_path(host: &str, path: &str, hidden: &mut Vec<String>) -> String {
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
    } else if is_discord_host(host) {
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
    } else if is_pagerduty_events_host(host) {
        // /integration/<key>/enqueue
        if let Some(hidden) = named("integration").and_then(|at| secret.get_mut(at + 1)) {
            *hidden = true;
        }
    } else if host == "webhook.site" {
        // /<token>
        hide_from(1);
    } else if host == "api.telegram.org" {
        // /bot<id>:<token>/sendMessage
        for (i, seg) in segments.iter().enumerate() {
            if seg.starts_with("bot") && seg.contains(':') {
                secret[i] = true;
            }
        }
    }
    // IFTTT and the like: the segment after one named `key` or `token`.
    for (i, seg) in segments.iter().enumerate() {
        if (seg.eq_ignore_ascii_case("key") || seg.eq_ignore_ascii_case("token"))
            && i + 1 < segments.len()
        {
            secret[i + 1] = true;
        }
    }
    // Mattermost, Rocket.Chat, n8n, Make and the like: a random segment after `hooks`.
    let after_hooks = segments
        .iter()
        .position(|s| HOOK_SEGMENTS.iter().any(|n| s.eq_ignore_ascii_case(n)))
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
        .map(|(s, hide)| {
            if *hide && !s.is_empty() {
                hidden.push(s.to_string());
                REDACTED
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A segment that reads as a generated token: 16 or more letters, digits, `-` or `_`, with
/// both letters and digits; or 20 or more letters and digits alone, whatever their mix (a
/// Mattermost id is 26 of `a-z0-9`, and one in a few thousand has no digit).
fn looks_random(s: &str) -> bool {
    let token_chars = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let mixed = s.bytes().any(|b| b.is_ascii_digit()) && s.bytes().any(|b| b.is_ascii_alphabetic());
    (s.len() >= 16 && token_chars && mixed)
        || (s.len() >= 20 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The query (without its `?`) with the values of credential parameters masked; the values
/// hidden are added to `hidden`.
fn masked_query(query: &str, hidden: &mut Vec<String>) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !value.is_empty() && is_secret_param(name) => {
                hidden.push(value.to_string());
                format!("{name}={REDACTED}")
            }
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
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
            // A Mattermost id without a digit (one in a few thousand are).
            (
                "https://chat.example.com/hooks/qwertyuiopasdfghjklzxcvbnm",
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
            (
                "https://maker.ifttt.com/trigger/backup_done/with/key/dK3xAbCdEfGh",
                "https://maker.ifttt.com/trigger/backup_done/with/key/[redacted]",
            ),
            (
                "https://events.pagerduty.com/integration/0123456789abcdef0123456789abcdef/enqueue",
                "https://events.pagerduty.com/integration/[redacted]/enqueue",
            ),
            (
                "https://webhook.site/2f1c7d9e-5b1a-4e2b-9a4c-0d9f1e2a3b4c",
                "https://webhook.site/[redacted]",
            ),
            (
                "https://api.telegram.org/bot123456:ABC-DEF1234ghIkl/sendMessage?chat_id=1",
                "https://api.telegram.org/[redacted]/sendMessage?chat_id=1",
            ),
            (
                "https://n8n.example.com/webhook-test/2f1c7d9e-5b1a-4e2b-9a4c-0d9f1e2a3b4c",
                "https://n8n.example.com/webhook-test/[redacted]",
            ),
            (
                "https://contoso.webhook.office.com./webhookb2/a@b/IncomingWebhook/0123abc/e-f",
                "https://contoso.webhook.office.com./webhookb2/a@b/IncomingWebhook/[redacted]/[redacted]",
            ),
            (
                "https://bucket.example.com/in?X-Amz-Signature=abc123&jwt=eyJ&X-Amz-Date=1",
                "https://bucket.example.com/in?X-Amz-Signature=[redacted]&jwt=[redacted]&X-Amz-Date=1",
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
    fn a_receivers_echo_of_a_token_is_hidden() {
        let url =
            url::Url::parse("https://chat.example.com/hooks/xk7b3oq9bjfg8ngmaaa4zt4cuw?code=1")
                .expect("a test URL");
        assert_eq!(
            redact_echoes(
                &url,
                "HTTP 301: redirect to https://chat.example.com/hooks/xk7b3oq9bjfg8ngmaaa4zt4cuw not followed (code 1)"
            ),
            "HTTP 301: redirect to https://chat.example.com/hooks/[redacted] not followed (code 1)",
            "a part too short to be a token is left alone"
        );
    }

    #[test]
    fn a_mask_is_recognised_escaped_or_in_any_case() {
        assert!(has_mask("https://a.example.com/%5Bredacted%5D"));
        assert!(has_mask("https://a.example.com/%5bredacted]"));
        assert!(has_mask("https://a.example.com/[redacted%5D"));
        assert!(has_mask("https://a.example.com/x?sig=[REDACTED]"));
        assert!(!has_mask("https://a.example.com/redacted"));
    }
}
