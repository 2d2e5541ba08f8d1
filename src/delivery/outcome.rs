//! From a claimed delivery and what happened to its attempt to the delivery's next state —
//! pure, so the whole status machine is testable without a network.

use std::collections::BTreeMap;

use super::send::{Reply, Sent};
use crate::domain::headers::{is_sensitive, REDACTED};
use crate::domain::retry::{Next, RetryPolicy};
use crate::domain::time::Millis;
use crate::domain::url_mask::{redact_echoes, MIN_ECHOED};
use crate::store::{AttemptRecord, DeliveryStatus, Health, Job, Outcome};

/// How much of a failing response body goes into `error_message`.
const ERROR_BODY_CHARS: usize = 200;

/// The outcome of a delivery that was not sent because there is nowhere to send it.
pub fn not_sent(job: &Job, why: &str) -> Outcome {
    Outcome {
        delivery_id: job.delivery_id,
        attempt: None,
        status: DeliveryStatus::Failed,
        next_attempt_at: None,
        error_message: Some(why.to_string()),
        health: None,
    }
}

/// The outcome of an attempt whose request could not be built because it could not be signed
/// (the secret key is missing or wrong, or a sealed value does not open): the attempt fails and
/// is retried on the usual schedule (DESIGN §11), but nothing was asked of the receiver, so it
/// says nothing about its health (no `failing_since`, no auto-disable).
pub fn not_signed(job: &Job, why: &str, now: Millis) -> Outcome {
    let failed = Sent {
        reply: Reply::Error(format!("{NOT_SIGNED}: {why}")),
        duration_ms: 0,
    };
    Outcome {
        health: None,
        ..after_attempt(job, now, &[], &failed, now)
    }
}

/// How the `error_message` of an attempt that could not be signed begins.
pub const NOT_SIGNED: &str = "could not be signed";

/// Whether `o` is what [`not_signed`] made (its `error_message` begins `could not be signed:`;
/// a receiver's failure begins `HTTP`, a transport's has its own fixed words).
pub fn is_not_signed(o: &Outcome) -> bool {
    o.error_message
        .as_deref()
        .and_then(|m| m.strip_prefix(NOT_SIGNED))
        .is_some_and(|rest| rest.starts_with(':'))
}

/// The outcome of an attempt that was made (or failed before a byte was sent).
pub fn after_attempt(
    job: &Job,
    started_at: Millis,
    headers: &[(String, String)],
    sent: &Sent,
    now: Millis,
) -> Outcome {
    let timeout = job.target.as_ref().map_or(10, |t| t.timeout_seconds);
    let echoes = Echoes::of(job);
    let (http_status, body, error, retry_after, permanent) = match &sent.reply {
        Reply::Status { code, body, .. } if (200..300).contains(code) => {
            (Some(*code), Some(echoes.hide(body)), None, None, false)
        }
        Reply::Status {
            code,
            body,
            retry_after,
            location,
        } => {
            // Hidden before the message is cut from it: no token's start is left at the cut.
            let body = echoes.hide(body);
            let msg = if (300..400).contains(code) {
                format!(
                    "HTTP {code}: redirect{} not followed",
                    location
                        .as_ref()
                        .map(|l| format!(" to {}", echoes.hide(l)))
                        .unwrap_or_default()
                )
            } else {
                let start: String = body.chars().take(ERROR_BODY_CHARS).collect();
                let start = start.split_whitespace().collect::<Vec<_>>().join(" ");
                if start.is_empty() {
                    format!("HTTP {code}")
                } else {
                    format!("HTTP {code}: {start}")
                }
            };
            // 410 Gone: the receiver says the endpoint is no more; no retry (and the webhook
            // is disabled, see `health`).
            (
                Some(*code),
                Some(body),
                Some(msg),
                *retry_after,
                *code == 410,
            )
        }
        Reply::Timeout => (
            None,
            None,
            Some(format!("timed out after {timeout} s")),
            None,
            false,
        ),
        Reply::Refused(m) => (None, None, Some(echoes.hide(m)), None, true),
        Reply::Error(m) | Reply::ProxyFailed(m) => (None, None, Some(echoes.hide(m)), None, false),
    };
    let (status, next) = match &error {
        None => (DeliveryStatus::Success, None),
        Some(_) => next_after_failure(job, now, retry_after, permanent),
    };
    // Test events, refused destinations and a failing proxy say nothing about the receiver's
    // health (a proxy down for a day must not disable every webhook).
    let health = match (&job.target, &sent.reply) {
        (None, _) | (_, Reply::Refused(_) | Reply::ProxyFailed(_)) => None,
        (Some(_), _) if job.event_type.is_test() => None,
        (Some(t), _) if http_status == Some(410) => Some((t.id, Health::Gone)),
        (Some(t), _) if error.is_none() => Some((t.id, Health::Up)),
        (Some(t), _) => Some((t.id, Health::Failing)),
    };
    Outcome {
        delivery_id: job.delivery_id,
        attempt: Some(AttemptRecord {
            started_at,
            request_headers: logged_headers(headers),
            http_status,
            response_body: body,
            duration_ms: sent.duration_ms,
            error_message: error.clone(),
            // Set by the engine, which has the body that was sent.
            request_body: None,
        }),
        status,
        next_attempt_at: next,
        error_message: error,
        health,
    }
}

