//! The `mattermost` format: Mattermost's Slack-compatible incoming webhook, which shows
//! `text` and legacy `attachments` (and ignores Block Kit): `text` is the summary in bold, one
//! attachment carries the tone as its colour bar, the details as `fields` and what/when/who as
//! its `footer`.
//!
//! Invariants, whatever the event's strings hold:
//! - `text` stays within 4,000 runes (the oldest servers' post limit; 16,383 on current ones),
//!   so the server never splits one event into several posts; the attachment stays far below
//!   the server's props limit (760,000 runes).
//! - No mention can fire. The server notifies for `@channel`, `@all`, `@here` and `@user`
//!   words in `text`, attachment text and field values, and first rewrites Slack's
//!   `<!channel>`/`<!here>`/`<!all>`/`<@U…>` into those words. A zero-width space follows
//!   every `@` (it splits the word, so nothing matches) and `<` never reaches the server as
//!   such: an entity (`&lt;`) in Markdown, followed by a zero-width space in plain text.
//! - Markdown (`text`, field values) shows event strings literally: `&<>` as entities,
//!   ``\ * _ ~ ` [ ] # |`` backslash-escaped. Fields' titles, `fallback` and `footer` are plain
//!   text in some clients and Markdown in others, so they get no entities or backslashes (which
//!   would show in plain ones), only the zero-width spaces.

use serde_json::{json, Value};

use super::fit::{chars, escape_measured, fit_details, visible, Budget, HEADLINE};
use super::EventView;

/// Details as attachment fields: 20 at most, 12,000 runes for them all.
const DETAILS: Budget = Budget {
    max_items: 20,
    label_max: 60,
    value_max: 3000,
    total: 12_000,
    per_item: 0,
    unit: chars,
};
/// Webapp clients show at most 300 characters of a footer.
const FOOTER_MAX: usize = 300;
/// A field value this short (and on one line) sits beside another.
const SHORT: usize = 40;
const ZWSP: char = '\u{200B}';

/// A character for Mattermost Markdown.
fn markdown(c: char, out: &mut String, one_line: bool) {
    match visible(c, one_line) {
        Some('&') => out.push_str("&amp;"),
        Some('<') => out.push_str("&lt;"),
        Some('>') => out.push_str("&gt;"),
        Some('@') => {
            out.push('@');
            out.push(ZWSP);
        }
        Some(c @ ('\\' | '*' | '_' | '~' | '`' | '[' | ']' | '#' | '|')) => {
            out.push('\\');
            out.push(c);
        }
        Some(c) => out.push(c),
        None => {}
    }
}

/// A character for text a client may show plain: only what stops mentions.
fn plain(c: char, out: &mut String) {
    match visible(c, true) {
        Some(c @ ('@' | '<')) => {
            out.push(c);
            out.push(ZWSP);
        }
        Some(c) => out.push(c),
        None => {}
    }
}

