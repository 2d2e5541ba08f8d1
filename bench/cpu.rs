//! How busy the whole machine was over a stretch of time: every process (the drains, the
//! database server, the receiver), from `/proc/stat`. A throughput that does not grow with
//! more processes is explained by this figure: near 100 % the cores are the limit, not the
//! design.

/// The machine's CPU counters at one moment (Linux; `None` elsewhere).
pub struct MachineCpu {
    busy: u64,
    total: u64,
}

impl MachineCpu {
    pub fn now() -> Option<MachineCpu> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().next()?.strip_prefix("cpu ")?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        // user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
        let total: u64 = fields.iter().take(8).sum();
        let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
        Some(MachineCpu {
            busy: total - idle,
            total,
        })
    }

    /// The share of all cores busy since `self` was read, in percent.
    pub fn busy_percent_since(&self) -> Option<f64> {
        let now = MachineCpu::now()?;
        let total = now.total.checked_sub(self.total)?;
        (total > 0).then(|| (now.busy - self.busy) as f64 * 100.0 / total as f64)
    }
}

/// CPU time of the `webnet` processes and of PostgreSQL's over a stretch of time, sampled from
/// `/proc` every 100 ms by a thread (a process that ends is counted up to its last sample:
/// PostgreSQL's backends end with the drains that used them, and are reaped by the server).
pub struct ByProcess {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<(u64, u64)>,
}

/// Each process seen: (`webnet`?, ticks when first seen, ticks at its last sample).
type Seen = std::collections::HashMap<u32, (bool, u64, u64)>;

fn sample(seen: &mut Seen, first: bool) {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state … utime stime: the 12th and 13th fields after the comm.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        let webnet = comm == "webnet";
        if !webnet && !comm.starts_with("postgres") {
            continue;
        }
        let rest: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let ticks: u64 = [11, 12]
            .iter()
            .filter_map(|&i| rest.get(i)?.parse::<u64>().ok())
            .sum();
        let e = seen
            .entry(pid)
            .or_insert((webnet, if first { ticks } else { 0 }, ticks));
        e.2 = ticks;
    }
}

impl ByProcess {
    pub fn start() -> ByProcess {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut seen = Seen::new();
            sample(&mut seen, true);
            while !stopped.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(100));
                sample(&mut seen, false);
            }
            let (mut webnet, mut postgres) = (0, 0);
            for (is_webnet, from, to) in seen.values() {
                let used = to.saturating_sub(*from);
                if *is_webnet {
                    webnet += used;
                } else {
                    postgres += used;
                }
            }
            (webnet, postgres)
        });
        ByProcess { stop, thread }
    }

    /// CPU µs per item of `n` since the start: (`webnet` processes, PostgreSQL's).
    pub fn per_item(self, n: u64) -> (f64, f64) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let (webnet, postgres) = self.thread.join().unwrap_or((0, 0));
        // Clock ticks of 10 ms (USER_HZ is 100 on Linux).
        let per = |ticks: u64| ticks as f64 * 10_000.0 / n.max(1) as f64;
        (per(webnet), per(postgres))
    }
}
