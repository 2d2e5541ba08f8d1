use super::*;
use crate::store::{Backend, NewKey, SEALED_PREFIX};

fn settings(headers: &[(&str, &str)]) -> WebhookSettings {
    WebhookSettings {
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..WebhookSettings::example("https://a.example.com/")
    }
}

/// A database with one webhook carrying a credential header and a plain one.
fn with_headers(dir: &tempfile::TempDir) -> (SqliteStore, Webhook) {
    let store = SqliteStore::open(&dir.path().join("w.db"), None).unwrap();
    let customer = store.create_customer("acme", 0).unwrap().id;
    let hook = store
        .create_webhook(
            customer,
            &settings(&[("Authorization", "Bearer tok-1"), ("X-Plain", "p")]),
            None,
            0,
        )
        .unwrap();
    (store, hook)
}

/// The credential header as the current key opens it.
fn opened(store: &SqliteStore, id: i64, name: &str) -> String {
    let stored = &store.webhook(Scope::All, id).unwrap().settings.headers[name];
    let sealed = hex::decode(stored.strip_prefix(SEALED_PREFIX).unwrap()).unwrap();
    let plain = store.secret_key().unwrap().open(&sealed).unwrap();
    String::from_utf8(plain).unwrap()
}

#[test]
fn an_update_read_before_a_key_rotation_keeps_the_headers_it_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, hook) = with_headers(&dir);
    // `webhooks update` reads the settings (sealed under the first key), a rotation
    // commits meanwhile, then the update writes.
    let mut read = store.webhook(Scope::All, hook.id).unwrap().settings;
    store.rotate_key(NewKey::File).unwrap();
    read.timeout_seconds = 5;
    let updated = store
        .update_webhook(Scope::All, hook.id, &read, SecretChange::Keep, 1)
        .unwrap();
    assert_eq!(updated.settings.timeout_seconds, 5);
    assert_eq!(updated.settings.headers["X-Plain"], "p");
    assert_eq!(opened(&store, hook.id, "Authorization"), "Bearer tok-1");
    // Nothing is left sealed under the old key: the next rotation opens everything.
    let r = store.rotate_key(NewKey::File).unwrap();
    assert_eq!(r.headers, 1);
    assert_eq!(opened(&store, hook.id, "Authorization"), "Bearer tok-1");

    // A header the update sets anew is sealed under the current key.
    let mut read = store.webhook(Scope::All, hook.id).unwrap().settings;
    read.headers.insert("X-Api-Key".into(), "k-2".into());
    store.rotate_key(NewKey::File).unwrap();
    store
        .update_webhook(Scope::All, hook.id, &read, SecretChange::Keep, 2)
        .unwrap();
    assert_eq!(opened(&store, hook.id, "X-Api-Key"), "k-2");
    assert_eq!(opened(&store, hook.id, "Authorization"), "Bearer tok-1");
}

#[test]
fn an_update_read_before_a_key_reset_does_not_bring_back_what_it_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (store, hook) = with_headers(&dir);
    let read = store.webhook(Scope::All, hook.id).unwrap().settings;
    std::fs::remove_file(store.key_file_path()).unwrap();
    store.reset_key(1).unwrap();
    store
        .update_webhook(Scope::All, hook.id, &read, SecretChange::Keep, 2)
        .unwrap();
    let headers = store.webhook(Scope::All, hook.id).unwrap().settings.headers;
    assert!(!headers.contains_key("Authorization"), "{headers:?}");
    assert_eq!(headers["X-Plain"], "p");
    // The next secret can be stored (nothing sealed under the lost key came back).
    let s = Secret::new("new-secret").unwrap();
    store.rotate_secret(Scope::All, hook.id, &s, 0, 3).unwrap();
    store.rotate_key(NewKey::File).unwrap();
}
