//! Customers, allowed targets and webhooks on PostgreSQL: the SQLite rules (scope, conflicts,
//! sealing, update and rotation semantics, deleting a webhook), against a real server.

use std::collections::BTreeMap;

use super::tests::fresh_url;
use super::PgStore;
use crate::domain::allowlist::AllowedTarget;
use crate::domain::event_type::Subscription;
use crate::domain::format::RoutingKey;
use crate::domain::secret::SecretKey;
use crate::domain::time::Millis;
use crate::domain::webhook::parse_event_types;
use crate::domain::{CustomerId, EventType, Scope, Secret, WebhookSettings};
use crate::store::{KeySource, SecretChange, StoreError, WebhookFilter, SEALED_PREFIX};

const PASSPHRASE: &str = "test passphrase";

fn open(test: &str, passphrase: Option<&str>) -> Option<PgStore> {
    let url = fresh_url(test)?;
    let keys = KeySource {
        passphrase: passphrase.map(str::to_string),
        key_file: None,
    };
    Some(PgStore::open(&url, keys).expect("open"))
}

fn store(test: &str) -> Option<PgStore> {
    open(test, Some(PASSPHRASE))
}

fn key() -> SecretKey {
    SecretKey::from_passphrase(PASSPHRASE)
}

fn settings(name: &str, headers: &[(&str, &str)]) -> WebhookSettings {
    WebhookSettings {
        name: name.into(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..WebhookSettings::example("https://a.example.com/")
    }
}

/// The stored header `name` of webhook `id`, opened with the test key.
fn opened(store: &PgStore, id: i64, name: &str) -> String {
    let stored = &store.webhook(Scope::All, id).unwrap().settings.headers[name];
    let sealed = hex::decode(stored.strip_prefix(SEALED_PREFIX).unwrap()).unwrap();
    String::from_utf8(key().open(&sealed).unwrap()).unwrap()
}

/// Runs `sql` with `params` straight on the database.
fn exec(store: &PgStore, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> u64 {
    store.client().unwrap().execute(sql, params).unwrap()
}

fn raw_headers(store: &PgStore, id: i64) -> BTreeMap<String, String> {
    let text: String = store
        .client()
        .unwrap()
        .query_one("SELECT headers FROM webhooks WHERE id = $1", &[&id])
        .unwrap()
        .get(0);
    serde_json::from_str(&text).unwrap()
}

// ── customers ───────────────────────────────────────────────────────────────────────────────

#[test]
fn customers_are_scoped_counted_and_their_names_unique() {
    let Some(store) = store("customers_are_scoped_counted_and_their_names_unique") else {
        return;
    };
    let acme = store.create_customer("acme", 5).unwrap();
    assert_eq!(
        (acme.name.as_str(), acme.created_at, acme.webhooks),
        ("acme", 5, 0)
    );
    let other = store.create_customer("other", 6).unwrap();
    let e = store.create_customer("acme", 7).unwrap_err();
    match e {
        StoreError::Conflict(v) => {
            assert_eq!(v.field, "customer_name");
            assert_eq!(v.message, "a customer named \"acme\" already exists");
        }
        e => panic!("not a conflict: {e:?}"),
    }
    store
        .create_webhook_with(acme.id, &settings("w", &[]), None, None, 8)
        .unwrap();
    let all = store.customers(Scope::All).unwrap();
    assert_eq!(
        all.iter().map(|c| (c.id, c.webhooks)).collect::<Vec<_>>(),
        vec![(acme.id, 1), (other.id, 0)]
    );
    let pinned = store.customers(Scope::Customer(other.id)).unwrap();
    assert_eq!(pinned.len(), 1);
    assert_eq!(pinned[0].name, "other");
    assert_eq!(store.customer(Scope::All, acme.id).unwrap().webhooks, 1);
    let e = store
        .customer(Scope::Customer(other.id), acme.id)
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::NotFound {
                what: "customer",
                ..
            }
        ),
        "{e:?}"
    );
    let e = store.customer(Scope::All, CustomerId(999)).unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
}

// ── allowed targets ─────────────────────────────────────────────────────────────────────────

