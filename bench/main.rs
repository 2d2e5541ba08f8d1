//! webnet benchmarks: the real binary against a recording receiver on loopback, each figure next
//! to a baseline measured in the same run. Loopback only; every loop is bounded.
//!
//!   cargo bench --bench webnet                  small sizes, optimised build
//!   cargo test --bench webnet                   small sizes, unoptimised: what CI runs, a smoke
//!                                               test of the harness (its figures mean nothing)
//!   cargo bench --bench webnet -- --full        the sizes of BENCHMARKS.md
//!   cargo bench --bench webnet -- --full --write   also rewrite BENCHMARKS.md and bench/chart.svg
//!   WEBNET_BENCH_ONLY=prune cargo bench --bench webnet -- --full   one scenario (drain, isolation,
//!                                                                  prune, postgres, serve) and its
//!                                                                  baseline
//!   WEBNET_BENCH_PG=postgres://… cargo bench --bench webnet   also drains on PostgreSQL (1, 2, 4
//!                                                             processes; an admin URL)

// The tests' helpers (`Env`: the binary on a temporary database, `webhooks create`).
#[path = "../tests/it/common/mod.rs"]
mod common;
mod cpu;
mod postgres;
mod receiver;
mod report;
mod retention;
mod scenarios;
mod serve;
mod serve_process;

use std::path::PathBuf;

pub struct Sizes {
    pub drain: u64,
    pub drain_webhooks: u64,
    pub ndjson: u64,
    pub emit_runs: usize,
    pub fanout: u64,
    pub isolation: u64,
    pub list_webhooks: u64,
    pub list_runs: usize,
    /// Final deliveries in the database `deliveries prune` empties.
    pub prune: u64,
    /// Events POSTed to `webnet serve` by its 16 clients (and straight to the receiver).
    pub serve_events: u64,
    /// Seconds of the paced 200 events/s sender that measures publish latency.
    pub serve_latency_secs: u64,
}

impl Sizes {
    fn small() -> Sizes {
        Sizes {
            drain: 2_000,
            drain_webhooks: 100,
            ndjson: 2_000,
            emit_runs: 20,
            fanout: 100,
            isolation: 1_000,
            list_webhooks: 1_000,
            list_runs: 10,
            prune: 20_000,
            serve_events: 2_000,
            serve_latency_secs: 2,
        }
    }

    fn full() -> Sizes {
        Sizes {
            drain: 100_000,
            drain_webhooks: 100,
            ndjson: 100_000,
            emit_runs: 200,
            fanout: 1_000,
            isolation: 10_000,
            list_webhooks: 1_000,
            list_runs: 50,
            prune: 1_000_000,
            serve_events: 20_000,
            serve_latency_secs: 10,
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("usage: cargo bench --bench webnet -- [--full] [--write]");
        println!(
            "  WEBNET_BENCH_BIN=PATH   measure that webnet binary (another commit's build) instead\n  WEBNET_BENCH_ONLY=drain|isolation|prune|postgres|serve   one scenario, beside the baseline it"
        );
        println!(
            "                                           is judged against (measured in the run)"
        );
        return;
    }
    let only = std::env::var("WEBNET_BENCH_ONLY").ok();
    if let Some(only) = &only {
        if !["drain", "isolation", "prune", "postgres", "serve"].contains(&only.as_str()) {
            eprintln!(
                "error: WEBNET_BENCH_ONLY: {only:?} is not a scenario (drain, isolation, prune, postgres or serve)"
            );
            std::process::exit(2);
        }
    }
    // `cargo bench` passes `--bench`; ignore anything else we do not know.
    let full = args.iter().any(|a| a == "--full");
    let write = args.iter().any(|a| a == "--write");
    if write && cfg!(debug_assertions) {
        eprintln!(
            "error: --write: this is an unoptimised build (`cargo test --bench`): its figures would replace BENCHMARKS.md's; run `cargo bench --bench webnet -- --full --write`"
        );
        std::process::exit(2);
    }
    let sizes = if full { Sizes::full() } else { Sizes::small() };
    // `WEBNET_BENCH_BIN`: another build of webnet to measure (an older commit's, to compare
    // code against code in the same hour on this machine whose speed drifts).
    let bin = std::env::var_os("WEBNET_BENCH_BIN")
        .filter(|b| !b.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_webnet")));
    // The server's scenario lives beside the others rather than in `run_all`: it brings its
    // own receiver and baselines.
    let results = match only.as_deref() {
        Some("serve") => serve::run(&bin, &sizes),
        Some(_) => scenarios::run_all(&bin, &sizes),
        None => {
            let mut all = scenarios::run_all(&bin, &sizes);
            all.extend(serve::run(&bin, &sizes));
            all
        }
    };
    let table = report::markdown(&results, full);
    println!("{table}");
    if write {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        report::write(&root, &results, &table).expect("write BENCHMARKS.md and bench/chart.svg");
        println!("wrote BENCHMARKS.md and bench/chart.svg");
    }
    let failed: Vec<_> = results.iter().filter(|r| r.broken).collect();
    if !failed.is_empty() {
        for f in &failed {
            eprintln!("harness check failed: {} / {}", f.scenario, f.name);
        }
        std::process::exit(1);
    }
    println!("{} passed, 0 failed", results.len());
}
