//! The claim, outcome, recording and history SQL on a real PostgreSQL server (the SQLite
//! tests ported): what a claim leases, that any number of claimers never share a delivery,
//! what recording outcomes and releasing leases leave, and the history views.
//!
//! Customers and webhooks are written with plain SQL here, so these tests stand on the
//! queries under test alone.

use std::collections::BTreeSet;
use std::time::Duration;

use super::tests::fresh_url;
use super::{PgStore, PgUrl, SERVER_NOW};
use crate::domain::event_type::Subscription;
use crate::domain::time::Millis;
use crate::domain::{CustomerId, EventType, Scope};
use crate::store::{
    AttemptRecord, Claim, DeliveryFilter, DeliveryStatus, Health, Job, KeySource, NewEvent, Outcome,
};

/// A lease lasts twice the webhook's timeout (10 s here) and 5 s.
const LEASE: Millis = 25_000;

fn open(url: &PgUrl) -> PgStore {
    PgStore::open(url, KeySource::default()).unwrap()
}

/// A database with customer `acme` and its webhook `w` subscribed to `job.completed`, or
/// `None` without a test server.
fn database(test: &str) -> Option<(PgUrl, PgStore, CustomerId, i64)> {
    let url = fresh_url(test)?;
    let store = open(&url);
    let customer = CustomerId(sql_id(
        &store,
        "INSERT INTO customers (name, created_at) VALUES ('acme', 0) RETURNING id",
    ));
    let webhook = add_webhook(&store, customer, "w", r#"["job.completed"]"#);
    Some((url, store, customer, webhook))
}

fn sql_id(store: &PgStore, sql: &str) -> i64 {
    sql_value(store, sql)
}

/// The one value `sql` selects.
fn sql_value<T: for<'a> postgres::types::FromSql<'a>>(store: &PgStore, sql: &str) -> T {
    store.client().unwrap().query_one(sql, &[]).unwrap().get(0)
}

fn exec(store: &PgStore, sql: &str) {
    store.client().unwrap().batch_execute(sql).unwrap();
}

/// A webhook of `customer` named `name`, subscribed to `types` (a JSON array).
fn add_webhook(store: &PgStore, customer: CustomerId, name: &str, types: &str) -> i64 {
    store
        .client()
        .unwrap()
        .query_one(
            "INSERT INTO webhooks (customer_id, name, url, event_types, created_at, updated_at)
             VALUES ($1, $2, 'https://a.example.com/', $3, 0, 0) RETURNING id",
            &[&customer.0, &name, &types],
        )
        .unwrap()
        .get(0)
}

/// Records `n` `job.completed` events at `now`; returns their deliveries' ids.
fn record(store: &mut PgStore, customer: CustomerId, n: usize, now: Millis) -> Vec<i64> {
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

fn due(store: &mut PgStore, owner: &str, now: Millis) -> Vec<i64> {
    let claim = Claim::Due {
        limit: 100,
        exclude: &[],
    };
    ids(&store.claim(Scope::All, claim, owner, now).unwrap().jobs)
}

fn ids(jobs: &[Job]) -> Vec<i64> {
    jobs.iter().map(|j| j.delivery_id).collect()
}

/// The server's lease clock, as claims read it on `store`'s connection.
fn server_now(store: &PgStore) -> Millis {
    sql_id(store, &format!("SELECT {SERVER_NOW}"))
}

/// Moves `store`'s lease clock `ms` ahead (what `WEBNET_TEST_CLOCK_OFFSET` does).
fn move_clock(store: &PgStore, ms: Millis) {
    exec(store, &format!("SET webnet.clock_offset = '{ms}'"));
}

/// The stored (status, lease owner, lease end, attempts) of delivery `id`.
fn row(store: &PgStore, id: i64) -> (String, Option<String>, Option<Millis>, i64) {
    let r = store
        .client()
        .unwrap()
        .query_one(
            "SELECT d.status, q.lease_owner, q.lease_until, d.attempts
             FROM deliveries d LEFT JOIN queue q ON q.delivery_id = d.id WHERE d.id = $1",
            &[&id],
        )
        .unwrap();
    (r.get(0), r.get(1), r.get(2), r.get(3))
}

fn without_lease_end(
    r: (String, Option<String>, Option<Millis>, i64),
) -> (String, Option<String>, i64) {
    (r.0, r.1, r.3)
}

fn attempt_rows(store: &PgStore, id: i64) -> i64 {
    store
        .client()
        .unwrap()
        .query_one(
            "SELECT count(*) FROM attempts WHERE delivery_id = $1",
            &[&id],
        )
        .unwrap()
        .get(0)
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

fn outcome(id: i64, webhook: i64, health: Health) -> Outcome {
    let ok = health == Health::Up;
    Outcome {
        delivery_id: id,
        attempt: Some(attempt(Some(match health {
            Health::Up => 200,
            Health::Failing => 500,
            Health::Gone => 410,
        }))),
        status: if ok {
            DeliveryStatus::Success
        } else {
            DeliveryStatus::Retrying
        },
        next_attempt_at: (!ok).then_some(90_000),
        error_message: None,
        health: Some((webhook, health)),
    }
}

#[test]
fn a_claim_leases_by_the_servers_clock_only_due_deliveries_unleased_or_run_out() {
    let Some((_url, mut store, customer, _)) =
        database("a_claim_leases_by_the_servers_clock_only_due_deliveries_unleased_or_run_out")
    else {
        return;
    };
    let early = record(&mut store, customer, 1, 0);
    let late = record(&mut store, customer, 1, 10_000);

    // Only the one due at the caller's 5 s; leased to this owner for the webhook's lease from
    // the server's clock (the caller's `now` is no part of it).
    let before = server_now(&store);
    let jobs = store
        .claim(
            Scope::All,
            Claim::Due {
                limit: 100,
                exclude: &[],
            },
            "a",
            5_000,
        )
        .unwrap()
        .jobs;
    let after = server_now(&store);
    assert_eq!(ids(&jobs), early);
    let (status, owner, until, _) = row(&store, early[0]);
    assert_eq!((status.as_str(), owner.as_deref()), ("pending", Some("a")));
    let until = until.unwrap();
    assert!(
        (before + LEASE..=after + LEASE).contains(&until),
        "{before} {until} {after}"
    );
    assert_eq!(
        jobs[0].lease_until, until,
        "the job carries the row's lease"
    );
    assert_eq!(jobs[0].attempt, 1);
    assert_eq!(jobs[0].target.as_ref().unwrap().timeout_seconds, 10);
    // Leased: no one else takes it, even once the other is due and whatever the caller's
    // clock says.
    assert_eq!(due(&mut store, "b", 10_000), late);
    assert_eq!(due(&mut store, "b", 1_000_000_000), Vec::<i64>::new());
    // Its lease ran out on the server's clock (its owner died mid-send): taken over.
    move_clock(&store, LEASE + 1_000);
    assert_eq!(due(&mut store, "b", 5_000), early);
    assert_eq!(row(&store, early[0]).1.as_deref(), Some("b"));
}

#[test]
fn each_kind_of_claim_takes_what_it_names() {
    let Some((_url, mut store, customer, webhook)) =
        database("each_kind_of_claim_takes_what_it_names")
    else {
        return;
    };
    let other = add_webhook(&store, customer, "v", r#"["job.*"]"#);
    // Each event: one delivery to `w`, one to `v`.
    let ids2 = record(&mut store, customer, 3, 0);
    assert_eq!(ids2.len(), 6);
    let to = |wh: i64| -> Vec<i64> {
        ids2.iter()
            .copied()
            .filter(|id| {
                let r = store
                    .client()
                    .unwrap()
                    .query_one("SELECT webhook_id FROM deliveries WHERE id = $1", &[id])
                    .unwrap();
                r.get::<_, i64>(0) == wh
            })
            .collect()
    };
    let (to_w, to_v) = (to(webhook), to(other));
    // Due, except one webhook's.
    let jobs = store
        .claim(
            Scope::All,
            Claim::Due {
                limit: 2,
                exclude: &[webhook],
            },
            "me",
            1_000,
        )
        .unwrap()
        .jobs;
    assert_eq!(ids(&jobs), to_v[..2].to_vec());
    // The oldest due one of one webhook.
    let jobs = store
        .claim(Scope::All, Claim::DueFor { webhook }, "me", 1_000)
        .unwrap()
        .jobs;
    assert_eq!(ids(&jobs), vec![to_w[0]]);
    // These ids if due and free: the leased one is passed over.
    let jobs = store
        .claim(Scope::All, Claim::DueIds(&[to_w[0], to_w[1]]), "me", 1_000)
        .unwrap()
        .jobs;
    assert_eq!(ids(&jobs), vec![to_w[1]]);
    // Not due yet at the caller's clock.
    let jobs = store
        .claim(Scope::All, Claim::DueIds(&[to_w[2]]), "me", -1)
        .unwrap()
        .jobs;
    assert!(jobs.is_empty());
    // Another customer's scope sees none of them.
    let jobs = store
        .claim(
            Scope::Customer(CustomerId(customer.0 + 1)),
            Claim::DueIds(&[to_w[2]]),
            "me",
            1_000,
        )
        .unwrap()
        .jobs;
    assert!(jobs.is_empty());
    // Retry: only failed or retrying ones of an enabled webhook.
    store
        .record_outcomes(
            &[
                outcome(to_w[0], webhook, Health::Failing),
                outcome(to_v[0], other, Health::Failing),
            ],
            "me",
            2_000,
        )
        .unwrap();
    exec(
        &store,
        &format!("UPDATE webhooks SET enabled = false WHERE id = {other}"),
    );
    let jobs = store
        .claim(
            Scope::All,
            Claim::RetryIds(&[to_w[0], to_v[0], to_w[2]]),
            "me",
            2_000,
        )
        .unwrap()
        .jobs;
    assert_eq!(ids(&jobs), vec![to_w[0]]);
    assert_eq!(jobs[0].attempt, 2);
    assert_eq!(jobs[0].status, DeliveryStatus::Retrying);
}

#[test]
fn two_claimers_never_get_the_same_delivery() {
    let Some((url, mut one, customer, _)) = database("two_claimers_never_get_the_same_delivery")
    else {
        return;
    };
    let mut two = open(&url);
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

#[test]
fn concurrent_drains_claim_every_delivery_exactly_once_and_record_without_deadlock() {
    let Some((url, mut store, customer, _)) =
        database("concurrent_drains_claim_every_delivery_exactly_once_and_record_without_deadlock")
    else {
        return;
    };
    add_webhook(&store, customer, "v", r#"["*"]"#);
    let all: BTreeSet<i64> = record(&mut store, customer, 150, 0).into_iter().collect();
    assert_eq!(all.len(), 300);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut store = open(&url);
                let owner = format!("drain-{t}");
                let mut mine = Vec::new();
                for _ in 0..1_000 {
                    let how = Claim::Due {
                        limit: 9,
                        exclude: &[],
                    };
                    let jobs = store.claim(Scope::All, how, &owner, 1_000).unwrap().jobs;
                    if jobs.is_empty() {
                        break;
                    }
                    // Outcomes touching both webhooks' health, in both orders: the rows are
                    // locked in id order, so concurrent batches wait, never deadlock.
                    let mut outcomes: Vec<Outcome> = jobs
                        .iter()
                        .map(|j| {
                            let w = j.target.as_ref().unwrap().id;
                            let h = if (j.delivery_id + t) % 3 == 0 {
                                Health::Up
                            } else {
                                Health::Failing
                            };
                            let mut o = outcome(j.delivery_id, w, h);
                            o.next_attempt_at = o.next_attempt_at.map(|_| 1_000_000);
                            o
                        })
                        .collect();
                    if t % 2 == 1 {
                        outcomes.reverse();
                    }
                    store.record_outcomes(&outcomes, &owner, 1_100).unwrap();
                    mine.extend(ids(&jobs));
                }
                mine
            })
        })
        .collect();
    let mut seen = BTreeSet::new();
    for t in threads {
        for id in t.join().expect("a drain thread") {
            assert!(seen.insert(id), "delivery {id} claimed twice");
        }
    }
    assert_eq!(seen, all, "every delivery claimed");
    for id in all.iter().step_by(37) {
        assert_eq!(attempt_rows(&store, *id), 1, "delivery {id} logged once");
        assert_eq!(row(&store, *id).1, None, "lease released");
    }
}

#[test]
fn recording_outcomes_releases_the_lease_and_logs_one_attempt_each() {
    let Some((url, mut store, customer, webhook)) =
        database("recording_outcomes_releases_the_lease_and_logs_one_attempt_each")
    else {
        return;
    };
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
    assert_eq!(jobs[0].target.as_ref().unwrap().id, webhook);
    let mut failed = attempt(Some(503));
    failed.response_body = Some("down\0for maintenance".into());
    failed.error_message = Some("HTTP\0 503".into());
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
            attempt: Some(failed),
            status: DeliveryStatus::Retrying,
            next_attempt_at: Some(61_000),
            error_message: Some("HTTP\0 503".into()),
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
    // Texts with a NUL (which PostgreSQL TEXT refuses) are kept with U+FFFD in its place.
    let d = store.delivery(Scope::All, ids[1]).unwrap();
    assert_eq!(
        d.response_body.as_deref(),
        Some("down\u{FFFD}for maintenance")
    );
    assert_eq!(d.error_message.as_deref(), Some("HTTP\u{FFFD} 503"));
    assert_eq!((d.http_status, d.duration_ms), (Some(503), Some(12)));
    let logged = store.attempts(ids[1]).unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(
        logged[0].response_body.as_deref(),
        Some("down\u{FFFD}for maintenance")
    );
    assert_eq!(
        logged[0].request_headers["X-Webhook-Event"],
        "job.completed"
    );
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
    let mut other = open(&url);
    assert_eq!(due(&mut other, "other", 61_000), vec![ids[1]]);
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
        without_lease_end(row(&store, ids[1])),
        ("retrying".into(), Some("other".into()), 2)
    );
    assert!(row(&store, ids[1]).2.is_some());
    assert_eq!(attempt_rows(&store, ids[1]), 2);
}

#[test]
fn released_deliveries_are_due_again_at_once() {
    let Some((_url, mut store, customer, _)) =
        database("released_deliveries_are_due_again_at_once")
    else {
        return;
    };
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
fn new_released_and_again_due_work_is_announced_to_a_watcher() {
    let Some((url, mut store, customer, webhook)) =
        database("new_released_and_again_due_work_is_announced_to_a_watcher")
    else {
        return;
    };
    let watcher = open(&url);
    let wait = |timeout: u64| {
        watcher
            .wait_for_work(Duration::from_millis(timeout))
            .unwrap()
    };
    // Listening from here on; nothing yet.
    assert!(!wait(0));
    // An event no webhook wants creates no work: no announcement.
    store
        .record_events(
            &[NewEvent {
                customer,
                event_type: EventType::JobFailed,
                event_id: None,
                payload: b"{}",
            }],
            0,
        )
        .unwrap();
    assert!(!wait(200));
    let ids = record(&mut store, customer, 2, 0);
    assert!(wait(5_000), "new deliveries are announced");
    due(&mut store, "me", 1_000);
    store.release(&ids[..1], "someone else").unwrap();
    assert!(!wait(200), "releasing nothing announces nothing");
    store.release(&ids[..1], "me").unwrap();
    assert!(wait(5_000), "released work is announced");
    // Due again later: no announcement; due again at once: one.
    let mut later = outcome(ids[1], webhook, Health::Failing);
    later.next_attempt_at = Some(50_000);
    store.record_outcomes(&[later], "me", 2_000).unwrap();
    assert!(!wait(200));
    due(&mut store, "me", 60_000);
    let mut now = outcome(ids[1], webhook, Health::Failing);
    now.next_attempt_at = Some(60_000);
    store.record_outcomes(&[now], "me", 60_000).unwrap();
    assert!(wait(5_000), "work due again at once is announced");
}

/// `failing_since` and (enabled, disabled_reason) of webhook `id`.
fn health(store: &PgStore, id: i64) -> (Option<Millis>, bool, Option<String>) {
    let r = store
        .client()
        .unwrap()
        .query_one(
            "SELECT failing_since, enabled, disabled_reason FROM webhooks WHERE id = $1",
            &[&id],
        )
        .unwrap();
    (r.get(0), r.get(1), r.get(2))
}

#[test]
fn health_in_one_batch_follows_the_answers_in_order() {
    let Some((_url, mut store, customer, webhook)) =
        database("health_in_one_batch_follows_the_answers_in_order")
    else {
        return;
    };
    let ids = record(&mut store, customer, 6, 0);
    assert_eq!(due(&mut store, "me", 1_000).len(), 6);
    // Up, Up, Failing, Failing: failing since this batch, however many answers repeat.
    let batch = [
        outcome(ids[0], webhook, Health::Up),
        outcome(ids[1], webhook, Health::Up),
        outcome(ids[2], webhook, Health::Failing),
        outcome(ids[3], webhook, Health::Failing),
    ];
    store.record_outcomes(&batch, "me", 2_000).unwrap();
    assert_eq!(health(&store, webhook).0, Some(2_000));
    // Failing then Up in one batch: the last answer wins, the webhook is up.
    let batch = [
        outcome(ids[4], webhook, Health::Failing),
        outcome(ids[5], webhook, Health::Up),
    ];
    store.record_outcomes(&batch, "me", 3_000).unwrap();
    assert_eq!(health(&store, webhook), (None, true, None));
    for id in &ids {
        assert_eq!(attempt_rows(&store, *id), 1, "delivery {id} logged once");
    }
}

#[test]
fn failing_too_long_or_gone_disables_the_webhook_once_and_says_why() {
    let Some((_url, mut store, customer, webhook)) =
        database("failing_too_long_or_gone_disables_the_webhook_once_and_says_why")
    else {
        return;
    };
    let gone = add_webhook(&store, customer, "g", r#"["job.completed"]"#);
    exec(
        &store,
        &format!("UPDATE webhooks SET auto_disable_after = 60 WHERE id = {webhook}"),
    );
    let ids = record(&mut store, customer, 3, 0);
    assert_eq!(due(&mut store, "me", 1_000).len(), 6);
    let to = |i: usize| ids[i * 2];
    let to_gone = |i: usize| ids[i * 2 + 1];
    // Failing since 2 s: not yet for longer than 60 s.
    let disabled = store
        .record_outcomes(&[outcome(to(0), webhook, Health::Failing)], "me", 2_000)
        .unwrap();
    assert!(disabled.is_empty());
    assert_eq!(health(&store, webhook), (Some(2_000), true, None));
    // At 62 s it has been: disabled, once, with the reason in words.
    let disabled = store
        .record_outcomes(
            &[
                outcome(to(1), webhook, Health::Failing),
                outcome(to(2), webhook, Health::Failing),
                outcome(to_gone(0), gone, Health::Gone),
                outcome(to_gone(1), gone, Health::Gone),
            ],
            "me",
            62_000,
        )
        .unwrap();
    let reason = crate::domain::delivery::failing_too_long(2_000, 60);
    assert_eq!(disabled.len(), 2, "{disabled:?}");
    assert_eq!(
        (
            disabled[0].webhook,
            disabled[0].name.as_str(),
            &disabled[0].reason
        ),
        (webhook, "w", &reason)
    );
    assert_eq!(health(&store, webhook), (Some(2_000), false, Some(reason)));
    let gone_reason = "the receiver answered 410 Gone at 1970-01-01T00:01:02Z";
    assert_eq!(
        (
            disabled[1].webhook,
            disabled[1].name.as_str(),
            disabled[1].reason.as_str()
        ),
        (gone, "g", gone_reason)
    );
    assert_eq!(
        health(&store, gone),
        (None, false, Some(gone_reason.into()))
    );
    // A disabled webhook gets no new deliveries.
    assert!(record(&mut store, customer, 1, 70_000).is_empty());
}

#[test]
fn recording_makes_one_delivery_per_subscribed_enabled_webhook() {
    let Some((_url, mut store, customer, webhook)) =
        database("recording_makes_one_delivery_per_subscribed_enabled_webhook")
    else {
        return;
    };
    let family = add_webhook(&store, customer, "family", r#"["job.*"]"#);
    let everything = add_webhook(&store, customer, "all", r#"["*"]"#);
    add_webhook(&store, customer, "devices", r#"["device.created"]"#);
    let off = add_webhook(&store, customer, "off", r#"["*"]"#);
    exec(
        &store,
        &format!("UPDATE webhooks SET enabled = false WHERE id = {off}"),
    );
    let recorded = store
        .record_events(
            &[
                NewEvent {
                    customer,
                    event_type: EventType::JobCompleted,
                    event_id: Some(42),
                    payload: b"{\"a\":1}",
                },
                NewEvent {
                    customer,
                    event_type: EventType::JobFailed,
                    event_id: None,
                    payload: b"{}",
                },
            ],
            7_000,
        )
        .unwrap();
    assert_eq!(recorded.len(), 2);
    let webhooks =
        |i: usize| -> Vec<i64> { recorded[i].deliveries.iter().map(|(_, w)| *w).collect() };
    assert_eq!(webhooks(0), vec![webhook, family, everything]);
    assert_eq!(webhooks(1), vec![family, everything]);
    let d = store
        .delivery(Scope::All, recorded[0].deliveries[0].0)
        .unwrap();
    assert_eq!(
        (d.webhook, d.event_id, d.payload.as_slice(), d.status),
        (
            Some(webhook),
            Some(42),
            &b"{\"a\":1}"[..],
            DeliveryStatus::Pending
        )
    );
    assert_eq!((d.next_attempt_at, d.created_at), (Some(7_000), 7_000));
    // Only the webhooks subscribed to it.
    let others = store
        .record_events(
            &[NewEvent {
                customer,
                event_type: EventType::DeviceDeleted,
                event_id: None,
                payload: b"{}",
            }],
            7_000,
        )
        .unwrap();
    assert_eq!(others[0].deliveries.len(), 1);
    assert_eq!(others[0].deliveries[0].1, everything);
    assert!(others[0].event_row > recorded[1].event_row);
}

#[test]
fn a_test_delivery_is_recorded_leased_and_scoped() {
    let Some((_url, mut store, customer, webhook)) =
        database("a_test_delivery_is_recorded_leased_and_scoped")
    else {
        return;
    };
    exec(
        &store,
        &format!("UPDATE webhooks SET enabled = false, timeout_seconds = 3 WHERE id = {webhook}"),
    );
    let before = server_now(&store);
    let job = store
        .record_test(
            Scope::Customer(customer),
            webhook,
            b"{\"t\":1}",
            "me",
            5_000,
        )
        .unwrap();
    let after = server_now(&store);
    assert_eq!(job.event_type, EventType::TEST);
    assert_eq!(job.payload, b"{\"t\":1}");
    assert_eq!(job.attempt, 1);
    let lease = 3 * 2_000 + 5_000;
    assert!((before + lease..=after + lease).contains(&job.lease_until));
    assert!(
        !job.target.as_ref().unwrap().enabled,
        "sent even if disabled"
    );
    assert_eq!(row(&store, job.delivery_id).1.as_deref(), Some("me"));
    // Not someone else's, nor an unknown one.
    for (scope, id) in [
        (Scope::Customer(CustomerId(customer.0 + 1)), webhook),
        (Scope::All, webhook + 100),
    ] {
        let e = store
            .record_test(scope, id, b"{}", "me", 5_000)
            .unwrap_err();
        assert!(
            matches!(
                e,
                crate::store::StoreError::NotFound {
                    what: "webhook",
                    ..
                }
            ),
            "{e:?}"
        );
    }
}

#[test]
fn history_filters_backlog_next_due_and_known_webhooks() {
    let Some((_url, mut store, customer, webhook)) =
        database("history_filters_backlog_next_due_and_known_webhooks")
    else {
        return;
    };
    let stranger = CustomerId(sql_id(
        &store,
        "INSERT INTO customers (name, created_at) VALUES ('other', 0) RETURNING id",
    ));
    let theirs = add_webhook(&store, stranger, "x", r#"["*"]"#);
    let early = record(&mut store, customer, 2, 1_000);
    let late = record(&mut store, customer, 1, 5_000);
    let foreign = record(&mut store, stranger, 1, 3_000);

    let list = |scope: Scope, f: DeliveryFilter| -> Vec<i64> {
        store
            .deliveries(scope, &f)
            .unwrap()
            .iter()
            .map(|d| d.id)
            .collect()
    };
    // Newest first, scoped, filtered.
    assert_eq!(
        list(Scope::Customer(customer), DeliveryFilter::default()),
        vec![late[0], early[1], early[0]]
    );
    assert_eq!(
        list(
            Scope::All,
            DeliveryFilter {
                limit: Some(2),
                ..Default::default()
            }
        ),
        vec![foreign[0], late[0]]
    );
    assert_eq!(
        list(
            Scope::All,
            DeliveryFilter {
                webhook: Some(theirs),
                ..Default::default()
            }
        ),
        foreign
    );
    assert_eq!(
        list(
            Scope::All,
            DeliveryFilter {
                since: Some(4_000),
                status: Some(DeliveryStatus::Pending),
                event_type: Some(Subscription::Exact(EventType::JobCompleted)),
                ..Default::default()
            }
        ),
        late
    );
    // A family: every delivery of its events; another family's, none.
    let of = |family: &str| DeliveryFilter {
        event_type: Some(Subscription::parse(family).unwrap()),
        ..Default::default()
    };
    assert_eq!(
        list(Scope::All, of("job.*")),
        vec![foreign[0], late[0], early[1], early[0]]
    );
    assert_eq!(store.count_deliveries(Scope::All, &of("job.*")).unwrap(), 4);
    assert!(list(Scope::All, of("device.*")).is_empty());
    assert_eq!(
        store.count_deliveries(Scope::All, &of("device.*")).unwrap(),
        0
    );
    assert!(list(
        Scope::All,
        DeliveryFilter {
            status: Some(DeliveryStatus::Success),
            ..Default::default()
        }
    )
    .is_empty());
    // One delivery, if the scope may see it.
    assert_eq!(
        store.delivery(Scope::All, foreign[0]).unwrap().id,
        foreign[0]
    );
    let e = store
        .delivery(Scope::Customer(customer), foreign[0])
        .unwrap_err();
    assert!(matches!(
        e,
        crate::store::StoreError::NotFound {
            what: "delivery",
            ..
        }
    ));
    // Known webhooks: its own, or a deleted one whose deliveries it may see.
    store
        .webhook_known(Scope::Customer(customer), webhook)
        .unwrap();
    assert!(store
        .webhook_known(Scope::Customer(customer), theirs)
        .is_err());
    exec(&store, &format!("DELETE FROM webhooks WHERE id = {theirs}"));
    store
        .webhook_known(Scope::Customer(stranger), theirs)
        .unwrap();
    assert!(
        store
            .delivery(Scope::All, foreign[0])
            .unwrap()
            .webhook_deleted
    );
    assert!(store.webhook_known(Scope::All, theirs + 100).is_err());
    // Backlog and next due, by the caller's clock.
    assert_eq!(
        store.backlog(Scope::All, 3_000).unwrap(),
        crate::store::Backlog {
            due: 3,
            oldest_due_at: Some(1_000)
        }
    );
    assert_eq!(
        store.backlog(Scope::Customer(stranger), 2_000).unwrap().due,
        0
    );
    assert_eq!(store.next_due(Scope::All).unwrap(), Some(1_000));
    assert_eq!(
        store.next_due(Scope::Customer(stranger)).unwrap(),
        Some(3_000)
    );
    // A leased one falls due when its lease runs out.
    let leased = store
        .claim(
            Scope::Customer(stranger),
            Claim::DueIds(&foreign),
            "me",
            3_000,
        )
        .unwrap()
        .jobs;
    assert_eq!(
        store.next_due(Scope::Customer(stranger)).unwrap(),
        Some(leased[0].lease_until)
    );
    assert_eq!(store.attempts(early[0]).unwrap().len(), 0);
}

#[test]
fn stats_count_by_webhook_and_list_attempts_of_those_deliveries() {
    let Some((_url, mut store, customer, webhook)) =
        database("stats_count_by_webhook_and_list_attempts_of_those_deliveries")
    else {
        return;
    };
    let gone = add_webhook(&store, customer, "old", r#"["*"]"#);
    let ids = record(&mut store, customer, 3, 1_000);
    assert_eq!(due(&mut store, "me", 2_000).len(), 6);
    let mut outcomes = vec![
        outcome(ids[0], webhook, Health::Up),
        outcome(ids[2], webhook, Health::Failing),
        outcome(ids[1], gone, Health::Up),
    ];
    outcomes[1].status = DeliveryStatus::Failed;
    outcomes[1].attempt.as_mut().unwrap().started_at = 1_500;
    store.record_outcomes(&outcomes, "me", 2_000).unwrap();
    exec(
        &store,
        &format!(
            "UPDATE deliveries SET webhook_name = 'renamed' WHERE id = {};
             DELETE FROM webhooks WHERE id = {gone}",
            ids[5]
        ),
    );
    let (counts, attempts) = store.stats(Scope::All, 0, None).unwrap();
    assert_eq!(counts.len(), 2, "{counts:?}");
    let w = &counts[0];
    assert_eq!(
        (w.webhook, w.webhook_name.as_str(), w.webhook_deleted),
        (Some(webhook), "w", false)
    );
    assert_eq!((w.total, w.success, w.failed, w.open), (3, 1, 1, 1));
    let g = &counts[1];
    assert_eq!(
        (g.webhook, g.webhook_name.as_str(), g.webhook_deleted),
        (Some(gone), "renamed", true),
        "the name its last delivery recorded"
    );
    assert_eq!((g.total, g.success, g.failed, g.open), (3, 1, 0, 2));
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[0].started_at, 1_000);
    assert_eq!(attempts[2].started_at, 1_500);
    assert!(!attempts[2].ok);
    assert_eq!(attempts.iter().filter(|a| a.ok).count(), 2);
    // Of one webhook, or since later than all: fewer.
    let (counts, attempts) = store.stats(Scope::All, 0, Some(webhook)).unwrap();
    assert_eq!((counts.len(), attempts.len()), (1, 2));
    let (counts, attempts) = store.stats(Scope::All, 1_001, None).unwrap();
    assert!(counts.is_empty() && attempts.is_empty());
    let (counts, _) = store
        .stats(Scope::Customer(CustomerId(customer.0 + 1)), 0, None)
        .unwrap();
    assert!(counts.is_empty());
}

/// The `queue` rows: (delivery, next attempt, lease owner), by delivery.
fn queue(store: &PgStore) -> Vec<(i64, Option<Millis>, Option<String>)> {
    store
        .client()
        .unwrap()
        .query(
            "SELECT delivery_id, next_attempt_at, lease_owner FROM queue ORDER BY delivery_id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// Closes `store`'s connection (a backend's statistics are sent when it ends, and may be sent
/// in part before) and reads `sql`'s row of three counters on a new one, again until `ready`
/// says the last statement's figures are in (at most 10 s); returns the last row read.
fn statistics(url: &PgUrl, store: PgStore, sql: &str, ready: impl Fn(i64) -> bool) -> [i64; 3] {
    drop(store);
    let watcher = open(url);
    let mut seen = [0; 3];
    for _ in 0..200 {
        let r = watcher.client().unwrap().query_one(sql, &[]).unwrap();
        seen = [r.get(0), r.get(1), r.get(2)];
        if ready(seen[0]) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    seen
}

/// `n` more pending deliveries like `delivery` (same event and webhook), due at 0: a backlog
/// written in one statement.
fn copies(store: &PgStore, delivery: i64, n: i64) {
    store
        .client()
        .unwrap()
        .execute(
            "INSERT INTO deliveries (event_row, customer_id, webhook_id, webhook_name,
                 event_type, status, next_attempt_at, created_at, updated_at)
             SELECT event_row, customer_id, webhook_id, webhook_name, event_type,
                 'pending', 0, 0, 0
             FROM deliveries, generate_series(1, $2::bigint) WHERE id = $1",
            &[&delivery, &n],
        )
        .unwrap();
}

#[test]
fn the_queue_holds_exactly_the_deliveries_waiting_to_be_sent_and_whoever_holds_them() {
    let Some((_url, mut store, customer, webhook)) = database(
        "the_queue_holds_exactly_the_deliveries_waiting_to_be_sent_and_whoever_holds_them",
    ) else {
        return;
    };
    let made = record(&mut store, customer, 5, 0);
    let waiting: Vec<_> = made.iter().map(|&id| (id, Some(0), None)).collect();
    assert_eq!(queue(&store), waiting, "recorded: all waiting, none held");
    assert_eq!(due(&mut store, "me", 1_000), made);
    assert!(queue(&store).iter().all(|q| q.2.as_deref() == Some("me")));
    // Delivered and given up on leave the queue; a retry waits for its time; one not sent is
    // due again at once.
    let mut gave_up = outcome(made[2], webhook, Health::Failing);
    gave_up.status = DeliveryStatus::Failed;
    gave_up.next_attempt_at = None;
    let outcomes = [
        outcome(made[0], webhook, Health::Up),
        outcome(made[1], webhook, Health::Failing),
        gave_up,
        outcome(made[3], webhook, Health::Up),
    ];
    store.record_outcomes(&outcomes, "me", 2_000).unwrap();
    store.release(&made[4..], "me").unwrap();
    assert_eq!(
        queue(&store),
        [(made[1], Some(90_000), None), (made[4], Some(0), None)]
    );
    assert_eq!(row(&store, made[1]).0, "retrying");
    assert_eq!(row(&store, made[2]).0, "failed");
    // A manual retry holds the failed one without making it due, and gives it back as it was.
    let retry = Claim::RetryIds(&made[2..3]);
    let held = store
        .claim(Scope::All, retry, "retrier", 3_000)
        .unwrap()
        .jobs;
    assert_eq!(ids(&held), [made[2]]);
    assert!(queue(&store).contains(&(made[2], None, Some("retrier".to_string()))));
    assert_eq!(due(&mut store, "drain", 100_000), [made[4], made[1]]);
    store.release(&made[2..3], "retrier").unwrap();
    assert!(
        queue(&store).iter().all(|q| q.0 != made[2]),
        "{:?}",
        queue(&store)
    );
    assert_eq!(row(&store, made[2]).0, "failed");
    // Deleting the webhook ends what was waiting; what a drain holds (being sent) is left to
    // it, to record what the receiver answers.
    store.delete_webhook(Scope::All, webhook, 4_000).unwrap();
    let held = Some("drain".to_string());
    assert_eq!(
        queue(&store),
        [
            (made[1], Some(90_000), held.clone()),
            (made[4], Some(0), held)
        ]
    );
    assert_eq!(row(&store, made[1]).0, "retrying");
    // Given back unsent, they are ended by the next claim (nowhere to send them).
    store.release(&[made[1], made[4]], "drain").unwrap();
    let claim = Claim::Due {
        limit: 10,
        exclude: &[],
    };
    let again = store
        .claim(Scope::All, claim, "drain", 200_000)
        .unwrap()
        .jobs;
    assert_eq!(ids(&again), [made[4], made[1]]);
    assert!(again.iter().all(|j| j.target.is_none()));
}

#[test]
fn an_outcome_rewrites_a_delivery_in_place_without_new_index_entries() {
    // What makes many drains on one server scale: a claim touches only the narrow queue,
    // and an outcome changes no indexed column of `deliveries`, so PostgreSQL writes the new
    // row version beside the old one (a HOT update) instead of adding an entry to each of its
    // indexes.
    let Some((url, mut store, customer, webhook)) =
        database("an_outcome_rewrites_a_delivery_in_place_without_new_index_entries")
    else {
        return;
    };
    let ids = record(&mut store, customer, 20, 0);
    assert_eq!(due(&mut store, "me", 1_000), ids);
    let outcomes: Vec<Outcome> = ids
        .iter()
        .map(|&id| outcome(id, webhook, Health::Up))
        .collect();
    store.record_outcomes(&outcomes, "me", 2_000).unwrap();
    let [updates, hot, _] = statistics(
        &url,
        store,
        "SELECT n_tup_upd, n_tup_hot_upd, 0::bigint FROM pg_stat_user_tables
         WHERE relname = 'deliveries'",
        |updates| updates >= 20,
    );
    assert_eq!(
        (updates, hot),
        (20, 20),
        "(updates, HOT updates) of deliveries"
    );
}

#[test]
fn a_delivery_recorded_by_an_older_webnet_is_queued_too() {
    let Some((_url, mut store, customer, webhook)) =
        database("a_delivery_recorded_by_an_older_webnet_is_queued_too")
    else {
        return;
    };
    let event = record(&mut store, customer, 1, 0);
    // A webnet of schema 3, still running on another host after the migration, names only
    // deliveries' columns; a final delivery has nothing to wait for.
    let insert = |status: &str, due: Option<Millis>| -> i64 {
        store
            .client()
            .unwrap()
            .query_one(
                "INSERT INTO deliveries (event_row, customer_id, webhook_id, webhook_name,
                     event_type, status, next_attempt_at, created_at, updated_at)
                 SELECT event_row, customer_id, webhook_id, webhook_name, event_type, $2, $3, 0, 0
                 FROM deliveries WHERE id = $1
                 RETURNING id",
                &[&event[0], &status, &due],
            )
            .unwrap()
            .get(0)
    };
    let older = insert("pending", Some(500));
    let done = insert("success", None);
    let rows = queue(&store);
    assert!(rows.contains(&(older, Some(500), None)), "{rows:?}");
    assert!(rows.iter().all(|r| r.0 != done), "{rows:?}");
    assert_eq!(due(&mut store, "me", 1_000), [event[0], older]);
    assert_eq!(
        store
            .claim(Scope::All, Claim::DueFor { webhook }, "me", 1_000)
            .unwrap()
            .jobs
            .len(),
        0
    );
}

#[test]
fn claims_walk_the_due_index_however_often_they_run() {
    // A long backlog whose statistics are stale (analyzed when it was a quarter of its
    // size), as after a burst of `emit`s. Claims run again and again on one connection, as
    // a drain's do; each must walk the due index to the rows it takes rather than read and
    // sort every due row (what a cached generic plan of the claim did: 50 ms a claim).
    let Some((url, mut store, customer, webhook)) =
        database("claims_walk_the_due_index_however_often_they_run")
    else {
        return;
    };
    let first = record(&mut store, customer, 1, 0)[0];
    // Autovacuum would analyze the queue again and take the staleness away.
    exec(&store, "ALTER TABLE queue SET (autovacuum_enabled = false)");
    copies(&store, first, 25_000);
    exec(&store, "ANALYZE queue");
    copies(&store, first, 75_000);
    let claims = 8;
    let mut taken = BTreeSet::new();
    for _ in 0..claims {
        let claim = Claim::Due {
            limit: 256,
            exclude: &[],
        };
        let jobs = store.claim(Scope::All, claim, "me", 1_000).unwrap().jobs;
        assert_eq!(jobs.len(), 256);
        assert!(jobs
            .iter()
            .all(|j| j.target.as_ref().map(|t| t.id) == Some(webhook)));
        taken.extend(ids(&jobs));
    }
    assert_eq!(taken.len(), claims * 256, "no delivery claimed twice");
    // Index entries the claims read: the k-th passes over the (k-1)·256 rows leased before
    // it, so ~9,000 in all when each walks the index; a claim that reads every due row reads
    // 100,000. Counted once the last claim's leases (2,048 updates) are.
    let [updates, read, _] = statistics(
        &url,
        store,
        "SELECT t.n_tup_upd, i.idx_tup_read, 0::bigint
         FROM pg_stat_user_tables t JOIN pg_stat_user_indexes i USING (relid)
         WHERE t.relname = 'queue' AND i.indexrelname = 'queue_due'",
        |updates| updates >= 8 * 256,
    );
    assert!(updates >= 8 * 256, "statistics arrived: {updates} updates");
    assert!(
        (1..50_000).contains(&read),
        "the claims read {read} entries of the due index"
    );
}

#[test]
fn a_probe_of_one_webhook_reads_only_that_webhooks_rows() {
    // The drain probes a receiver that hung with one delivery at a time (`DueFor`), every
    // round, while a healthy webhook's backlog waits in the same queue: a probe must not read
    // the whole queue.
    let Some((url, mut store, customer, healthy)) =
        database("a_probe_of_one_webhook_reads_only_that_webhooks_rows")
    else {
        return;
    };
    let event = record(&mut store, customer, 1, 0)[0];
    copies(&store, event, 20_000);
    let hung = add_webhook(&store, customer, "hung", r#"["job.failed"]"#);
    let probe: i64 = store
        .client()
        .unwrap()
        .query_one(
            "INSERT INTO deliveries (event_row, customer_id, webhook_id, webhook_name,
                 event_type, status, next_attempt_at, created_at, updated_at)
             VALUES ($1, $2, $3, 'hung', 'job.failed', 'pending', 500, 0, 0) RETURNING id",
            &[&event, &customer.0, &hung],
        )
        .unwrap()
        .get(0);
    exec(&store, "ANALYZE queue");
    for _ in 0..5 {
        let jobs = store
            .claim(Scope::All, Claim::DueFor { webhook: hung }, "me", 1_000)
            .unwrap()
            .jobs;
        assert_eq!(ids(&jobs), [probe]);
        store.release(&[probe], "me").unwrap();
    }
    assert_eq!(
        store
            .claim(Scope::All, Claim::DueFor { webhook: healthy }, "me", 1_000)
            .unwrap()
            .jobs
            .len(),
        1
    );
    // Rows of `queue` read by sequential scans: none when each probe goes by its webhook;
    // 20,000 a probe otherwise. Counted once all 11 updates (5 leases, 5 releases, the last
    // claim) are.
    let seen = statistics(
        &url,
        store,
        "SELECT t.n_tup_upd, t.seq_tup_read, coalesce(i.idx_scan, 0)
         FROM pg_stat_user_tables t LEFT JOIN pg_stat_user_indexes i
             ON i.relid = t.relid AND i.indexrelname = 'queue_webhook_due'
         WHERE t.relname = 'queue'",
        |updates| updates >= 11,
    );
    assert!(seen[0] >= 11, "statistics arrived: {seen:?}");
    assert!(
        seen[1] < 20_000,
        "{} rows read by sequential scans",
        seen[1]
    );
    assert!(
        seen[2] >= 5,
        "the probes went by the webhook's index: {seen:?}"
    );
}

/// One batch of events of two customers and several types is recorded as one event at a
/// time would be: each event's deliveries go to its own customer's enabled webhooks
/// subscribed to its type, its family or everything, numbered in the events' order, and
/// every one is queued.
#[test]
fn a_batch_of_events_is_recorded_event_by_event_in_one_transaction() {
    let Some((_url, mut store, acme, exact)) = database("record_batch") else {
        return;
    };
    let family = add_webhook(&store, acme, "family", r#"["job.*"]"#);
    let every = add_webhook(&store, acme, "every", r#"["*"]"#);
    let off = add_webhook(&store, acme, "off", r#"["*"]"#);
    exec(
        &store,
        &format!("UPDATE webhooks SET enabled = false WHERE id = {off}"),
    );
    let globex = CustomerId(sql_id(
        &store,
        "INSERT INTO customers (name, created_at) VALUES ('globex', 0) RETURNING id",
    ));
    let theirs = add_webhook(&store, globex, "theirs", r#"["*"]"#);
    let event = |customer, event_type, event_id| NewEvent {
        customer,
        event_type,
        event_id,
        payload: b"{\"n\": 1}",
    };
    let events = [
        event(acme, EventType::JobCompleted, Some(7)),
        event(globex, EventType::JobCompleted, None),
        event(acme, EventType::DeviceCreated, None),
        event(acme, EventType::JobFailed, Some(9)),
        event(globex, EventType::ConfigChanged, None),
    ];
    let recorded = store.record_events(&events, 5_000).unwrap();
    let webhooks: Vec<Vec<i64>> = recorded
        .iter()
        .map(|r| r.deliveries.iter().map(|(_, w)| *w).collect())
        .collect();
    assert_eq!(
        webhooks,
        vec![
            vec![exact, family, every],
            vec![theirs],
            vec![every],
            vec![family, every],
            vec![theirs],
        ]
    );
    // Deliveries numbered in the batch's order (each event's row is checked below).
    let deliveries: Vec<i64> = recorded
        .iter()
        .flat_map(|r| r.deliveries.iter().map(|(d, _)| *d))
        .collect();
    assert!(deliveries.windows(2).all(|w| w[0] < w[1]), "{deliveries:?}");
    // What was stored: each event as given, each delivery with its event's type and id.
    let mut client = store.client().unwrap();
    for (r, e) in recorded.iter().zip(&events) {
        let stored = client
            .query_one(
                "SELECT customer_id, event_type, source_event_id, payload, created_at
                 FROM events WHERE id = $1",
                &[&r.event_row],
            )
            .unwrap();
        assert_eq!(stored.get::<_, i64>(0), e.customer.0);
        assert_eq!(stored.get::<_, String>(1), e.event_type.as_str());
        assert_eq!(stored.get::<_, Option<i64>>(2), e.event_id);
        assert_eq!(stored.get::<_, Vec<u8>>(3), e.payload);
        assert_eq!(stored.get::<_, i64>(4), 5_000);
        for (d, w) in &r.deliveries {
            let stored = client
                .query_one(
                    "SELECT d.event_row, d.customer_id, d.webhook_id, d.event_type, d.event_id,
                        d.status, d.next_attempt_at, q.next_attempt_at
                     FROM deliveries d JOIN queue q ON q.delivery_id = d.id WHERE d.id = $1",
                    &[d],
                )
                .unwrap();
            assert_eq!(stored.get::<_, i64>(0), r.event_row);
            assert_eq!(stored.get::<_, i64>(1), e.customer.0);
            assert_eq!(stored.get::<_, i64>(2), *w);
            assert_eq!(stored.get::<_, String>(3), e.event_type.as_str());
            assert_eq!(stored.get::<_, Option<i64>>(4), e.event_id);
            assert_eq!(stored.get::<_, String>(5), "pending");
            assert_eq!(stored.get::<_, Option<i64>>(6), Some(5_000));
            assert_eq!(stored.get::<_, Option<i64>>(7), Some(5_000));
        }
    }
    let counts = client
        .query_one(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM deliveries),
                (SELECT count(*) FROM queue)",
            &[],
        )
        .unwrap();
    assert_eq!(
        (
            counts.get::<_, i64>(0),
            counts.get::<_, i64>(1),
            counts.get::<_, i64>(2)
        ),
        (5, 8, 8)
    );
    // Nothing to record is nothing done.
    drop(client);
    assert!(store.record_events(&[], 6_000).unwrap().is_empty());
}

/// A role granted only the tables (an operator's runtime role, with `db migrate` run by the
/// schema's owner) records events: recording asks for no privilege on the tables' sequences.
/// Needs a test role that may create roles (`.ci/test-postgres` grants it); skipped otherwise.
#[test]
fn a_role_granted_only_the_tables_records_events() {
    let Some((_url, store, acme, webhook)) = database("table_privileges") else {
        return;
    };
    let may_create_roles: bool = sql_value(
        &store,
        "SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user",
    );
    if !may_create_roles {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED a_role_granted_only_the_tables_records_events: the WEBNET_TEST_PG role may not create roles"
        );
        return;
    }
    let db: String = sql_value(&store, "SELECT current_database()");
    let role = format!("{db}_app");
    let mut u = url::Url::parse(&std::env::var("WEBNET_TEST_PG").unwrap()).unwrap();
    u.set_username(&role).unwrap();
    u.set_password(Some("app-password")).unwrap();
    u.set_path(&db);
    let app = PgUrl::parse(u.as_str(), None).unwrap();
    /// Drops the role however the test ends.
    struct Dropped<'a>(&'a PgStore, String);
    impl Drop for Dropped<'_> {
        fn drop(&mut self) {
            let sql = format!("DROP OWNED BY {0}; DROP ROLE {0}", self.1);
            if let Ok(mut c) = self.0.client() {
                let _ = c.batch_execute(&sql);
            }
        }
    }
    exec(
        &store,
        &format!(
            "CREATE ROLE {role} LOGIN PASSWORD 'app-password';
             GRANT USAGE ON SCHEMA webnet TO {role};
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA webnet TO {role};"
        ),
    );
    let _dropped = Dropped(&store, role);
    let mut as_app = PgStore::open_existing(&app, KeySource::default()).unwrap();
    let recorded = as_app
        .record_events(
            &[NewEvent {
                customer: acme,
                event_type: EventType::JobCompleted,
                event_id: Some(1),
                payload: b"{}",
            }],
            1_000,
        )
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].deliveries.len(), 1);
    assert_eq!(recorded[0].deliveries[0].1, webhook);
    // Not a sequence privilege: this role cannot take a number from one itself.
    let denied = as_app
        .client()
        .unwrap()
        .query_one(
            "SELECT nextval(pg_get_serial_sequence('events', 'id'))",
            &[],
        )
        .unwrap_err();
    assert_eq!(
        denied.code(),
        Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
        "{denied:?}"
    );
    drop(as_app);
}
