use super::*;
use serde_json::json;

fn event(t: &str, obj: Value) -> Value {
    let family = t.split('.').next().unwrap();
    let mut e = json!({"event_timestamp": "2025-12-02T01:00:00Z", "event_type": t,
        "actor": {"id": 1, "username": "admin"}});
    e[family] = obj;
    e
}

#[test]
fn summaries_details_and_tone() {
    let e = event(
        "job.failed",
        json!({"id": 123, "type": "config_backup", "status": "failed",
               "target_summary": {"device_count": 5}, "result_summary": {"backed_up": 3, "failed": 2}}),
    );
    let v = EventView::new(&e);
    assert_eq!(v.summary, "job 123 config_backup failed on 5 devices");
    assert_eq!(v.tone, Tone::Bad);
    assert_eq!(v.severity, Severity::Error);
    assert_eq!(v.detail("Job"), Some("123"));
    assert_eq!(v.detail("Devices"), Some("5"));
    assert_eq!(v.detail("Result"), Some("backed_up: 3, failed: 2"));
    assert_eq!(
        v.context_line(),
        "job.failed · 2025-12-02T01:00:00Z · by admin"
    );

    let e = event(
        "compliance.violation_detected",
        json!({"device": "core-sw-1", "rule": "ntp-server", "severity": "high",
               "description": "NTP server not configured"}),
    );
    let v = EventView::new(&e);
    assert_eq!(v.summary, "compliance violation on core-sw-1 (ntp-server)");
    assert_eq!(v.severity, Severity::Error, "high reads as error");
    assert_eq!(v.detail("Description"), Some("NTP server not configured"));
    assert_eq!(v.detail("Severity"), Some("high"));

    let e = event(
        "device.status_changed",
        json!({"hostname": "edge-2", "status": "unreachable"}),
    );
    let v = EventView::new(&e);
    assert_eq!(v.summary, "device edge-2 status changed to unreachable");
    assert_eq!((v.tone, v.severity), (Tone::Bad, Severity::Critical));
}

#[test]
fn odd_events_still_have_a_summary() {
    for e in [
        json!({}),
        json!({"event_type": 5}),
        json!({"event_type": "job.failed", "job": [1]}),
    ] {
        let v = EventView::new(&e);
        assert!(!v.summary.is_empty());
    }
}
