//! Unit tests of the engine: key reloads after a rotation, with a clock the test moves.

use std::sync::atomic::{AtomicI64, Ordering};

use super::*;
use crate::domain::webhook::{parse_event_types, WebhookSettings, WebhookUrl};
use crate::domain::Secret;
use crate::store::{DeliveryStatus, NewKey, Target};

/// The test's clock: it moves only when the test moves it.
static NOW: AtomicI64 = AtomicI64::new(1_000_000);

fn clock() -> Millis {
    NOW.load(Ordering::SeqCst)
}

/// A claimed delivery to webhook `id` as the database holds it now.
fn job(store: &Store, id: i64) -> Job {
    Job {
        delivery_id: 1,
        event_type: crate::domain::EventType::JobCompleted,
        webhook_name: "w".into(),
        customer: 1,
        event_id: None,
        payload: b"{}".to_vec(),
        attempt: 1,
        status: DeliveryStatus::Pending,
        lease_until: clock() + 60_000,
        target: Some(Target {
            id,
            url: "https://a.example.com/".into(),
            enabled: true,
            verify_ssl: true,
            timeout_seconds: 10,
            max_retries: 3,
            retry_backoff: 60,
            headers: Default::default(),
            sealed_secret: store.webhook_secret(Scope::All, id).unwrap(),
            previous_secret: None,
            previous_until: None,
            payload_format: Default::default(),
            sealed_routing_key: None,
        }),
    }
}

#[test]
fn a_rotation_just_after_the_key_was_loaded_is_followed_at_once_and_reloads_are_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    // The engine's store, and another process's (`key rotate`).
    let mut store = Store::open(&path, None).unwrap();
    let other = Store::open(&path, None).unwrap();
    let customer = other.create_customer("acme", 0).unwrap().id;
    let settings = WebhookSettings {
        name: "w".into(),
        url: WebhookUrl::parse_form("https://a.example.com/").unwrap(),
        event_types: parse_event_types(&["job.completed"]).unwrap(),
        enabled: true,
        verify_ssl: true,
        timeout_seconds: 10,
        max_retries: 3,
        retry_backoff: 60,
        headers: Default::default(),
        auto_disable_after: 0,
        payload_format: Default::default(),
    };
    let secret = Secret::new("s3cret").unwrap();
    let id = other
        .create_webhook(customer, &settings, Some(&secret), 0)
        .unwrap()
        .id;
    let mut engine = Engine::new(&mut store, Scope::All, TargetPolicy::default(), 1, clock);
    engine.prepare(&job(&other, id)).expect("signed");

    // Rotated in the same millisecond the key was loaded: the first failure reloads it.
    other.rotate_key(NewKey::File).unwrap();
    engine
        .prepare(&job(&other, id))
        .expect("signed with the reloaded key");

    // Rotated again at once: a second reload within KEY_RELOAD is refused, so this attempt
    // fails (and is retried later), as does anything damaged, without reloading per job.
    other.rotate_key(NewKey::File).unwrap();
    let failed = engine.prepare(&job(&other, id)).err().unwrap_or_default();
    assert!(failed.contains("cannot decrypt"), "{failed}");

    // Once KEY_RELOAD has passed, the next failure reloads it again.
    NOW.fetch_add(KEY_RELOAD.as_millis() as i64, Ordering::SeqCst);
    engine
        .prepare(&job(&other, id))
        .expect("signed after the throttle");
}
