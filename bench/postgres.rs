//! Drain throughput on PostgreSQL (DESIGN §11): one backlog drained by 1, 2 and 4 `drain`
//! processes at once on one database, beside SQLite's single drain and the keep-alive ceiling,
//! all measured in this run. Needs a server: `WEBNET_BENCH_PG` (or `WEBNET_TEST_PG`) is an
//! admin URL of a role that may create databases; without one the scenario says so and is
//! left out.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::common::{pg, Env};
use crate::cpu::{ByProcess, MachineCpu};
use crate::receiver::{Receiver, WAIT};
use crate::scenarios::{fig, Figure, CONCURRENCY, JOB};

const SCENARIO: &str = "9 PostgreSQL drains";

/// Svix's open-source server (PostgreSQL and Redis) delivering to one endpoint on this class
/// of machine, as reported (not measured here): the closest peer's figure.
const SVIX_EVENTS_PER_S: f64 = 650.0;

fn admin_url() -> Option<String> {
    ["WEBNET_BENCH_PG", "WEBNET_TEST_PG"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
}

/// Profiling knob: `WEBNET_BENCH_PG_PERF=/tmp/pg` records the whole machine with `perf`
/// (drains, PostgreSQL, the receiver) while `drains` drains run, into `/tmp/pg-<drains>.data`.
/// Run it on an otherwise idle machine: everything else is recorded too.
fn perf_record(drains: usize) -> Option<std::process::Child> {
    let out = std::env::var("WEBNET_BENCH_PG_PERF").ok()?;
    let file = format!("{out}-{drains}.data");
    let perf = Command::new("perf")
        .args(["record", "-a", "-g", "-F", "499", "-o", &file])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| eprintln!("WEBNET_BENCH_PG_PERF: cannot run perf: {e}"))
        .ok()?;
    // perf needs a moment to attach before the drains start.
    std::thread::sleep(std::time::Duration::from_millis(300));
    Some(perf)
}

