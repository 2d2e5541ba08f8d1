//! The claim and outcome SQL on a temporary database file: what a claim leases, that two
//! claimers never share a delivery, and what recording outcomes and releasing leases leave.

use std::collections::BTreeSet;

use super::SqliteStore;
use crate::domain::time::Millis;
use crate::domain::{CustomerId, EventType, Scope, WebhookSettings};
use crate::store::{AttemptRecord, Backend, Claim, DeliveryStatus, Health, Job, NewEvent, Outcome};

/// A lease lasts twice the webhook's timeout (10 s here) and 5 s.
const LEASE: Millis = 25_000;

fn settings() -> WebhookSettings {
    WebhookSettings::example("https://a.example.com/")
}

/// A database with one customer and one webhook subscribed to `job.completed`.
fn database() -> (tempfile::TempDir, SqliteStore, CustomerId) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db"), None).unwrap();
    let customer = store.create_customer("acme", 0).unwrap().id;
    store
        .create_webhook(customer, &settings(), None, 0)
        .unwrap();
    (dir, store, customer)
}

/// Records `n` events at `now`: one delivery each, due at `now`. Returns their ids.
fn record(store: &mut SqliteStore, customer: CustomerId, n: usize, now: Millis) -> Vec<i64> {
    let events: Vec<NewEvent<'_>> = (0..n)
        .map(|_| NewEvent {
            customer,
            event_type: EventType::JobCompleted,
            event_id: None,
            payload: b"{}",
        })
        .collect();
    store
        .record_events(&events, now)
        .unwrap()
        .into_iter()
        .flat_map(|r| r.deliveries.into_iter().map(|(d, _)| d))
        .collect()
}

fn due(store: &mut SqliteStore, owner: &str, now: Millis) -> Vec<i64> {
    let claim = Claim::Due {
        limit: 100,
        exclude: &[],
    };
    ids(&store.claim(Scope::All, claim, owner, now).unwrap().jobs)
}

fn ids(jobs: &[Job]) -> Vec<i64> {
    jobs.iter().map(|j| j.delivery_id).collect()
}

