//! Splitting event input into JSON documents: NDJSON (one per line), or one document spread over
//! several lines (pretty-printed). A malformed line is reported with its number and does not
//! swallow the lines after it.

use serde_json::error::Category;
use serde_json::Value;

use super::payload::MAX_PAYLOAD_BYTES;

/// One piece of input: a parsed document, or a rejected one, with the line it starts on.
#[derive(Debug, PartialEq)]
pub enum Piece {
    Doc { line: usize, value: Value },
    Bad { line: usize, message: String },
}

#[derive(Debug, Default)]
pub struct Splitter {
    buf: String,
    start: usize,
    last: usize,
}

impl Splitter {
    pub fn new() -> Splitter {
        Splitter::default()
    }

    /// Feeds one line (without its line break).
    pub fn push(&mut self, line_no: usize, line: &str) -> Vec<Piece> {
        let mut out = Vec::new();
        self.push_into(line_no, line, &mut out);
        out
    }

    fn push_into(&mut self, line_no: usize, line: &str, out: &mut Vec<Piece>) {
        if self.buf.is_empty() {
            if line.trim().is_empty() {
                return;
            }
            self.start = line_no;
        }
        self.last = line_no;
        self.buf.push_str(line);
        self.buf.push('\n');
        match serde_json::from_str::<Value>(&self.buf) {
            Ok(value) => {
                self.buf.clear();
                out.push(Piece::Doc {
                    line: self.start,
                    value,
                });
            }
            Err(e) if e.classify() == Category::Eof && self.buf.len() <= MAX_PAYLOAD_BYTES => {}
            Err(e) => {
                let multi = self.start != line_no;
                let start = self.start;
                self.buf.clear();
                if multi {
                    // The document begun earlier never closed; this line may be a fresh one.
                    out.push(Piece::Bad {
                        line: start,
                        message: "incomplete JSON document (cut short?)".into(),
                    });
                    self.push_into(line_no, line, out);
                } else {
                    // serde's position is within the document; the line number is ours.
                    let text = e.to_string();
                    let suffix = format!(" at line {} column {}", e.line(), e.column());
                    let what = text.strip_suffix(&suffix).unwrap_or(&text);
                    out.push(Piece::Bad {
                        line: start,
                        message: format!("not valid JSON: {what} (column {})", e.column()),
                    });
                }
            }
        }
    }

    /// The end of input: an unfinished document is reported.
    pub fn finish(&mut self) -> Option<Piece> {
        if self.buf.trim().is_empty() {
            return None;
        }
        self.buf.clear();
        Some(Piece::Bad {
            line: self.start,
            message: "incomplete JSON document at the end of input".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<Piece> {
        let mut s = Splitter::new();
        let mut out = Vec::new();
        for (i, l) in text.lines().enumerate() {
            out.extend(s.push(i + 1, l));
        }
        out.extend(s.finish());
        out
    }

    fn lines(pieces: &[Piece]) -> Vec<(bool, usize)> {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Doc { line, .. } => (true, *line),
                Piece::Bad { line, .. } => (false, *line),
            })
            .collect()
    }

    #[test]
    fn ndjson_with_blank_and_bad_lines() {
        let p = run("{\"a\":1}\n\n{bad\n{\"b\":2}\nnot json\n{\"c\":3}\n");
        assert_eq!(
            lines(&p),
            [(true, 1), (false, 3), (true, 4), (false, 5), (true, 6)]
        );
    }

    #[test]
    fn one_pretty_printed_document() {
        let p = run("{\n  \"a\": 1,\n  \"b\": {\"c\": 2}\n}\n");
        assert_eq!(lines(&p), [(true, 1)]);
    }

    #[test]
    fn a_cut_line_does_not_swallow_the_next() {
        let p = run("{\"a\":1\n{\"b\":2}\n{\"c\":");
        assert_eq!(lines(&p), [(false, 1), (true, 2), (false, 3)]);
    }
}
