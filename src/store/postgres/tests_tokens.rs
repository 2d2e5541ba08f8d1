//! API tokens on PostgreSQL: the SQLite rules (newest first, revoking kept and idempotent, the
//! hash the only way in, last use recorded once a minute), against a real server.

use super::tests::fresh_url;
use super::PgStore;
use crate::domain::CustomerId;
use crate::store::{KeySource, NewToken, StoreError};

fn store(test: &str) -> Option<PgStore> {
    let url = fresh_url(test)?;
    Some(PgStore::open(&url, KeySource::default()).expect("open"))
}

/// A token to store; a customer's is read-only, an admin's is not.
fn new<'a>(name: &'a str, customer: Option<CustomerId>, hash: &'a [u8; 32]) -> NewToken<'a> {
    NewToken {
        name,
        customer,
        read_only: customer.is_some(),
        hash,
        hint: "wxyz",
    }
}

#[test]
fn tokens_are_found_by_hash_until_revoked_and_kept_afterwards() {
    let Some(store) = store("tokens_are_found_by_hash_until_revoked_and_kept_afterwards") else {
        return;
    };
    let c = store.create_customer("acme", 0).unwrap().id;
    let admin = store.create_token(&new("ops", None, &[1; 32]), 10).unwrap();
    let scoped = store
        .create_token(&new("acme bot", Some(c), &[2; 32]), 20)
        .unwrap();
    assert_eq!(
        (admin.customer, admin.read_only, admin.hint.as_str()),
        (None, false, "wxyz")
    );
    assert_eq!((scoped.customer, scoped.read_only), (Some(c), true));
    let ids: Vec<i64> = store.tokens().unwrap().iter().map(|t| t.id).collect();
    assert_eq!(ids, [scoped.id, admin.id], "newest first");

    assert_eq!(store.token_by_hash(&[3; 32], 30).unwrap(), None);
    let found = store.token_by_hash(&[2; 32], 30).unwrap().expect("found");
    assert_eq!((found.id, found.last_used_at), (scoped.id, Some(30)));

    let revoked = store.revoke_token(scoped.id, 40).unwrap();
    assert_eq!(revoked.revoked_at, Some(40));
    assert_eq!(
        store.revoke_token(scoped.id, 50).unwrap().revoked_at,
        Some(40)
    );
    assert_eq!(store.token_by_hash(&[2; 32], 60).unwrap(), None);
    assert_eq!(store.tokens().unwrap().len(), 2, "kept for the record");
    assert!(matches!(
        store.revoke_token(999, 0),
        Err(StoreError::NotFound { what: "token", .. })
    ));
    // A customer that does not exist is refused by the table itself.
    assert!(store
        .create_token(&new("ghost", Some(CustomerId(99)), &[4; 32]), 0)
        .is_err());
}

#[test]
fn last_use_is_written_at_most_once_a_minute() {
    let Some(store) = store("last_use_is_written_at_most_once_a_minute") else {
        return;
    };
    let t = store.create_token(&new("ci", None, &[9; 32]), 0).unwrap();
    let stored = |store: &PgStore| store.tokens().unwrap()[0].last_used_at;
    store.token_by_hash(&[9; 32], 1_000).unwrap().unwrap();
    assert_eq!(stored(&store), Some(1_000));
    store.token_by_hash(&[9; 32], 60_999).unwrap().unwrap();
    assert_eq!(stored(&store), Some(1_000));
    let again = store.token_by_hash(&[9; 32], 61_000).unwrap().unwrap();
    assert_eq!((again.id, stored(&store)), (t.id, Some(61_000)));
}
