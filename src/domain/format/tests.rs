//! Every format, for every event type, with ordinary, long, hostile and non-Latin strings: the
//! body is JSON, deterministic, and carries the event's summary. Each format's own module
//! checks its destination's limits and escaping with [`corpus`].

use serde_json::{json, Value};

use super::*;
use crate::domain::EventType;

/// Strings events may hold: plain, long, hostile (markup, mentions, control characters,
/// injection attempts), and non-Latin scripts, emoji and combining marks.
pub(crate) const STRINGS: &[&str] = &[
    "core-sw-1",
    "<!channel> @everyone @here <@U123> <users/all> <at>x</at> & <b>bold</b> *bold* _it_ `code` ~strike~ [link](https://evil.example) {{DATE(2020-01-01T00:00:00Z)}}",
    "line one\nline two\r\n\ttabbed \u{1b}[31mred\u{1b}[0m \u{202e}reversed\u{202c} \\ \" ' end",
    "日本語のデバイス名 · Ünïcödé · 👩‍💻🚀 · e\u{301}\u{301}\u{301} · עברית · العربية",
];

/// A long string: `n` characters, mixing one- to four-byte characters.
pub(crate) fn long(n: usize) -> String {
    "a€日😀".chars().cycle().take(n).collect()
}

/// An event of type `t` whose object's strings are all `s`.
pub(crate) fn event_with(t: EventType, s: &str) -> Value {
    let object = match t.family() {
        "job" => json!({"id": 123, "type": s, "status": s, "requested_at": "2025-12-02T00:59:00Z",
            "started_at": "2025-12-02T00:59:05Z", "finished_at": "2025-12-02T01:00:00Z",
            "target_summary": {"device_count": 5}, "result_summary": {"backed_up": 5, "note": s},
            "error": s}),
        "device" => json!({"id": 7, "hostname": s, "status": s, "previous_status": "up",
            "ip_address": "192.0.2.10", "platform": s, "site": s}),
        "config" => json!({"device": s, "backup_id": 42, "diff_summary": s, "lines_added": 3,
            "lines_removed": 1}),
        "compliance" => json!({"device": s, "rule": s, "severity": "critical",
            "description": s, "policy": s, "violations": 2}),
        _ => json!({"id": 1, "name": s, "message": s}),
    };
    let mut e = json!({"event_timestamp": "2025-12-02T01:00:00Z", "event_type": t.as_str(),
        "actor": {"id": 1, "username": s}});
    e[t.family()] = object;
    e
}

/// Every event type (`webhook.test` included) with every string of [`STRINGS`], and long ones.
pub(crate) fn corpus() -> Vec<Value> {
    let longs = [long(5_000), long(40_000)];
    let mut out = Vec::new();
    for t in EventType::ALL {
        for s in STRINGS
            .iter()
            .copied()
            .chain(longs.iter().map(String::as_str))
        {
            out.push(event_with(*t, s));
        }
    }
    out
}

pub(crate) fn ctx() -> Render<'static> {
    Render {
        customer: Some(7),
        event_id: Some(123),
        routing_key: Some("0123456789abcdef0123456789abcdef"),
    }
}

#[test]
fn every_format_renders_every_event_as_deterministic_json() {
    for format in PayloadFormat::ALL {
        for e in corpus() {
            let payload = serde_json::to_vec(&e).unwrap();
            let body = format.render(&payload, &ctx());
            assert_eq!(
                body,
                format.render(&payload, &ctx()),
                "{format}: deterministic"
            );
            let v: Value = serde_json::from_slice(&body)
                .unwrap_or_else(|err| panic!("{format}: not JSON ({err})"));
            assert!(v.is_object(), "{format}: {v}");
        }
    }
}

#[test]
fn json_is_the_payload_byte_for_byte() {
    let e = serde_json::to_vec(&event_with(EventType::JobCompleted, "x")).unwrap();
    assert_eq!(PayloadFormat::Json.render(&e, &ctx()), e);
    assert_eq!(
        PayloadFormat::Slack.render(b"not json", &ctx()),
        b"not json"
    );
}

#[test]
fn formats_have_names_and_are_detected_from_their_urls() {
    for f in PayloadFormat::ALL {
        assert_eq!(PayloadFormat::parse(f.as_str()), Some(f));
    }
    for (host, path, want) in [
        ("hooks.slack.com", "/services/T/B/X", PayloadFormat::Slack),
        ("hooks.slack.com", "/other", PayloadFormat::Json),
        (
            "prod-12.westeurope.logic.azure.com",
            "/workflows/0123/triggers/manual/paths/invoke",
            PayloadFormat::Teams,
        ),
        (
            "default0123.ab.environment.api.powerplatform.com",
            "/powerautomate/automations/direct/workflows/0123/triggers/manual/paths/invoke",
            PayloadFormat::Teams,
        ),
        (
            "acme.webhook.office.com",
            "/webhookb2/abc",
            PayloadFormat::Teams,
        ),
        ("outlook.office.com", "/webhook/abc", PayloadFormat::Teams),
        (
            "logic.azure.com.evil.example",
            "/workflows/x",
            PayloadFormat::Json,
        ),
        ("discord.com", "/api/webhooks/1/tok", PayloadFormat::Discord),
        (
            "discordapp.com",
            "/api/webhooks/1/tok",
            PayloadFormat::Discord,
        ),
        (
            "discord.com",
            "/api/v10/webhooks/1/tok",
            PayloadFormat::Discord,
        ),
        (
            "chat.googleapis.com",
            "/v1/spaces/AAA/messages",
            PayloadFormat::GoogleChat,
        ),
        (
            "events.pagerduty.com",
            "/v2/enqueue",
            PayloadFormat::PagerDuty,
        ),
        ("mattermost.example.com", "/hooks/abc", PayloadFormat::Json),
        ("example.com", "/services/x", PayloadFormat::Json),
    ] {
        assert_eq!(PayloadFormat::detect(host, path), want, "{host}{path}");
    }
}
