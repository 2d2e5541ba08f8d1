//! `webnet stats`: per webhook, over a period: deliveries, success rate, attempts, latency, and
//! a sparkline of attempts (failures below it) across the period.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use super::output::{self, Column};
use super::{CliError, Context};
use crate::store::AttemptStat;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub fn run(
    ctx: &Context,
    since: Duration,
    webhook: Option<i64>,
    buckets: usize,
) -> Result<(), CliError> {
    let store = ctx.store()?;
    let now = ctx.now();
    let start = now - since.as_millis() as i64;
    let counts = store.delivery_counts(ctx.scope, start, webhook)?;
    let attempts = store.attempt_stats(ctx.scope, start, webhook)?;
    let mut by_hook: BTreeMap<Option<i64>, Vec<&AttemptStat>> = BTreeMap::new();
    for a in &attempts {
        by_hook.entry(a.webhook).or_default().push(a);
    }
    let mut rows: Vec<Value> = Vec::new();
    // Every webhook with deliveries or attempts in the period, once.
    let mut keys: Vec<(Option<i64>, String)> = counts
        .iter()
        .map(|c| (c.webhook, c.webhook_name.clone()))
        .collect();
    for (hook, list) in &by_hook {
        if !keys.iter().any(|(w, _)| w == hook) {
            keys.push((*hook, list[0].webhook_name.clone()));
        }
    }
    for (hook, name) in keys {
        let c = counts
            .iter()
            .find(|c| c.webhook == hook)
            .cloned()
            .unwrap_or_default();
        let list = by_hook.get(&hook).cloned().unwrap_or_default();
        let mut ms: Vec<i64> = list.iter().map(|a| a.duration_ms).collect();
        ms.sort_unstable();
        let pct = |p: f64| {
            ms.get(((ms.len().saturating_sub(1)) as f64 * p).round() as usize)
                .copied()
        };
        let terminal = c.success + c.failed;
        let mut per = vec![0u64; buckets];
        let mut failed = vec![0u64; buckets];
        for a in &list {
            let i = (((a.started_at - start) as f64 / (now - start).max(1) as f64) * buckets as f64)
                as usize;
            let i = i.min(buckets - 1);
            per[i] += 1;
            if !a.ok {
                failed[i] += 1;
            }
        }
        let peak = per.iter().copied().max().unwrap_or(0);
        rows.push(json!({
            "webhook": hook,
            "webhook_name": name,
            "deliveries": c.total,
            "succeeded": c.success,
            "failed": c.failed,
            "open": c.open,
            "success_rate": if terminal > 0 { Some((c.success as f64 / terminal as f64 * 1000.0).round() / 10.0) } else { None },
            "attempts": list.len(),
            "failed_attempts": list.iter().filter(|a| !a.ok).count(),
            "latency_p50_ms": pct(0.5),
            "latency_p95_ms": pct(0.95),
            "activity": sparkline(&per, peak),
            "failures": sparkline(&failed, peak),
        }));
    }
    const COLUMNS: &[Column] = &[
        ("WEBHOOK", "webhook_name"),
        ("DELIVERIES", "deliveries"),
        ("SUCCESS %", "success_rate"),
        ("ATTEMPTS", "attempts"),
        ("P50 MS", "latency_p50_ms"),
        ("P95 MS", "latency_p95_ms"),
        ("ATTEMPTS OVER TIME", "activity"),
        ("FAILED", "failures"),
    ];
    output::print_list(ctx.format, &rows, COLUMNS, "no deliveries in that period");
    Ok(())
}

/// One character per bucket, scaled to `peak`; a space for an empty bucket.
fn sparkline(values: &[u64], peak: u64) -> String {
    values
        .iter()
        .map(|&v| {
            if v == 0 || peak == 0 {
                ' '
            } else {
                BARS[((v * (BARS.len() as u64 - 1)) / peak) as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::sparkline;

    #[test]
    fn sparklines_scale_to_the_peak() {
        assert_eq!(sparkline(&[0, 1, 4, 8], 8), " ▁▄█");
        assert_eq!(sparkline(&[0, 0], 0), "  ");
    }
}
