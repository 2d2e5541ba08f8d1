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