/// The webhook URL's token hidden wherever the receiver's answer repeats it (a redirect to its
/// own URL, an error quoting it): the attempt log is shown, the URL's token never is. The URL
/// is parsed only for an answer long enough to hold a token (not for a success's "ok").
struct Echoes<'a> {
    url: Option<&'a str>,
    parsed: std::cell::OnceCell<Option<url::Url>>,
}

impl<'a> Echoes<'a> {
    fn of(job: &'a Job) -> Echoes<'a> {
        Echoes {
            url: job.target.as_ref().map(|t| t.url.as_str()),
            parsed: std::cell::OnceCell::new(),
        }
    }

    fn hide(&self, text: &str) -> String {
        if text.len() < MIN_ECHOED {
            return text.to_string();
        }
        let url = self
            .parsed
            .get_or_init(|| self.url.and_then(|u| url::Url::parse(u).ok()));
        match url {
            Some(url) => redact_echoes(url, text),
            None => text.to_string(),
        }
    }
}

/// After a failed attempt: retry on the policy's schedule, or fail. Test events, manual retries
/// of failed deliveries and refused destinations are not retried.
fn next_after_failure(
    job: &Job,
    now: Millis,
    retry_after: Option<u64>,
    permanent: bool,
) -> (DeliveryStatus, Option<Millis>) {
    let Some(target) = &job.target else {
        return (DeliveryStatus::Failed, None);
    };
    if permanent || job.event_type.is_test() || job.status == DeliveryStatus::Failed {
        return (DeliveryStatus::Failed, None);
    }
    let policy = RetryPolicy {
        max_retries: target.max_retries,
        backoff_secs: target.retry_backoff,
    };
    match policy.after_failure(job.attempt, now, retry_after) {
        Next::RetryAt(at) => (DeliveryStatus::Retrying, Some(at)),
        Next::GiveUp => (DeliveryStatus::Failed, None),
    }
}

/// The request headers as the attempt log keeps them: credentials redacted.
pub fn logged_headers(headers: &[(String, String)]) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(k, v)| {
            // Signatures are not credentials: they prove a body, and are shown.
            let keep = k.eq_ignore_ascii_case("x-webhook-signature")
                || k.eq_ignore_ascii_case("x-webhook-signature-next")
                || k.eq_ignore_ascii_case("webhook-signature")
                || !is_sensitive(k, v);
            (
                k.clone(),
                if keep {
                    v.clone()
                } else {
                    REDACTED.to_string()
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Target;

    fn job(attempt: u32, status: DeliveryStatus) -> Job {
        let target = Target {
            url: "http://x/".into(),
            ..Target::example(1)
        };
        Job {
            event_type: crate::domain::EventType::JobFailed,
            attempt,
            status,
            ..Job::example(1, target, 0)
        }
    }

    fn sent(reply: Reply) -> Sent {
        Sent {
            reply,
            duration_ms: 5,
        }
    }

    fn status(code: u16, body: &str) -> Reply {
        Reply::Status {
            code,
            body: body.into(),
            retry_after: None,
            location: None,
        }
    }

    #[test]
    fn success_and_the_retry_schedule() {
        let o = after_attempt(
            &job(1, DeliveryStatus::Pending),
            0,
            &[],
            &sent(status(204, "")),
            0,
        );
        assert_eq!(o.status, DeliveryStatus::Success);
        assert_eq!(o.next_attempt_at, None);
        let o = after_attempt(
            &job(1, DeliveryStatus::Pending),
            0,
            &[],
            &sent(status(500, "boom\nbad")),
            1000,
        );
        assert_eq!(o.status, DeliveryStatus::Retrying);
        assert_eq!(o.next_attempt_at, Some(61_000));
        assert_eq!(o.error_message.as_deref(), Some("HTTP 500: boom bad"));
        let o = after_attempt(
            &job(4, DeliveryStatus::Retrying),
            0,
            &[],
            &sent(Reply::Timeout),
            0,
        );
        assert_eq!(o.status, DeliveryStatus::Failed);
        assert_eq!(o.error_message.as_deref(), Some("timed out after 10 s"));
    }

    #[test]
    fn refused_tests_and_manual_retries_of_failed_are_final() {
        let o = after_attempt(
            &job(1, DeliveryStatus::Pending),
            0,
            &[],
            &sent(Reply::Refused(
                "refused: 10.0.0.1 is a private address".into(),
            )),
            0,
        );
        assert_eq!(o.status, DeliveryStatus::Failed);
        let mut t = job(1, DeliveryStatus::Pending);
        t.event_type = crate::domain::EventType::TEST;
        assert_eq!(
            after_attempt(&t, 0, &[], &sent(status(500, "")), 0).status,
            DeliveryStatus::Failed
        );
        let o = after_attempt(
            &job(5, DeliveryStatus::Failed),
            0,
            &[],
            &sent(status(502, "")),
            0,
        );
        assert_eq!(o.status, DeliveryStatus::Failed);
        let o = after_attempt(
            &job(5, DeliveryStatus::Failed),
            0,
            &[],
            &sent(status(200, "")),
            0,
        );
        assert_eq!(o.status, DeliveryStatus::Success);
    }

    #[test]
    fn redirects_and_retry_after() {
        let r = Reply::Status {
            code: 302,
            body: String::new(),
            retry_after: None,
            location: Some("https://elsewhere/".into()),
        };
        let o = after_attempt(&job(1, DeliveryStatus::Pending), 0, &[], &sent(r), 0);
        assert_eq!(
            o.error_message.as_deref(),
            Some("HTTP 302: redirect to https://elsewhere/ not followed")
        );
        let r = Reply::Status {
            code: 429,
            body: String::new(),
            retry_after: Some(600),
            location: None,
        };
        let o = after_attempt(&job(1, DeliveryStatus::Pending), 0, &[], &sent(r), 0);
        assert_eq!(o.next_attempt_at, Some(600_000));
    }

    #[test]
    fn a_receiver_that_repeats_the_urls_token_does_not_show_it() {
        let token = "xk7b3oq9bjfg8ngmaaa4zt4cuw";
        let target = Target {
            url: format!("http://chat.example.com/hooks/{token}"),
            ..Target::example(1)
        };
        let j = Job {
            event_type: crate::domain::EventType::JobFailed,
            ..Job::example(1, target, 0)
        };
        let r = Reply::Status {
            code: 301,
            body: format!("Moved to https://chat.example.com/hooks/{token}"),
            retry_after: None,
            location: Some(format!("https://chat.example.com/hooks/{token}")),
        };
        let o = after_attempt(&j, 0, &[], &sent(r), 0);
        assert_eq!(
            o.error_message.as_deref(),
            Some("HTTP 301: redirect to https://chat.example.com/hooks/[redacted] not followed")
        );
        let logged = o.attempt.expect("an attempt");
        assert_eq!(
            logged.response_body.as_deref(),
            Some("Moved to https://chat.example.com/hooks/[redacted]")
        );
        assert!(!logged.error_message.unwrap_or_default().contains(token));
        // A token that would straddle the message's cut leaves none of itself either.
        let r = Reply::Status {
            code: 500,
            body: format!("{} {token}", "x".repeat(ERROR_BODY_CHARS - 10)),
            retry_after: None,
            location: None,
        };
        let o = after_attempt(&j, 0, &[], &sent(r), 0);
        let message = o.error_message.unwrap_or_default();
        assert!(!message.contains("xk7b3o"), "{message}");
    }

    #[test]
    fn an_attempt_that_could_not_be_signed_is_retried_and_says_nothing_about_the_receiver() {
        let o = not_signed(&job(1, DeliveryStatus::Pending), "no key", 1000);
        assert_eq!(o.status, DeliveryStatus::Retrying);
        assert_eq!(o.next_attempt_at, Some(61_000));
        assert_eq!(o.health, None);
        assert_eq!(
            o.error_message.as_deref(),
            Some("could not be signed: no key")
        );
        assert!(o.attempt.is_some(), "the attempt counts");
        assert!(is_not_signed(&o));
        let last = not_signed(&job(4, DeliveryStatus::Retrying), "no key", 0);
        assert_eq!(last.status, DeliveryStatus::Failed);
        assert_eq!(last.health, None);
        // A failure the receiver caused does count.
        let o = after_attempt(
            &job(1, DeliveryStatus::Pending),
            0,
            &[],
            &sent(Reply::Error("connection refused".into())),
            0,
        );
        assert_eq!(o.health, Some((1, Health::Failing)));
        assert!(!is_not_signed(&o));
    }

    #[test]
    fn a_failing_proxy_is_retried_and_says_nothing_about_the_receiver() {
        let failed = sent(Reply::ProxyFailed(
            "the proxy p:1 refused the connection".into(),
        ));
        let o = after_attempt(&job(1, DeliveryStatus::Pending), 0, &[], &failed, 1000);
        assert_eq!(o.status, DeliveryStatus::Retrying);
        assert_eq!(o.next_attempt_at, Some(61_000));
        assert_eq!(o.health, None);
        assert_eq!(
            o.error_message.as_deref(),
            Some("the proxy p:1 refused the connection")
        );
        let last = after_attempt(&job(4, DeliveryStatus::Retrying), 0, &[], &failed, 0);
        assert_eq!((last.status, last.health), (DeliveryStatus::Failed, None));
    }

    #[test]
    fn credentials_are_redacted_in_the_log() {
        let h = vec![
            ("Authorization".to_string(), "Bearer x".to_string()),
            ("X-Webhook-Signature".to_string(), "sha256=ab".to_string()),
            ("X-Team".to_string(), "netops".to_string()),
        ];
        let l = logged_headers(&h);
        assert_eq!(l["Authorization"], REDACTED);
        assert_eq!(l["X-Webhook-Signature"], "sha256=ab");
        assert_eq!(l["X-Team"], "netops");
    }
}
