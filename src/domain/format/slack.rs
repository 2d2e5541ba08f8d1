//! The `slack` format: an incoming-webhook message with `text` (the summary, what
//! notifications show) and Block Kit `blocks`: a bold section with the summary, sections of
//! `fields` with the details (10 per section), and a context block with what/when/who.
//!
//! Invariants, whatever the event's strings hold: Slack's limits (text object ≤ 3,000,
//! section field ≤ 2,000, ≤ 10 fields per section, ≤ 10 context elements, ≤ 50 blocks) with
//! all block text under 8,100 characters (Slack refuses messages with much more block text,
//! `msg_blocks_too_long`, past an undocumented ~11,000); `&`, `<`, `>` escaped as entities in
//! `text` and every block, so `<!channel>` or `<@U…>` in an event cannot notify anyone (the
//! body never sets `link_names` or `parse`, and mrkdwn objects are `verbatim`); cut with `…`,
//! never inside an entity. Lengths count characters as sent, entities included (slack_sdk
//! counts the same way).

use serde_json::{json, Value};

use super::fit::{chars, escape_measured, fit_details, visible, Budget, HEADLINE};
use super::EventView;

/// Details shown as fields: 20 at most (two sections); each field `*label*\nvalue` within
/// Slack's 2,000; 6,000 characters for them all.
const DETAILS: Budget = Budget {
    max_items: 20,
    label_max: 50,
    value_max: FIELD_MAX - 50 - 3,
    total: 6000,
    per_item: 3,
    unit: chars,
};
const FIELD_MAX: usize = 2000;
const FIELDS_PER_SECTION: usize = 10;
const CONTEXT_MAX: usize = 1000;

/// A character for mrkdwn (and the top-level `text`): Slack's three entities.
fn mrkdwn(c: char, out: &mut String, one_line: bool) {
    match visible(c, one_line) {
        Some('&') => out.push_str("&amp;"),
        Some('<') => out.push_str("&lt;"),
        Some('>') => out.push_str("&gt;"),
        Some(c) => out.push(c),
        None => {}
    }
}

fn line(c: char, out: &mut String) {
    mrkdwn(c, out, true);
}

fn lines(c: char, out: &mut String) {
    mrkdwn(c, out, false);
}

fn text_object(text: String) -> Value {
    json!({"type": "mrkdwn", "text": text, "verbatim": true})
}

