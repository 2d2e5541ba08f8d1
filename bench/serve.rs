//! Scenario 10, the server: `webnet serve` as the platform meets it. Events POSTed to
//! `/api/v1/events/` by 16 keep-alive clients (accepted, then delivered by the worker in the
//! same process to the bench receiver), beside the same 16 clients POSTing the same bodies
//! straight to the receiver; the round trip of one POST at a steady 200 events/s, beside the
//! same pacing straight to the receiver; the server's resident memory idle and after the
//! ingest; and the time from spawn to its first healthy answer, beside `webnet --version`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::receiver::Receiver;
use crate::scenarios::{fig, percentile, Db, Figure, JOB};
use crate::serve_process::Server;
use crate::Sizes;

const SCENARIO: &str = "10 server";
/// Concurrent keep-alive clients of the ingest and of its ceiling.
const CLIENTS: usize = 16;
/// Issue 13's ingest target: 10× Svix's ~650 events/s to one endpoint.
const INGEST_TARGET: f64 = 6_500.0;
/// The paced sender: one POST every 5 ms (200 events/s), spread over this many threads so a
/// slow answer does not hold back the next send.
const PACE: Duration = Duration::from_millis(5);
const PACED_THREADS: usize = 8;
const STARTS: usize = 10;

/// A keep-alive client with `connections` idle connections kept; statuses are answers, not
/// errors; every request bounded.
pub(crate) fn agent(connections: usize) -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_idle_connections_per_host(connections)
        .http_status_as_error(false)
        // Bounded by phase rather than `timeout_global`: with a deadline for the whole call,
        // ureq bounds the name lookup too, on a thread of its own for every request (it
        // resolves before every request, pooled connection or not), which cut this client's
        // rate to a fifth of the receiver's, on the cores the server needs.
        .timeout_connect(Some(Duration::from_secs(5)))
        .timeout_recv_response(Some(Duration::from_secs(30)))
        .timeout_recv_body(Some(Duration::from_secs(30)))
        .build()
        .new_agent()
}

fn body(i: u64) -> String {
    format!(
        "{{\"customer\": 1, \"event_type\": \"job.completed\", \"event_id\": {i}, \"job\": {JOB}}}"
    )
}

/// One POST of event `i`; its status (0 when there was no answer).
fn post(agent: &ureq::Agent, url: &str, token: &str, i: u64) -> u16 {
    agent
        .post(url)
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(body(i).as_bytes())
        .map(|mut r| {
            let _ = r.body_mut().read_to_vec();
            r.status().as_u16()
        })
        .unwrap_or(0)
}

