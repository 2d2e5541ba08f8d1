//! `webnet stats`: per webhook, over a period: deliveries, success rate, attempts and failed
//! attempts, latency, and sparklines of attempts and of failed attempts across the period.

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
    let (counts, attempts) = crate::ops::deliveries::stats(&store, ctx.scope, start, webhook)?;
    // Webhooks by id; deliveries of webhooks deleted before ids were kept, by name.
    let key = |id: Option<i64>, name: &str| (id, id.is_none().then(|| name.to_string()));
    let mut by_hook: BTreeMap<(Option<i64>, Option<String>), Vec<&AttemptStat>> = BTreeMap::new();
    for a in &attempts {
        by_hook
            .entry(key(a.webhook, &a.webhook_name))
            .or_default()
            .push(a);
    }
    let mut rows: Vec<Value> = Vec::new();
    // Every webhook with deliveries in the period, once; attempts are those deliveries'.
    for c in &counts {
        let list = by_hook
            .get(&key(c.webhook, &c.webhook_name))
            .cloned()
            .unwrap_or_default();
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
            "webhook": c.webhook,
            "webhook_name": c.webhook_name,
            "webhook_deleted": c.webhook_deleted,
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
    // The id first: two customers' webhooks may share a name.
    const COLUMNS: &[Column] = &[
        ("ID", "webhook"),
        ("WEBHOOK", "webhook_name"),
        ("DELIVERIES", "deliveries"),
        ("SUCCESS %", "success_rate"),
        ("ATTEMPTS", "attempts"),
        ("FAILED", "failed_attempts"),
        ("P50 MS", "latency_p50_ms"),
        ("P95 MS", "latency_p95_ms"),
        ("ATTEMPTS OVER TIME", "activity"),
        ("FAILURES OVER TIME", "failures"),
    ];
    if ctx.format == output::Format::Table {
        rows.iter_mut().for_each(super::views::mark_deleted_webhook);
    }
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
