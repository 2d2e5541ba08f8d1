//! Text that came from elsewhere, made safe to show: user input quoted in error messages is cut
//! to a bounded length, and text from receivers (response bodies, headers, paths) has its
//! control characters escaped so it cannot move the cursor, clear the screen or retitle the
//! terminal. JSON output needs neither: it escapes by itself and stays full and exact.

use std::borrow::Cow;

/// At most this many characters of user input are quoted in an error message.
pub const QUOTE_CHARS: usize = 80;

/// A whole error line is cut at this many characters, whatever built it.
pub const MESSAGE_CHARS: usize = 1000;

/// `text` cut to at most `max` characters, ending in `…` when something was cut.
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some(_) => {
            let end = text
                .char_indices()
                .nth(max.saturating_sub(1))
                .map_or(0, |(i, _)| i);
            Cow::Owned(format!("{}…", &text[..end]))
        }
    }
}

/// User input as an error message quotes it: in double quotes, control characters escaped,
/// cut to [`QUOTE_CHARS`] characters. `"job.exploded"`, `"aaaa…"`.
pub fn quote(text: &str) -> String {
    format!("{:?}", cut(text, QUOTE_CHARS))
}

/// A JSON value as an error message quotes it (`42`, `{"a":1}`), cut like [`quote`].
pub fn quote_json(value: &serde_json::Value) -> String {
    cut(&value.to_string(), QUOTE_CHARS).into_owned()
}

/// Whether `c` must not reach a terminal raw: C0 and C1 controls, DEL, and the Unicode
/// direction overrides that make text display in an order other than its own.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control character escaped: `\n`, `\r`, `\t`, `\x1b` for other C0
/// controls and DEL, `\u{9b}` for C1 controls and direction overrides. Printable text,
/// backslashes included, is left as it is.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// An error line as it may be printed: one line, controls escaped, at most [`MESSAGE_CHARS`]
/// characters — a backstop for whatever message was built without [`quote`].
pub fn error_line(message: &str) -> String {
    let one = message.split_whitespace().collect::<Vec<_>>().join(" ");
    cut(&escape_controls(&one), MESSAGE_CHARS).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_on_characters_with_an_ellipsis() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "ab…");
        assert_eq!(cut("ééééé", 4), "ééé…");
        assert_eq!(cut("", 0), "");
        assert_eq!(
            quote(&"x".repeat(1_000_000)).chars().count(),
            QUOTE_CHARS + 2
        );
        assert_eq!(quote("job.exploded"), "\"job.exploded\"");
        assert_eq!(quote("a\u{1b}b"), "\"a\\u{1b}b\"");
    }

    #[test]
    fn escapes_every_control_and_keeps_the_rest() {
        assert_eq!(
            escape_controls("\u{1b}[2J\u{1b}]0;title\u{7}\r\nok\t\u{9b}\u{7f}\u{202e}"),
            "\\x1b[2J\\x1b]0;title\\x07\\r\\nok\\t\\u{9b}\\x7f\\u{202e}"
        );
        assert!(matches!(
            escape_controls("plain text, é, \\ and 日本"),
            Cow::Borrowed(_)
        ));
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            let e = escape_controls(&c.to_string()).into_owned();
            assert!(!e.chars().any(char::is_control), "{c:?} -> {e:?}");
        }
    }

    #[test]
    fn error_lines_are_one_bounded_safe_line() {
        let line = error_line(&format!("a\nb \u{1b}[2J {}", "y".repeat(5000)));
        assert!(line.starts_with("a b \\x1b[2J y"));
        assert_eq!(line.chars().count(), MESSAGE_CHARS);
        assert!(!line.chars().any(char::is_control));
    }
}
