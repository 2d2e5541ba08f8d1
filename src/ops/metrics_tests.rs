//! `text`: a snapshot as Prometheus text, checked line by line.

use super::text;
use crate::domain::CustomerId;
use crate::store::{
    Backlog, DeliveryStatus, DurationHistogram, MetricsAttempts, MetricsDeliveries, MetricsFailing,
    MetricsSnapshot, MetricsWebhook, MetricsWebhooks,
};

fn hook(customer: i64, id: Option<i64>, name: &str) -> MetricsWebhook {
    MetricsWebhook {
        customer: CustomerId(customer),
        webhook: id,
        name: name.into(),
    }
}

fn snapshot() -> MetricsSnapshot {
    let odd = hook(1, Some(7), "a \"quoted\" \\ name");
    let ops = hook(2, Some(3), "ops");
    let mut cumulative = [0; 12];
    cumulative[3..].fill(2); // two attempts of 30-50 ms
    cumulative[7..].fill(3); // one of under a second
    MetricsSnapshot {
        deliveries: vec![
            MetricsDeliveries {
                webhook: ops.clone(),
                status: DeliveryStatus::Success,
                count: 2,
            },
            MetricsDeliveries {
                webhook: odd.clone(),
                status: DeliveryStatus::Retrying,
                count: 1,
            },
        ],
        attempts: vec![
            MetricsAttempts {
                webhook: ops.clone(),
                success: true,
                count: 2,
            },
            MetricsAttempts {
                webhook: odd.clone(),
                success: false,
                count: 2,
            },
        ],
        backlog: Backlog {
            due: 1,
            oldest_due_at: Some(10_000),
        },
        webhooks: vec![
            MetricsWebhooks {
                customer: CustomerId(1),
                enabled: 1,
                disabled: 0,
                failing: 1,
            },
            MetricsWebhooks {
                customer: CustomerId(2),
                enabled: 1,
                disabled: 1,
                failing: 0,
            },
        ],
        failing: vec![MetricsFailing {
            webhook: odd,
            since: 40_000,
        }],
        durations: DurationHistogram {
            cumulative,
            count: 4,
            sum_ms: 31_580,
        },
    }
}

fn has(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "no line {line:?} in:\n{text}"
    );
}

#[test]
fn every_status_of_a_webhook_is_a_series_with_its_labels_escaped() {
    let t = text(&snapshot(), 100_000);
    let odd = r#"customer="1",webhook="7",webhook_name="a \"quoted\" \\ name""#;
    has(
        &t,
        &format!("webnet_deliveries{{{odd},status=\"retrying\"}} 1"),
    );
    has(
        &t,
        &format!("webnet_deliveries{{{odd},status=\"success\"}} 0"),
    );
    has(
        &t,
        r#"webnet_deliveries{customer="2",webhook="3",webhook_name="ops",status="success"} 2"#,
    );
    has(
        &t,
        r#"webnet_deliveries{customer="2",webhook="3",webhook_name="ops",status="pending"} 0"#,
    );
    has(
        &t,
        &format!("webnet_attempts{{{odd},result=\"failure\"}} 2"),
    );
    has(
        &t,
        &format!("webnet_attempts{{{odd},result=\"success\"}} 0"),
    );
    has(&t, &format!("webnet_webhook_failing_seconds{{{odd}}} 60"));
    // Customer 1's rows come first.
    let first = t.find("customer=\"1\"").unwrap_or(usize::MAX);
    let second = t.find("customer=\"2\"").unwrap_or(0);
    assert!(first < second, "{t}");
}

#[test]
fn the_histogram_is_cumulative_and_counts_every_attempt() {
    let t = text(&snapshot(), 100_000);
    has(&t, "# TYPE webnet_attempt_duration_seconds histogram");
    has(
        &t,
        r#"webnet_attempt_duration_seconds_bucket{le="0.025"} 0"#,
    );
    has(&t, r#"webnet_attempt_duration_seconds_bucket{le="0.05"} 2"#);
    has(&t, r#"webnet_attempt_duration_seconds_bucket{le="1"} 3"#);
    has(&t, r#"webnet_attempt_duration_seconds_bucket{le="30"} 3"#);
    has(&t, r#"webnet_attempt_duration_seconds_bucket{le="+Inf"} 4"#);
    has(&t, "webnet_attempt_duration_seconds_sum 31.58");
    has(&t, "webnet_attempt_duration_seconds_count 4");
    let buckets: Vec<f64> = t
        .lines()
        .filter(|l| l.starts_with("webnet_attempt_duration_seconds_bucket"))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert_eq!(buckets.len(), 13);
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
}

#[test]
fn backlog_and_webhook_health() {
    let t = text(&snapshot(), 100_000);
    has(&t, "webnet_deliveries_due 1");
    has(&t, "webnet_oldest_due_age_seconds 90");
    has(&t, r#"webnet_webhooks{customer="2",state="disabled"} 1"#);
    has(&t, r#"webnet_webhooks{customer="2",state="enabled"} 1"#);
    has(&t, r#"webnet_webhooks_failing{customer="1"} 1"#);
    has(&t, r#"webnet_webhooks_failing{customer="2"} 0"#);
}

#[test]
fn every_family_has_help_and_type_and_only_counters_end_in_total() {
    let t = text(&MetricsSnapshot::default(), 0);
    has(&t, "webnet_deliveries_due 0");
    has(&t, "webnet_oldest_due_age_seconds 0");
    has(&t, "webnet_attempt_duration_seconds_count 0");
    let types: Vec<&str> = t.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    let helps = t.lines().filter(|l| l.starts_with("# HELP ")).count();
    assert_eq!(types.len(), 8, "{t}");
    assert_eq!(helps, types.len());
    for l in types {
        let name = l.split(' ').nth(2).unwrap_or("");
        assert!(name.starts_with("webnet_"), "{l}");
        assert_eq!(name.ends_with("_total"), l.ends_with(" counter"), "{l}");
    }
}
