//! Splitting event input into JSON documents: NDJSON (one per line), or one document spread over
//! several lines (pretty-printed). A malformed line is reported with its number and does not
//! swallow the lines after it; every line ends up in a document or in a report.
//!
//! A line cut short (`{"customer": 1, "event_type":`) can leave a document open that the next,
//! valid line would continue. So while a document is open, a line that is a complete JSON object
//! on its own is remembered: if the open document later turns out not to be JSON (or input ends
//! first), it was cut — it is reported, and input is read again from the remembered line. If it
//! completes, the line was part of it (an object nested on its own line). The remembered lines
//! are held back until that is known, and are bounded like a document.
//!
//! The work is linear in the input, whatever it holds: a line is read when it comes and, if it
//! was held back, once more; each reading scans it ([`Scanner`]) a bounded number of times (for
//! the open document, and to see whether it is an object on its own), and each document is
//! parsed once. A line read again is never held back again: a document begun among the lines
//! read again that breaks later is reported with them inside it, rather than reading them a
//! third time (which, on input made to open a new document on every line read again, would
//! read the rest of the input once per document).

use std::collections::VecDeque;

use serde_json::Value;

use super::json_doc::{self, DocError};
use super::json_scan::{Scanner, Status};
use super::payload::MAX_PAYLOAD_BYTES;

/// One piece of input: a parsed document (with its text, for messages that quote what was
/// written), or a rejected one, with the line it starts on.
#[derive(Debug, PartialEq)]
pub enum Piece {
    Doc {
        line: usize,
        value: Value,
        text: String,
    },
    Bad {
        line: usize,
        message: String,
    },
}

const CUT: &str = "incomplete JSON document (cut short?)";

/// Whether a line is read for the first time, or again after the document that held it back
/// broke. Only lines read for the first time are held back, so no line is read a third time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    First,
    Again,
}

/// The document being read.
#[derive(Debug)]
struct Open {
    start: usize,
    scan: Scanner,
    /// Its text so far; dropped once it is too large (it has been reported).
    text: Option<String>,
    /// From the first line read for the first time that is a complete object on its own:
    /// every line since.
    held: Vec<(usize, String)>,
    held_bytes: usize,
}

#[derive(Debug, Default)]
pub struct Splitter {
    open: Option<Open>,
    /// Lines held back by a document that broke, to be read again, in order.
    again: VecDeque<(usize, String)>,
}

impl Splitter {
    pub fn new() -> Splitter {
        Splitter::default()
    }

    /// Feeds one line (without its line break).
    pub fn push(&mut self, line_no: usize, line: &str) -> Vec<Piece> {
        let mut out = Vec::new();
        self.step(line_no, line, Pass::First, &mut out);
        self.read_again(&mut out);
        out
    }

    /// A line that could not be read (not UTF-8, too long): reported, and it ends a document
    /// left open before it.
    pub fn push_unreadable(&mut self, line_no: usize, message: String) -> Vec<Piece> {
        let mut out = Vec::new();
        self.abandon(CUT, &mut out);
        out.push(Piece::Bad {
            line: line_no,
            message,
        });
        self.read_again(&mut out);
        out
    }

    /// The end of input: an unfinished document is reported (and lines held back after it are
    /// read again).
    pub fn finish(&mut self) -> Vec<Piece> {
        let mut out = Vec::new();
        while let Some(open) = &self.open {
            let message = if open.held.is_empty() {
                "incomplete JSON document at the end of input"
            } else {
                CUT
            };
            self.abandon(message, &mut out);
            self.read_again(&mut out);
        }
        out
    }

    /// Reads the lines held back by a document that broke. They are never held back again
    /// (see [`Pass`]), so this reads each at most once.
    fn read_again(&mut self, out: &mut Vec<Piece>) {
        while let Some((n, l)) = self.again.pop_front() {
            self.step(n, &l, Pass::Again, out);
        }
    }

    /// Reads one line.
    fn step(&mut self, line_no: usize, line: &str, pass: Pass, out: &mut Vec<Piece>) {
        let Some(open) = self.open.as_mut() else {
            if line.trim().is_empty() {
                return;
            }
            let mut open = Open {
                start: line_no,
                scan: Scanner::new(),
                text: Some(String::new()),
                held: Vec::new(),
                held_bytes: 0,
            };
            match feed(&mut open, line) {
                Status::Complete => out.push(parse(line_no, open.text.unwrap_or_default())),
                Status::Invalid => out.push(invalid(line_no, open.text.unwrap_or_default())),
                Status::Open => {
                    self.open = Some(open);
                    self.bound(out);
                }
            }
            return;
        };
        if pass == Pass::First && (!open.held.is_empty() || is_object_line(line)) {
            open.held_bytes += line.len() + 1;
            open.held.push((line_no, line.to_string()));
        }
        match feed(open, line) {
            Status::Complete => {
                let open = self.open.take();
                if let Some(Open {
                    start,
                    text: Some(text),
                    ..
                }) = open
                {
                    out.push(parse(start, text));
                }
            }
            Status::Invalid => {
                // Begun on an earlier line, it never closed: cut short (or broken at this
                // line). What follows may be fresh documents: the lines from the first
                // complete object on (this one included), else this line.
                if !self.abandon(CUT, out) {
                    self.step(line_no, line, pass, out);
                }
            }
            Status::Open => self.bound(out),
        }
    }