pub fn render(view: &EventView<'_>) -> Value {
    let summary = escape_measured(&view.summary, HEADLINE, chars, line);
    let mut blocks = vec![json!({
        "type": "section",
        "text": text_object(format!("{} *{summary}*", view.tone.emoji())),
    })];
    let details = fit_details(&view.details, &DETAILS, line, lines);
    for chunk in details.items.chunks(FIELDS_PER_SECTION) {
        let fields: Vec<Value> = chunk
            .iter()
            .map(|(label, value)| text_object(format!("*{label}*\n{value}")))
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    let mut context = vec![text_object(escape_measured(
        &view.context_line(),
        CONTEXT_MAX,
        chars,
        line,
    ))];
    if details.more > 0 {
        context.push(text_object(format!("+{} more details", details.more)));
    }
    blocks.push(json!({"type": "context", "elements": context}));
    json!({"text": summary, "blocks": blocks})
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::tests::{corpus, event_with, long};
    use super::super::EventView;
    use super::render;
    use crate::domain::EventType;

    fn len(v: &Value) -> usize {
        v.as_str().expect("a string").chars().count()
    }

    /// Every text a message shows: `text` and every text object in every block.
    fn texts(body: &Value) -> Vec<String> {
        let mut out = vec![body["text"].as_str().unwrap().to_string()];
        for b in body["blocks"].as_array().unwrap() {
            if let Some(t) = b["text"]["text"].as_str() {
                out.push(t.to_string());
            }
            for f in b["fields"].as_array().into_iter().flatten() {
                out.push(f["text"].as_str().unwrap().to_string());
            }
            for e in b["elements"].as_array().into_iter().flatten() {
                out.push(e["text"].as_str().unwrap().to_string());
            }
        }
        out
    }

    #[test]
    fn every_rendering_keeps_slack_limits() {
        for e in corpus() {
            let view = EventView::new(&e);
            let body = render(&view);
            let blocks = body["blocks"].as_array().unwrap();
            assert!((2..=50).contains(&blocks.len()), "{}", blocks.len());
            assert!(len(&body["text"]) <= 3000);
            let mut block_text = 0;
            for b in blocks {
                match b["type"].as_str().unwrap() {
                    "section" => {
                        if let Some(t) = b.get("text") {
                            assert_eq!(t["type"], "mrkdwn");
                            assert!((1..=3000).contains(&len(&t["text"])));
                            block_text += len(&t["text"]);
                        }
                        if let Some(fields) = b.get("fields") {
                            let fields = fields.as_array().unwrap();
                            assert!((1..=10).contains(&fields.len()));
                            for f in fields {
                                assert!((1..=2000).contains(&len(&f["text"])), "{f}");
                                block_text += len(&f["text"]);
                            }
                        }
                    }
                    "context" => {
                        let elements = b["elements"].as_array().unwrap();
                        assert!((1..=10).contains(&elements.len()));
                        for el in elements {
                            assert!((1..=3000).contains(&len(&el["text"])));
                            block_text += len(&el["text"]);
                        }
                    }
                    other => panic!("unexpected block {other}"),
                }
            }
            assert!(block_text <= 8100, "{block_text}");
            assert!(body.get("link_names").is_none() && body.get("parse").is_none());
        }
    }

    #[test]
    fn hostile_strings_are_inert_and_nothing_is_cut_inside_an_entity() {
        for e in corpus() {
            let body = render(&EventView::new(&e));
            for t in texts(&body) {
                assert!(!t.contains('<') && !t.contains('>'), "{t}");
                // Every `&` starts one of the three entities, whole.
                for (i, _) in t.match_indices('&') {
                    let rest = &t[i..];
                    assert!(
                        ["&amp;", "&lt;", "&gt;"]
                            .iter()
                            .any(|x| rest.starts_with(x)),
                        "{rest:.12}"
                    );
                }
                assert!(!t.contains('\u{1b}') && !t.contains('\u{202e}'), "{t:?}");
            }
        }
        let e = event_with(EventType::DeviceStatusChanged, "<!channel> & <@U123>");
        let body = render(&EventView::new(&e));
        assert_eq!(
            body["text"],
            "device &lt;!channel&gt; &amp; &lt;@U123&gt; status changed to &lt;!channel&gt; &amp; &lt;@U123&gt;"
        );
    }

    #[test]
    fn the_summary_and_the_important_details_are_there() {
        let e = json!({"event_type": "compliance.violation_detected",
            "event_timestamp": "2025-12-02T01:00:00Z", "actor": {"username": "admin"},
            "compliance": {"device": "core-sw-1", "rule": "ntp-server", "severity": "high",
                "description": "NTP server not configured"}});
        let body = render(&EventView::new(&e));
        assert_eq!(
            body["text"],
            "compliance violation on core-sw-1 (ntp-server)"
        );
        assert_eq!(
            body["blocks"][0]["text"]["text"],
            "🔴 *compliance violation on core-sw-1 (ntp-server)*"
        );
        let fields: Vec<&str> = body["blocks"][1]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["text"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "*Device*\ncore-sw-1",
                "*Rule*\nntp-server",
                "*Severity*\nhigh",
                "*Description*\nNTP server not configured"
            ]
        );
        assert_eq!(
            body["blocks"][2]["elements"][0]["text"],
            "compliance.violation_detected · 2025-12-02T01:00:00Z · by admin"
        );
    }

    #[test]
    fn long_strings_are_cut_with_an_ellipsis_and_unicode_intact() {
        let e = event_with(EventType::ComplianceViolationDetected, &long(40_000));
        let body = render(&EventView::new(&e));
        let t = body["text"].as_str().unwrap();
        assert!(t.ends_with('…') && t.starts_with("compliance violation on a€日😀"));
        for f in body["blocks"][1]["fields"].as_array().unwrap() {
            let f = f["text"].as_str().unwrap();
            assert!(!f.contains('\u{FFFD}'), "no broken characters");
        }
        let description = &body["blocks"][1]["fields"][3]["text"];
        assert!(description
            .as_str()
            .unwrap()
            .starts_with("*Description*\na€日😀"));
        assert!(description.as_str().unwrap().ends_with('…'));
    }

    #[test]
    fn many_details_say_how_many_more() {
        let mut device = serde_json::Map::new();
        for i in 0..30 {
            device.insert(format!("k{i:02}"), json!(i));
        }
        let e = json!({"event_type": "device.updated", "device": device});
        let body = render(&EventView::new(&e));
        let blocks = body["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), 4, "summary, two field sections, context");
        assert_eq!(blocks[3]["elements"][1]["text"], "+10 more details");
    }
}