/// The stored (status, lease owner, lease end, attempts) of delivery `id`.
fn row(store: &SqliteStore, id: i64) -> (String, Option<String>, Option<Millis>, i64) {
    store
        .conn()
        .query_row(
            "SELECT status, lease_owner, lease_until, attempts FROM deliveries WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
}

fn attempt_rows(store: &SqliteStore, id: i64) -> i64 {
    store
        .conn()
        .query_row(
            "SELECT count(*) FROM attempts WHERE delivery_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_claim_leases_only_due_deliveries_that_are_unleased_or_whose_lease_ran_out() {
    let (_dir, mut store, customer) = database();
    let early = record(&mut store, customer, 1, 0);
    let late = record(&mut store, customer, 1, 10_000);

    // Only the one due at 5 s; it is leased to this owner for the webhook's lease.
    assert_eq!(due(&mut store, "a", 5_000), early);
    let (status, owner, until, _) = row(&store, early[0]);
    assert_eq!(
        (status.as_str(), owner.as_deref(), until),
        ("pending", Some("a"), Some(5_000 + LEASE))
    );
    // Leased: no one else takes it, even once the other is due.
    assert_eq!(due(&mut store, "b", 10_000), late);
    assert_eq!(due(&mut store, "b", 5_000 + LEASE - 1), Vec::<i64>::new());
    // Its lease ran out (its owner died mid-send): the next claim takes it over.
    assert_eq!(due(&mut store, "b", 5_000 + LEASE), early);
    assert_eq!(row(&store, early[0]).1.as_deref(), Some("b"));
}

#[test]
fn two_claimers_never_get_the_same_delivery() {
    let (_dir, mut one, customer) = database();
    let mut two = one.reopen().unwrap();
    let all: BTreeSet<i64> = record(&mut one, customer, 40, 0).into_iter().collect();
    let mut seen = BTreeSet::new();
    for round in 0.. {
        let mut claimed = 0;
        for (store, owner) in [(&mut one, "one"), (&mut two, "two")] {
            let how = Claim::Due {
                limit: 7,
                exclude: &[],
            };
            for id in ids(&store.claim(Scope::All, how, owner, 1_000).unwrap().jobs) {
                assert!(seen.insert(id), "delivery {id} claimed twice");
                claimed += 1;
            }
        }
        if claimed == 0 {
            break;
        }
        assert!(round < 10, "claims never ran dry");
    }
    assert_eq!(seen, all);
}

fn attempt(status: Option<u16>) -> AttemptRecord {
    AttemptRecord {
        started_at: 1_000,
        request_headers: [("X-Webhook-Event".to_string(), "job.completed".to_string())].into(),
        http_status: status,
        response_body: None,
        duration_ms: 12,
        error_message: None,
        request_body: None,
    }
}

#[test]
fn recording_outcomes_releases_the_lease_and_logs_one_attempt_each() {
    let (_dir, mut store, customer) = database();
    let ids = record(&mut store, customer, 3, 0);
    let jobs = store
        .claim(
            Scope::All,
            Claim::Due {
                limit: 10,
                exclude: &[],
            },
            "me",
            1_000,
        )
        .unwrap()
        .jobs;
    let webhook = jobs[0].target.as_ref().unwrap().id;
    let outcomes = [
        Outcome {
            delivery_id: ids[0],
            attempt: Some(attempt(Some(200))),
            status: DeliveryStatus::Success,
            next_attempt_at: None,
            error_message: None,
            health: Some((webhook, Health::Up)),
        },
        Outcome {
            delivery_id: ids[1],
            attempt: Some(attempt(Some(503))),
            status: DeliveryStatus::Retrying,
            next_attempt_at: Some(61_000),
            error_message: Some("HTTP 503".into()),
            health: Some((webhook, Health::Failing)),
        },
    ];
    assert!(store
        .record_outcomes(&outcomes, "me", 1_100)
        .unwrap()
        .is_empty());
    assert_eq!(row(&store, ids[0]), ("success".into(), None, None, 1));
    assert_eq!(row(&store, ids[1]), ("retrying".into(), None, None, 1));
    assert_eq!(attempt_rows(&store, ids[0]), 1);
    assert_eq!(attempt_rows(&store, ids[1]), 1);
    // The third is still leased and unattempted.
    assert_eq!(row(&store, ids[2]).1.as_deref(), Some("me"));
    assert_eq!(attempt_rows(&store, ids[2]), 0);
    // An outcome without an attempt (nowhere to send it) writes state, no attempt row.
    let not_sent = [Outcome {
        delivery_id: ids[2],
        attempt: None,
        status: DeliveryStatus::Failed,
        next_attempt_at: None,
        error_message: Some("Webhook is disabled".into()),
        health: None,
    }];
    store.record_outcomes(&not_sent, "me", 1_200).unwrap();
    assert_eq!(row(&store, ids[2]), ("failed".into(), None, None, 0));
    assert_eq!(attempt_rows(&store, ids[2]), 0);
    // The retrying one is due again at its time, not before; the successful one never.
    assert_eq!(due(&mut store, "me", 60_999), Vec::<i64>::new());
    assert_eq!(due(&mut store, "other", 61_000), vec![ids[1]]);
    // An outcome from an owner whose lease was taken over logs its attempt but leaves the
    // state to the new owner.
    let late = [Outcome {
        delivery_id: ids[1],
        attempt: Some(attempt(Some(200))),
        status: DeliveryStatus::Success,
        next_attempt_at: None,
        error_message: None,
        health: None,
    }];
    store.record_outcomes(&late, "me", 61_100).unwrap();
    assert_eq!(
        row(&store, ids[1]),
        (
            "retrying".into(),
            Some("other".into()),
            Some(61_000 + LEASE),
            2
        )
    );
    assert_eq!(attempt_rows(&store, ids[1]), 2);
}

#[test]
fn released_deliveries_are_due_again_at_once() {
    let (_dir, mut store, customer) = database();
    let ids = record(&mut store, customer, 3, 0);
    assert_eq!(due(&mut store, "me", 1_000), ids);
    assert_eq!(due(&mut store, "me", 1_000), Vec::<i64>::new());
    // Another owner cannot release what it does not hold.
    store.release(&ids, "someone else").unwrap();
    assert_eq!(due(&mut store, "me", 1_000), Vec::<i64>::new());
    store.release(&ids[..2], "me").unwrap();
    assert_eq!(due(&mut store, "other", 1_000), ids[..2].to_vec());
    for id in &ids[..2] {
        assert_eq!(row(&store, *id).1.as_deref(), Some("other"));
        assert_eq!(attempt_rows(&store, *id), 0);
    }
}

#[test]
fn a_write_that_waits_out_another_writer_is_busy_and_says_so() {
    let (_dir, mut store, customer) = database();
    let ids = record(&mut store, customer, 1, 0);
    let other = store.reopen().unwrap();
    other.conn().execute_batch("BEGIN IMMEDIATE").unwrap();
    store
        .conn()
        .busy_timeout(std::time::Duration::ZERO)
        .unwrap();
    let e = store.release(&ids, "me").unwrap_err();
    assert!(e.is_busy(), "{e:?}");
    assert!(matches!(e, crate::store::StoreError::Busy { .. }));
    assert!(std::error::Error::source(&e).is_some(), "the cause is kept");
    other.conn().execute_batch("ROLLBACK").unwrap();
    store.release(&ids, "me").unwrap();
}

/// `failing_since` of webhook `id`, read straight from the table.
fn failing_since(store: &SqliteStore, id: i64) -> Option<Millis> {
    store
        .conn
        .query_row(
            "SELECT failing_since FROM webhooks WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn health_in_one_batch_follows_the_answers_in_order() {
    let (_dir, mut store, customer) = database();
    let ids = record(&mut store, customer, 6, 0);
    let jobs = due(&mut store, "me", 1_000);
    assert_eq!(jobs.len(), 6);
    let webhook = store
        .conn
        .query_row(
            "SELECT webhook_id FROM deliveries WHERE id = ?1",
            [ids[0]],
            |r| r.get::<_, i64>(0),
        )
        .unwrap();
    let outcome = |id: i64, health: Health| Outcome {
        delivery_id: id,
        attempt: Some(attempt(Some(if health == Health::Up { 200 } else { 500 }))),
        status: if health == Health::Up {
            DeliveryStatus::Success
        } else {
            DeliveryStatus::Retrying
        },
        next_attempt_at: (health != Health::Up).then_some(90_000),
        error_message: None,
        health: Some((webhook, health)),
    };
    // Up, Up, Failing, Failing: failing since this batch, however many answers repeat.
    let batch = [
        outcome(ids[0], Health::Up),
        outcome(ids[1], Health::Up),
        outcome(ids[2], Health::Failing),
        outcome(ids[3], Health::Failing),
    ];
    store.record_outcomes(&batch, "me", 2_000).unwrap();
    assert_eq!(failing_since(&store, webhook), Some(2_000));
    // Failing then Up in one batch: the last answer wins, the webhook is up.
    let batch = [
        outcome(ids[4], Health::Failing),
        outcome(ids[5], Health::Up),
    ];
    store.record_outcomes(&batch, "me", 3_000).unwrap();
    assert_eq!(failing_since(&store, webhook), None);
    for id in &ids {
        assert_eq!(attempt_rows(&store, *id), 1, "delivery {id} logged once");
    }
}
