//! The `teams` format: an Adaptive Card 1.4 in the message envelope Teams Workflows accept
//! (DESIGN §8): `{"type":"message","attachments":[{"contentType":
//! "application/vnd.microsoft.card.adaptive","contentUrl":null,"content":<card>}]}`.
//!
//! The card: the summary as a bold TextBlock coloured by tone, a FactSet of the details
//! (important first), and a small subtle TextBlock with `context_line()`. Only elements and
//! properties of Adaptive Cards 1.0–1.2 (TextBlock, FactSet), which Teams mobile renders too;
//! `msteams.width: Full` so facts are not squeezed on desktop.
//!
//! Limits: Teams refuses a message over 28 KB (bytes of the whole envelope); the body is kept
//! within [`BUDGET`] (26 KiB) whatever the strings: every text is capped when built, then long
//! fact values are cut shorter, then trailing facts give way to a `+N more details` fact (also
//! past 20 facts).
//!
//! Escaping: TextBlock and Fact text are Markdown, so untrusted text has `\ * _ [ ] ` ~` (and
//! `- + # >` or `1.` starting the text) backslash-escaped, `_` inside a word left alone
//! (Markdown does not read it as emphasis, and `config_backup` stays readable on clients that
//! show escapes); `{{` gets a zero-width space so `{{DATE(…)}}` templates do not expand. Line
//! breaks become spaces, control characters and bidirectional overrides U+FFFD
//! ([`super::fit::visible`]).
//! Mentions need `<at>` plus `msteams.entities`, which we never send, so none can fire.

use serde_json::{json, Value};

use super::event::Tone;
use super::fit::one_line;
use super::{EventView, ELLIPSIS};

/// What we aim for, in bytes of the whole envelope: a margin under Teams' 28 KB (28,672 bytes
/// of UTF-8; over it a message is refused), as practitioners keep.
pub const BUDGET: usize = 26 * 1024;
/// The title (summary), in bytes once escaped.
const TITLE_MAX: usize = 2_000;
/// The context line, in bytes once escaped.
const CONTEXT_MAX: usize = 1_000;
/// A fact's title, in bytes once escaped.
const FACT_TITLE_MAX: usize = 200;
/// A fact's value, in bytes once escaped: the first try, then halved down to the minimum.
const FACT_VALUE_MAX: usize = 4_000;
const FACT_VALUE_MIN: usize = 120;
/// Facts shown at most (then `+N more details`), as the other chat formats.
const FACTS_MAX: usize = 20;

pub fn render(view: &EventView<'_>) -> Value {
    let title = markdown_within(&view.summary, TITLE_MAX);
    let context = markdown_within(&view.context_line(), CONTEXT_MAX);
    let mut value_max = FACT_VALUE_MAX;
    let mut shown = view.details.len().min(FACTS_MAX);
    loop {
        let card = envelope(view, &title, &facts(view, shown, value_max), &context);
        let size = serde_json::to_vec(&card).map_or(0, |b| b.len());
        if size <= BUDGET || shown == 0 {
            return card;
        }
        // First cut the values shorter, then show fewer facts.
        if value_max > FACT_VALUE_MIN {
            value_max = (value_max / 2).max(FACT_VALUE_MIN);
        } else {
            shown -= 1;
        }
    }
}

fn envelope(view: &EventView<'_>, title: &str, facts: &[Value], context: &str) -> Value {
    let color = match view.tone {
        Tone::Good => "Good",
        Tone::Warning => "Warning",
        Tone::Bad => "Attention",
        Tone::Neutral => "Default",
    };
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": title,
        "weight": "Bolder",
        "size": "Medium",
        "color": color,
        "wrap": true,
    })];
    if !facts.is_empty() {
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    body.push(json!({
        "type": "TextBlock",
        "text": context,
        "isSubtle": true,
        "size": "Small",
        "spacing": "Small",
        "wrap": true,
    }));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "msteams": {"width": "Full"},
            },
        }],
    })
}

/// The first `shown` details as facts (values at most `value_max` bytes escaped), and a
/// `+N more` fact for the rest.
fn facts(view: &EventView<'_>, shown: usize, value_max: usize) -> Vec<Value> {
    let mut out: Vec<Value> = view
        .details
        .iter()
        .take(shown)
        .map(|(label, value)| {
            json!({
                "title": markdown_within(label, FACT_TITLE_MAX),
                "value": markdown_within(value, value_max),
            })
        })
        .collect();
    let rest = view.details.len() - shown.min(view.details.len());
    if rest > 0 {
        out.push(json!({"title": "More", "value": markdown_within(&format!("+{rest} more details"), 100)}));
    }
    out
}

