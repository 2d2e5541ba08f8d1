use super::super::tests::{corpus, ctx, event_with, long};
use super::super::PayloadFormat;
use super::*;
use crate::domain::EventType;
use serde_json::json;

fn rendered(e: &Value, c: &Render<'_>) -> (Vec<u8>, Value) {
    let payload = serde_json::to_vec(e).unwrap();
    let body = PayloadFormat::PagerDuty.render(&payload, c);
    let v = serde_json::from_slice(&body).unwrap();
    (body, v)
}

#[test]
fn every_event_is_a_valid_event_within_pagerduty_limits() {
    for e in corpus() {
        let (body, v) = rendered(&e, &ctx());
        let t = e["event_type"].as_str().unwrap();
        assert!(body.len() < 300 * 1024, "{t}: {} bytes", body.len());
        assert_eq!(v["routing_key"], "0123456789abcdef0123456789abcdef");
        assert!(
            ["trigger", "resolve"].contains(&v["event_action"].as_str().unwrap()),
            "{t}"
        );
        assert_eq!(v["client"], "webnet");
        let p = &v["payload"];
        let summary = p["summary"].as_str().unwrap();
        assert!(!summary.trim().is_empty(), "{t}");
        assert!(summary.chars().count() <= SUMMARY_MAX, "{t}");
        assert!(!summary.chars().any(char::is_control), "{t}: one line");
        assert!(!summary.contains('\u{202E}'), "{t}: no override");
        let view = EventView::new(&e);
        let expected = one_line(&view.summary);
        if expected.chars().count() <= SUMMARY_MAX {
            assert_eq!(summary, expected, "{t}: the whole summary");
        } else {
            assert!(summary.ends_with('…'), "{t}: cut with …");
            let kept = summary.trim_end_matches('…');
            assert!(expected.starts_with(kept), "{t}: cut, not changed");
        }
        assert!(
            ["critical", "error", "warning", "info"].contains(&p["severity"].as_str().unwrap()),
            "{t}"
        );
        assert_eq!(p["timestamp"], "2025-12-02T01:00:00Z", "{t}");
        assert_eq!(p["class"], t);
        for k in ["source", "component", "group", "class"] {
            if let Some(s) = p[k].as_str() {
                assert!(!s.is_empty() && s.chars().count() <= FIELD_MAX, "{t} {k}");
            }
        }
        let key = v["dedup_key"].as_str().unwrap();
        assert!(key.chars().count() <= DEDUP_KEY_MAX);
        let details = p["custom_details"].as_object().unwrap();
        assert!(serde_json::to_vec(details).unwrap().len() <= DETAILS_MAX_BYTES);
        // The important details are there, cut if long.
        for (label, value) in view.details.iter().take(3) {
            let got = details[label.as_str()].as_str().unwrap();
            assert_eq!(got, cut_bytes(value, VALUE_MAX_BYTES), "{t} {label}");
        }
    }
}

#[test]
fn failed_then_completed_is_one_alert_opened_then_resolved() {
    let failed = event_with(EventType::JobFailed, "core-sw-1");
    let (_, f) = rendered(&failed, &ctx());
    assert_eq!(f["event_action"], "trigger");
    assert_eq!(f["dedup_key"], "webnet:7:job:123");
    assert_eq!(f["payload"]["severity"], "error");
    assert_eq!(f["payload"]["source"], "webnet");
    let mut completed = event_with(EventType::JobCompleted, "core-sw-1");
    completed["job"]["status"] = json!("success");
    completed["job"]["error"] = Value::Null;
    let (_, c) = rendered(&completed, &ctx());
    assert_eq!(c["event_action"], "resolve");
    assert_eq!(c["dedup_key"], f["dedup_key"]);

    // A job that "completed" with a failed status stays an alert.
    let mut bad = completed.clone();
    bad["job"]["status"] = json!("failed");
    assert_eq!(rendered(&bad, &ctx()).1["event_action"], "trigger");

    // Without an event id there is nothing to resolve: each event is its own alert.
    let no_id = Render {
        event_id: None,
        ..ctx()
    };
    let (_, c) = rendered(&completed, &no_id);
    assert_eq!(c["event_action"], "trigger");
    assert!(c.get("dedup_key").is_none(), "{c}");
}

#[test]
fn device_status_down_triggers_and_up_resolves_on_the_device() {
    let mut e = event_with(EventType::DeviceStatusChanged, "edge-2");
    e["device"]["status"] = json!("unreachable");
    let (_, down) = rendered(&e, &ctx());
    assert_eq!(down["event_action"], "trigger");
    assert_eq!(down["payload"]["severity"], "critical");
    assert_eq!(down["payload"]["source"], "edge-2");
    assert_eq!(down["dedup_key"], "webnet:7:device:123");
    e["device"]["status"] = json!("up");
    let (_, up) = rendered(&e, &ctx());
    assert_eq!(up["event_action"], "resolve");
    assert_eq!(up["dedup_key"], down["dedup_key"]);
}