#[test]
fn allowing_a_target_again_keeps_or_replaces_its_note() {
    let Some(store) = store("allowing_a_target_again_keeps_or_replaces_its_note") else {
        return;
    };
    let range = AllowedTarget::parse("10.20.0.0/16").unwrap();
    let host = AllowedTarget::parse("Internal.Example.").unwrap();
    let (row, new) = store.allow_target(&range, Some("lab"), 10).unwrap();
    assert!(new);
    assert_eq!(
        (row.note.as_deref(), row.created_at, row.updated_at),
        (Some("lab"), 10, 10)
    );
    // Again without a note: kept; not new.
    let (row, new) = store.allow_target(&range, None, 20).unwrap();
    assert!(!new);
    assert_eq!(
        (row.note.as_deref(), row.created_at, row.updated_at),
        (Some("lab"), 10, 20)
    );
    // A new note replaces it; an empty one clears it.
    let (row, _) = store.allow_target(&range, Some("office"), 30).unwrap();
    assert_eq!(row.note.as_deref(), Some("office"));
    let (row, new) = store.allow_target(&range, Some(""), 40).unwrap();
    assert!(!new);
    assert_eq!(row.note, None);
    let (_, new) = store.allow_target(&host, None, 15).unwrap();
    assert!(new);
    // Oldest first; a row that does not parse (edited by hand) allows nothing.
    exec(
        &store,
        "INSERT INTO allowed_targets (target, created_at, updated_at) VALUES ('not a/target', 1, 1)",
        &[],
    );
    let all = store.allowed_targets().unwrap();
    assert_eq!(
        all.iter().map(|r| r.target.clone()).collect::<Vec<_>>(),
        vec![range.clone(), host.clone()]
    );
    store.remove_target(&range).unwrap();
    let e = store.remove_target(&range).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::NotFound {
                what: "allowed target",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(store.allowed_targets().unwrap().len(), 1);
}

// ── webhooks ────────────────────────────────────────────────────────────────────────────────

#[test]
fn a_webhook_is_stored_sealed_and_read_back_as_given() {
    let Some(store) = store("a_webhook_is_stored_sealed_and_read_back_as_given") else {
        return;
    };
    let c = store.create_customer("acme", 0).unwrap().id;
    let mut s = settings("w", &[("Authorization", "Bearer tok-1"), ("X-Plain", "p")]);
    s.timeout_seconds = 7;
    s.max_retries = 4;
    s.retry_backoff = 30;
    s.auto_disable_after = 3600;
    s.verify_ssl = false;
    let secret = Secret::new("whsec-one").unwrap();
    let routing = RoutingKey::new("R0UT1NGK3Y").unwrap();
    let hook = store
        .create_webhook_with(c, &s, Some(&secret), Some(&routing), 9)
        .unwrap();
    assert_eq!(hook.customer, c);
    assert!(hook.has_secret && hook.has_routing_key);
    assert_eq!((hook.created_at, hook.updated_at), (9, 9));
    let mut want = s.clone();
    want.headers.remove("Authorization");
    let mut got = hook.settings.clone();
    assert!(got
        .headers
        .remove("Authorization")
        .unwrap()
        .starts_with(SEALED_PREFIX));
    assert_eq!(got, want);
    assert_eq!(opened(&store, hook.id, "Authorization"), "Bearer tok-1");
    let sealed = store.webhook_secret(Scope::All, hook.id).unwrap().unwrap();
    assert_eq!(key().open_secret(&sealed).unwrap().expose(), b"whsec-one");
    let r: Vec<u8> = store
        .client()
        .unwrap()
        .query_one(
            "SELECT routing_key FROM webhooks WHERE id = $1",
            &[&hook.id],
        )
        .unwrap()
        .get(0);
    assert_eq!(key().open(&r).unwrap(), b"R0UT1NGK3Y");

    // The name is unique per customer.
    let e = store
        .create_webhook_with(c, &settings("w", &[]), None, None, 10)
        .unwrap_err();
    match e {
        StoreError::Conflict(v) => assert_eq!(
            v.to_string(),
            "name: a webhook named \"w\" already exists for this customer"
        ),
        e => panic!("not a conflict: {e:?}"),
    }
    let other = store.create_customer("other", 0).unwrap().id;
    store
        .create_webhook_with(other, &settings("w", &[]), None, None, 10)
        .unwrap();
    // Without a secret: none stored.
    let plain = store
        .create_webhook_with(c, &settings("plain", &[]), None, None, 10)
        .unwrap();
    assert!(!plain.has_secret && !plain.has_routing_key);
    assert_eq!(store.webhook_secret(Scope::All, plain.id).unwrap(), None);
}

#[test]
fn without_a_key_nothing_that_would_be_sealed_is_stored() {
    let Some(store) = open("without_a_key_nothing_that_would_be_sealed_is_stored", None) else {
        return;
    };
    let c = store.create_customer("acme", 0).unwrap().id;
    let secret = Secret::new("whsec-one").unwrap();
    let e = store
        .create_webhook_with(c, &settings("w", &[]), Some(&secret), None, 1)
        .unwrap_err();
    assert!(matches!(e, StoreError::NoKey), "{e:?}");
    let e = store
        .create_webhook_with(c, &settings("w", &[("X-Api-Key", "k")]), None, None, 1)
        .unwrap_err();
    assert!(matches!(e, StoreError::NoKey), "{e:?}");
    assert!(store
        .webhooks(Scope::All, &WebhookFilter::default())
        .unwrap()
        .is_empty());
    // Nothing to seal: stored.
    let hook = store
        .create_webhook_with(c, &settings("w", &[("X-Plain", "p")]), None, None, 1)
        .unwrap();
    let e = store
        .rotate_secret(Scope::All, hook.id, &secret, 0, 2)
        .unwrap_err();
    assert!(matches!(e, StoreError::NoKey), "{e:?}");
    assert!(!store.webhook(Scope::All, hook.id).unwrap().has_secret);
}

#[test]
fn another_customers_webhook_is_not_found_by_any_call() {
    let Some(mut store) = store("another_customers_webhook_is_not_found_by_any_call") else {
        return;
    };
    let acme = store.create_customer("acme", 0).unwrap().id;
    let other = store.create_customer("other", 0).unwrap().id;
    let hook = store
        .create_webhook_with(acme, &settings("w", &[]), None, None, 0)
        .unwrap();
    let pinned = Scope::Customer(other);
    let not_found = |e: StoreError| {
        assert!(
            matches!(
                e,
                StoreError::NotFound {
                    what: "webhook",
                    ..
                }
            ),
            "{e:?}"
        );
    };
    not_found(store.webhook(pinned, hook.id).unwrap_err());
    not_found(store.webhook_secret(pinned, hook.id).unwrap_err());
    let s = settings("renamed", &[]);
    not_found(
        store
            .update_webhook_with(pinned, hook.id, &s, SecretChange::Keep, None, 1)
            .unwrap_err(),
    );
    let secret = Secret::new("whsec-x").unwrap();
    not_found(
        store
            .rotate_secret(pinned, hook.id, &secret, 0, 1)
            .unwrap_err(),
    );
    not_found(store.delete_webhook(pinned, hook.id, 1).unwrap_err());
    assert!(store
        .webhooks(pinned, &WebhookFilter::default())
        .unwrap()
        .is_empty());
    // Untouched, and its own customer sees it.
    let seen = store.webhook(Scope::Customer(acme), hook.id).unwrap();
    assert_eq!((seen.settings.name.as_str(), seen.has_secret), ("w", false));
    not_found(store.webhook(Scope::All, 999).unwrap_err());
}

#[test]
fn the_list_filters_by_customer_enabled_and_event_type() {
    let Some(store) = store("the_list_filters_by_customer_enabled_and_event_type") else {
        return;
    };
    let acme = store.create_customer("acme", 0).unwrap().id;
    let other = store.create_customer("other", 0).unwrap().id;
    let make = |c: CustomerId, name: &str, types: &[&str], enabled: bool| {
        let s = WebhookSettings {
            event_types: parse_event_types(types).unwrap(),
            enabled,
            ..settings(name, &[])
        };
        store.create_webhook_with(c, &s, None, None, 0).unwrap().id
    };
    let exact = make(acme, "exact", &["job.completed"], true);
    let family = make(acme, "family", &["job.*"], true);
    let every = make(other, "every", &["*"], true);
    let off = make(acme, "off", &["job.completed"], false);
    let device = make(acme, "device", &["device.created"], true);
    let list = |scope: Scope, enabled: Option<bool>, event_type: Option<EventType>| {
        let filter = WebhookFilter {
            enabled,
            event_type: event_type.map(Subscription::Exact),
        };
        let hooks = store.webhooks(scope, &filter).unwrap();
        hooks.iter().map(|w| w.id).collect::<Vec<_>>()
    };
    assert_eq!(
        list(Scope::All, None, None),
        vec![exact, family, every, off, device]
    );
    assert_eq!(
        list(Scope::Customer(acme), None, None),
        vec![exact, family, off, device]
    );
    assert_eq!(list(Scope::All, Some(false), None), vec![off]);
    assert_eq!(
        list(Scope::All, Some(true), None),
        vec![exact, family, every, device]
    );
    assert_eq!(
        list(Scope::All, None, Some(EventType::JobCompleted)),
        vec![exact, family, every, off]
    );
    assert_eq!(
        list(
            Scope::Customer(acme),
            Some(true),
            Some(EventType::JobCompleted)
        ),
        vec![exact, family]
    );
    assert_eq!(
        list(Scope::All, None, Some(EventType::DeviceCreated)),
        vec![every, device]
    );
    // A wildcard: the webhooks that receive any event it covers.
    let covering = |s: &str| {
        let filter = WebhookFilter {
            enabled: None,
            event_type: Some(Subscription::parse(s).unwrap()),
        };
        let hooks = store.webhooks(Scope::All, &filter).unwrap();
        hooks.iter().map(|w| w.id).collect::<Vec<_>>()
    };
    assert_eq!(covering("job.*"), vec![exact, family, every, off]);
    assert_eq!(covering("device.*"), vec![every, device]);
    assert_eq!(covering("config.*"), vec![every]);
    assert_eq!(covering("*"), vec![exact, family, every, off, device]);
}

#[test]
fn an_update_replaces_settings_and_enabling_again_forgets_the_failure() {
    let Some(store) = store("an_update_replaces_settings_and_enabling_again_forgets_the_failure")
    else {
        return;
    };
    let c = store.create_customer("acme", 0).unwrap().id;
    let taken = store
        .create_webhook_with(c, &settings("taken", &[]), None, None, 0)
        .unwrap();
    let secret = Secret::new("whsec-one").unwrap();
    let routing = RoutingKey::new("R0UT1NGK3Y").unwrap();
    // A pagerduty webhook: only that format keeps a routing key.
    let mut pd = settings("w", &[]);
    pd.payload_format = crate::domain::format::PayloadFormat::PagerDuty;
    let hook = store
        .create_webhook_with(c, &pd, Some(&secret), Some(&routing), 0)
        .unwrap();
    // Auto-disabled after failing: disabled_reason and failing_since are set.
    exec(
        &store,
        "UPDATE webhooks SET enabled = false, disabled_reason = 'failing', failing_since = 50
         WHERE id = $1",
        &[&hook.id],
    );
    // Updating a disabled webhook without enabling it keeps why it was disabled.
    let mut s = store.webhook(Scope::All, hook.id).unwrap().settings;
    s.timeout_seconds = 5;
    let w = store
        .update_webhook_with(Scope::All, hook.id, &s, SecretChange::Keep, None, 1)
        .unwrap();
    assert_eq!(w.disabled_reason.as_deref(), Some("failing"));
    assert_eq!(w.failing_since, Some(50));
    assert!(w.has_secret && w.has_routing_key, "kept");
    assert_eq!((w.settings.timeout_seconds, w.updated_at), (5, 1));
    // Enabling it again forgets both.
    s.enabled = true;
    s.url = crate::domain::WebhookUrl::parse_form("https://b.example.com/x").unwrap();
    let w = store
        .update_webhook_with(Scope::All, hook.id, &s, SecretChange::Keep, None, 2)
        .unwrap();
    assert_eq!((w.disabled_reason, w.failing_since), (None, None));
    assert_eq!(w.settings, s);
    // A rotation under way ends when update sets a secret; clearing drops it.
    store
        .rotate_secret(Scope::All, hook.id, &secret, 1_000, 3)
        .unwrap();
    assert_eq!(
        store
            .webhook(Scope::All, hook.id)
            .unwrap()
            .previous_secret_until,
        Some(1_003)
    );
    let two = Secret::new("whsec-two").unwrap();
    let w = store
        .update_webhook_with(Scope::All, hook.id, &s, SecretChange::Set(two), None, 4)
        .unwrap();
    assert_eq!(w.previous_secret_until, None);
    let sealed = store.webhook_secret(Scope::All, hook.id).unwrap().unwrap();
    assert_eq!(key().open_secret(&sealed).unwrap().expose(), b"whsec-two");
    // A new routing key replaces the stored one.
    let r2 = RoutingKey::new("N3WK3Y").unwrap();
    store
        .update_webhook_with(Scope::All, hook.id, &s, SecretChange::Keep, Some(&r2), 5)
        .unwrap();
    let r: Vec<u8> = store
        .client()
        .unwrap()
        .query_one(
            "SELECT routing_key FROM webhooks WHERE id = $1",
            &[&hook.id],
        )
        .unwrap()
        .get(0);
    assert_eq!(key().open(&r).unwrap(), b"N3WK3Y");
    let w = store
        .update_webhook_with(Scope::All, hook.id, &s, SecretChange::Clear, None, 6)
        .unwrap();
    assert!(!w.has_secret);
    assert_eq!(store.webhook_secret(Scope::All, hook.id).unwrap(), None);
    // Renaming onto another webhook's name is a conflict, and changes nothing.
    let renamed = WebhookSettings {
        name: "taken".into(),
        timeout_seconds: 9,
        ..s.clone()
    };
    let e = store
        .update_webhook_with(Scope::All, hook.id, &renamed, SecretChange::Keep, None, 7)
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    let w = store.webhook(Scope::All, hook.id).unwrap();
    assert_eq!(
        (w.settings.name.as_str(), w.settings.timeout_seconds),
        ("w", 5)
    );
    assert_eq!(
        store.webhook(Scope::All, taken.id).unwrap().settings.name,
        "taken"
    );
}

#[test]
fn rotating_a_secret_keeps_the_old_one_for_the_grace_only() {
    let Some(store) = store("rotating_a_secret_keeps_the_old_one_for_the_grace_only") else {
        return;
    };
    let c = store.create_customer("acme", 0).unwrap().id;
    let none = store
        .create_webhook_with(c, &settings("none", &[]), None, None, 0)
        .unwrap();
    let one = Secret::new("whsec-one").unwrap();
    let two = Secret::new("whsec-two").unwrap();
    // No secret before: nothing to keep, grace or not.
    let w = store
        .rotate_secret(Scope::All, none.id, &one, 5_000, 10)
        .unwrap();
    assert!(w.has_secret);
    assert_eq!((w.previous_secret_until, w.updated_at), (None, 10));
    // With grace: the old one signs until then.
    let w = store
        .rotate_secret(Scope::All, none.id, &two, 5_000, 20)
        .unwrap();
    assert_eq!(w.previous_secret_until, Some(5_020));
    let previous: Vec<u8> = store
        .client()
        .unwrap()
        .query_one(
            "SELECT previous_secret FROM webhooks WHERE id = $1",
            &[&none.id],
        )
        .unwrap()
        .get(0);
    assert_eq!(key().open_secret(&previous).unwrap().expose(), b"whsec-one");
    let sealed = store.webhook_secret(Scope::All, none.id).unwrap().unwrap();
    assert_eq!(key().open_secret(&sealed).unwrap().expose(), b"whsec-two");
    // Without grace: the old one stops at once.
    let w = store
        .rotate_secret(Scope::All, none.id, &one, 0, 30)
        .unwrap();
    assert_eq!(w.previous_secret_until, None);
    let previous: Option<Vec<u8>> = store
        .client()
        .unwrap()
        .query_one(
            "SELECT previous_secret FROM webhooks WHERE id = $1",
            &[&none.id],
        )
        .unwrap()
        .get(0);
    assert_eq!(previous, None);
}

/// Records an event for webhook `hook` of customer `c` with one delivery in `status`.
fn delivery(store: &PgStore, c: CustomerId, hook: i64, status: &str, now: Millis) -> i64 {
    let mut client = store.client().unwrap();
    let event: i64 = client
        .query_one(
            "INSERT INTO events (customer_id, event_type, payload, created_at)
             VALUES ($1, 'job.completed', '\\x7b7d', $2) RETURNING id",
            &[&c.0, &now],
        )
        .unwrap()
        .get(0);
    let due = matches!(status, "pending" | "retrying").then_some(now);
    client
        .query_one(
            "WITH made AS (
                 INSERT INTO deliveries (event_row, customer_id, webhook_id, webhook_name,
                     event_type, status, next_attempt_at, created_at, updated_at)
                 VALUES ($1, $2, $3, 'w', 'job.completed', $4, $5, $6, $6)
                 RETURNING id),
             queued AS (
                 INSERT INTO queue (delivery_id, customer_id, webhook_id, next_attempt_at,
                     lease_until, lease_owner)
                 SELECT id, $2, $3, $5, $5, 'someone' FROM made WHERE $5::bigint IS NOT NULL)
             SELECT id FROM made",
            &[&event, &c.0, &hook, &status, &due, &now],
        )
        .unwrap()
        .get(0)
}