/// `text` on one line with Markdown and templates made inert, in at most `max` bytes of
/// UTF-8: escapes are kept whole and `…` (counted) ends a cut.
pub(crate) fn markdown_within(text: &str, max: usize) -> String {
    let line: Vec<char> = one_line(text).chars().collect();
    let mut out = String::new();
    let mut piece = String::new();
    // Still in the leading spaces (a list or heading marker would start here), and in the
    // leading digits (`1.` starts a numbered list).
    let mut at_start = true;
    let mut digits = 0usize;
    for (i, &c) in line.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| line[p]);
        let next = line.get(i + 1).copied();
        piece.clear();
        match c {
            '\\' | '*' | '`' | '[' | ']' | '~' => {
                piece.push('\\');
                piece.push(c);
            }
            '_' if !(prev.is_some_and(char::is_alphanumeric)
                && next.is_some_and(char::is_alphanumeric)) =>
            {
                piece.push_str("\\_");
            }
            '-' | '+' | '#' | '>' if at_start => {
                piece.push('\\');
                piece.push(c);
            }
            '.' | ')' if at_start && digits > 0 => {
                piece.push('\\');
                piece.push(c);
            }
            // `{{` starts a template: a zero-width space keeps the braces apart.
            '{' if prev == Some('{') => {
                piece.push('\u{200B}');
                piece.push('{');
            }
            c => piece.push(c),
        }
        if c.is_ascii_digit() && at_start {
            digits += 1;
        } else if c != ' ' {
            at_start = false;
        }
        let last = i + 1 == line.len();
        let room = if last { 0 } else { ELLIPSIS.len_utf8() };
        if out.len() + piece.len() + room > max {
            if out.len() + ELLIPSIS.len_utf8() <= max {
                out.push(ELLIPSIS);
            }
            return out;
        }
        out.push_str(&piece);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::{corpus, ctx, long};
    use super::super::PayloadFormat;
    use super::*;
    use serde_json::Map;

    /// What a reader sees: the escapes undone.
    fn unescape(md: &str) -> String {
        let mut out = String::new();
        let mut chars = md.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.extend(chars.next()),
                '\u{200B}' => {}
                c => out.push(c),
            }
        }
        out
    }

    /// Markdown a Teams client would act on in `md`: an unescaped metacharacter.
    fn live_markup(md: &str) -> Option<String> {
        let chars: Vec<char> = md.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                i += 2;
                continue;
            }
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let intraword =
                prev.is_some_and(char::is_alphanumeric) && next.is_some_and(char::is_alphanumeric);
            if "*`[]~".contains(c) || (c == '_' && !intraword) {
                return Some(format!("{c:?} at {i} in {md:?}"));
            }
            if c == '{' && next == Some('{') {
                return Some(format!("template at {i}"));
            }
            i += 1;
        }
        None
    }

    fn texts(card: &Value) -> Vec<String> {
        let mut out = Vec::new();
        for b in card["body"].as_array().unwrap() {
            if let Some(t) = b["text"].as_str() {
                out.push(t.to_string());
            }
            for f in b["facts"].as_array().into_iter().flatten() {
                out.push(f["title"].as_str().unwrap().to_string());
                out.push(f["value"].as_str().unwrap().to_string());
            }
        }
        out
    }

    #[test]
    fn every_event_is_a_card_within_the_size_limit_with_inert_text() {
        for e in corpus() {
            let payload = serde_json::to_vec(&e).unwrap();
            let body = PayloadFormat::Teams.render(&payload, &ctx());
            let t = e["event_type"].as_str().unwrap();
            assert!(body.len() <= BUDGET, "{t}: {} bytes", body.len());
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["type"], "message");
            let att = &v["attachments"][0];
            assert_eq!(
                att["contentType"],
                "application/vnd.microsoft.card.adaptive"
            );
            assert!(att["contentUrl"].is_null());
            let card = &att["content"];
            assert_eq!(card["type"], "AdaptiveCard");
            assert_eq!(card["version"], "1.4");
            let title = &card["body"][0];
            assert_eq!(title["weight"], "Bolder");
            assert_eq!(title["wrap"], true);
            // The summary, whole or cut with … (never changed otherwise).
            let view = EventView::new(&e);
            let want = one_line(&view.summary);
            let got = unescape(title["text"].as_str().unwrap());
            if got.ends_with(ELLIPSIS) && !want.ends_with(ELLIPSIS) {
                assert!(want.starts_with(got.trim_end_matches(ELLIPSIS)), "{t}");
                assert!(got.len() > 500, "{t}: cut late, not early");
            } else {
                assert_eq!(got, want, "{t}");
            }
            for text in texts(card) {
                assert!(!text.is_empty(), "{t}");
                assert_eq!(live_markup(&text), None, "{t}");
                assert!(
                    !text.chars().any(|c| c.is_control() || c == '\u{202E}'),
                    "{t}: {text:?}"
                );
            }
            let context = card["body"].as_array().unwrap().last().unwrap();
            assert_eq!(context["isSubtle"], true);
            let got = unescape(context["text"].as_str().unwrap());
            let want = one_line(&view.context_line());
            if got.ends_with(ELLIPSIS) && got != want {
                assert!(want.starts_with(got.trim_end_matches(ELLIPSIS)), "{t}");
            } else {
                assert_eq!(got, want, "{t}");
            }
            // The important details: the first facts, in order.
            let facts = card["body"][1]["facts"].as_array().unwrap();
            for (f, (label, _)) in facts.iter().zip(&view.details).take(3) {
                assert_eq!(unescape(f["title"].as_str().unwrap()), *label, "{t}");
            }
        }
    }

    #[test]
    fn hostile_text_is_escaped_and_reads_back_as_given() {
        let md = markdown_within(
            "<at>x</at> *bold* _it_ config_backup `c` ~s~ [l](https://e.example) {{DATE(2020-01-01T00:00:00Z)}} a\\b",
            10_000,
        );
        assert_eq!(
            md,
            "<at>x</at> \\*bold\\* \\_it\\_ config_backup \\`c\\` \\~s\\~ \\[l\\](https://e.example) {\u{200B}{DATE(2020-01-01T00:00:00Z)}} a\\\\b"
        );
        assert_eq!(markdown_within("- item", 100), "\\- item");
        assert_eq!(markdown_within("  # h", 100), "  \\# h");
        assert_eq!(markdown_within("12. x", 100), "12\\. x");
        assert_eq!(markdown_within("core-sw-1.lan", 100), "core-sw-1.lan");
        assert_eq!(
            markdown_within("a\nb\u{1b}c\u{202e}d", 100),
            "a b\u{FFFD}c\u{FFFD}d"
        );
        // Cut in bytes, … counted, an escape never split.
        for max in 0..40 {
            let s = markdown_within("**********ééééé", max);
            assert!(s.len() <= max, "{max}: {s}");
            assert!(!s.trim_end_matches(ELLIPSIS).ends_with('\\') || s.ends_with("\\\\"));
            assert_eq!(live_markup(&s), None, "{max}: {s}");
        }
    }

    #[test]
    fn many_long_details_give_way_to_a_count() {
        let mut obj = Map::new();
        for i in 0..300 {
            obj.insert(format!("k{i:03}"), json!(long(2_000)));
        }
        let e = json!({"event_timestamp": "2025-12-02T01:00:00Z", "event_type": "device.updated",
            "actor": {"id": 1, "username": "admin"}, "device": obj});
        let payload = serde_json::to_vec(&e).unwrap();
        let body = PayloadFormat::Teams.render(&payload, &ctx());
        assert!(body.len() <= BUDGET, "{}", body.len());
        let v: Value = serde_json::from_slice(&body).unwrap();
        let facts = v["attachments"][0]["content"]["body"][1]["facts"]
            .as_array()
            .unwrap();
        let last = facts.last().unwrap();
        assert_eq!(last["title"], "More");
        let n: usize = unescape(last["value"].as_str().unwrap())
            .trim_start_matches('+')
            .trim_end_matches(" more details")
            .parse()
            .unwrap();
        assert_eq!(facts.len() - 1 + n, 300, "every fact shown or counted");
        assert!(facts.len() > 10, "values are cut before facts go");
        assert_eq!(unescape(facts[0]["title"].as_str().unwrap()), "K000");
        assert!(facts[0]["value"].as_str().unwrap().ends_with(ELLIPSIS));

        // An event with a few short details keeps them whole, with no count.
        let e = json!({"event_type": "job.failed", "job": {"id": 5, "type": "config_backup"}});
        let v: Value = serde_json::from_slice(
            &PayloadFormat::Teams.render(&serde_json::to_vec(&e).unwrap(), &ctx()),
        )
        .unwrap();
        let card = &v["attachments"][0]["content"];
        assert_eq!(card["body"][0]["text"], "job 5 config_backup failed");
        assert_eq!(card["body"][0]["color"], "Attention");
        assert_eq!(
            card["body"][1]["facts"],
            json!([{"title": "Job", "value": "5"}, {"title": "Type", "value": "config_backup"}])
        );
        // Without details there is no (empty) FactSet.
        let e = json!({"event_type": "device.created", "device": {}});
        let v: Value = serde_json::from_slice(
            &PayloadFormat::Teams.render(&serde_json::to_vec(&e).unwrap(), &ctx()),
        )
        .unwrap();
        let body = v["attachments"][0]["content"]["body"].as_array().unwrap();
        assert_eq!(body.len(), 2);
        assert!(body.iter().all(|b| b["type"] == "TextBlock"));
    }
}
