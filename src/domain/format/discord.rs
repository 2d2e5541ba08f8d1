//! The `discord` format: an Execute Webhook body with `content` (a sign of the tone and the
//! summary in bold: what notifications show) and one embed coloured by tone, with the details
//! as fields and what/when/who as its footer.
//!
//! Invariants, whatever the event's strings hold:
//! - Discord's limits: `content` ≤ 2,000 characters; one embed with ≤ 25 fields (20 shown and
//!   "+N more"), field names ≤ 256 and values ≤ 1,024, footer ≤ 2,048, and everything
//!   counted towards the 6,000 per message under 5,600. No field name or value is blank
//!   (Discord refuses them).
//! - Nobody is pinged: `allowed_mentions: {"parse": []}`; also a zero-width space follows
//!   every `@`, so `@everyone` does not even look like a mention.
//! - Event strings show literally: Markdown (``\ * _ ~ ` | > < [ ] # - +``) is escaped with a
//!   backslash in `content` and fields; `<` escaped keeps `<@id>`, `<#id>`, `<t:…>` as text.
//!   The footer is plain text in Discord, so it gets no backslashes (only the zero-width
//!   spaces).

use serde_json::{json, Value};

use super::fit::{chars, escape_measured, fit_details, visible, Budget, HEADLINE};
use super::EventView;

/// Details as embed fields: 20 at most, names ≤ 100 and values ≤ 1,024; 5,000 characters for
/// them all, which leaves the footer and the "+N more" line room within 6,000.
const DETAILS: Budget = Budget {
    max_items: 20,
    label_max: 100,
    value_max: 1024,
    total: 5000,
    per_item: 0,
    unit: chars,
};
const FOOTER_MAX: usize = 500;
/// A field value this short (and on one line) sits beside others.
const INLINE: usize = 40;
const ZWSP: char = '\u{200B}';

/// A character for Discord Markdown.
fn markdown(c: char, out: &mut String, one_line: bool) {
    match visible(c, one_line) {
        Some('@') => {
            out.push('@');
            out.push(ZWSP);
        }
        Some(
            c @ ('\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '[' | ']' | '#' | '-' | '+'),
        ) => {
            out.push('\\');
            out.push(c);
        }
        Some(c) => out.push(c),
        None => {}
    }
}

fn line(c: char, out: &mut String) {
    markdown(c, out, true);
}

fn lines(c: char, out: &mut String) {
    markdown(c, out, false);
}

/// A character for the footer (plain text, which never pings): no backslashes, which would
/// show; the zero-width space after `@` all the same.
fn plain(c: char, out: &mut String) {
    match visible(c, true) {
        Some('@') => {
            out.push('@');
            out.push(ZWSP);
        }
        Some(c) => out.push(c),
        None => {}
    }
}

/// Discord trims names and values and refuses them empty.
fn not_blank(s: String) -> String {
    if s.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}')
        .is_empty()
    {
        "—".to_string()
    } else {
        s
    }
}

