//! Fitting an event's details into a chat message's budgets: how many facts a message shows,
//! how long each may be, and how much text they may take together. Every fact shown is cut
//! (with `…`, never inside an escape) rather than dropped; only a count limit leaves facts
//! out, and then the caller says "+N more". Also what no chat text should carry as it is:
//! control characters and invisible direction overrides.

use super::cut::ELLIPSIS;

/// The longest headline (the event's summary) any chat format shows: longer ones are cut.
pub const HEADLINE: usize = 1000;

/// How a destination counts text: one per character (Unicode scalar value).
pub fn chars(_: char) -> usize {
    1
}

/// How a destination counts text: UTF-16 code units (an emoji outside the BMP is two).
pub fn utf16(c: char) -> usize {
    c.len_utf16()
}

/// How a message's details are budgeted, in the destination's unit (characters as sent,
/// escapes included). Keep `max_items × (label_max + per_item + 1) ≤ total` so every fact
/// shown keeps at least a character of its value.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Facts shown at most; the rest are counted in [`Fitted::more`].
    pub max_items: usize,
    /// Longest label, escaped.
    pub label_max: usize,
    /// Longest value, escaped.
    pub value_max: usize,
    /// All labels, values and `per_item` overheads together.
    pub total: usize,
    /// What the caller adds around each fact (markup, separators), counted in `total`.
    pub per_item: usize,
    /// How the destination counts: [`chars`] or [`utf16`].
    pub unit: fn(char) -> usize,
}

/// Details as escaped, cut text, ready to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fitted {
    pub items: Vec<(String, String)>,
    /// How many details were left out because of `max_items`.
    pub more: usize,
}

/// The details that fit `budget`, labels escaped with `label_escape` and values with
/// `value_escape`. When the values do not all fit, each gets a fair share of what the labels
/// leave: short values whole, long ones cut to the same length.
pub fn fit_details(
    details: &[(String, String)],
    budget: &Budget,
    label_escape: impl Fn(char, &mut String),
    value_escape: impl Fn(char, &mut String),
) -> Fitted {
    let shown = &details[..details.len().min(budget.max_items)];
    let labels: Vec<String> = shown
        .iter()
        .map(|(l, _)| escape_measured(l, budget.label_max, budget.unit, &label_escape))
        .collect();
    let used: usize = labels
        .iter()
        .map(|l| measure(l, budget.unit) + budget.per_item)
        .sum();
    let wanted: Vec<usize> = shown
        .iter()
        .map(|(_, v)| {
            measure(
                &escape_measured(v, usize::MAX, budget.unit, &value_escape),
                budget.unit,
            )
            .min(budget.value_max)
        })
        .collect();
    let caps = fair_shares(&wanted, budget.total.saturating_sub(used));
    let items = labels
        .into_iter()
        .zip(shown.iter().zip(caps))
        .map(|(label, ((_, value), cap))| {
            (
                label,
                escape_measured(value, cap, budget.unit, &value_escape),
            )
        })
        .collect();
    Fitted {
        items,
        more: details.len() - shown.len(),
    }
}

/// The size of `text` counted with `unit`.
pub fn measure(text: &str, unit: fn(char) -> usize) -> usize {
    text.chars().map(unit).sum()
}

/// `text` escaped character by character with `escape`, in at most `max` (counted with
/// `unit`, escapes included): when it does not fit, whole escapes are kept and `…` ends it,
/// so an escape is never cut in two. (`cut::escape_within`, for any unit.)
pub fn escape_measured(
    text: &str,
    max: usize,
    unit: fn(char) -> usize,
    escape: impl Fn(char, &mut String),
) -> String {
    let ellipsis = unit(ELLIPSIS);
    let mut out = String::new();
    let mut size = 0usize;
    let mut piece = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        piece.clear();
        escape(c, &mut piece);
        let n = measure(&piece, unit);
        // Room for this piece, and for `…` unless it is the last one.
        let reserve = if chars.peek().is_some() { ellipsis } else { 0 };
        if size.saturating_add(n).saturating_add(reserve) > max {
            if size + ellipsis <= max {
                out.push(ELLIPSIS);
            }
            return out;
        }
        out.push_str(&piece);
        size += n;
    }
    out
}

