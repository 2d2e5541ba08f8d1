//! Unit tests of the engine against a real SQLite file and a loopback receiver, with a clock
//! the test moves (no sleeping for backoffs or leases).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::*;
use crate::delivery::keys::{KeyCache, KEY_RELOAD};
use crate::delivery::DeliveryError;
use crate::domain::webhook::WebhookSettings;
use crate::domain::{EventType, Secret};
use crate::store::{Claim, DeliveryStatus, NewEvent, NewKey, Target};

const START: Millis = 1_000_000_000;

/// A receiver on loopback answering every request with `status`, counting them; stopped on
/// drop.
struct Receiver {
    port: u16,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    fn answering(status: u16) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopped) = (Arc::clone(&requests), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                // Headers, then as much body as they announce.
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                let body_at = loop {
                    let n = conn.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        break None;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    if let Some(i) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        break Some(i + 4);
                    }
                };
                let Some(body_at) = body_at else { continue };
                let head = String::from_utf8_lossy(&seen[..body_at]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                while seen.len() < body_at + length {
                    let n = conn.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    seen.extend_from_slice(&buf[..n]);
                }
                count.fetch_add(1, Ordering::SeqCst);
                let answer = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = conn.write_all(answer.as_bytes());
            }
        });
        Receiver {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn settings(url: &str) -> WebhookSettings {
    WebhookSettings::example(url)
}

/// A database with one customer and one webhook to `rx`, and `n` events recorded at `START`.
fn database(dir: &tempfile::TempDir, rx: &Receiver, n: usize) -> Store {
    let mut store = Store::open(&dir.path().join("w.db"), None).unwrap();
    let customer = store.create_customer("acme", START).unwrap().id;
    let url = format!("http://127.0.0.1:{}/", rx.port);
    store
        .create_webhook(customer, &settings(&url), None, START)
        .unwrap();
    let event_type: EventType = "job.completed".parse().unwrap();
    let events: Vec<NewEvent<'_>> = (0..n)
        .map(|_| NewEvent {
            customer,
            event_type,
            event_id: None,
            payload: b"{}",
        })
        .collect();
    store.record_events(&events, START).unwrap();
    store
}

fn engine<'s>(store: &'s mut Store, clock: &Clock) -> Engine<'s> {
    Engine::new(store, Scope::All, TargetPolicy::any(), 1, clock.clone())
}

fn due(limit: usize) -> Claim<'static> {
    Claim::Due {
        limit,
        exclude: &[],
    }
}

#[test]
fn a_failed_delivery_is_due_again_only_once_the_clock_passes_its_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::answering(500);
    let mut store = database(&dir, &rx, 1);
    let clock = Clock::manual(START);
    let mut engine = engine(&mut store, &clock);
    let jobs = engine.claim(due(10)).unwrap();
    assert_eq!(jobs.len(), 1);
    engine.send_claimed(jobs).unwrap();
    assert_eq!(rx.requests(), 1);
    let d = engine.delivery(1).unwrap();
    assert_eq!(d.status, DeliveryStatus::Retrying);
    assert_eq!(
        d.next_attempt_at,
        Some(START + 60_000),
        "the webhook's 60 s backoff"
    );

    // Not due a millisecond before the backoff has passed, due at it.
    clock.advance(59_999);
    assert!(engine.claim(due(10)).unwrap().is_empty());
    clock.advance(1);
    let again = engine.claim(due(10)).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
    engine.send_claimed(again).unwrap();
    assert_eq!(rx.requests(), 2);
    assert_eq!(
        engine.delivery(1).unwrap().next_attempt_at,
        Some(START + 60_000 + 120_000),
        "the second backoff doubles"
    );
    assert_eq!(engine.summary().retrying, 2);
}

#[test]
fn a_lease_too_short_for_the_request_is_not_started_and_is_given_back() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::answering(200);
    let mut store = database(&dir, &rx, 1);
    let clock = Clock::manual(START);
    let mut engine = engine(&mut store, &clock);
    let jobs = engine.claim(due(10)).unwrap();
    let lease_until = jobs[0].lease_until;
    // Claimed, then the clock moves on (a loaded machine): a 10 s request and a second to
    // record it no longer fit before the lease runs out.
    clock.advance(lease_until - 11_000 + 1 - START);
    engine.send_claimed(jobs).unwrap();
    assert_eq!(rx.requests(), 0, "nothing was sent");
    let d = engine.delivery(1).unwrap();
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Pending, 0));
    assert_eq!(engine.summary(), Summary::default());
    // Its lease was given back: due again at once, here or for another process.
    assert_eq!(engine.claim(due(10)).unwrap().len(), 1);
}

