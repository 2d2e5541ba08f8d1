//! The `google-chat` format: a Google Chat incoming-webhook message with `text` only, in
//! Chat's own syntax: a sign of the tone and the summary in bold, one `*Label:* value` line per
//! detail, then what/when/who.
//!
//! Invariants, whatever the event's strings hold:
//! - `text` ≤ 4,096 counted in UTF-16 code units (Google says "characters" without saying
//!   which; code units are the stricter count), so the whole message stays far below Chat's
//!   32,000 bytes.
//! - `<` and `>` in event strings become `‹` and `›`: Chat starts every mention
//!   (`<users/all>`) and link (`<https://…|label>`) with `<`, and shows HTML entities such as
//!   `&lt;` literally, so entities are no way to escape them. `&` needs nothing.
//! - No cards (`cardsV2`): text shows in every client and keeps one escaping rule.

use serde_json::{json, Value};

use super::fit::{escape_measured, fit_details, measure, utf16, visible, Budget, HEADLINE};
use super::EventView;

const TEXT_MAX: usize = 4096;
const CONTEXT_MAX: usize = 300;
/// Room kept for the "+N more details" line.
const MORE_LINE: usize = 24;

/// A character for Chat's text syntax.
fn chat(c: char, out: &mut String, one_line: bool) {
    match visible(c, one_line) {
        Some('<') => out.push('‹'),
        Some('>') => out.push('›'),
        Some(c) => out.push(c),
        None => {}
    }
}

fn line(c: char, out: &mut String) {
    chat(c, out, true);
}

fn lines(c: char, out: &mut String) {
    chat(c, out, false);
}

pub fn render(view: &EventView<'_>) -> Value {
    let head = format!(
        "{} *{}*",
        view.tone.emoji(),
        escape_measured(&view.summary, HEADLINE, utf16, line)
    );
    let context = escape_measured(&view.context_line(), CONTEXT_MAX, utf16, line);
    let budget = Budget {
        max_items: 20,
        label_max: 40,
        value_max: 1000,
        // Two line breaks around the details, one ending each detail's line (per_item).
        total: TEXT_MAX - measure(&head, utf16) - measure(&context, utf16) - 2 - MORE_LINE,
        // `*`, `:* ` and the line break.
        per_item: 5,
        unit: utf16,
    };
    let details = fit_details(&view.details, &budget, line, lines);
    let mut text = head;
    text.push('\n');
    for (label, value) in &details.items {
        text.push_str(&format!("*{label}:* {value}\n"));
    }
    if details.more > 0 {
        text.push_str(&format!("+{} more details\n", details.more));
    }
    text.push_str(&context);
    json!({ "text": text })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{corpus, event_with, long};
    use super::super::EventView;
    use super::render;
    use crate::domain::EventType;

    #[test]
    fn every_rendering_keeps_google_chat_limits() {
        for e in corpus() {
            let body = render(&EventView::new(&e));
            let text = body["text"].as_str().unwrap();
            assert!(text.encode_utf16().count() <= 4096, "{}", text.len());
            assert!(serde_json::to_vec(&body).unwrap().len() <= 32_000);
            assert_eq!(body.as_object().unwrap().len(), 1, "text only");
        }
    }

    #[test]
    fn mentions_and_links_cannot_form() {
        for e in corpus() {
            let body = render(&EventView::new(&e));
            let text = body["text"].as_str().unwrap();
            assert!(!text.contains('<') && !text.contains('>'), "{text:.80}");
            assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'));
        }
        let e = event_with(EventType::DeviceCreated, "<users/all> & <https://e|x>");
        let body = render(&EventView::new(&e));
        assert!(body["text"]
            .as_str()
            .unwrap()
            .starts_with("ℹ️ *device ‹users/all› & ‹https://e|x› created*\n*Device:* ‹users/all› & ‹https://e|x›\n"));
    }

    #[test]
    fn summary_details_and_context_as_lines() {
        let e = json!({"event_type": "config.changed", "event_timestamp": "2025-12-02T01:00:00Z",
            "actor": {"username": "admin"},
            "config": {"device": "core-sw-1", "lines_added": 3, "lines_removed": 1,
                "diff_summary": "ntp server changed"}});
        let body = render(&EventView::new(&e));
        assert_eq!(
            body["text"],
            "⚠️ *configuration drift detected on core-sw-1*\n\
             *Device:* core-sw-1\n\
             *Lines added:* 3\n\
             *Lines removed:* 1\n\
             *Change:* ntp server changed\n\
             config.changed · 2025-12-02T01:00:00Z · by admin"
        );
    }

    #[test]
    fn long_strings_are_cut_and_unicode_kept() {
        let e = event_with(EventType::JobFailed, &long(40_000));
        let body = render(&EventView::new(&e));
        let text = body["text"].as_str().unwrap();
        assert!(text.starts_with("🔴 *job 123 a€日😀"));
        assert!(!text.contains('\u{FFFD}'));
        let error = text.lines().find(|l| l.starts_with("*Error:*")).unwrap();
        assert!(
            error.ends_with('…') && error.chars().count() > 100,
            "{error}"
        );
        let context = text.lines().last().unwrap();
        assert!(context.starts_with("job.failed · 2025-12-02T01:00:00Z · by a€日😀"));
        assert!(context.ends_with('…') && context.encode_utf16().count() <= 300);
    }
}