/// Shares of `total` for items wanting `wanted`: everything when it fits; otherwise the
/// largest common cap that fits (short items whole, long ones cut alike), the remainder
/// handed out one by one in order.
pub fn fair_shares(wanted: &[usize], total: usize) -> Vec<usize> {
    if wanted.iter().sum::<usize>() <= total {
        return wanted.to_vec();
    }
    let mut sorted = wanted.to_vec();
    sorted.sort_unstable();
    let mut left = total;
    let mut cap = 0;
    for (i, &w) in sorted.iter().enumerate() {
        let rest = sorted.len() - i;
        if w.saturating_mul(rest) <= left {
            left -= w;
        } else {
            cap = left / rest;
            break;
        }
    }
    let mut spare = total - wanted.iter().map(|&w| w.min(cap)).sum::<usize>();
    wanted
        .iter()
        .map(|&w| {
            if w > cap && spare > 0 {
                spare -= 1;
                cap + 1
            } else {
                w.min(cap)
            }
        })
        .collect()
}

/// `c` as chat text may carry it: control characters and the invisible characters that
/// reorder text (bidi embeddings, overrides, isolates) become `�`, so a string cannot hide or
/// reverse what a reader sees; `\r` goes; line breaks and tabs become spaces when the text
/// is one line. `None`: drop it.
pub fn visible(c: char, one_line: bool) -> Option<char> {
    match c {
        '\r' => None,
        '\n' if !one_line => Some('\n'),
        '\n' | '\t' => Some(' '),
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => Some('\u{FFFD}'),
        c if c.is_control() => Some('\u{FFFD}'),
        c => Some(c),
    }
}

/// `text` as one line of chat text: [`visible`] for every character.
pub fn one_line(text: &str) -> String {
    text.chars().filter_map(|c| visible(c, true)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(c: char, out: &mut String) {
        if let Some(c) = visible(c, false) {
            out.push(c);
        }
    }

    #[test]
    fn shares_are_fair_and_fill_the_total() {
        assert_eq!(fair_shares(&[3, 4], 10), vec![3, 4]);
        assert_eq!(fair_shares(&[3, 100, 100], 23), vec![3, 10, 10]);
        assert_eq!(fair_shares(&[3, 100, 100], 24), vec![3, 11, 10]);
        assert_eq!(fair_shares(&[50, 50], 0), vec![0, 0]);
        for total in 0..60 {
            let s = fair_shares(&[1, 7, 30, 2, 30], total);
            assert!(s.iter().sum::<usize>() <= total, "{total}: {s:?}");
            assert_eq!(s.iter().sum::<usize>(), total.min(70), "{total}: {s:?}");
        }
    }

    #[test]
    fn details_are_cut_not_dropped_until_the_count_limit() {
        let details: Vec<(String, String)> = (0..6)
            .map(|i| (format!("L{i}"), "v".repeat(if i == 1 { 1000 } else { 5 })))
            .collect();
        let b = Budget {
            max_items: 4,
            label_max: 10,
            value_max: 500,
            total: 100,
            per_item: 3,
            unit: chars,
        };
        let f = fit_details(&details, &b, plain, plain);
        assert_eq!(f.more, 2);
        assert_eq!(f.items.len(), 4);
        let size: usize = f
            .items
            .iter()
            .map(|(l, v)| l.chars().count() + v.chars().count() + 3)
            .sum();
        assert!(size <= 100, "{size}");
        assert_eq!(f.items[0], ("L0".to_string(), "vvvvv".to_string()));
        assert!(f.items[1].1.ends_with('…') && f.items[1].1.chars().count() > 50);
    }

    #[test]
    fn escapes_are_whole_and_the_unit_counts() {
        let amp = |c: char, out: &mut String| match c {
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        };
        assert_eq!(escape_measured("a&b", 10, chars, amp), "a&amp;b");
        assert_eq!(escape_measured("a&bcd", 6, chars, amp), "a…");
        for max in 0..12 {
            let s = escape_measured("&&&&&&", max, chars, amp);
            assert!(s.chars().count() <= max, "{max}: {s}");
            assert!(!s.contains("&am…") && !s.contains("&a…"), "{s}");
        }
        // 😀 is two UTF-16 units: four of them are 8.
        assert_eq!(escape_measured("😀😀😀😀", 8, utf16, plain), "😀😀😀😀");
        assert_eq!(escape_measured("😀😀😀😀", 7, utf16, plain), "😀😀😀…");
        assert_eq!(measure("a😀", utf16), 3);
    }

    #[test]
    fn invisible_and_control_characters_become_visible() {
        let s: String = "a\u{1b}[31m\r\n\u{202e}b\tc"
            .chars()
            .filter_map(|c| visible(c, true))
            .collect();
        assert_eq!(s, "a\u{FFFD}[31m \u{FFFD}b c");
        assert_eq!(visible('\n', false), Some('\n'));
        assert_eq!(visible('日', true), Some('日'));
    }
}
