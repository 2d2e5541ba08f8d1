//! Actions on a temporary SQLite store: the rules `create` and `update` apply, and the errors
//! they are classified as.

use std::time::Duration;

use super::*;
use crate::domain::allowlist::{AllowedTarget, TargetPolicy};
use crate::domain::event_type::Subscription;
use crate::domain::format::PayloadFormat;
use crate::domain::webhook_patch::{SecretEdit, WebhookDraft, WebhookPatch};
use crate::domain::{CustomerId, EventType, Scope, Secret, WebhookUrl};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("w.db"), None).unwrap();
    (dir, store)
}

fn url(u: &str) -> WebhookUrl {
    WebhookUrl::parse_form(u).unwrap()
}

fn draft(u: &str) -> WebhookDraft {
    WebhookDraft::new(
        "ops".into(),
        url(u),
        vec![Subscription::Exact(EventType::JobFailed)],
    )
}

fn public() -> TargetPolicy {
    TargetPolicy::allowing([])
}

#[test]
fn a_draft_is_stored_with_the_defaults_and_its_detected_format() {
    let (_dir, store) = store();
    let c = customers::create(&store, "acme", 0).unwrap().id;
    let hook = webhooks::create(
        &store,
        &public(),
        c,
        &draft("https://hooks.slack.com/services/T/B/x"),
        1,
    )
    .unwrap();
    let s = &hook.settings;
    assert_eq!(
        (s.timeout_seconds, s.max_retries, s.retry_backoff),
        (10, 3, 60)
    );
    assert_eq!(s.payload_format, PayloadFormat::Slack);
    assert!(s.enabled && s.verify_ssl && !hook.has_secret);
}

#[test]
fn update_resets_a_detected_format_merges_headers_and_keeps_sealed_ones() {
    let (_dir, store) = store();
    let c = customers::create(&store, "acme", 0).unwrap().id;
    let mut d = draft("https://hooks.slack.com/services/T/B/x");
    d.headers = vec![("Authorization".into(), "Bearer tok".into())];
    d.secret = Some(Secret::new("a-long-enough-secret-value").unwrap());
    let hook = webhooks::create(&store, &public(), c, &d, 1).unwrap();
    let patch = WebhookPatch {
        url: Some(url("https://ops.example.com/new")),
        headers: vec![("X-Team".into(), "ops".into())],
        ..WebhookPatch::default()
    };
    let hook = webhooks::update(&store, false, Scope::All, hook.id, &patch, 2).unwrap();
    assert_eq!(hook.settings.payload_format, PayloadFormat::Json);
    assert_eq!(hook.settings.headers["X-Team"], "ops");
    assert!(
        hook.settings.headers["Authorization"].starts_with(crate::store::SEALED_PREFIX),
        "the credential header stays sealed"
    );
    assert!(hook.has_secret, "the secret is kept unless the patch says");
    let cleared = WebhookPatch {
        secret: SecretEdit::Clear,
        clear_headers: true,
        ..WebhookPatch::default()
    };
    let hook = webhooks::update(&store, false, Scope::All, hook.id, &cleared, 3).unwrap();
    assert!(!hook.has_secret && hook.settings.headers.is_empty());
}

#[test]
fn an_empty_patch_is_refused_as_input_before_anything_is_read() {
    let (_dir, store) = store();
    let e =
        webhooks::update(&store, false, Scope::All, 999, &WebhookPatch::default(), 0).unwrap_err();
    assert!(
        matches!(&e, Error::Invalid(v) if v.field == "update"),
        "{e:?}"
    );
}

#[test]
fn errors_are_classified_where_they_arise() {
    let (_dir, store) = store();
    // A missing webhook: the store's "not found", with the action it happened in.
    let e = webhooks::show(&store, Scope::All, 7).unwrap_err();
    assert_eq!(e.action(), Some(Action::ShowWebhook));
    assert_eq!(e.to_string(), "webhook 7 not found");
    // A customer that does not exist, for a create: input refused, naming the customer.
    let e = webhooks::create(
        &store,
        &public(),
        CustomerId(9),
        &draft("https://a.example.com/"),
        0,
    )
    .unwrap_err();
    assert!(
        matches!(&e, Error::Invalid(v) if v.field == "customer"),
        "{e:?}"
    );
    // A pinned session whose customer does not exist.
    let e = customers::check_pinned(&store, Scope::Customer(CustomerId(9))).unwrap_err();
    assert!(matches!(e, Error::PinnedCustomerMissing(CustomerId(9))));
    // A name taken: the store's conflict is input refused.
    let c = customers::create(&store, "acme", 0).unwrap().id;
    webhooks::create(&store, &public(), c, &draft("https://a.example.com/"), 0).unwrap();
    let e =
        webhooks::create(&store, &public(), c, &draft("https://b.example.com/"), 0).unwrap_err();
    assert!(
        matches!(&e, Error::Invalid(v) if v.field == "name"),
        "{e:?}"
    );
    // Removing a destination never allowed.
    let t = AllowedTarget::parse("10.0.0.0/8").unwrap();
    let e = targets::remove(&store, &t).unwrap_err();
    assert!(matches!(e, Error::TargetNotAllowed(_)));
    // A private destination the list does not allow.
    let e = webhooks::create(&store, &public(), c, &draft("http://10.1.2.3/"), 0).unwrap_err();
    assert!(matches!(&e, Error::Invalid(v) if v.field == "url"), "{e:?}");
}

#[test]
fn a_rotation_longer_than_30_days_is_refused() {
    let (_dir, store) = store();
    let c = customers::create(&store, "acme", 0).unwrap().id;
    let hook = webhooks::create(&store, &public(), c, &draft("https://a.example.com/"), 0).unwrap();
    let secret = Secret::new("a-long-enough-secret-value").unwrap();
    let long = Duration::from_secs(31 * 24 * 3600);
    let e = webhooks::rotate_secret(&store, Scope::All, hook.id, &secret, long, 1).unwrap_err();
    assert!(
        matches!(&e, Error::Invalid(v) if v.field == "grace"),
        "{e:?}"
    );
    let (hook, cut_short) =
        webhooks::rotate_secret(&store, Scope::All, hook.id, &secret, Duration::ZERO, 1).unwrap();
    assert!(hook.has_secret);
    assert_eq!(cut_short, None, "no earlier rotation");
}
