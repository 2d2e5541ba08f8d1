//! Output is data first: commands build JSON values with the contract's field names; this module
//! renders them as JSON for scripts or as tables (comfy-table) for people.

use std::io::Write;

use comfy_table::{presets, ContentArrangement, Table};
use serde_json::Value;

use crate::domain::text::escape_controls;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

impl Format {
    /// Tables for a terminal, JSON for pipes and files.
    pub fn detect(stdout_is_terminal: bool) -> Format {
        if stdout_is_terminal {
            Format::Table
        } else {
            Format::Json
        }
    }
}

/// A column of a list table: heading and the field it shows.
pub type Column = (&'static str, &'static str);

/// Prints one object: a JSON document, or a two-column table of its fields.
pub fn print_object(format: Format, value: &Value) {
    match format {
        Format::Json => print_json(value),
        Format::Table => {
            let mut table = new_table();
            if let Value::Object(map) = value {
                for (k, v) in map {
                    table.add_row(vec![k.clone(), cell(v)]);
                }
            }
            print_table(&mut table);
        }
    }
}

/// Prints a list: a JSON array, or a table of `columns` (`empty` on stderr when there are none).
pub fn print_list(format: Format, values: &[Value], columns: &[Column], empty: &str) {
    match format {
        Format::Json => print_line(&serde_json::to_string(values).unwrap_or_default()),
        Format::Table if values.is_empty() => eprintln!("{empty}"),
        Format::Table => {
            // A column empty in every row (no errors, nothing disabled) only takes room.
            let shown: Vec<&Column> = columns
                .iter()
                .filter(|(_, key)| values.iter().any(|v| !v[*key].is_null()))
                .collect();
            let headers: Vec<&str> = shown.iter().map(|(h, _)| *h).collect();
            let now = std::time::UNIX_EPOCH
                + std::time::Duration::from_millis(crate::delivery::system_clock().max(0) as u64);
            let mut rows: Vec<Vec<String>> = values
                .iter()
                .map(|v| {
                    shown
                        .iter()
                        .map(|(_, key)| list_cell(key, &v[*key], now))
                        .collect()
                })
                .collect();
            // One line per row: cells too wide for the terminal are cut with `…` (JSON and
            // `show` have them in full), never wrapped mid-word.
            if let Some(width) = table_width(
                std::env::var("COLUMNS").ok().as_deref(),
                Table::new().width(),
            ) {
                let whole: Vec<bool> = shown
                    .iter()
                    .map(|(_, key)| NEVER_CUT.contains(key))
                    .collect();
                fit(&headers, &mut rows, &whole, usize::from(width));
            }
            let mut table = Table::new();
            table
                .load_preset(presets::NOTHING)
                .set_content_arrangement(ContentArrangement::Disabled)
                .set_header(headers);
            for row in rows {
                table.add_row(row);
            }
            print_table(&mut table);
        }
    }
}

/// Prints one JSON document on its own line.
pub fn print_json(value: &Value) {
    print_line(&value.to_string());
}

/// Writes a line to stdout and flushes it, saying whether it got there: for what is shown once
/// only (a new token), where a full disk or a closed pipe must not pass for success.
pub fn print_line_checked(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").and_then(|()| out.flush())
}

/// Writes a line to stdout; a closed pipe (`| head`) ends output quietly instead of panicking.
/// Any other failure (a full disk) is kept for [`lost_output`]: the command then exits 1.
pub fn print_line(text: &str) {
    if let Err(e) = print_line_checked(text) {
        output_failed(e);
    }
}

/// The first failure to write stdout other than a closed pipe, if any.
static LOST: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Keeps the first failure to write stdout (a closed pipe is the reader's choice, not one).
pub fn output_failed(e: std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return;
    }
    if let Ok(mut lost) = LOST.lock() {
        lost.get_or_insert_with(|| e.to_string());
    }
}

/// Why some of this command's output could not be written (exit 1), if it could not.
pub fn lost_output() -> Option<String> {
    LOST.lock().ok().and_then(|l| l.clone())
}

/// Prints a table flush left, two spaces between columns, no trailing blanks.
fn print_table(table: &mut Table) {
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    let text = table.to_string();
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    print_line(&lines.join("\n"));
}

/// Narrower than this, a width is taken for a mistake (a pseudo-terminal with no size reports 0).
const MIN_WIDTH: u16 = 40;

fn new_table() -> Table {
    let mut t = Table::new();
    // No borders, as gh and kubectl print lists: narrow, and each row stays one greppable line.
    t.load_preset(presets::NOTHING);
    // Fit the terminal (or `COLUMNS`); with no usable width, do not wrap at all.
    match table_width(std::env::var("COLUMNS").ok().as_deref(), t.width()) {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(w);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t
}

/// The width to fit tables to: `COLUMNS` when it is a sensible number, else the terminal's,
/// else none.
fn table_width(columns: Option<&str>, terminal: Option<u16>) -> Option<u16> {
    columns
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|w| *w >= MIN_WIDTH)
        .or(terminal.filter(|w| *w >= MIN_WIDTH))
}