pub fn render(view: &EventView<'_>) -> Value {
    let summary = escape_measured(&view.summary, HEADLINE, chars, line);
    let details = fit_details(&view.details, &DETAILS, line, lines);
    let fields: Vec<Value> = details
        .items
        .into_iter()
        .map(|(name, value)| {
            let inline = value.chars().count() <= INLINE && !value.contains('\n');
            json!({"name": not_blank(name), "value": not_blank(value), "inline": inline})
        })
        .collect();
    let mut embed = json!({"color": view.tone.rgb()});
    if details.more > 0 {
        embed["description"] = json!(format!("+{} more details", details.more));
    }
    if !fields.is_empty() {
        embed["fields"] = Value::Array(fields);
    }
    embed["footer"] = json!({
        "text": not_blank(escape_measured(&view.context_line(), FOOTER_MAX, chars, plain)),
    });
    json!({
        "content": format!("{} **{summary}**", view.tone.emoji()),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    })
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

    #[test]
    fn every_rendering_keeps_discord_limits() {
        for e in corpus() {
            let body = render(&EventView::new(&e));
            assert!((1..=2000).contains(&len(&body["content"])));
            assert_eq!(body["allowed_mentions"], json!({"parse": []}));
            let embeds = body["embeds"].as_array().unwrap();
            assert!(embeds.len() <= 10);
            let mut total = 0;
            for em in embeds {
                assert!(em["color"].as_u64().unwrap() <= 0xFF_FFFF);
                if let Some(d) = em.get("description") {
                    assert!(len(d) <= 4096);
                    total += len(d);
                }
                let fields = em["fields"].as_array().map_or(&[][..], |f| &f[..]);
                assert!(fields.len() <= 25);
                for f in fields {
                    let (name, value) = (&f["name"], &f["value"]);
                    assert!((1..=256).contains(&len(name)), "{name}");
                    assert!((1..=1024).contains(&len(value)), "{value}");
                    assert!(!name.as_str().unwrap().trim().is_empty());
                    assert!(!value.as_str().unwrap().trim().is_empty());
                    total += len(name) + len(value);
                }
                let footer = &em["footer"]["text"];
                assert!((1..=2048).contains(&len(footer)));
                total += len(footer);
            }
            assert!(total <= 6000, "{total}");
        }
    }

    /// The first Markdown character in `t` that is not backslash-escaped.
    fn unescaped_markup(t: &str) -> Option<char> {
        let mut chars = t.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next()?;
                }
                c if "*_~`|<>[]#-+".contains(c) => return Some(c),
                _ => {}
            }
        }
        None
    }

    #[test]
    fn markdown_and_mentions_show_literally() {
        for e in corpus() {
            let body = render(&EventView::new(&e));
            let content = body["content"].as_str().unwrap();
            let (_, bold) = content.split_once(' ').unwrap();
            let mut texts = vec![bold
                .strip_prefix("**")
                .and_then(|b| b.strip_suffix("**"))
                .unwrap()
                .to_string()];
            for f in body["embeds"][0]["fields"].as_array().into_iter().flatten() {
                texts.push(f["name"].as_str().unwrap().to_string());
                texts.push(f["value"].as_str().unwrap().to_string());
            }
            for t in &texts {
                assert_eq!(unescaped_markup(t), None, "{t:.80}");
                for (i, _) in t.match_indices('@') {
                    assert!(t[i + 1..].starts_with('\u{200B}'), "{t:.80}");
                }
                assert!(!t.contains('\u{1b}') && !t.contains('\u{202e}'));
            }
        }
        let e = event_with(
            EventType::JobFailed,
            "@everyone <@123> **x** [l](https://e)",
        );
        let body = render(&EventView::new(&e));
        let error = body["embeds"][0]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "Error")
            .unwrap();
        assert_eq!(
            error["value"],
            "@\u{200B}everyone \\<@\u{200B}123\\> \\*\\*x\\*\\* \\[l\\](https://e)"
        );
    }

    #[test]
    fn summary_tone_details_and_context() {
        let e = json!({"event_type": "device.status_changed",
            "event_timestamp": "2025-12-02T01:00:00Z", "actor": {"username": "admin"},
            "device": {"hostname": "edge-2", "status": "unreachable", "previous_status": "up"}});
        let body = render(&EventView::new(&e));
        assert_eq!(
            body["content"],
            "🔴 **device edge\\-2 status changed to unreachable**"
        );
        let embed = &body["embeds"][0];
        assert_eq!(embed["color"], 0xE01E5A);
        assert_eq!(
            embed["fields"][0],
            json!({"name": "Device", "value": "edge\\-2", "inline": true})
        );
        assert_eq!(embed["fields"][1]["value"], "unreachable");
        assert_eq!(
            embed["footer"]["text"],
            "device.status_changed · 2025-12-02T01:00:00Z · by admin"
        );
    }

    #[test]
    fn long_strings_are_cut_and_unicode_kept() {
        let e = event_with(EventType::ConfigChanged, &long(40_000));
        let body = render(&EventView::new(&e));
        let content = body["content"].as_str().unwrap();
        assert!(content.contains("a€日😀") && content.ends_with("…**"));
        let device = &body["embeds"][0]["fields"][0];
        assert_eq!(device["name"], "Device");
        assert!(device["value"].as_str().unwrap().ends_with('…'));
        assert_eq!(len(&device["value"]), 1024);
    }
}