#[test]
fn compliance_carries_rule_severity_and_description() {
    let e = json!({"event_timestamp": "2025-12-02 01:00:00", "event_type": "compliance.violation_detected",
        "actor": null, "compliance": {"device": "core-sw-1", "rule": "ntp-server",
        "severity": "high", "description": "NTP server not configured", "policy": "baseline"}});
    let (_, v) = rendered(&e, &ctx());
    let p = &v["payload"];
    assert_eq!(
        p["summary"],
        "compliance violation on core-sw-1 (ntp-server)"
    );
    assert_eq!(p["severity"], "error", "high reads as error");
    assert_eq!(p["source"], "core-sw-1");
    assert_eq!(p["component"], "ntp-server");
    assert_eq!(p["group"], "baseline");
    assert_eq!(p["timestamp"], "2025-12-02T01:00:00Z", "normalised");
    assert_eq!(
        p["custom_details"]["Description"],
        "NTP server not configured"
    );
    assert_eq!(p["custom_details"]["Severity"], "high");
}

#[test]
fn both_service_regions_are_detected() {
    for host in ["events.pagerduty.com", "events.eu.pagerduty.com"] {
        assert_eq!(
            PayloadFormat::detect(host, "/v2/enqueue"),
            PayloadFormat::PagerDuty
        );
    }
    assert_eq!(
        PayloadFormat::detect("events.pagerduty.com.evil.example", "/v2/enqueue"),
        PayloadFormat::Json
    );
}

#[test]
fn a_test_event_is_one_alert_per_webhook() {
    let e = event_with(EventType::WebhookTest, "ops");
    let (_, v) = rendered(
        &e,
        &Render {
            event_id: None,
            ..ctx()
        },
    );
    assert_eq!(v["event_action"], "trigger");
    assert_eq!(v["dedup_key"], "webnet:7:webhook:1");
    assert_eq!(v["payload"]["severity"], "info");
}

#[test]
fn many_or_huge_details_are_bounded_and_counted() {
    let mut obj = Map::new();
    for i in 0..500 {
        obj.insert(format!("k{i:03}"), json!(long(3_000)));
    }
    let e = json!({"event_timestamp": "2025-12-02T01:00:00Z", "event_type": "device.updated",
        "actor": {"id": 1, "username": "admin"}, "device": obj});
    let (body, v) = rendered(&e, &ctx());
    assert!(body.len() < 300 * 1024, "{}", body.len());
    let d = v["payload"]["custom_details"].as_object().unwrap();
    let more = d["more"].as_str().unwrap();
    let n: usize = more
        .trim_start_matches('+')
        .trim_end_matches(" more")
        .parse()
        .unwrap();
    // Every detail (and the actor) is either shown or counted.
    assert_eq!(d.len() - 1 + n, 501, "{more}");
    assert_eq!(d["K000"].as_str().unwrap().chars().count(), 3_000);

    // Labels that collide are kept apart, not overwritten.
    let e = json!({"event_type": "job.failed", "job": {"id": 1, "Job": "x", "more": "y"}});
    let (_, v) = rendered(&e, &ctx());
    let d = &v["payload"]["custom_details"];
    assert_eq!(d["Job"], "1");
    assert_eq!(d["Job (2)"], "x");
    assert_eq!(d["More"], "y");
    assert!(
        v["payload"].get("timestamp").is_none(),
        "no time, none sent"
    );
}

#[test]
fn the_key_is_redacted_for_the_record_and_never_debug_printed() {
    let (body, _) = rendered(&event_with(EventType::JobFailed, "x"), &ctx());
    let kept = for_the_record(&body);
    let text = String::from_utf8(kept.clone()).unwrap();
    assert!(!text.contains("0123456789abcdef"), "{text}");
    let v: Value = serde_json::from_slice(&kept).unwrap();
    assert_eq!(v["routing_key"], REDACTED);
    let sent: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["payload"], sent["payload"], "the rest as sent");
    assert_eq!(for_the_record(b"not json"), b"not json");

    let key = RoutingKey::new("R0123456789abcdef0123456789abcd").unwrap();
    assert!(!format!("{key:?}").contains("R0123"));
    assert_eq!(key.unusual_length(), Some(31));
    assert!(RoutingKey::new("").is_err());
    assert!(RoutingKey::new("has space").is_err());
    assert!(RoutingKey::new("ключ").is_err());
    assert!(RoutingKey::new(&"a".repeat(129)).is_err());
    let e = RoutingKey::new("secret value\n").unwrap_err();
    assert!(!e.message.contains("secret"), "{e}");
}
