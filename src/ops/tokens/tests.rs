//! Tokens on a temporary SQLite store: what `authenticate` grants, and what it refuses.

use super::*;
use crate::domain::ValidationError;
use crate::ops::{customers, Error};
use crate::store::StoreError;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("w.db"), None).unwrap();
    (dir, store)
}

#[test]
fn a_new_token_is_wnt_and_43_base64url_characters_and_authenticates_as_its_scope() {
    let (_dir, store) = store();
    let c = customers::create(&store, "acme", 0).unwrap().id;
    let made = create(&store, "deploy bot", Some(c), false, 10).unwrap();
    let text = &made.plaintext;
    assert!(text.starts_with("wnt_") && text.len() == 4 + 43, "{text}");
    assert!(text[4..]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(made.token.hint, text[text.len() - 4..]);
    assert_eq!(made.token.customer, Some(c));
    assert!(!format!("{made:?}").contains(&text[4..]), "Debug hides it");

    let grant = authenticate(&store, text, 20).unwrap().expect("valid");
    assert_eq!(
        grant,
        Grant {
            token: made.token.id,
            name: "deploy bot".into(),
            scope: Scope::Customer(c),
            read_only: false,
        }
    );
    let admin = create(&store, "ops", None, true, 30).unwrap();
    let grant = authenticate(&store, &admin.plaintext, 40).unwrap().unwrap();
    assert_eq!((grant.scope, grant.read_only), (Scope::All, true));
    assert_ne!(admin.plaintext, made.plaintext);
}

#[test]
fn unknown_malformed_and_revoked_tokens_grant_nothing() {
    let (_dir, store) = store();
    let made = create(&store, "ci", None, false, 0).unwrap();
    let text = made.plaintext.clone();
    // Unknown: the right form, another value.
    let other = generate();
    assert_eq!(authenticate(&store, &other, 1).unwrap(), None);
    // Malformed: refused by form alone.
    let mut flipped = text.clone();
    flipped.replace_range(..4, "WNT_");
    for bad in [
        "",
        "wnt_",
        &text[4..],
        &flipped,
        &text[..text.len() - 1],
        &format!("{text}A"),
        &format!(" {text}"),
        &format!("{}+{}", &text[..10], &text[11..]),
        &format!("{text}\n"),
    ] {
        assert!(!well_formed(bad), "{bad:?}");
        assert_eq!(authenticate(&store, bad, 1).unwrap(), None, "{bad:?}");
    }
    assert!(well_formed(&text));

    let revoked = revoke(&store, made.token.id, 5).unwrap();
    assert_eq!(revoked.revoked_at, Some(5));
    assert_eq!(authenticate(&store, &text, 6).unwrap(), None);
    // Revoking again changes nothing: the first time stays.
    assert_eq!(
        revoke(&store, made.token.id, 9).unwrap().revoked_at,
        Some(5)
    );
    assert_eq!(list(&store).unwrap().len(), 1, "kept for the record");
}

#[test]
fn last_used_is_recorded_at_most_once_a_minute() {
    let (_dir, store) = store();
    let made = create(&store, "ci", None, false, 0).unwrap();
    let last_used = |store: &Store| list(store).unwrap()[0].last_used_at;
    assert_eq!(last_used(&store), None);
    authenticate(&store, &made.plaintext, 1_000)
        .unwrap()
        .unwrap();
    assert_eq!(last_used(&store), Some(1_000));
    authenticate(&store, &made.plaintext, 60_999)
        .unwrap()
        .unwrap();
    assert_eq!(last_used(&store), Some(1_000), "under a minute: no write");
    authenticate(&store, &made.plaintext, 61_000)
        .unwrap()
        .unwrap();
    assert_eq!(last_used(&store), Some(61_000));
}

#[test]
fn a_token_needs_a_good_name_and_an_existing_customer() {
    let (_dir, store) = store();
    for bad in ["", "  ", "a\u{7}b", "zero\u{200b}width", &"x".repeat(101)] {
        match create(&store, bad, None, false, 0) {
            Err(Error::Invalid(ValidationError { field: "name", .. })) => {}
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    match create(&store, "ci", Some(CustomerId(7)), false, 0) {
        Err(Error::Invalid(v)) => {
            assert_eq!(v.field, "customer");
            assert!(v.message.contains("no customer 7"), "{}", v.message);
        }
        other => panic!("{other:?}"),
    }
    assert!(list(&store).unwrap().is_empty(), "nothing stored");
}

#[test]
fn tokens_are_listed_newest_first_and_an_unknown_one_is_not_found() {
    let (_dir, store) = store();
    let a = create(&store, "a", None, false, 0).unwrap().token.id;
    let b = create(&store, "b", None, false, 0).unwrap().token.id;
    let ids: Vec<i64> = list(&store).unwrap().iter().map(|t| t.id).collect();
    assert_eq!(ids, [b, a]);
    match revoke(&store, 99, 0) {
        Err(Error::Store {
            action: Some(Action::RevokeToken),
            source: StoreError::NotFound { what: "token", .. },
        }) => {}
        other => panic!("{other:?}"),
    }
}
