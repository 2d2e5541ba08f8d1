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

/// Something the user typed as a URL (or that may be one) as an error message quotes it: its
/// password shown as `***` ([`redact_userinfo`]), then quoted like [`quote`].
pub fn quote_url(text: &str) -> String {
    quote(&redact_userinfo(text))
}

/// The scheme of text written as a URL (`postgres` in `postgres://…`): a letter, then letters,
/// digits, `+`, `-` or `.`, then `://`. `None` for anything else.
pub fn url_scheme(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let is_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then_some(scheme)
}

/// Where the password of `text`'s user info is: the bytes after the first `:` and before the
/// last `@` (after the `scheme://`, if there is one; not in an IPv6 address). The end is the
/// `@`.
///
/// A URL parser ends the user info at the first `/`, `?` or `#`, but a password typed with one
/// of those unescaped (`postgres://app:pa/ss@db/x`) is still a password, so the last `@`
/// decides. What this costs is showing too little of an odd URL (one with a `:` and then an `@`
/// in its path or query), never showing a password.
pub fn password_range(text: &str) -> Option<std::ops::Range<usize>> {
    let start = url_scheme(text).map_or(0, |s| s.len() + "://".len());
    let rest = &text[start..];
    let at = rest.rfind('@')?;
    let colon = rest[..at].find(':')?;
    if rest[..colon].contains('[') {
        // The colons of an IPv6 address (`http://[::1]:80/a@b`): no user name has a `[`.
        return None;
    }
    Some(start + colon + 1..start + at)
}

/// `text` (a URL, or what was typed as one) with the password of its user info shown as `***`
/// and the rest as it was: `postgres://app:***@db/x`. See [`password_range`].
pub fn redact_userinfo(text: &str) -> Cow<'_, str> {
    match password_range(text) {
        Some(r) => Cow::Owned(format!("{}***{}", &text[..r.start], &text[r.end..])),
        None => Cow::Borrowed(text),
    }
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
    fn passwords_in_urls_are_hidden_whatever_they_hold() {
        for (given, shown) in [
            ("https://user:pw@host/", "https://user:***@host/"),
            ("postgres://app:pa/ss@db/x", "postgres://app:***@db/x"),
            (
                "postgres://app:p?ss@db/x?y=1",
                "postgres://app:***@db/x?y=1",
            ),
            ("postgres://app:p#ss@db/x", "postgres://app:***@db/x"),
            ("ftp://u:pw@h", "ftp://u:***@h"),
            (
                "mysql://root:p@ss:w@rd@localhost/",
                "mysql://root:***@localhost/",
            ),
            ("HTTPS://User:PW@Host", "HTTPS://User:***@Host"),
            ("user:pw@10.0.0.1", "user:***@10.0.0.1"),
            ("https://user:@host/", "https://user:***@host/"),
            // An odd path: too much hidden rather than too little.
            ("https://host:8080/x?to=a@b", "https://host:***@b"),
            // Nothing to hide.
            ("https://user@host/", "https://user@host/"),
            ("https://host:8443/p", "https://host:8443/p"),
            ("http://[::1]:80/a@b", "http://[::1]:80/a@b"),
            ("https://host/@user", "https://host/@user"),
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("", ""),
        ] {
            assert_eq!(redact_userinfo(given), shown, "{given}");
        }
        assert_eq!(url_scheme("postgres://x"), Some("postgres"));
        assert_eq!(url_scheme("svn+ssh://x"), Some("svn+ssh"));
        assert_eq!(url_scheme("1http://x"), None);
        assert_eq!(url_scheme("a b://x"), None);
        assert_eq!(url_scheme("db/file.db"), None);
        // Hidden before being cut: a password past the 80 characters quoted is hidden too.
        let long = format!("https://{}:hunter2@host/", "u".repeat(100));
        assert!(!quote_url(&long).contains("hunter2"));
        assert!(!quote_url(&format!("https://u:{}@h/", "p".repeat(100))).contains("ppp"));
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
