//! Keeping text within a destination's limits: cut with `…` (which counts in the limit), on a
//! character boundary, and — when the destination needs escaping — never inside an escape.

use std::borrow::Cow;

/// The ellipsis a cut ends with.
pub const ELLIPSIS: char = '…';

/// `text` in at most `max` characters (Unicode scalar values), the last one `…` when cut.
pub fn cut_chars(text: &str, max: usize) -> Cow<'_, str> {
    if text.chars().count() <= max {
        return Cow::Borrowed(text);
    }
    let keep = max.saturating_sub(1);
    let mut out: String = text.chars().take(keep).collect();
    if max > 0 {
        out.push(ELLIPSIS);
    }
    Cow::Owned(out)
}

/// `text` in at most `max` bytes of UTF-8, the last character `…` when cut.
pub fn cut_bytes(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let budget = max.saturating_sub(ELLIPSIS.len_utf8());
    let mut end = budget.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = text[..end].to_string();
    if max >= ELLIPSIS.len_utf8() {
        out.push(ELLIPSIS);
    }
    Cow::Owned(out)
}

/// `text` escaped character by character with `escape` (which appends a character's escaped
/// form), in at most `max` characters of the escaped result: when it does not fit, whole
/// escapes are kept and `…` ends it, so an escape is never cut in two.
pub fn escape_within(text: &str, max: usize, escape: impl Fn(char, &mut String)) -> String {
    let mut out = String::new();
    let mut count = 0usize;
    let mut piece = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        piece.clear();
        escape(c, &mut piece);
        let n = piece.chars().count();
        // Room for this piece, and for `…` unless it is the last one.
        let last = chars.peek().is_none();
        if count + n + usize::from(!last) > max {
            if count < max {
                out.push(ELLIPSIS);
            }
            return out;
        }
        out.push_str(&piece);
        count += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_count_the_ellipsis_and_respect_characters() {
        assert_eq!(cut_chars("abcdef", 6), "abcdef");
        assert_eq!(cut_chars("abcdefg", 6), "abcde…");
        assert_eq!(cut_chars("ééééé", 3), "éé…");
        assert_eq!(cut_chars("abc", 0), "");
        assert_eq!(cut_bytes("abcdef", 6), "abcdef");
        // "é" is 2 bytes: 7 - 3 (…) = 4 bytes = "éé".
        assert_eq!(cut_bytes("éééé", 7), "éé…");
        assert!(cut_bytes("日本語のテキスト", 10).len() <= 10);
    }

    #[test]
    fn escapes_are_never_cut_in_two() {
        let amp = |c: char, out: &mut String| match c {
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        };
        assert_eq!(escape_within("a&b", 10, amp), "a&amp;b");
        // "a&amp;" is 6; with the ellipsis 7 > 6: the escape goes whole.
        assert_eq!(escape_within("a&bcd", 6, amp), "a…");
        assert_eq!(escape_within("abcdef", 4, amp), "abc…");
        for max in 0..12 {
            let s = escape_within("&&&&&&", max, amp);
            assert!(s.chars().count() <= max, "{max}: {s}");
            assert!(!s.contains("&am…") && !s.contains("&a…"), "{s}");
        }
    }
}
