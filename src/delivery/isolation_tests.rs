//! The isolation rules, with time passed in.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::delivery::send::Request;
use crate::store::{Job, Target};

const NOW: Millis = 1_000_000_000;

/// Work for `webhook` whose lease runs until `lease_until`, with a 10 s request.
fn work(delivery: i64, webhook: i64, lease_until: Millis) -> Work {
    Work {
        job: Job::example(delivery, Target::example(webhook), lease_until),
        request: Request {
            url: "https://a.example.com/".into(),
            body: Arc::from(&b"{}"[..]),
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
            verify_ssl: true,
            rendered: false,
        },
    }
}

fn sent(reply: Reply, duration_ms: i64) -> Sent {
    Sent { reply, duration_ms }
}

fn status(code: u16) -> Reply {
    Reply::Status {
        code,
        body: String::new(),
        retry_after: None,
        location: None,
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Isolation whose main lane's pace is `pace` ms (one request measured).
fn paced(pace: i64) -> Isolation {
    let mut iso = Isolation::default();
    iso.handed_out(99);
    iso.started(-1, 99, Instant::now());
    iso.finished(-1, Some(99), false, Some(&sent(status(200), pace)));
    assert_eq!(iso.pace_ms(), Some(pace as f64));
    iso
}

/// Makes `webhook` a suspect by a main-lane request that timed out.
fn timed_out(iso: &mut Isolation, webhook: i64) {
    iso.handed_out(webhook);
    iso.started(-2, webhook, Instant::now());
    iso.finished(
        -2,
        Some(webhook),
        false,
        Some(&sent(Reply::Timeout, 10_000)),
    );
    assert!(iso.suspects().any(|w| w == webhook));
}

fn suspects(iso: &Isolation) -> Vec<i64> {
    let mut s: Vec<i64> = iso.suspects().collect();
    s.sort_unstable();
    s
}

#[test]
fn a_main_lane_request_running_ten_times_the_pace_makes_its_webhook_a_suspect() {
    let t0 = Instant::now();
    let mut iso = paced(5);
    assert_eq!(iso.hang_limit(), ms(50));
    iso.handed_out(8);
    iso.started(1, 8, t0);
    assert_eq!(iso.flag_hanging(t0 + ms(50), 10), 0);
    assert!(suspects(&iso).is_empty());
    assert_eq!(iso.flag_hanging(t0 + ms(51), 10), 1);
    assert_eq!(suspects(&iso), vec![8]);
    assert!(!iso.watching(), "moved to the slow lane's count");

    // At least 10 ms, however fast the pace; at most a second, however slow.
    assert_eq!(paced(0).hang_limit(), ms(10));
    assert_eq!(paced(500).hang_limit(), ms(1000));
    // Unmeasured: 100 ms is assumed.
    assert_eq!(Isolation::default().hang_limit(), ms(1000));
}

#[test]
fn a_timeout_or_a_failed_connection_makes_a_suspect_and_a_refusal_does_not() {
    let mut iso = Isolation::default();
    timed_out(&mut iso, 1);
    iso.handed_out(2);
    iso.started(2, 2, Instant::now());
    iso.finished(
        2,
        Some(2),
        false,
        Some(&sent(Reply::Error("reset".into()), 3)),
    );
    for (id, reply) in [
        (3, Reply::Refused("refused: loopback".into())),
        (4, Reply::ProxyFailed("the proxy refused".into())),
    ] {
        iso.handed_out(id);
        iso.started(id, id, Instant::now());
        iso.finished(id, Some(id), false, Some(&sent(reply, 1)));
    }
    assert_eq!(suspects(&iso), vec![1, 2]);
}

#[test]
fn a_suspect_gets_one_slow_lane_request_at_a_time_and_the_rest_is_parked() {
    let mut iso = Isolation::default();
    timed_out(&mut iso, 8);
    let mut queue: VecDeque<Work> = [(1, 8), (2, 9), (3, 8), (4, 8)]
        .into_iter()
        .map(|(d, w)| {
            iso.handed_out(w);
            work(d, w, NOW + 60_000)
        })
        .collect();
    iso.park(&mut queue);
    let left: Vec<i64> = queue.iter().map(|w| w.job.delivery_id).collect();
    assert_eq!(
        left,
        vec![2],
        "the healthy webhook's work stays in the main queue"
    );
    assert_eq!(iso.parked(), 3);
    assert!(iso.probes(0).is_empty(), "no room in the slow lane");
    let probe: Vec<i64> = iso.probes(10).iter().map(|w| w.job.delivery_id).collect();
    assert_eq!(probe, vec![1]);
    assert!(iso.probes(10).is_empty(), "one at a time");
    assert!(iso.idle_suspects(10).is_empty(), "probing");
    // No answer again: still a suspect, and the next one goes.
    let f = iso.finished(1, Some(8), true, Some(&sent(Reply::Timeout, 10_000)));
    assert!(f.unparked.is_none() && !f.moved);
    assert_eq!(suspects(&iso), vec![8]);
    let probe: Vec<i64> = iso.probes(10).iter().map(|w| w.job.delivery_id).collect();
    assert_eq!(probe, vec![3]);
}

#[test]
fn one_answer_of_any_status_clears_a_suspect_and_its_parked_work_goes_back() {
    let mut iso = Isolation::default();
    timed_out(&mut iso, 8);
    let mut queue: VecDeque<Work> = (1..=3)
        .map(|d| {
            iso.handed_out(8);
            work(d, 8, NOW + 60_000)
        })
        .collect();
    iso.park(&mut queue);
    assert_eq!(iso.probes(10).len(), 1);
    let f = iso.finished(1, Some(8), true, Some(&sent(status(500), 20)));
    assert!(suspects(&iso).is_empty());
    let back: Vec<i64> = f
        .unparked
        .unwrap_or_default()
        .iter()
        .map(|w| w.job.delivery_id)
        .collect();
    assert_eq!(back, vec![2, 3]);
    assert_eq!(iso.parked(), 0);
    assert_eq!(
        iso.pace_ms(),
        Some(10_000.0),
        "the slow lane's 20 ms answer does not move the pace"
    );
}

#[test]
fn parked_work_is_given_back_at_the_end_or_before_its_lease_runs_out() {
    let mut iso = Isolation::default();
    timed_out(&mut iso, 8);
    // A 10 s request and a second to record it: `tight` can start now, but not in
    // PARK_SLACK_MS.
    let tight = NOW + 11_000 + PARK_SLACK_MS - 1;
    let mut queue: VecDeque<Work> = [(1, tight), (2, NOW + 3_600_000)]
        .into_iter()
        .map(|(d, lease)| {
            iso.handed_out(8);
            work(d, 8, lease)
        })
        .collect();
    iso.park(&mut queue);
    assert_eq!(iso.release_parked(NOW - 1, false), Vec::<i64>::new());
    assert_eq!(iso.release_parked(NOW, false), vec![1]);
    assert_eq!(iso.parked(), 1);
    assert!(iso.idle_suspects(10).is_empty(), "one still handed out");
    assert_eq!(
        iso.release_parked(NOW, true),
        vec![2],
        "at the end: all of it"
    );
    assert_eq!(iso.parked(), 0);
    assert_eq!(
        iso.idle_suspects(10),
        vec![8],
        "nothing handed out: it may be probed"
    );
}

#[test]
fn hanging_requests_move_to_the_slow_lanes_count_only_as_far_as_it_has_room() {
    let t0 = Instant::now();
    let mut iso = paced(5);
    for d in 1..=3 {
        iso.handed_out(d);
        iso.started(d, d, t0);
    }
    assert_eq!(iso.flag_hanging(t0 + ms(100), 2), 2);
    assert_eq!(suspects(&iso), vec![1, 2, 3], "every one is a suspect");
    assert!(iso.watching(), "the third keeps its main-lane place");
    assert!(iso.any_moved());
    let moved: Vec<bool> = (1..=3)
        .map(|d| {
            iso.finished(d, Some(d), false, Some(&sent(Reply::Timeout, 10_000)))
                .moved
        })
        .collect();
    assert_eq!(moved.iter().filter(|m| **m).count(), 2);
    assert!(!iso.any_moved() && !iso.watching());
    // Only the one that stayed in the main lane counts for the pace.
    assert_eq!(iso.pace_ms(), Some(0.9 * 5.0 + 0.1 * 10_000.0));
}