/// (status, error, next attempt, lease owner, updated) of delivery `id`.
type Row = (
    String,
    Option<String>,
    Option<Millis>,
    Option<String>,
    Millis,
);

fn delivery_row(store: &PgStore, id: i64) -> Row {
    let r = store
        .client()
        .unwrap()
        .query_one(
            "SELECT d.status, d.error_message, d.next_attempt_at, q.lease_owner, d.updated_at
             FROM deliveries d LEFT JOIN queue q ON q.delivery_id = d.id WHERE d.id = $1",
            &[&id],
        )
        .unwrap();
    (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))
}

#[test]
fn deleting_a_webhook_ends_its_waiting_deliveries_failed_and_keeps_its_history() {
    let Some(mut store) =
        store("deleting_a_webhook_ends_its_waiting_deliveries_failed_and_keeps_its_history")
    else {
        return;
    };
    let c = store.create_customer("acme", 0).unwrap().id;
    let hook = store
        .create_webhook_with(c, &settings("w", &[]), None, None, 0)
        .unwrap();
    let kept = store
        .create_webhook_with(c, &settings("kept", &[]), None, None, 0)
        .unwrap();
    let pending = delivery(&store, c, hook.id, "pending", 1);
    let retrying = delivery(&store, c, hook.id, "retrying", 2);
    let done = delivery(&store, c, hook.id, "success", 3);
    let elsewhere = delivery(&store, c, kept.id, "pending", 4);
    let deleted = store.delete_webhook(Scope::All, hook.id, 100).unwrap();
    assert_eq!((deleted.id, deleted.name.as_str()), (hook.id, "w"));
    let failed = || {
        (
            "failed".to_string(),
            Some("Webhook was deleted".to_string()),
            None,
            None,
            100,
        )
    };
    assert_eq!(delivery_row(&store, pending), failed());
    assert_eq!(delivery_row(&store, retrying), failed());
    assert_eq!(delivery_row(&store, done).0, "success");
    assert_eq!(delivery_row(&store, done).4, 3);
    assert_eq!(delivery_row(&store, elsewhere).0, "pending");
    let e = store.webhook(Scope::All, hook.id).unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
    let e = store.delete_webhook(Scope::All, hook.id, 101).unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
    assert_eq!(store.customer(Scope::All, c).unwrap().webhooks, 1);
}