#[test]
fn stop_starting_gives_claimed_work_back_and_records_what_was_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::answering(200);
    let mut store = database(&dir, &rx, 3);
    let clock = Clock::manual(START);
    let mut engine = engine(&mut store, &clock);
    let jobs = engine.claim(due(10)).unwrap();
    assert_eq!(jobs.len(), 3);
    // One worker: one request starts, two wait in the queue.
    engine.dispatch(jobs);
    assert_eq!(engine.inflight(), 3);
    engine.stop_starting();
    assert!(engine.stopping());
    assert_eq!(engine.inflight(), 1, "the queued two are given back");
    engine.settle().unwrap();
    assert_eq!(rx.requests(), 1);
    assert_eq!(engine.summary().succeeded, 1);
    assert_eq!(engine.delivery(1).unwrap().status, DeliveryStatus::Success);
    // The two given back are free and due at once, untried.
    let mut again: Vec<i64> = engine
        .claim(due(10))
        .unwrap()
        .iter()
        .map(|j| {
            assert_eq!(j.attempt, 1);
            j.delivery_id
        })
        .collect();
    again.sort_unstable();
    assert_eq!(again, vec![2, 3]);
}

#[test]
fn work_claimed_after_stop_starting_is_given_back_and_settle_returns() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::answering(200);
    let mut store = database(&dir, &rx, 2);
    let clock = Clock::manual(START);
    let mut engine = engine(&mut store, &clock);
    engine.stop_starting();
    let jobs = engine.claim(due(10)).unwrap();
    assert_eq!(jobs.len(), 2);
    engine.dispatch(jobs);
    assert_eq!(engine.inflight(), 0, "nothing starts once stopping");
    // Would wait forever for work no worker takes, were it queued.
    engine.settle().unwrap();
    assert_eq!(rx.requests(), 0);
    let mut again: Vec<i64> = engine
        .claim(due(10))
        .unwrap()
        .iter()
        .map(|j| j.delivery_id)
        .collect();
    again.sort_unstable();
    assert_eq!(again, vec![1, 2], "given back, due at once");
}

/// A claimed delivery to webhook `id` as the database holds it now.
fn job(store: &Store, id: i64, now: Millis) -> Job {
    let target = Target {
        sealed_secret: store.webhook_secret(Scope::All, id).unwrap(),
        ..Target::example(id)
    };
    Job::example(1, target, now + 60_000)
}

#[test]
fn a_rotation_just_after_the_key_was_loaded_is_followed_at_once_and_reloads_are_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    // The engine's store, and another process's (`key rotate`).
    let store = Store::open(&path, None).unwrap();
    let other = Store::open(&path, None).unwrap();
    let customer = other.create_customer("acme", 0).unwrap().id;
    let secret = Secret::new("s3cret").unwrap();
    let id = other
        .create_webhook(
            customer,
            &settings("https://a.example.com/"),
            Some(&secret),
            0,
        )
        .unwrap()
        .id;
    let mut keys = KeyCache::default();
    let mut prepare = |now| keys.prepare(&store, &job(&other, id, now), now);
    prepare(START).expect("signed");

    // Rotated in the same millisecond the key was loaded: the first failure reloads it.
    other.rotate_key(NewKey::File).unwrap();
    prepare(START).expect("signed with the reloaded key");

    // Rotated again at once: a second reload within KEY_RELOAD is refused, so this attempt
    // fails (and is retried later), as does anything damaged, without reloading per job.
    other.rotate_key(NewKey::File).unwrap();
    let failed = prepare(START).err();
    assert!(
        matches!(failed, Some(DeliveryError::DoesNotOpen { .. })),
        "{failed:?}"
    );
    assert!(failed
        .map(|e| e.to_string())
        .unwrap_or_default()
        .starts_with("cannot decrypt the webhook secret: "));

    // Once KEY_RELOAD has passed, the next failure reloads it again.
    prepare(START + KEY_RELOAD.as_millis() as i64).expect("signed after the throttle");
}

