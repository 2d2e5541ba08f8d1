//! The chat formats on real deliveries: Slack, Mattermost, Discord and Google Chat bodies,
//! captured on a loopback receiver with the format forced (`--payload-format`), for every event
//! type (and `webhooks test`) with ordinary, hostile, non-Latin and 40,000-character strings.
//! Each body is checked against its platform's limits and escaping; Slack's are also validated
//! by Slack's own SDK (`slack_sdk`, PyPI; the test says SKIPPED when it cannot run it). Real
//! platform URLs are only ever created disabled, to check detection: nothing is sent to them.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::receiver::{Received, Receiver};
use common::{hmac_hex, Env};
use serde_json::{json, Value};

const TYPES: [&str; 13] = [
    "job.created",
    "job.started",
    "job.completed",
    "job.failed",
    "device.created",
    "device.updated",
    "device.deleted",
    "device.status_changed",
    "config.backup_created",
    "config.changed",
    "config.deployed",
    "compliance.check_completed",
    "compliance.violation_detected",
];

const HOSTILE: &str = "<!channel> @everyone @here <@U123> <users/all> & *b* _i_ `c` ~s~ \
    [l](https://evil.example) # h\n- item\n\u{1b}[31m \u{202e}rev\u{202c}";
const UNICODE: &str = "日本語のデバイス · Ünïcödé · 👩‍💻🚀 · e\u{301}\u{301} · עברית";
const ZWSP: char = '\u{200B}';

fn long(n: usize) -> String {
    "a€日😀".chars().cycle().take(n).collect()
}

/// The family object of an event of type `t` whose strings are all `s`.
fn object(t: &str, s: &str) -> Value {
    match t.split('.').next().unwrap() {
        "job" => json!({"id": 123, "type": s, "status": s, "error": s,
            "target_summary": {"device_count": 5}, "result_summary": {"backed_up": 4, "note": s}}),
        "device" => json!({"id": 7, "hostname": s, "status": s, "previous_status": "up",
            "ip_address": "192.0.2.10", "platform": s}),
        "config" => json!({"device": s, "backup_id": 42, "diff_summary": s, "lines_added": 3}),
        _ => json!({"device": s, "rule": s, "severity": "critical", "description": s,
            "violations": 2}),
    }
}

/// Every event type with every string, and a `webhooks test`, delivered to a loopback receiver
/// as `format`; returns the env and what the receiver got.
fn capture(format: &str, strings: &[&str]) -> (Env, Vec<Received>) {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    let id = env.local_webhook(
        c,
        "chat <!here> @all",
        &rx.url("/hook"),
        &[
            "--payload-format",
            format,
            "--event",
            "*",
            "--secret",
            "chat-secret",
        ],
    );
    let mut lines = String::new();
    for s in strings {
        for t in TYPES {
            let family = t.split('.').next().unwrap();
            let mut e = json!({"customer": c, "event_type": t,
                "event_timestamp": "2025-12-02T01:00:00Z",
                "actor": {"id": 1, "username": s}});
            e[family] = object(t, s);
            lines.push_str(&e.to_string());
            lines.push('\n');
        }
    }
    env.run_stdin(&["emit"], &lines).ok();
    env.run(&["webhooks", "test", &id.to_string()]).ok();
    let n = TYPES.len() * strings.len() + 1;
    let got = rx.wait_for(n, Duration::from_secs(30));
    assert_eq!(got.len(), n, "every event delivered");
    for r in &got {
        assert_eq!(
            r.header("x-webhook-signature"),
            Some(hmac_hex("chat-secret", &r.body).as_str()),
            "signed as sent"
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    let mut seen: Vec<&str> = got
        .iter()
        .filter_map(|r| r.header("x-webhook-event"))
        .collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), TYPES.len() + 1, "every type, webhook.test too");
    (env, got)
}

/// The body of the delivery of `event_type` whose strings were the ordinary `core-sw-1`.
fn body_of(got: &[Received], event_type: &str) -> Value {
    let found: Vec<Value> = got
        .iter()
        .filter(|r| r.header("x-webhook-event") == Some(event_type))
        .map(Received::json)
        .filter(|v| v.to_string().contains("core-sw-1"))
        .collect();
    assert_eq!(found.len(), 1, "{event_type}");
    found.into_iter().next().unwrap()
}

fn chars(v: &Value) -> usize {
    v.as_str()
        .unwrap_or_else(|| panic!("a string: {v}"))
        .chars()
        .count()
}

fn strings() -> Vec<String> {
    vec![
        "core-sw-1".into(),
        HOSTILE.into(),
        UNICODE.into(),
        long(40_000),
    ]
}

fn capture_all(format: &str) -> (Env, Vec<Received>) {
    let strings = strings();
    let refs: Vec<&str> = strings.iter().map(String::as_str).collect();
    capture(format, &refs)
}