// ── the sealed headers an update writes back (SQLite's webhooks/tests.rs) ───────────────────

/// A database with one webhook carrying a credential header and a plain one.
fn with_headers(test: &str) -> Option<(PgStore, i64)> {
    let store = store(test)?;
    let customer = store.create_customer("acme", 0).unwrap().id;
    let s = settings("w", &[("Authorization", "Bearer tok-1"), ("X-Plain", "p")]);
    let hook = store
        .create_webhook_with(customer, &s, None, None, 0)
        .unwrap();
    Some((store, hook.id))
}

#[test]
fn an_update_read_before_a_key_rotation_keeps_the_headers_it_sealed() {
    let Some((store, id)) =
        with_headers("an_update_read_before_a_key_rotation_keeps_the_headers_it_sealed")
    else {
        return;
    };
    // `webhooks update` reads the settings, then a rotation re-seals the stored value (here:
    // sealed again, so the stored text differs from the copy read), then the update writes.
    let mut read = store.webhook(Scope::All, id).unwrap().settings;
    let resealed = format!(
        "{SEALED_PREFIX}{}",
        hex::encode(key().seal(b"Bearer tok-1"))
    );
    assert_ne!(resealed, read.headers["Authorization"]);
    let mut stored = raw_headers(&store, id);
    stored.insert("Authorization".into(), resealed.clone());
    exec(
        &store,
        "UPDATE webhooks SET headers = $2 WHERE id = $1",
        &[&id, &serde_json::to_string(&stored).unwrap()],
    );
    read.timeout_seconds = 5;
    let updated = store
        .update_webhook_with(Scope::All, id, &read, SecretChange::Keep, None, 1)
        .unwrap();
    assert_eq!(updated.settings.timeout_seconds, 5);
    assert_eq!(updated.settings.headers["X-Plain"], "p");
    // The value stored now was written back, not the caller's stale copy.
    assert_eq!(updated.settings.headers["Authorization"], resealed);
    assert_eq!(opened(&store, id, "Authorization"), "Bearer tok-1");

    // A header the update sets anew is sealed (never stored in clear).
    let mut read = store.webhook(Scope::All, id).unwrap().settings;
    read.headers.insert("X-Api-Key".into(), "k-2".into());
    store
        .update_webhook_with(Scope::All, id, &read, SecretChange::Keep, None, 2)
        .unwrap();
    assert!(raw_headers(&store, id)["X-Api-Key"].starts_with(SEALED_PREFIX));
    assert_eq!(opened(&store, id, "X-Api-Key"), "k-2");
    assert_eq!(opened(&store, id, "Authorization"), "Bearer tok-1");
}