pub fn render(view: &EventView<'_>) -> Value {
    // `**` and `**` around it: 4 of the headline's runes.
    let summary = escape_measured(&view.summary, HEADLINE - 4, chars, |c, out| {
        markdown(c, out, true)
    });
    let details = fit_details(&view.details, &DETAILS, plain, |c, out| {
        markdown(c, out, false)
    });
    let fields: Vec<Value> = details
        .items
        .into_iter()
        .map(|(title, value)| {
            let short = value.chars().count() <= SHORT && !value.contains('\n');
            json!({"title": title, "value": value, "short": short})
        })
        .collect();
    let mut attachment = json!({
        "fallback": escape_measured(&view.summary, HEADLINE, chars, plain),
        "color": format!("#{:06X}", view.tone.rgb()),
    });
    if !fields.is_empty() {
        attachment["fields"] = Value::Array(fields);
    }
    if details.more > 0 {
        attachment["text"] = json!(format!("+{} more details", details.more));
    }
    attachment["footer"] = json!(escape_measured(
        &view.context_line(),
        FOOTER_MAX,
        chars,
        plain
    ));
    json!({"text": format!("**{summary}**"), "attachments": [attachment]})
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::tests::{corpus, event_with, long};
    use super::super::EventView;
    use super::render;
    use crate::domain::EventType;

    fn runes(v: &Value) -> usize {
        v.as_str().expect("a string").chars().count()
    }

    /// The strings Mattermost scans for mentions, and those it shows without scanning.
    fn scanned_and_shown(body: &Value) -> (Vec<String>, Vec<String>) {
        let s = |v: &Value| v.as_str().unwrap().to_string();
        let a = &body["attachments"][0];
        let mut scanned = vec![s(&body["text"])];
        let mut shown = vec![s(&a["fallback"]), s(&a["footer"])];
        if let Some(t) = a.get("text") {
            scanned.push(s(t));
        }
        for f in a["fields"].as_array().into_iter().flatten() {
            scanned.push(s(&f["value"]));
            shown.push(s(&f["title"]));
        }
        (scanned, shown)
    }

    #[test]
    fn every_rendering_is_one_post_within_limits() {
        for e in corpus() {
            let body = render(&EventView::new(&e));
            assert!(runes(&body["text"]) <= 4000);
            let attachments = body["attachments"].as_array().unwrap();
            assert_eq!(attachments.len(), 1);
            let a = &attachments[0];
            let props = serde_json::to_string(a).unwrap().chars().count();
            assert!(props <= 20_000, "{props}");
            assert!(runes(&a["footer"]) <= 300);
            let color = a["color"].as_str().unwrap();
            assert!(color.len() == 7 && color.starts_with('#'), "{color}");
            assert!(body.get("blocks").is_none());
        }
    }

    #[test]
    fn mentions_cannot_fire_and_markup_shows_literally() {
        for e in corpus() {
            let body = render(&EventView::new(&e));
            let (scanned, shown) = scanned_and_shown(&body);
            for t in scanned.iter().chain(&shown) {
                for (i, _) in t.match_indices('@') {
                    assert!(t[i + 1..].starts_with('\u{200B}'), "{t:.80}");
                }
                for bad in ["<!", "<@", "\u{1b}", "\u{202e}"] {
                    assert!(!t.contains(bad), "{bad:?} in {t:.80}");
                }
            }
            for t in &scanned {
                assert!(!t.contains('<') && !t.contains('>'), "{t:.80}");
                for (i, _) in t.match_indices('&') {
                    let rest = &t[i..];
                    assert!(
                        ["&amp;", "&lt;", "&gt;"]
                            .iter()
                            .any(|x| rest.starts_with(x)),
                        "{rest:.12}"
                    );
                }
            }
        }
        let e = event_with(EventType::JobFailed, "<!channel> @here *x* `y`");
        let body = render(&EventView::new(&e));
        let error = body["attachments"][0]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["title"] == "Error")
            .unwrap();
        assert_eq!(
            error["value"],
            "&lt;!channel&gt; @\u{200B}here \\*x\\* \\`y\\`"
        );
    }

    #[test]
    fn summary_colour_details_and_context() {
        let e = json!({"event_type": "job.completed", "event_timestamp": "2025-12-02T01:00:00Z",
            "actor": {"username": "admin"},
            "job": {"id": 5, "type": "config_backup", "status": "success",
                "result_summary": {"backed_up": 5, "failed": 0}}});
        let body = render(&EventView::new(&e));
        assert_eq!(body["text"], "**job 5 config\\_backup completed**");
        let a = &body["attachments"][0];
        assert_eq!(a["fallback"], "job 5 config_backup completed");
        assert_eq!(a["color"], "#2EB67D");
        assert_eq!(
            a["fields"][0],
            json!({"title": "Job", "value": "5", "short": true})
        );
        assert_eq!(a["fields"][3]["title"], "Result");
        assert_eq!(a["fields"][3]["value"], "backed\\_up: 5, failed: 0");
        assert_eq!(
            a["footer"],
            "job.completed · 2025-12-02T01:00:00Z · by admin"
        );
    }

    #[test]
    fn long_strings_are_cut_and_unicode_kept() {
        let e = event_with(EventType::DeviceStatusChanged, &long(40_000));
        let body = render(&EventView::new(&e));
        let text = body["text"].as_str().unwrap();
        assert!(
            text.starts_with("**device a€日😀") && text.ends_with("…**"),
            "{text:.40}"
        );
        for f in body["attachments"][0]["fields"].as_array().unwrap() {
            let v = f["value"].as_str().unwrap();
            assert!(!v.contains('\u{FFFD}'));
            if f["title"] == "Device" {
                assert!(v.ends_with('…') && v.chars().count() > 1000);
                assert_eq!(f["short"], false);
            }
        }
    }
}
