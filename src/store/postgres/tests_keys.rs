//! The secret key, `key rotate`/`key reset` and pruning on PostgreSQL, against the test server
//! (`WEBNET_TEST_PG`; skipped without it). Rows are written with SQL here, so these tests do not
//! depend on the other query modules.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::keys::KEY_LOCK;
use super::tests::fresh_url;
use super::{PgStore, PgUrl};
use crate::domain::secret::SecretKey;
use crate::domain::{CustomerId, Scope};
use crate::store::{
    DeliveryStatus, KeyProblem, KeySource, NewKey, PruneOptions, PruneRule, StoreError,
    SEALED_PREFIX,
};

fn with_file(path: &Path) -> KeySource {
    KeySource {
        passphrase: None,
        key_file: Some(path.to_path_buf()),
    }
}

fn with_passphrase(p: &str) -> KeySource {
    KeySource {
        passphrase: Some(p.into()),
        key_file: None,
    }
}

fn open(url: &PgUrl, keys: KeySource) -> PgStore {
    PgStore::open(url, keys).expect("open")
}

fn customer(store: &PgStore, name: &str) -> i64 {
    store
        .client()
        .unwrap()
        .query_one(
            "INSERT INTO customers (name, created_at) VALUES ($1, 0) RETURNING id",
            &[&name],
        )
        .unwrap()
        .get(0)
}

/// Stores a webhook whose secret, credential header and routing key are sealed (through
/// `write_sealed`, as webhooks.rs does), and a plain header.
fn sealed_webhook(store: &PgStore, customer: i64, name: &str) -> crate::store::Result<i64> {
    store.write_sealed(true, |tx, key| {
        let key = key.expect("a key");
        let header = format!("{SEALED_PREFIX}{}", hex::encode(key.seal(b"Bearer tok")));
        let headers = serde_json::json!({ "Authorization": header, "X-Plain": "p" }).to_string();
        let row = tx.query_one(
            "INSERT INTO webhooks (customer_id, name, url, event_types, secret, headers,
                 routing_key, created_at, updated_at)
             VALUES ($1, $2, 'https://a.example.com/', '[\"*\"]', $3, $4, $5, 0, 0)
             RETURNING id",
            &[
                &customer,
                &name,
                &key.seal(b"the secret"),
                &headers,
                &key.seal(b"routing"),
            ],
        )?;
        Ok(row.get(0))
    })
}

/// A webhook's sealed values, opened with `key`: secret, Authorization header, routing key.
fn opened(store: &PgStore, id: i64, key: &SecretKey) -> Option<(String, String, String)> {
    let row = store
        .client()
        .unwrap()
        .query_one(
            "SELECT secret, headers, routing_key FROM webhooks WHERE id = $1",
            &[&id],
        )
        .unwrap();
    let open = |b: Vec<u8>| String::from_utf8(key.open(&b).ok()?).ok();
    let headers: serde_json::Value = serde_json::from_str(row.get::<_, &str>(1)).unwrap();
    let header = headers["Authorization"]
        .as_str()?
        .strip_prefix(SEALED_PREFIX)?;
    Some((
        open(row.get(0))?,
        open(hex::decode(header).ok()?)?,
        open(row.get(2))?,
    ))
}

fn meta(store: &PgStore, key: &str) -> Option<Vec<u8>> {
    store
        .client()
        .unwrap()
        .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
        .unwrap()
        .map(|r| r.get(0))
}