#[test]
fn a_request_that_finished_while_the_coordinator_was_busy_is_not_taken_for_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::answering(200);
    let mut store = database(&dir, &rx, 4);
    let clock = Clock::manual(START);
    let mut engine = Engine::new(&mut store, Scope::All, TargetPolicy::any(), 2, clock);
    // Two quick answers set the main lane's pace (the hang limit is ten times it, at most 1 s).
    let jobs = engine.claim(due(2)).unwrap();
    engine.send_claimed(jobs).unwrap();
    assert_eq!(engine.summary().succeeded, 2);
    let jobs = engine.claim(due(2)).unwrap();
    engine.dispatch(jobs);
    // The coordinator is busy elsewhere (a long database write) while both answer...
    while rx.requests() < 4 {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // ...and finds them finished when it looks: not hanging, the webhook not a suspect.
    engine.gather(Some(std::time::Duration::ZERO));
    assert_eq!(engine.isolation.hanging_found(), 0);
    assert_eq!(engine.suspects(), Vec::<i64>::new());
    engine.settle().unwrap();
    assert_eq!(engine.summary().succeeded, 4);
}

#[test]
fn a_manual_retry_gives_back_what_it_could_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::answering(500);
    let mut store = database(&dir, &rx, 2);
    let clock = Clock::manual(START);
    let mut engine = engine(&mut store, &clock);
    let jobs = engine.claim(due(10)).unwrap();
    engine.send_claimed(jobs).unwrap();
    assert_eq!(engine.summary().retrying, 2);
    // Delivery 1 damaged by hand.
    let file = rusqlite::Connection::open(dir.path().join("w.db")).unwrap();
    file.execute(
        "UPDATE deliveries SET event_type = 'job.exploded' WHERE id = 1",
        [],
    )
    .unwrap();
    let jobs = engine.claim(Claim::RetryIds(&[1, 2])).unwrap();
    assert_eq!(jobs.iter().map(|j| j.delivery_id).collect::<Vec<_>>(), [2]);
    let unreadable = engine.take_unreadable();
    assert_eq!(unreadable.len(), 1);
    assert_eq!(unreadable[0].delivery_id, 1);
    assert_eq!(
        unreadable[0].error.to_string(),
        r#"deliveries row 1: event_type "job.exploded" is not an event type"#
    );
    engine.send_claimed(jobs).unwrap();
    assert_eq!(rx.requests(), 3, "only delivery 2 was sent again");
    assert_eq!(engine.summary().unreadable, 1);
    // Given back, not held: it stays as it was, due on its schedule.
    let lease: (Option<i64>, Option<String>, String) = file
        .query_row(
            "SELECT lease_until, lease_owner, status FROM deliveries WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(lease, (None, None, "retrying".to_string()));
}

#[test]
fn an_unreadable_delivery_is_held_and_counted_once_however_often_it_is_met() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::answering(200);
    let mut store = database(&dir, &rx, 1);
    let file = rusqlite::Connection::open(dir.path().join("w.db")).unwrap();
    file.execute(
        "UPDATE deliveries SET event_type = 'job.exploded' WHERE id = 1",
        [],
    )
    .unwrap();
    let clock = Clock::manual(START);
    let mut engine = engine(&mut store, &clock);
    assert!(engine.claim(due(10)).unwrap().is_empty());
    assert_eq!(engine.take_unreadable().len(), 1);
    // Held: passed over until the hold runs out, whatever the webhook's 10 s timeout.
    clock.advance(crate::store::UNREADABLE_HOLD.as_millis() as i64 - 1);
    assert!(engine.claim(due(10)).unwrap().is_empty());
    assert!(engine.take_unreadable().is_empty());
    clock.advance(1);
    assert!(engine.claim(due(10)).unwrap().is_empty());
    assert_eq!(engine.take_unreadable().len(), 1, "met again");
    assert_eq!(engine.unreadable_claimed(), 2);
    assert_eq!(engine.summary().unreadable, 1, "one delivery");
    assert_eq!(rx.requests(), 0);
}
