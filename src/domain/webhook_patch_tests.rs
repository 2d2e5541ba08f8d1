use super::*;
use crate::domain::EventType;

fn url(u: &str) -> WebhookUrl {
    WebhookUrl::parse_form(u).unwrap()
}

fn draft() -> WebhookDraft {
    WebhookDraft::new(
        "ops".into(),
        url("https://ops.example.com/hook"),
        vec![Subscription::Exact(EventType::JobFailed)],
    )
}

#[test]
fn a_draft_gets_the_contract_defaults() {
    let s = draft().settings().unwrap();
    assert_eq!(s.name, "ops");
    assert!(s.enabled && s.verify_ssl);
    assert_eq!(s.timeout_seconds, 10);
    assert_eq!(s.max_retries, 3);
    assert_eq!(s.retry_backoff, 60);
    assert_eq!(s.auto_disable_after, 3 * 24 * 3600);
    assert_eq!(s.payload_format, PayloadFormat::Json);
    assert!(s.headers.is_empty());
}

#[test]
fn a_draft_detects_its_format_from_the_url_unless_one_is_given() {
    let mut d = draft();
    d.url = url("https://hooks.slack.com/services/T/B/x");
    assert_eq!(d.settings().unwrap().payload_format, PayloadFormat::Slack);
    d.payload_format = Some(PayloadFormat::Json);
    assert_eq!(d.settings().unwrap().payload_format, PayloadFormat::Json);
}

#[test]
fn a_draft_checks_what_was_given() {
    let mut d = draft();
    d.timeout = Some(Duration::from_secs(121));
    let e = d.settings().unwrap_err();
    assert_eq!(e.field, "timeout_seconds");
    assert_eq!(e.message, "\"2m1s\" is out of range: must be 1s to 2m");
    let mut d = draft();
    d.event_types.clear();
    assert_eq!(d.settings().unwrap_err().field, "event_types");
    let mut d = draft();
    d.headers = vec![("X-A".into(), "1".into()), ("x-a".into(), "2".into())];
    assert_eq!(
        d.settings().unwrap_err().message,
        "\"x-a\" is given more than once"
    );
    let mut d = draft();
    d.payload_format = Some(PayloadFormat::PagerDuty);
    assert_eq!(d.settings().unwrap_err().field, "routing_key");
}

#[test]
fn subscriptions_are_deduplicated_and_sorted() {
    let mut d = draft();
    d.event_types = vec![
        Subscription::All,
        Subscription::Exact(EventType::JobFailed),
        Subscription::All,
    ];
    assert_eq!(
        d.settings().unwrap().event_types,
        vec![Subscription::Exact(EventType::JobFailed), Subscription::All]
    );
}

#[test]
fn an_empty_patch_is_refused() {
    let p = WebhookPatch::default();
    assert!(p.is_empty());
    let e = p.apply(&draft().settings().unwrap(), false).unwrap_err();
    assert_eq!(e.field, "update");
    assert!(e.message.starts_with("nothing to change"), "{}", e.message);
    for change in [
        WebhookPatch {
            clear_headers: true,
            ..WebhookPatch::default()
        },
        WebhookPatch {
            secret: SecretEdit::Clear,
            ..WebhookPatch::default()
        },
        WebhookPatch {
            enabled: Some(true),
            ..WebhookPatch::default()
        },
    ] {
        assert!(!change.is_empty());
    }
}

#[test]
fn a_new_url_resets_a_detected_format_unless_one_is_given() {
    let mut d = draft();
    d.url = url("https://hooks.slack.com/services/T/B/x");
    let slack = d.settings().unwrap();
    assert_eq!(slack.payload_format, PayloadFormat::Slack);
    let moved = WebhookPatch {
        url: Some(url("https://ops.example.com/new")),
        ..WebhookPatch::default()
    };
    assert_eq!(
        moved.apply(&slack, false).unwrap().payload_format,
        PayloadFormat::Json
    );
    let kept = WebhookPatch {
        url: Some(url("https://ops.example.com/new")),
        payload_format: Some(PayloadFormat::Slack),
        ..WebhookPatch::default()
    };
    assert_eq!(
        kept.apply(&slack, false).unwrap().payload_format,
        PayloadFormat::Slack
    );
    // Without a new URL the format stays.
    let renamed = WebhookPatch {
        name: Some("renamed".into()),
        ..WebhookPatch::default()
    };
    let s = renamed.apply(&slack, false).unwrap();
    assert_eq!(
        (s.name.as_str(), s.payload_format),
        ("renamed", PayloadFormat::Slack)
    );
}

#[test]
fn headers_merge_by_name_and_clear_replaces_them_all() {
    let mut d = draft();
    d.headers = vec![
        ("Authorization".into(), "Bearer a".into()),
        ("X-Team".into(), "ops".into()),
    ];
    let s = d.settings().unwrap();
    let add = WebhookPatch {
        headers: vec![
            ("authorization".into(), "Bearer b".into()),
            ("X-New".into(), "1".into()),
        ],
        ..WebhookPatch::default()
    };
    let merged = add.apply(&s, false).unwrap().headers;
    let names: Vec<&str> = merged.keys().map(String::as_str).collect();
    assert_eq!(names, ["X-New", "X-Team", "authorization"]);
    assert_eq!(merged["authorization"], "Bearer b");
    let replace = WebhookPatch {
        clear_headers: true,
        headers: vec![("X-Only".into(), "1".into())],
        ..WebhookPatch::default()
    };
    let only = replace.apply(&s, false).unwrap().headers;
    assert_eq!(only.keys().collect::<Vec<_>>(), ["X-Only"]);
}

#[test]
fn a_patch_keeps_what_it_does_not_name() {
    let s = draft().settings().unwrap();
    let p = WebhookPatch {
        enabled: Some(false),
        timeout: Some(Duration::from_secs(30)),
        ..WebhookPatch::default()
    };
    let changed = p.apply(&s, false).unwrap();
    assert!(!changed.enabled);
    assert_eq!(changed.timeout_seconds, 30);
    assert_eq!(
        WebhookSettings {
            enabled: true,
            timeout_seconds: 10,
            ..changed
        },
        s
    );
}

#[test]
fn a_pagerduty_webhook_needs_a_routing_key_given_or_stored() {
    let s = draft().settings().unwrap();
    let to_pd = WebhookPatch {
        payload_format: Some(PayloadFormat::PagerDuty),
        ..WebhookPatch::default()
    };
    assert_eq!(to_pd.apply(&s, false).unwrap_err().field, "routing_key");
    assert!(to_pd.apply(&s, true).is_ok());
    let key_for_json = WebhookPatch {
        routing_key: Some(RoutingKey::new("k").unwrap()),
        ..WebhookPatch::default()
    };
    assert!(key_for_json
        .apply(&s, false)
        .unwrap_err()
        .message
        .contains("only the pagerduty format"));
}