/// `n` deliveries to one webhook drained by 1, 2 and 4 processes, each on a fresh database.
pub fn drains(
    bin: &Path,
    rx: &Receiver,
    n: u64,
    sqlite_rate: f64,
    sqlite_emit: f64,
    ceiling: f64,
) -> Vec<Figure> {
    let Some(admin) = admin_url() else {
        eprintln!("SKIPPED {SCENARIO}: no PostgreSQL server (set WEBNET_BENCH_PG to an admin URL)");
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut one = 0.0;
    let mut four = 0.0;
    // Profiling knob: `WEBNET_BENCH_PG_DRAINS=4` (or `1,4`) runs only those drain counts.
    let counts: Vec<usize> = std::env::var("WEBNET_BENCH_PG_DRAINS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|c: &Vec<usize>| !c.is_empty())
        .unwrap_or_else(|| vec![1, 2, 4]);
    for drains in counts {
        let run = run(bin, rx, &admin, n, drains, "/pg");
        let rate = run.rate;
        let mut f = fig(
            SCENARIO,
            format!("{n} deliveries, {drains} drain process(es) on one PostgreSQL database"),
            rate,
            "deliveries/s",
        )
        .broken_if(run.broken);
        if drains == 1 {
            out.push(
                fig(
                    SCENARIO,
                    format!("emit --queue of those {n} events (NDJSON, one process)"),
                    run.emit_rate,
                    "events/s",
                )
                .against("SQLite, same", sqlite_emit),
            );
        }
        f = match drains {
            1 => {
                one = rate;
                f.against("SQLite, one drain", sqlite_rate)
                    .target("≥ 0.5× SQLite's single drain", rate >= 0.5 * sqlite_rate)
            }
            4 => {
                four = rate;
                f.against("one PostgreSQL drain", one)
                    .target("≥ 2× one PostgreSQL drain", rate >= 2.0 * one)
            }
            _ => f.against("keep-alive ceiling", ceiling),
        };
        out.push(f);
        if let Some(busy) = run.busy {
            out.push(fig(
                SCENARIO,
                format!("machine CPU busy while {drains} drain(s) ran (every process, all cores)"),
                busy,
                "%",
            ));
        }
        out.push(fig(
            SCENARIO,
            format!("CPU per delivery, {drains} drain(s): the drains"),
            run.drain_us,
            "µs",
        ));
        out.push(fig(
            SCENARIO,
            format!("CPU per delivery, {drains} drain(s): PostgreSQL"),
            run.server_us,
            "µs",
        ));
    }
    // The same with a receiver that takes 5 ms to answer, as one across a network does: what
    // limits a drain there is how many requests it keeps in flight, not the cores.
    let slow_n = (n / 5).max(100);
    let mut slow_one = 0.0;
    for drains in [1, 4] {
        let run = run(bin, rx, &admin, slow_n, drains, "/wait");
        let mut f = fig(
            SCENARIO,
            format!(
                "{slow_n} deliveries to a receiver answering in {} ms, {drains} drain process(es)",
                WAIT.as_millis()
            ),
            run.rate,
            "deliveries/s",
        )
        .broken_if(run.broken);
        if drains == 1 {
            slow_one = run.rate;
            let most = CONCURRENCY as f64 / WAIT.as_secs_f64();
            f = f.against(
                format!("{CONCURRENCY} requests in flight at a time, at most"),
                most,
            );
        } else {
            f = f.against("one drain, same receiver", slow_one);
        }
        out.push(f);
    }
    out.push(
        fig(
            SCENARIO,
            "Svix server (PostgreSQL + Redis), one endpoint: reported, not measured here",
            SVIX_EVENTS_PER_S,
            "events/s",
        )
        .against("4 PostgreSQL drains (above)", four),
    );
    out
}

/// One timed drain run: its rate, whether it went wrong, and the CPU it took.
struct Run {
    rate: f64,
    /// The backlog's `emit --queue`, events/s.
    emit_rate: f64,
    broken: bool,
    busy: Option<f64>,
    drain_us: f64,
    server_us: f64,
}

/// `n` deliveries to one webhook at `path` of `rx`, queued on a fresh database, drained by
/// `drains` processes started together.
fn run(bin: &Path, rx: &Receiver, admin: &str, n: u64, drains: usize, path: &str) -> Run {
    let mut env = Env::local();
    env.pg = Some(pg::Database::create(admin));
    env.customer("bench");
    env.create_webhook(&rx.url(path)).name("pg").id();
    let events: String = (0..n)
        .map(|i| format!("{{\"customer\": 1, \"event_type\": \"job.completed\", \"event_id\": {i}, \"job\": {JOB}}}\n"))
        .collect();
    let emitting = Instant::now();
    env.run_stdin(&["emit", "--queue"], &events).ok();
    let emit_rate = n as f64 / emitting.elapsed().as_secs_f64();
    rx.reset();
    let url = env.db_arg();
    let cpu = MachineCpu::now();
    let by_process = ByProcess::start();
    // Profiles only the loopback runs (where the cores are the limit).
    let perf = if path == "/pg" {
        perf_record(drains)
    } else {
        None
    };
    let start = Instant::now();
    let children: Vec<_> = (0..drains)
        .map(|_| {
            Command::new(bin)
                .env("WEBNET_DB", &url)
                .env("WEBNET_KEY_FILE", env.key_file())
                .env("WEBNET_ALLOW_PRIVATE_TARGETS", "1")
                .args(["drain", "--max-time", "30m", "--concurrency"])
                .arg(CONCURRENCY.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn drain")
        })
        .collect();
    let mut failed = false;
    for child in children {
        let o = child.wait_with_output().expect("wait drain");
        if !o.status.success() {
            failed = true;
            let _ = writeln!(
                std::io::stderr(),
                "drain on PostgreSQL failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
    let wall = start.elapsed();
    if let Some(mut p) = perf {
        // perf writes its file when interrupted.
        let _ = Command::new("kill")
            .args(["-INT", &p.id().to_string()])
            .status();
        let _ = p.wait();
    }
    let busy = cpu.as_ref().and_then(MachineCpu::busy_percent_since);
    let (drain_us, server_us) = by_process.per_item(n);
    Run {
        rate: n as f64 / wall.as_secs_f64(),
        emit_rate,
        broken: failed || rx.healthy() < n,
        busy,
        drain_us,
        server_us,
    }
}