/// List columns never cut to fit: a sparkline cut short loses its time axis.
const NEVER_CUT: &[&str] = &["activity", "failures"];

/// Columns between them in a list table.
const GAP: usize = 2;

/// Narrows the widest cuttable columns, one character at a time, until the table fits `width`
/// (or nothing more can go: a column keeps at least its heading's width), then cuts the cells
/// of narrowed columns with `…`.
fn fit(headers: &[&str], rows: &mut [Vec<String>], whole: &[bool], width: usize) {
    use unicode_width::UnicodeWidthStr;
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in rows.iter() {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.width());
        }
    }
    let floor: Vec<usize> = headers.iter().map(|h| h.width().max(4)).collect();
    let total = |w: &[usize]| w.iter().sum::<usize>() + GAP * w.len().saturating_sub(1);
    while total(&widths) > width {
        let widest = (0..widths.len())
            .filter(|&i| !whole[i] && widths[i] > floor[i])
            .max_by_key(|&i| widths[i]);
        let Some(i) = widest else { break };
        widths[i] -= 1;
    }
    for row in rows.iter_mut() {
        for (c, w) in row.iter_mut().zip(&widths) {
            if c.width() > *w {
                *c = cut_to(c, *w);
            }
        }
    }
}

/// `text` cut to `width` display columns, its last one `…`.
fn cut_to(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut out = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let w = ch.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(ch);
        used += w;
    }
    out.push('…');
    out
}

/// A list cell, on one line: times (`…_at` fields) relative to now ("3m ago", "in 2m"; a
/// next attempt already due is "due now"), lists comma-separated, everything else as [`cell`].
/// JSON output keeps the full values.
fn list_cell(key: &str, v: &Value, now: std::time::SystemTime) -> String {
    if key.ends_with("_at") {
        if let Some(t) = v.as_str().and_then(|s| humantime::parse_rfc3339(s).ok()) {
            if key == "next_retry_at" && t <= now {
                return "due now".into();
            }
            return relative(t, now);
        }
    }
    match v {
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(", "),
        other => cell(other).replace('\n', " "),
    }
}

/// `t` as a short distance from `now`: "12s ago", "3m ago", "5h ago", "2d ago", "in 2m".
fn relative(t: std::time::SystemTime, now: std::time::SystemTime) -> String {
    let (secs, future) = match now.duration_since(t) {
        Ok(d) => (d.as_secs(), false),
        Err(e) => (e.duration().as_secs(), true),
    };
    let amount = match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// Multi-line text for a table or a terminal: its lines kept, each with its control characters
/// escaped.
pub fn safe_lines(text: &str) -> String {
    text.lines()
        .map(escape_controls)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A JSON value as table text: arrays one item per line, objects `key: value` per line. Text
/// (response bodies and errors come from receivers) has every control character escaped, line
/// breaks included: the only line breaks in a cell are the ones the table puts there.
pub(super) fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => escape_controls(s).into_owned(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join("\n"),
        Value::Object(map) if map.is_empty() => "-".into(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{}: {}", escape_controls(k), cell(v)))
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_fit_columns_or_the_terminal_and_never_collapse() {
        assert_eq!(table_width(Some("120"), Some(80)), Some(120));
        assert_eq!(table_width(Some("junk"), Some(80)), Some(80));
        assert_eq!(table_width(None, Some(0)), None, "a pty with no size");
        assert_eq!(table_width(Some("0"), None), None);
        assert_eq!(table_width(None, None), None);
    }

    #[test]
    fn wide_columns_are_narrowed_first_and_sparklines_never() {
        let headers = ["ID", "URL", "ACTIVITY"];
        let mut rows = vec![vec![
            "1".to_string(),
            "https://example.com/a/long/path".to_string(),
            "   ▁█".to_string(),
        ]];
        fit(&headers, &mut rows, &[false, false, true], 24);
        assert_eq!(rows[0][0], "1");
        // 2 + 2 + 10 + 2 + 8 = 24 columns: only the URL gave way.
        assert_eq!(rows[0][1], "https://e…");
        assert_eq!(rows[0][2], "   ▁█", "kept whole, leading blanks too");
    }

    #[test]
    fn list_times_are_relative() {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_637_200);
        let at = |s: &str| list_cell("created_at", &json!(s), now);
        assert_eq!(at("2025-12-02T01:00:00Z"), "0s ago");
        assert_eq!(at("2025-12-02T00:57:00Z"), "3m ago");
        assert_eq!(at("2025-11-30T01:00:00Z"), "2d ago");
        assert_eq!(at("2025-12-02T01:02:00Z"), "in 2m");
        assert_eq!(list_cell("created_at", &Value::Null, now), "-");
        assert_eq!(
            list_cell("name", &json!("2025-12-02T01:00:00Z"), now),
            "2025-12-02T01:00:00Z"
        );
    }
}