/// `n` events POSTed to `url` by [`CLIENTS`] threads, each with its own keep-alive agent: how
/// long it took, and how many were answered `ok`.
fn flood(url: &str, token: &str, n: u64, ok: u16) -> (Duration, u64) {
    let good = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..CLIENTS as u64 {
            let good = &good;
            scope.spawn(move || {
                let agent = agent(1);
                for i in (t..n).step_by(CLIENTS) {
                    if post(&agent, url, token, i) == ok {
                        good.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    (start.elapsed(), good.into_inner())
}

/// The open-loop sender: one POST every [`PACE`] for `secs`, event ids from `first`; the round
/// trips in ms (sorted), how many were answered `ok`, and how many went out more than one
/// pace late (every thread busy: the figures then understate the wait).
fn paced(url: &str, token: &str, secs: u64, first: u64, ok: u16) -> (Vec<f64>, u64, u64) {
    let n = secs * 1000 / PACE.as_millis() as u64;
    let times = Mutex::new(Vec::with_capacity(n as usize));
    let (good, late) = (AtomicU64::new(0), AtomicU64::new(0));
    let start = Instant::now() + Duration::from_millis(20);
    std::thread::scope(|scope| {
        for t in 0..PACED_THREADS as u64 {
            let (times, good, late) = (&times, &good, &late);
            scope.spawn(move || {
                let agent = agent(1);
                let mut mine = Vec::new();
                for i in (t..n).step_by(PACED_THREADS) {
                    let due = start + PACE * i as u32;
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    } else if now - due > PACE {
                        late.fetch_add(1, Ordering::Relaxed);
                    }
                    let sent = Instant::now();
                    if post(&agent, url, token, first + i) == ok {
                        good.fetch_add(1, Ordering::Relaxed);
                    }
                    mine.push(sent.elapsed().as_secs_f64() * 1000.0);
                }
                times.lock().unwrap_or_else(|e| e.into_inner()).extend(mine);
            });
        }
    });
    let mut times = times.into_inner().unwrap_or_else(|e| e.into_inner());
    times.sort_by(f64::total_cmp);
    (times, good.into_inner(), late.into_inner())
}

/// An admin token made with `tokens create` (shown once, read from its JSON).
fn admin_token(db: &Db) -> String {
    let out = db
        .cmd()
        .args([
            "tokens", "create", "--name", "bench", "--admin", "--output", "json",
        ])
        .output()
        .expect("tokens create");
    assert!(
        out.status.success(),
        "tokens create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("tokens create JSON");
    v["token"].as_str().expect("the token").to_string()
}

/// Median of [`STARTS`] starts: spawn → first 200 of the health check (stopped with SIGTERM
/// after each); beside `webnet --version`'s spawn → exit, the cost of starting the process.
fn startup(bin: &Path, db: &Db) -> Figure {
    let mut times = Vec::new();
    for _ in 0..STARTS {
        let Some(s) = Server::start(bin, db) else {
            continue;
        };
        if let Some(at) = s.wait_healthy(Duration::from_secs(10)) {
            times.push(at.duration_since(s.spawned).as_secs_f64() * 1000.0);
        }
        s.stop();
    }
    times.sort_by(f64::total_cmp);
    let mut version = Vec::new();
    for _ in 0..STARTS {
        let start = Instant::now();
        let ok = Command::new(bin)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            version.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    version.sort_by(f64::total_cmp);
    let p50 = percentile(&times, 0.5);
    fig(
        SCENARIO,
        format!("start-up: spawn → first 200 of /api/v1/health/, median of {STARTS}"),
        p50,
        "ms",
    )
    .against("`webnet --version` p50", percentile(&version, 0.5))
    .target("≤ 50 ms", p50 <= 50.0)
    .broken_if(times.len() != STARTS)
}

pub fn run(bin: &Path, s: &Sizes) -> Vec<Figure> {
    let rx = Receiver::start();
    let db = Db::new(bin);
    db.setup(&[("serve".into(), rx.url("/serve"), vec![])]);
    let token = admin_token(&db);
    let mut out = vec![startup(bin, &db)];

    let Some(server) = Server::start(bin, &db) else {
        out.push(fig(SCENARIO, "serve did not start", f64::NAN, "ms").broken_if(true));
        return out;
    };
    let healthy = server.wait_healthy(Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(1));
    let idle = server.rss_mib();
    out.push(
        fig(
            SCENARIO,
            "idle RSS of serve, 1 s after its first healthy answer",
            idle.unwrap_or(f64::NAN),
            "MiB",
        )
        .target("≤ 20 MiB", idle.is_some_and(|m| m <= 20.0))
        .broken_if(healthy.is_none() || idle.is_none()),
    );

    // The ceiling: the same clients and bodies straight to the receiver.
    let n = s.serve_events;
    let (took, answered) = flood(&rx.url("/ceiling"), "-", n, 200);
    let ceiling = n as f64 / took.as_secs_f64();
    out.push(
        fig(
            SCENARIO,
            format!("keep-alive ceiling: {CLIENTS} clients POST {n} events to the receiver"),
            ceiling,
            "req/s",
        )
        .broken_if(answered != n),
    );

    rx.reset();
    let perf = server.perf_record();
    let start = Instant::now();
    let (took, accepted) = flood(&server.url("/api/v1/events/"), &token, n, 202);
    let delivered = rx.wait_healthy(n, Duration::from_secs(120 + n / 100));
    if let Some(mut perf) = perf {
        crate::common::server::signal(perf.id(), "INT");
        let _ = perf.wait();
    }
    let rate = n as f64 / took.as_secs_f64();
    if accepted != n {
        server.complain(&format!("accepted {accepted} of {n} events"));
    }
    out.push(
        fig(
            SCENARIO,
            format!("{n} events POSTed by {CLIENTS} keep-alive clients, accepted (202)"),
            rate,
            "events/s",
        )
        .against("keep-alive ceiling", ceiling)
        .target("≥ 6,500/s (10× Svix's ~650/s)", rate >= INGEST_TARGET)
        .broken_if(accepted != n),
    );
    let delivered_in = delivered.map_or(start.elapsed(), |d| d.duration_since(start));
    out.push(
        fig(
            SCENARIO,
            format!("the same {n} events delivered by serve's worker (POSTs start → all received)"),
            rx.healthy() as f64 / delivered_in.as_secs_f64(),
            "events/s",
        )
        .against("keep-alive ceiling", ceiling)
        .broken_if(delivered.is_none()),
    );
    let after = server.rss_mib();
    out.push(
        fig(
            SCENARIO,
            format!("RSS of serve after the {n}-event ingest"),
            after.unwrap_or(f64::NAN),
            "MiB",
        )
        .against("idle", idle.unwrap_or(f64::NAN))
        // Shown, not judged: the target is the idle figure (above).
        .broken_if(after.is_none()),
    );

    // Publish latency at 200 events/s, beside the same pacing straight to the receiver.
    let secs = s.serve_latency_secs;
    let (base, base_ok, _) = paced(&rx.url("/paced"), "-", secs, 0, 200);
    let (times, good, late) = paced(&server.url("/api/v1/events/"), &token, secs, n, 202);
    if late > 0 {
        eprintln!(
            "serve latency: {late} sends went out more than {PACE:?} late (every sender busy)"
        );
    }
    let total = times.len() as u64;
    let label = |what: &str| format!("POST /api/v1/events/ at 200 events/s for {secs} s, {what}");
    let p99 = percentile(&times, 0.99);
    out.push(
        fig(SCENARIO, label("p50"), percentile(&times, 0.5), "ms")
            .against("straight to the receiver, p50", percentile(&base, 0.5))
            .broken_if(good != total || base_ok != base.len() as u64),
    );
    out.push(
        fig(SCENARIO, label("p99"), p99, "ms")
            .against("straight to the receiver, p99", percentile(&base, 0.99))
            .target("< 20 ms", p99 < 20.0)
            .broken_if(good != total),
    );
    out.push(
        fig(
            SCENARIO,
            label("max"),
            times.last().copied().unwrap_or(f64::NAN),
            "ms",
        )
        .against(
            "straight to the receiver, max",
            base.last().copied().unwrap_or(f64::NAN),
        ),
    );
    server.stop();
    out
}
