//! Untrusted text on one line, for fields a destination shows as a line: tabs and line breaks
//! become spaces; other control characters, and the explicit bidirectional controls that would
//! reorder or hide what follows (a hostname holding U+202E makes "failed" read "deliaf"),
//! become U+FFFD.

/// `text` on one line, with control and bidirectional formatting characters made visible.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            c if c.is_control() || is_bidi_control(c) => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// Unicode's explicit directional formatting characters (embeddings, overrides, isolates).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_and_controls_are_folded() {
        assert_eq!(one_line("a\r\nb\tc"), "a  b c");
        assert_eq!(
            one_line("x\u{1b}[0m\u{202e}y\u{2066}"),
            "x\u{FFFD}[0m\u{FFFD}y\u{FFFD}"
        );
        assert_eq!(one_line("日本 👩‍💻 e\u{301}"), "日本 👩‍💻 e\u{301}");
    }
}