#[test]
fn an_update_read_before_a_key_reset_does_not_bring_back_what_it_dropped() {
    let Some((store, id)) =
        with_headers("an_update_read_before_a_key_reset_does_not_bring_back_what_it_dropped")
    else {
        return;
    };
    let read = store.webhook(Scope::All, id).unwrap().settings;
    // `key reset` drops every sealed header meanwhile.
    let mut stored = raw_headers(&store, id);
    stored.retain(|_, v| !v.starts_with(SEALED_PREFIX));
    exec(
        &store,
        "UPDATE webhooks SET headers = $2 WHERE id = $1",
        &[&id, &serde_json::to_string(&stored).unwrap()],
    );
    store
        .update_webhook_with(Scope::All, id, &read, SecretChange::Keep, None, 2)
        .unwrap();
    let headers = store.webhook(Scope::All, id).unwrap().settings.headers;
    assert!(!headers.contains_key("Authorization"), "{headers:?}");
    assert_eq!(headers["X-Plain"], "p");
}

#[test]
fn an_update_waits_for_a_concurrent_writer_of_the_row_and_reads_what_it_committed() {
    let Some((store, id)) = with_headers(
        "an_update_waits_for_a_concurrent_writer_of_the_row_and_reads_what_it_committed",
    ) else {
        return;
    };
    let read = store.webhook(Scope::All, id).unwrap().settings;
    // Another connection (a `key reset` in progress) holds the row, drops the sealed header,
    // and commits only after the update has started.
    let other = store.reopen().unwrap();
    let mut client = other.client().unwrap();
    let mut tx = client.transaction().unwrap();
    tx.execute(
        "UPDATE webhooks SET headers = '{\"X-Plain\":\"p\"}' WHERE id = $1",
        &[&id],
    )
    .unwrap();
    let url = store.url().clone();
    let update = std::thread::spawn(move || {
        let keys = KeySource {
            passphrase: Some(PASSPHRASE.into()),
            key_file: None,
        };
        let store = PgStore::open_existing(&url, keys).unwrap();
        store
            .update_webhook_with(Scope::All, id, &read, SecretChange::Keep, None, 2)
            .map(|w| w.settings.headers)
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    tx.commit().unwrap();
    let headers = update.join().unwrap().unwrap();
    assert!(!headers.contains_key("Authorization"), "{headers:?}");
    assert_eq!(headers["X-Plain"], "p");
}