    /// Keeps what an open document holds within [`MAX_PAYLOAD_BYTES`].
    fn bound(&mut self, out: &mut Vec<Piece>) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        if open.held_bytes > MAX_PAYLOAD_BYTES {
            // A megabyte after a complete object and still open: the document was cut.
            self.abandon(CUT, out);
            return;
        }
        if open
            .text
            .as_ref()
            .is_some_and(|t| t.len() > MAX_PAYLOAD_BYTES)
        {
            // Reported once; the rest of it is still scanned (not kept) to find its end.
            open.text = None;
            out.push(Piece::Bad {
                line: open.start,
                message: format!(
                    "JSON document larger than {MAX_PAYLOAD_BYTES} bytes (or cut short)"
                ),
            });
        }
    }

    /// Reports the open document as `message` (unless it was reported as too large) and puts
    /// the lines it held back in front of those to read again. Returns whether it held any.
    fn abandon(&mut self, message: &str, out: &mut Vec<Piece>) -> bool {
        let Some(open) = self.open.take() else {
            return false;
        };
        if open.text.is_some() {
            out.push(Piece::Bad {
                line: open.start,
                message: message.into(),
            });
        }
        let held = !open.held.is_empty();
        for line in open.held.into_iter().rev() {
            self.again.push_front(line);
        }
        held
    }
}

/// Scans one more line of an open document (and keeps its text).
fn feed(open: &mut Open, line: &str) -> Status {
    if let Some(text) = open.text.as_mut() {
        text.push_str(line);
        text.push('\n');
    }
    open.scan.feed(line.as_bytes());
    open.scan.feed(b"\n")
}

/// A line that is a whole JSON object by itself (as an NDJSON event is).
fn is_object_line(line: &str) -> bool {
    line.trim_start().starts_with('{') && {
        let mut s = Scanner::new();
        s.feed(line.as_bytes());
        s.feed(b"\n") == Status::Complete
    }
}

/// A complete document: parsed (serde_json has the last word on what it accepts; a key given
/// twice at the top level is refused, see [`json_doc`]).
fn parse(line: usize, text: String) -> Piece {
    match json_doc::parse(&text) {
        Ok(value) => Piece::Doc { line, value, text },
        Err(e) => Piece::Bad {
            line,
            message: not_json(line, &e),
        },
    }
}

/// A one-line document that is not JSON, with serde_json's word for what is wrong.
fn invalid(line: usize, text: String) -> Piece {
    match json_doc::parse(&text) {
        Ok(value) => Piece::Doc { line, value, text },
        Err(e) if !e.is_eof() => Piece::Bad {
            line,
            message: not_json(line, &e),
        },
        Err(_) => Piece::Bad {
            line,
            message: "not valid JSON".into(),
        },
    }
}

/// A document's error ([`json_doc`]: not JSON, or a key given twice) when the document starts
/// on input line `start`, with where it is in the input: `(column 7)` on the first line (the
/// report names that line), else `(at line 3, column 7)`. serde_json's column 0 is the line
/// break that ends the line before, so it is said that way; a raw line break inside a string
/// (a closing quote left out) is named.
fn not_json(start: usize, e: &DocError) -> String {
    let what = e.what();
    let at_break = e.column() == 0 && e.line() > 1;
    // Input line the error is on (the line a break ends, for column 0).
    let line = start + e.line().saturating_sub(if at_break { 2 } else { 1 });
    let place = match (line == start, at_break) {
        (true, true) => "the end of the line".to_string(),
        (true, false) => format!("column {}", e.column()),
        (false, true) => format!("the end of line {line}"),
        (false, false) => format!("line {line}, column {}", e.column()),
    };
    if at_break && what.starts_with("not valid JSON: control character") {
        return format!(
            "not valid JSON: a string is still open at {place} (a closing quote missing?)"
        );
    }
    if line == start && !at_break {
        return format!("{what} ({place})");
    }
    format!("{what} (at {place})")
}

#[cfg(test)]
mod tests;