fn file_key(path: &Path) -> SecretKey {
    SecretKey::from_hex(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn expected() -> Option<(String, String, String)> {
    Some(("the secret".into(), "Bearer tok".into(), "routing".into()))
}

#[test]
fn without_a_passphrase_or_key_file_nothing_is_sealed_or_opened() {
    let Some(url) = fresh_url("without_a_passphrase_or_key_file_nothing_is_sealed_or_opened")
    else {
        return;
    };
    let store = open(&url, KeySource::default());
    let c = customer(&store, "acme");
    let e = sealed_webhook(&store, c, "w").unwrap_err();
    assert!(matches!(e, StoreError::NoKey), "{e}");
    assert!(e.to_string().contains("WEBNET_SECRET_KEY"), "{e}");
    assert!(e.to_string().contains("--key-file"), "{e}");
    let n: i64 = store
        .client()
        .unwrap()
        .query_one("SELECT count(*) FROM webhooks", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "nothing was written");
    assert_eq!(meta(&store, "key_check"), None);
    assert!(matches!(store.secret_key(), Err(StoreError::NoKey)));
    // What needs no key is written.
    store
        .write_sealed(false, |tx, key| {
            assert!(key.is_none());
            tx.execute("UPDATE customers SET name = 'acme2'", &[])?;
            Ok(())
        })
        .unwrap();

    // Once something is sealed, a host without a key still cannot send nor seal.
    let dir = tempfile::tempdir().unwrap();
    let with_key = open(&url, with_file(&dir.path().join("k")));
    sealed_webhook(&with_key, c, "w").unwrap();
    // Loading the key says what is missing: a setting, for sealed secrets (not "none needed").
    let Err(e) = store.secret_key() else {
        panic!("no key given, yet a key was found");
    };
    assert!(
        matches!(
            e,
            StoreError::KeyProblem(KeyProblem::NotGiven { passphrase: false })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("--key-file"), "{e}");
    assert!(matches!(
        sealed_webhook(&store, c, "w2"),
        Err(StoreError::NoKey)
    ));
}

#[test]
fn the_first_secret_creates_the_key_file_and_other_hosts_share_it() {
    let Some(url) = fresh_url("the_first_secret_creates_the_key_file_and_other_hosts_share_it")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webnet.key");
    let a = open(&url, with_file(&path));
    let c = customer(&a, "acme");
    // A write that fails leaves no key file behind, nor a check value.
    let e = a
        .write_sealed(true, |_, _| -> crate::store::Result<()> {
            Err(StoreError::not_found("webhook", 9))
        })
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
    assert!(!path.exists());
    assert_eq!(meta(&a, "key_check"), None);

    let id = sealed_webhook(&a, c, "w").unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let key = file_key(&path);
    assert_eq!(opened(&a, id, &key), expected());
    assert_eq!(meta(&a, "key_source").as_deref(), Some(&b"file"[..]));
    assert!(key.open(&meta(&a, "key_check").unwrap()).is_ok());
    // Another host given the same file finds the same key.
    let b = open(&url, with_file(&path));
    assert_eq!(b.secret_key().unwrap().to_hex(), key.to_hex());
    sealed_webhook(&b, c, "w2").unwrap();
    assert_eq!(file_key(&path).to_hex(), key.to_hex(), "not replaced");

    // A key file already there is adopted by a new database.
    let Some(url2) = fresh_url("the_first_secret_creates_the_key_file_and_other_hosts_share_it")
    else {
        return;
    };
    let other = open(&url2, with_file(&path));
    let c2 = customer(&other, "acme");
    let id = sealed_webhook(&other, c2, "w").unwrap();
    assert_eq!(opened(&other, id, &key), expected());
}

#[test]
fn two_hosts_storing_a_first_secret_at_once_make_one_key() {
    let Some(url) = fresh_url("two_hosts_storing_a_first_secret_at_once_make_one_key") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let c = customer(&open(&url, KeySource::default()), "acme");
    // Each host has its own file system (its own path): only one may make the key.
    let threads: Vec<_> = (0..3)
        .map(|i| {
            let url = url.clone();
            let path = dir.path().join(format!("host{i}.key"));
            std::thread::spawn(move || {
                let store = open(&url, with_file(&path));
                store
                    .write_sealed(true, |tx, key| {
                        // Hold the transaction long enough for the others to reach theirs.
                        std::thread::sleep(Duration::from_millis(300));
                        tx.execute(
                            "INSERT INTO webhooks (customer_id, name, url, event_types, secret,
                                 created_at, updated_at)
                             VALUES ($1, $2, 'https://a.example.com/', '[]', $3, 0, 0)",
                            &[&c, &format!("w{i}"), &key.expect("key").seal(b"s")],
                        )?;
                        Ok(())
                    })
                    .map(|()| path)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let made: Vec<&PathBuf> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(made.len(), 1, "{results:?}");
    for r in &results {
        if let Err(e) = r {
            assert!(
                matches!(e, StoreError::KeyProblem(KeyProblem::FileMissing(_))),
                "{e}"
            );
        }
    }
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(files, 1, "one key file");
    let store = open(&url, with_file(made[0]));
    let key = store.secret_key().unwrap();
    let sealed: Vec<Vec<u8>> = store
        .client()
        .unwrap()
        .query("SELECT secret FROM webhooks", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(sealed.len(), 1);
    assert!(key.open(&sealed[0]).is_ok());
}

#[test]
fn a_wrong_passphrase_or_key_file_is_named() {
    let Some(url) = fresh_url("a_wrong_passphrase_or_key_file_is_named") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webnet.key");
    let store = open(&url, with_file(&path));
    let c = customer(&store, "acme");
    sealed_webhook(&store, c, "w").unwrap();

    let wrong = open(&url, with_passphrase("nope"));
    let e = wrong.secret_key().err().unwrap();
    assert!(
        matches!(e, StoreError::KeyProblem(KeyProblem::PassphraseMismatch)),
        "{e}"
    );
    let both = open(
        &url,
        KeySource {
            passphrase: Some("nope".into()),
            key_file: Some(path.clone()),
        },
    );
    let e = both.secret_key().err().unwrap();
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    assert!(matches!(
        e,
        StoreError::KeyProblem(KeyProblem::PassphraseMismatchFileOpens(_))
    ));

    let other = dir.path().join("other.key");
    std::fs::write(&other, SecretKey::generate().to_hex()).unwrap();
    let e = open(&url, with_file(&other)).secret_key().err().unwrap();
    assert!(
        matches!(&e, StoreError::KeyProblem(KeyProblem::FileMismatch(p)) if p == &other),
        "{e}"
    );
    let missing = dir.path().join("missing.key");
    let e = open(&url, with_file(&missing)).secret_key().err().unwrap();
    assert!(e.to_string().contains("missing.key"), "{e}");
    assert!(
        !missing.exists(),
        "a missing key file is not made once secrets exist"
    );
    std::fs::write(&other, "not hex").unwrap();
    let e = open(&url, with_file(&other)).secret_key().err().unwrap();
    assert!(
        matches!(e, StoreError::KeyProblem(KeyProblem::BadFile(_))),
        "{e}"
    );
}

#[test]
fn rotating_to_a_new_key_file_reseals_everything() {
    let Some(url) = fresh_url("rotating_to_a_new_key_file_reseals_everything") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webnet.key");
    let store = open(&url, with_file(&path));
    let c = customer(&store, "acme");
    let id = sealed_webhook(&store, c, "w").unwrap();
    let old = file_key(&path);

    let r = store.rotate_key(NewKey::File).unwrap();
    assert_eq!(
        (
            r.webhooks,
            r.secrets,
            r.previous_secrets,
            r.headers,
            r.routing_keys
        ),
        (1, 1, 0, 1, 1)
    );
    assert_eq!(r.key_file.as_deref(), Some(path.as_path()));
    let new = file_key(&path);
    assert_ne!(new.to_hex(), old.to_hex());
    assert_eq!(opened(&store, id, &new), expected());
    assert_eq!(opened(&store, id, &old), None);
    assert!(!dir.path().join("webnet.key.new").exists());
    assert_eq!(store.secret_key().unwrap().to_hex(), new.to_hex());
    let plain: serde_json::Value = serde_json::from_str(
        store
            .client()
            .unwrap()
            .query_one("SELECT headers FROM webhooks WHERE id = $1", &[&id])
            .unwrap()
            .get::<_, &str>(0),
    )
    .unwrap();
    assert_eq!(plain["X-Plain"], "p");

    // To a passphrase: the key file goes; then WEBNET_SECRET_KEY is needed.
    let r = store.rotate_key(NewKey::Passphrase("pass".into())).unwrap();
    assert_eq!(r.key_file_removed.as_deref(), Some(path.as_path()));
    assert!(!path.exists());
    let pass = SecretKey::from_passphrase("pass");
    assert_eq!(opened(&store, id, &pass), expected());
    let e = open(&url, with_file(&path)).secret_key().err().unwrap();
    assert!(
        matches!(e, StoreError::KeyProblem(KeyProblem::PassphraseNotSet)),
        "{e}"
    );
    assert!(matches!(
        open(&url, KeySource::default()).secret_key(),
        Err(StoreError::KeyProblem(KeyProblem::NotGiven {
            passphrase: true
        }))
    ));
    // A new key file needs --key-file.
    let by_pass = open(&url, with_passphrase("pass"));
    let e = by_pass.rotate_key(NewKey::File).unwrap_err();
    assert!(matches!(e, StoreError::NoKey), "{e}");
    assert_eq!(opened(&store, id, &pass), expected(), "nothing changed");
}

#[test]
fn a_rotation_interrupted_before_its_rename_is_finished_when_no_rotation_runs() {
    let Some(url) =
        fresh_url("a_rotation_interrupted_before_its_rename_is_finished_when_no_rotation_runs")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webnet.key");
    let pending = dir.path().join("webnet.key.new");
    let store = open(&url, with_file(&path));
    let c = customer(&store, "acme");
    sealed_webhook(&store, c, "w").unwrap();
    // The state a crash between commit and rename leaves: key_check under the new key, which
    // is only in `.new`.
    let new = SecretKey::generate();
    std::fs::write(&pending, new.to_hex()).unwrap();
    store
        .client()
        .unwrap()
        .execute(
            "UPDATE meta SET value = $1 WHERE key = 'key_check'",
            &[&new.seal(crate::store::keyfile::CHECK_PLAIN)],
        )
        .unwrap();

    // While another session holds the key lock (a rotation running), it is used, not moved.
    let holder = open(&url, KeySource::default());
    holder
        .client()
        .unwrap()
        .execute("SELECT pg_advisory_lock($1)", &[&KEY_LOCK])
        .unwrap();
    assert_eq!(store.secret_key().unwrap().to_hex(), new.to_hex());
    assert!(pending.exists());
    holder
        .client()
        .unwrap()
        .execute("SELECT pg_advisory_unlock($1)", &[&KEY_LOCK])
        .unwrap();

    assert_eq!(store.secret_key().unwrap().to_hex(), new.to_hex());
    assert!(!pending.exists());
    assert_eq!(file_key(&path).to_hex(), new.to_hex());
}

#[test]
fn a_lost_key_is_reset_and_a_working_one_never_is() {
    let Some(url) = fresh_url("a_lost_key_is_reset_and_a_working_one_never_is") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webnet.key");
    let store = open(&url, with_file(&path));
    let c = customer(&store, "acme");
    let id = sealed_webhook(&store, c, "w").unwrap();

    let e = store.check_key_lost().unwrap_err();
    assert!(
        matches!(e, StoreError::KeyProblem(KeyProblem::NotLost)),
        "{e}"
    );
    assert!(store.reset_key(1).is_err());
    // No key at hand at all is not a lost key on a server database.
    let nowhere = open(&url, KeySource::default());
    assert!(matches!(nowhere.check_key_lost(), Err(StoreError::NoKey)));
    assert!(matches!(nowhere.reset_key(1), Err(StoreError::NoKey)));
    let wrong = open(
        &url,
        KeySource {
            passphrase: Some("nope".into()),
            key_file: Some(path.clone()),
        },
    );
    assert!(matches!(
        wrong.check_key_lost(),
        Err(StoreError::KeyProblem(
            KeyProblem::PassphraseMismatchFileOpens(_)
        ))
    ));
    assert_eq!(opened(&store, id, &file_key(&path)), expected());

    // The key file replaced by another key: lost; reset keeps the replaced file aside.
    std::fs::write(&path, SecretKey::generate().to_hex()).unwrap();
    store.check_key_lost().unwrap();
    let r = store.reset_key(7).unwrap();
    assert_eq!(r.secrets, vec![id]);
    assert_eq!(r.routing_keys, vec![id]);
    assert_eq!(r.headers, vec![(id, vec!["Authorization".to_string()])]);
    assert_eq!(r.old_key_file, Some(dir.path().join("webnet.key.old")));
    assert!(!path.exists());
    let row = store
        .client()
        .unwrap()
        .query_one(
            "SELECT secret IS NULL AND routing_key IS NULL, headers, updated_at
             FROM webhooks WHERE id = $1",
            &[&id],
        )
        .unwrap();
    assert!(row.get::<_, bool>(0));
    assert_eq!(row.get::<_, &str>(1), r#"{"X-Plain":"p"}"#);
    assert_eq!(row.get::<_, i64>(2), 7);
    assert_eq!(meta(&store, "key_check"), None);
    assert_eq!(meta(&store, "key_source"), None);
    // The next secret makes a new key.
    let id2 = sealed_webhook(&store, c, "w2").unwrap();
    assert_eq!(opened(&store, id2, &file_key(&path)), expected());
}

#[test]
fn a_secret_stored_during_a_rotation_waits_for_it() {
    let Some(url) = fresh_url("a_secret_stored_during_a_rotation_waits_for_it") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webnet.key");
    let store = open(&url, with_file(&path));
    let c = customer(&store, "acme");
    sealed_webhook(&store, c, "w").unwrap();
    let rotating = open(&url, with_file(&path));
    rotating
        .client()
        .unwrap()
        .execute("SELECT pg_advisory_lock($1)", &[&KEY_LOCK])
        .unwrap();
    let writer = {
        let url = url.clone();
        let path = path.clone();
        std::thread::spawn(move || sealed_webhook(&open(&url, with_file(&path)), c, "w2"))
    };
    std::thread::sleep(Duration::from_millis(500));
    assert!(!writer.is_finished(), "waits for the key lock");
    rotating
        .client()
        .unwrap()
        .execute("SELECT pg_advisory_unlock($1)", &[&KEY_LOCK])
        .unwrap();
    let id = writer.join().unwrap().unwrap();
    assert_eq!(opened(&store, id, &file_key(&path)), expected());
}

/// Records an event for `customer` created at `at`, with a delivery of `status` updated at
/// `at` (none when `status` is `None`) and `attempts` attempts. Returns (event, delivery).
fn history(
    store: &PgStore,
    customer: i64,
    at: i64,
    status: Option<&str>,
    attempts: i64,
) -> (i64, Option<i64>) {
    let mut client = store.client().unwrap();
    let event: i64 = client
        .query_one(
            "INSERT INTO events (customer_id, event_type, payload, created_at)
             VALUES ($1, 'order.created', $2, $3) RETURNING id",
            &[&customer, &vec![b'x'; 200], &at],
        )
        .unwrap()
        .get(0);
    let Some(status) = status else {
        return (event, None);
    };
    let delivery: i64 = client
        .query_one(
            "INSERT INTO deliveries (event_row, customer_id, webhook_id, webhook_name, event_type,
                 status, attempts, created_at, updated_at)
             VALUES ($1, $2, 1, 'w', 'order.created', $3, $4, $5, $5) RETURNING id",
            &[&event, &customer, &status, &attempts, &at],
        )
        .unwrap()
        .get(0);
    for n in 1..=attempts {
        client
            .execute(
                "INSERT INTO attempts (delivery_id, attempt, started_at, request_headers,
                     duration_ms, response_body)
                 VALUES ($1, $2, $3, '{}', 5, repeat('r', 300))",
                &[&delivery, &n, &at],
            )
            .unwrap();
    }
    (event, Some(delivery))
}

fn count(store: &PgStore, table: &str) -> i64 {
    store
        .client()
        .unwrap()
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0)
}

fn exists(store: &PgStore, table: &str, id: i64) -> bool {
    store
        .client()
        .unwrap()
        .query_one(
            &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1)"),
            &[&id],
        )
        .unwrap()
        .get(0)
}

#[test]
fn prune_deletes_old_final_deliveries_only_in_scope_and_never_a_leased_one() {
    let Some(url) =
        fresh_url("prune_deletes_old_final_deliveries_only_in_scope_and_never_a_leased_one")
    else {
        return;
    };
    let mut store = open(&url, KeySource::default());
    let acme = customer(&store, "acme");
    let other = customer(&store, "other");
    let (e_ok, d_ok) = history(&store, acme, 100, Some("success"), 2);
    let (e_failed, d_failed) = history(&store, acme, 100, Some("failed"), 3);
    let (e_pending, d_pending) = history(&store, acme, 100, Some("pending"), 0);
    let (e_retrying, d_retrying) = history(&store, acme, 100, Some("retrying"), 1);
    let (e_new, d_new) = history(&store, acme, 5_000, Some("success"), 1);
    let (e_none, _) = history(&store, acme, 100, None, 0);
    let (e_other, d_other) = history(&store, other, 100, Some("success"), 1);
    // Final but leased (a manual retry in flight), by the server's clock: kept whatever `now`
    // the caller passes. One whose lease ran out by the server's clock goes.
    let (e_leased, d_leased) = history(&store, acme, 100, Some("success"), 1);
    let (e_expired, d_expired) = history(&store, acme, 100, Some("failed"), 1);
    store
        .client()
        .unwrap()
        .execute(
            &format!(
                "INSERT INTO queue (delivery_id, customer_id, lease_owner, lease_until)
                 SELECT id, customer_id, 'x', CASE WHEN id = $1
                   THEN {now} + 600000 ELSE {now} - 1000 END FROM deliveries WHERE id = ANY($2)",
                now = super::SERVER_NOW
            ),
            &[
                &d_leased.unwrap(),
                &vec![d_leased.unwrap(), d_expired.unwrap()],
            ],
        )
        .unwrap();

    let rule = PruneRule {
        before: 1_000,
        status: None,
    };
    let scope = Scope::Customer(CustomerId(acme));
    let far_future = i64::MAX / 2;
    // success, failed, expired lease; their events and the one without deliveries.
    let n = store.count_prunable(scope, rule, far_future).unwrap();
    assert_eq!((n.deliveries, n.attempts, n.events), (3, 6, 4));
    // Only failed ones.
    let failed = PruneRule {
        status: Some(DeliveryStatus::Failed),
        ..rule
    };
    let n = store.count_prunable(scope, failed, 0).unwrap();
    assert_eq!((n.deliveries, n.attempts, n.events), (2, 4, 3));

    let r = store
        .prune(scope, rule, far_future, &PruneOptions::default())
        .unwrap();
    assert!(r.complete);
    assert!(!r.vacuumed);
    assert_eq!(
        (r.deleted.deliveries, r.deleted.attempts, r.deleted.events),
        (3, 6, 4)
    );
    for d in [d_ok, d_failed, d_expired] {
        assert!(!exists(&store, "deliveries", d.unwrap()));
    }
    for d in [d_pending, d_retrying, d_new, d_other, d_leased] {
        assert!(exists(&store, "deliveries", d.unwrap()), "{d:?} kept");
    }
    for e in [e_ok, e_failed, e_expired, e_none] {
        assert!(!exists(&store, "events", e));
    }
    for e in [e_pending, e_retrying, e_new, e_other, e_leased] {
        assert!(exists(&store, "events", e), "event {e} kept");
    }
    // 2 + 0 + 1 + 1 + 1 + 1 attempts left (pending, retrying, new, other, leased).
    assert_eq!(count(&store, "attempts"), 4);
    let n = store.count_prunable(scope, rule, far_future).unwrap();
    assert_eq!((n.deliveries, n.attempts, n.events), (0, 0, 0));

    // All customers: the other one's goes too.
    let r = store
        .prune(Scope::All, rule, 0, &PruneOptions::default())
        .unwrap();
    assert_eq!(
        (r.deleted.deliveries, r.deleted.attempts, r.deleted.events),
        (1, 1, 1)
    );
}

#[test]
fn prune_goes_in_batches_stops_at_its_budget_and_vacuum_reports_the_space() {
    let Some(url) =
        fresh_url("prune_goes_in_batches_stops_at_its_budget_and_vacuum_reports_the_space")
    else {
        return;
    };
    let mut store = open(&url, KeySource::default());
    let acme = customer(&store, "acme");
    // More than two batches, with biggish rows; the sizes are the prune's alone to change.
    store
        .client()
        .unwrap()
        .batch_execute(&format!(
            "ALTER TABLE events SET (autovacuum_enabled = false);
             ALTER TABLE deliveries SET (autovacuum_enabled = false);
             ALTER TABLE attempts SET (autovacuum_enabled = false);
             ALTER TABLE queue SET (autovacuum_enabled = false);
             INSERT INTO events (customer_id, event_type, payload, created_at)
               SELECT {acme}, 'order.created', convert_to(repeat('p', 500), 'UTF8'), i
               FROM generate_series(1, 1200) i;
             INSERT INTO deliveries (event_row, customer_id, webhook_id, webhook_name,
                 event_type, status, attempts, response_body, created_at, updated_at)
               SELECT id, customer_id, 1, 'w', event_type, 'success', 1, repeat('b', 500),
                   created_at, created_at FROM events;
             INSERT INTO attempts (delivery_id, attempt, started_at, request_headers,
                 duration_ms, response_body)
               SELECT id, 1, created_at, '{{}}', 5, repeat('r', 500) FROM deliveries;
             INSERT INTO queue (delivery_id, customer_id, webhook_id, next_attempt_at)
               SELECT id, customer_id, webhook_id, 0 FROM deliveries;
             DELETE FROM queue;"
        ))
        .unwrap();
    // The queue's room, left by rows sent and gone (as outcomes leave it).
    let queue_bytes = |store: &PgStore| -> i64 {
        let client = &mut store.client().unwrap();
        client
            .query_one("SELECT pg_total_relation_size('queue')", &[])
            .unwrap()
            .get(0)
    };
    assert!(queue_bytes(&store) > 40_000, "{}", queue_bytes(&store));
    let rule = PruneRule {
        before: 10_000,
        status: None,
    };
    let out_of_time = PruneOptions {
        budget: Some(Duration::ZERO),
        full_vacuum: false,
    };
    let r = store.prune(Scope::All, rule, 0, &out_of_time).unwrap();
    assert!(!r.complete);
    assert_eq!(r.deleted.deliveries, 0);

    let vacuum = PruneOptions {
        budget: None,
        full_vacuum: true,
    };
    let size = |store: &PgStore| -> u64 {
        let r = store
            .client()
            .unwrap()
            .query_one(super::prune::SIZE_SQL, &[]);
        u64::try_from(r.unwrap().get::<_, i64>(0)).unwrap()
    };
    let before = size(&store);
    let r = store.prune(Scope::All, rule, 0, &vacuum).unwrap();
    assert!(r.complete);
    assert!(r.vacuumed);
    assert_eq!(
        (r.deleted.deliveries, r.deleted.attempts, r.deleted.events),
        (1200, 1200, 1200)
    );
    // What it reports is what the tables lost. The rewrite must keep rows deleted while any
    // transaction that was writing then (in any database: the suite's other tests) still
    // runs, so the room may come back only with a later `--vacuum`.
    let mut reclaimed = r.reclaimed_bytes;
    assert_eq!(reclaimed, before.saturating_sub(size(&store)));
    if reclaimed <= 1_000_000 {
        // Wait (up to a minute) until every transaction that began before the deletes has
        // ended — then nothing can keep the deleted rows — and rewrite again.
        {
            let client = &mut store.client().unwrap();
            let after: String = client
                .query_one("SELECT pg_current_xact_id()::text", &[])
                .unwrap()
                .get(0);
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while !client
                .query_one(
                    "SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::text::xid8",
                    &[&after],
                )
                .unwrap()
                .get::<_, bool>(0)
            {
                assert!(
                    std::time::Instant::now() < deadline,
                    "a transaction ran for a minute"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let before = size(&store);
        let r = store.prune(Scope::All, rule, 0, &vacuum).unwrap();
        assert_eq!(r.deleted.deliveries, 0);
        assert_eq!(r.reclaimed_bytes, before.saturating_sub(size(&store)));
        reclaimed += r.reclaimed_bytes;
    }
    assert!(reclaimed > 1_000_000, "{reclaimed}");
    assert!(queue_bytes(&store) < 40_000, "{}", queue_bytes(&store));
    for table in ["events", "deliveries", "attempts"] {
        assert_eq!(count(&store, table), 0);
    }
}

#[test]
fn prune_keeps_a_delivery_a_retry_took_hold_of_while_prune_waited_for_it() {
    let Some(url) = fresh_url("prune_keeps_a_delivery_a_retry_took_hold_of_while_prune_waited")
    else {
        return;
    };
    let store = open(&url, KeySource::default());
    let acme = customer(&store, "acme");
    let (_, held) = history(&store, acme, 100, Some("failed"), 1);
    let held = held.unwrap();
    // What `deliveries retry` does: lock the delivery's row, hold it in `queue`, commit —
    // here with prune waiting for that row lock in between.
    let retrier = open(&url, KeySource::default());
    let mut client = retrier.client().unwrap();
    let mut tx = client.transaction().unwrap();
    tx.execute(
        "SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE",
        &[&held],
    )
    .unwrap();
    let pruner = {
        let url = url.clone();
        std::thread::spawn(move || {
            let rule = PruneRule {
                before: 1_000,
                status: None,
            };
            open(&url, KeySource::default())
                .prune(Scope::All, rule, i64::MAX / 2, &PruneOptions::default())
                .unwrap()
        })
    };
    let waiting = || -> i64 {
        store
            .client()
            .unwrap()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .unwrap()
            .get(0)
    };
    for _ in 0..200 {
        if waiting() > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(waiting(), 1, "prune waits for the delivery's row lock");
    tx.execute(
        &format!(
            "INSERT INTO queue (delivery_id, customer_id, lease_until, lease_owner)
             VALUES ($1, $2, {} + 600000, 'retrier')",
            super::SERVER_NOW
        ),
        &[&held, &acme],
    )
    .unwrap();
    tx.commit().unwrap();
    let report = pruner.join().unwrap();
    assert_eq!(report.deleted.deliveries, 0);
    assert!(
        exists(&store, "deliveries", held),
        "the held delivery stays"
    );
}