/// `deliveries show` reports the rendered body as the one sent.
fn request_body_is_what_was_sent(env: &Env, got: &[Received]) {
    let r = &got[0];
    let shown = env.delivery(r.delivery());
    assert_eq!(shown["request_body"], r.json());
    assert_ne!(shown["request_body"], shown["payload"]);
}

fn have_slack_sdk() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import slack_sdk"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        crate::skipped!(
            "SKIPPED: python3 with slack_sdk is not available here; .ci/run installs it"
        );
    }
    ok
}

fn check_slack(dir: &Path, bodies: &[&[u8]]) -> std::process::Output {
    let mut files = Vec::new();
    for (i, b) in bodies.iter().enumerate() {
        let f = dir.join(format!("slack-{i}.json"));
        std::fs::write(&f, b).unwrap();
        files.push(f);
    }
    Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snippets/check_slack.py"))
        .args(&files)
        .output()
        .expect("run python3")
}

#[test]
fn slack_bodies_keep_limits_escape_and_pass_slack_sdk() {
    let (env, got) = capture_all("slack");
    request_body_is_what_was_sent(&env, &got);
    for r in &got {
        let v = r.json();
        assert!(chars(&v["text"]) <= 3000);
        assert!(v.get("link_names").is_none() && v.get("parse").is_none());
        let blocks = v["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 50);
        let mut texts = vec![v["text"].as_str().unwrap()];
        for b in blocks {
            texts.extend(b["text"]["text"].as_str());
            for f in b["fields"].as_array().into_iter().flatten() {
                assert!(chars(&f["text"]) <= 2000);
                texts.push(f["text"].as_str().unwrap());
            }
            for e in b["elements"].as_array().into_iter().flatten() {
                texts.push(e["text"].as_str().unwrap());
            }
        }
        assert!(texts.iter().all(|t| t.chars().count() <= 3000));
        for t in texts {
            assert!(!t.contains('<') && !t.contains('>'), "{t:.80}");
            let unescaped = t
                .replace("&amp;", "")
                .replace("&lt;", "")
                .replace("&gt;", "");
            assert!(!unescaped.contains('&'), "{t:.80}");
        }
    }
    let failed = &body_of(&got, "job.failed");
    assert_eq!(failed["text"], "job 123 core-sw-1 failed on 5 devices");
    assert_eq!(
        failed["blocks"][0]["text"]["text"],
        "🔴 *job 123 core-sw-1 failed on 5 devices*"
    );
    assert_eq!(failed["blocks"][1]["fields"][0]["text"], "*Job*\n123");
    let test = got
        .iter()
        .find(|r| r.header("x-webhook-event") == Some("webhook.test"))
        .unwrap()
        .json();
    assert_eq!(
        test["text"],
        "test event from webnet for chat &lt;!here&gt; @all: this webhook works"
    );

    if !have_slack_sdk() {
        return;
    }
    let bodies: Vec<&[u8]> = got.iter().map(|r| &r.body[..]).collect();
    let out = check_slack(env.dir.path(), &bodies);
    assert!(
        out.status.success(),
        "slack_sdk: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("ok {}", got.len())
    );
    // The checker does reject what Slack refuses, so its "ok" means something.
    let bad = json!({"text": "x", "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "x".repeat(3001)}},
        {"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]});
    let out = check_slack(env.dir.path(), &[bad.to_string().as_bytes()]);
    assert!(!out.status.success());
    let why = String::from_utf8_lossy(&out.stderr);
    assert!(why.contains("3000") && why.contains("plain_text"), "{why}");
}

#[test]
fn mattermost_bodies_are_one_post_with_mentions_neutralised() {
    let (env, got) = capture_all("mattermost");
    request_body_is_what_was_sent(&env, &got);
    for r in &got {
        let v = r.json();
        assert!(chars(&v["text"]) <= 4000, "one post even on old servers");
        assert!(v.get("blocks").is_none());
        let a = &v["attachments"][0];
        assert!(a["fallback"].is_string() && a["color"].as_str().unwrap().starts_with('#'));
        // What the server scans for mentions (text, attachment text, field values) is
        // Markdown with entities; what it shows (fallback, footer, field titles) too must not
        // carry a live `@word` or `<!…>`.
        let mut markdown = vec![v["text"].as_str().unwrap()];
        markdown.extend(a["text"].as_str());
        let mut all = vec![
            a["fallback"].as_str().unwrap(),
            a["footer"].as_str().unwrap(),
        ];
        for f in a["fields"].as_array().into_iter().flatten() {
            markdown.push(f["value"].as_str().unwrap());
            all.push(f["title"].as_str().unwrap());
        }
        for t in &markdown {
            assert!(!t.contains('<') && !t.contains('>'), "{t:.80}");
        }
        for t in markdown.iter().chain(&all) {
            for (i, _) in t.match_indices('@') {
                assert!(t[i + 1..].starts_with(ZWSP), "{t:.80}");
            }
            assert!(!t.contains("<!") && !t.contains('\u{1b}'), "{t:.80}");
        }
    }
    let v = &body_of(&got, "compliance.violation_detected");
    assert_eq!(
        v["text"],
        "**compliance violation on core-sw-1 (core-sw-1)**"
    );
    let a = &v["attachments"][0];
    assert_eq!(a["color"], "#E01E5A");
    let facts: Vec<(&str, &str)> = a["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["title"].as_str().unwrap(), f["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        &facts[..4],
        [
            ("Device", "core-sw-1"),
            ("Rule", "core-sw-1"),
            ("Severity", "critical"),
            ("Description", "core-sw-1")
        ]
    );
    assert_eq!(
        a["footer"],
        "compliance.violation_detected · 2025-12-02T01:00:00Z · by core-sw-1"
    );
}

#[test]
fn discord_bodies_keep_limits_and_ping_nobody() {
    let (env, got) = capture_all("discord");
    request_body_is_what_was_sent(&env, &got);
    for r in &got {
        let v = r.json();
        assert_eq!(v["allowed_mentions"], json!({"parse": []}));
        assert!((1..=2000).contains(&chars(&v["content"])));
        let embeds = v["embeds"].as_array().unwrap();
        assert!(embeds.len() <= 10);
        let mut total = 0;
        for e in embeds {
            assert!(e["color"].as_u64().unwrap() <= 0xFF_FFFF);
            total += e.get("description").map_or(0, chars);
            let fields = e["fields"].as_array().map_or(&[][..], |f| &f[..]);
            assert!(fields.len() <= 25);
            for f in fields {
                assert!((1..=256).contains(&chars(&f["name"])));
                assert!((1..=1024).contains(&chars(&f["value"])));
                total += chars(&f["name"]) + chars(&f["value"]);
                let value = f["value"].as_str().unwrap();
                for (i, _) in value.match_indices('@') {
                    assert!(value[i + 1..].starts_with(ZWSP), "{value:.80}");
                }
                for markup in ["<", "*", "`", "[", "#", "-"] {
                    let bare = value.replace(&format!("\\{markup}"), "");
                    assert!(!bare.contains(markup), "{markup} in {value:.80}");
                }
            }
            assert!(chars(&e["footer"]["text"]) <= 2048);
            total += chars(&e["footer"]["text"]);
        }
        assert!(total <= 6000, "{total}");
    }
    let v = &body_of(&got, "device.status_changed");
    assert_eq!(
        v["content"],
        "✅ **device core\\-sw\\-1 status changed to core\\-sw\\-1**"
    );
    assert_eq!(
        v["embeds"][0]["fields"][0],
        json!({"name": "Device", "value": "core\\-sw\\-1", "inline": true})
    );
}

#[test]
fn google_chat_bodies_keep_limits_and_cannot_mention() {
    let (env, got) = capture_all("google-chat");
    request_body_is_what_was_sent(&env, &got);
    for r in &got {
        assert!(r.body.len() <= 32_000);
        let v = r.json();
        let text = v["text"].as_str().unwrap();
        assert!(text.encode_utf16().count() <= 4096);
        assert!(!text.contains('<') && !text.contains('>'), "{text:.80}");
        assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'));
    }
    let v = &body_of(&got, "config.backup_created");
    assert_eq!(
        v["text"],
        "✅ *configuration backup taken on core-sw-1*\n\
         *Device:* core-sw-1\n\
         *Backup:* 42\n\
         *Lines added:* 3\n\
         *Change:* core-sw-1\n\
         config.backup_created · 2025-12-02T01:00:00Z · by core-sw-1"
    );
}

#[test]
fn chat_platform_urls_are_detected_and_mattermost_is_chosen() {
    let env = Env::new();
    let c = env.customer("acme").to_string();
    let create = |name: &str, url: &str, extra: &[&str]| -> Value {
        env.create_webhook(url)
            .customer(&c)
            .name(name)
            .events(&["job.failed"])
            .args(&["--disabled"])
            .args(extra)
            .run()
            .ok()
            .json()
    };
    for (name, url, want) in [
        (
            "d",
            "https://discord.com/api/webhooks/123/tok-en_X",
            "discord",
        ),
        (
            "d2",
            "https://discordapp.com/api/webhooks/123/token",
            "discord",
        ),
        (
            "g",
            "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=k&token=t",
            "google-chat",
        ),
        ("s", "https://hooks.slack.com/services/T0/B0/XX", "slack"),
        (
            "m",
            "https://chat.example.com/hooks/abcdefghijklmnopqrstuvwxyz",
            "json",
        ),
    ] {
        assert_eq!(create(name, url, &[])["payload_format"], want, "{url}");
    }
    let m = create(
        "m2",
        "https://chat.example.com/hooks/abcdefghijklmnopqrstuvwxyz",
        &["--payload-format", "mattermost"],
    );
    assert_eq!(m["payload_format"], "mattermost");
    assert_eq!(m["enabled"], false);
}
