//! An incremental JSON syntax checker: it is fed text piece by piece (a line at a time) and
//! keeps only the nesting and the token it is in, so finding where a document ends, or where it
//! stops being JSON, costs one look at each byte however the document is spread over lines.
//! It follows RFC 8259 as serde_json does; serde_json still parses each complete document, so
//! the few limits only a parser sees (nesting depth, lone surrogates, number range) are its.

/// Where a scanned document stands after the text fed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Valid so far, not finished: more text may complete it.
    Open,
    /// One complete value (followed by whitespace only, so far).
    Complete,
    /// Not JSON: no continuation can make it valid.
    Invalid,
}

/// What may come next outside a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value: the document's start, after `:`, after `,` in an array.
    Value,
    /// After `[`: a value or `]`.
    ValueOrClose,
    /// After `{`: a key or `}`.
    KeyOrClose,
    /// After `,` in an object.
    Key,
    Colon,
    /// After a value inside an array or object.
    CommaOrClose,
    /// The top-level value is complete.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    Backslash,
    /// Hex digits still due in `\uXXXX`.
    Hex(u8),
}

/// The parts of a number (`-0.5e+3`): what was read last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Number {
    Minus,
    Zero,
    Int,
    Point,
    Fraction,
    E,
    ExponentSign,
    Exponent,
}

impl Number {
    fn next(self, b: u8) -> Option<Number> {
        use Number::*;
        match (self, b) {
            (Minus, b'0') => Some(Zero),
            (Minus, b'1'..=b'9') => Some(Int),
            (Int, b'0'..=b'9') => Some(Int),
            (Zero | Int, b'.') => Some(Point),
            (Point | Fraction, b'0'..=b'9') => Some(Fraction),
            (Zero | Int | Fraction, b'e' | b'E') => Some(E),
            (E, b'+' | b'-') => Some(ExponentSign),
            (E | ExponentSign | Exponent, b'0'..=b'9') => Some(Exponent),
            _ => None,
        }
    }

    fn can_end(self) -> bool {
        matches!(
            self,
            Number::Zero | Number::Int | Number::Fraction | Number::Exponent
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    None,
    String {
        key: bool,
        escape: Escape,
    },
    Number(Number),
    /// The rest of `true`, `false` or `null` still due.
    Literal(&'static [u8]),
}

/// The state of one document being scanned.
#[derive(Debug, Clone)]
pub struct Scanner {
    /// Open containers, innermost last: `{` or `[`.
    stack: Vec<u8>,
    expect: Expect,
    token: Token,
    invalid: bool,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner::new()
    }
}

impl Scanner {
    pub fn new() -> Scanner {
        Scanner {
            stack: Vec::new(),
            expect: Expect::Value,
            token: Token::None,
            invalid: false,
        }
    }

    /// Where the document stands.
    pub fn status(&self) -> Status {
        if self.invalid {
            Status::Invalid
        } else if self.expect == Expect::End && self.token == Token::None {
            Status::Complete
        } else {
            Status::Open
        }
    }

    /// Scans more of the document; stops at the first byte that cannot be JSON.
    pub fn feed(&mut self, text: &[u8]) -> Status {
        for &b in text {
            if self.invalid {
                break;
            }
            if !self.byte(b) {
                self.invalid = true;
            }
        }
        self.status()
    }

    /// One byte; false when it cannot continue a JSON document.
    fn byte(&mut self, b: u8) -> bool {
        match self.token {
            Token::String { key, escape } => return self.string_byte(key, escape, b),
            Token::Literal(rest) => {
                let Some((&first, rest)) = rest.split_first() else {
                    return false;
                };
                if b != first {
                    return false;
                }
                self.token = Token::Literal(rest);
                if rest.is_empty() {
                    self.token = Token::None;
                    self.value_done();
                }
                return true;
            }
            Token::Number(n) => match n.next(b) {
                Some(next) => {
                    self.token = Token::Number(next);
                    return true;
                }
                None if n.can_end() => {
                    // The number ended; this byte is whatever follows it.
                    self.token = Token::None;
                    self.value_done();
                }
                None => return false,
            },
            Token::None => {}
        }
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            return true;
        }
        match self.expect {
            Expect::Value => self.start_value(b),
            Expect::ValueOrClose if b == b']' => self.close(),
            Expect::ValueOrClose => self.start_value(b),
            Expect::KeyOrClose if b == b'}' => self.close(),
            Expect::KeyOrClose | Expect::Key if b == b'"' => {
                self.token = Token::String {
                    key: true,
                    escape: Escape::None,
                };
                true
            }
            Expect::KeyOrClose | Expect::Key => false,
            Expect::Colon if b == b':' => {
                self.expect = Expect::Value;
                true
            }
            Expect::Colon => false,
            Expect::CommaOrClose => match (b, self.stack.last()) {
                (b',', Some(b'{')) => {
                    self.expect = Expect::Key;
                    true
                }
                (b',', Some(b'[')) => {
                    self.expect = Expect::Value;
                    true
                }
                (b'}', Some(b'{')) | (b']', Some(b'[')) => self.close(),
                _ => false,
            },
            Expect::End => false,
        }
    }

    fn string_byte(&mut self, key: bool, escape: Escape, b: u8) -> bool {
        let escape = match (escape, b) {
            (Escape::None, b'"') => {
                self.token = Token::None;
                if key {
                    self.expect = Expect::Colon;
                } else {
                    self.value_done();
                }
                return true;
            }
            (Escape::None, b'\\') => Escape::Backslash,
            // Raw control characters are not allowed in JSON strings (a line break included).
            (Escape::None, 0..=0x1f) => return false,
            (Escape::None, _) => Escape::None,
            (Escape::Backslash, b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                Escape::None
            }
            (Escape::Backslash, b'u') => Escape::Hex(4),
            (Escape::Backslash, _) => return false,
            (Escape::Hex(n), _) if b.is_ascii_hexdigit() => {
                if n == 1 {
                    Escape::None
                } else {
                    Escape::Hex(n - 1)
                }
            }
            (Escape::Hex(_), _) => return false,
        };
        self.token = Token::String { key, escape };
        true
    }

    fn start_value(&mut self, b: u8) -> bool {
        match b {
            b'{' => {
                self.stack.push(b'{');
                self.expect = Expect::KeyOrClose;
            }
            b'[' => {
                self.stack.push(b'[');
                self.expect = Expect::ValueOrClose;
            }
            b'"' => {
                self.token = Token::String {
                    key: false,
                    escape: Escape::None,
                }
            }
            b'-' => self.token = Token::Number(Number::Minus),
            b'0' => self.token = Token::Number(Number::Zero),
            b'1'..=b'9' => self.token = Token::Number(Number::Int),
            b't' => self.token = Token::Literal(b"rue"),
            b'f' => self.token = Token::Literal(b"alse"),
            b'n' => self.token = Token::Literal(b"ull"),
            _ => return false,
        }
        true
    }

    fn close(&mut self) -> bool {
        self.stack.pop();
        self.value_done();
        true
    }

    fn value_done(&mut self) {
        self.expect = if self.stack.is_empty() {
            Expect::End
        } else {
            Expect::CommaOrClose
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Status {
        Scanner::new().feed(text.as_bytes())
    }

    #[test]
    fn complete_documents() {
        for doc in [
            "{}",
            "[]",
            "{\"a\": [1, -2.5e+3, 0, 0.0, 1E9, true, false, null, \"x\\\"\\u00e9\\n\"], \"b\": {}}\n",
            "42\n",
            "\"text\"",
            "null",
            "  [ [ ] , { } ]  \n\n",
        ] {
            assert_eq!(scan(doc), Status::Complete, "{doc}");
        }
    }

    #[test]
    fn open_documents() {
        for doc in [
            "",
            "   \n",
            "{",
            "{\"a\"",
            "{\"a\":",
            "{\"a\": [1,",
            "{\"a\": \"unfinished",
            "{\"a\": \"esc\\",
            "{\"a\": \"\\u00",
            "[tr",
            "42",
            "-",
            "1.",
            "1e",
        ] {
            assert_eq!(scan(doc), Status::Open, "{doc:?}");
        }
    }

    #[test]
    fn invalid_documents_agree_with_serde() {
        for doc in [
            "{bad",
            "{\"a\" 1}",
            "{\"a\": 1,}",
            "[1,]",
            "[1 2]",
            "{\"a\": 1} {\"b\": 2}",
            "{\"a\": \"line\nbreak\"}",
            "{\"a\": \"\\x\"}",
            "{\"a\": \"\\u12g4\"}",
            "01",
            "-a",
            "1.e5",
            "truex",
            "nul!",
            "]",
            "{]",
            "[}",
            "'single'",
            "{\"a\": 1}}",
            "\u{feff}{}",
        ] {
            assert_eq!(scan(doc), Status::Invalid, "{doc:?}");
            assert!(
                serde_json::from_str::<serde_json::Value>(doc).is_err(),
                "serde accepts {doc:?}"
            );
        }
    }

    #[test]
    fn fed_in_pieces_as_in_one() {
        let doc = "{\"a\": [1, 22, {\"b\": \"c\\\"d\"}], \"e\": -3.5e2, \"f\": null}\n";
        for split in 0..=doc.len() {
            let mut s = Scanner::new();
            s.feed(&doc.as_bytes()[..split]);
            assert_eq!(
                s.feed(&doc.as_bytes()[split..]),
                Status::Complete,
                "{split}"
            );
        }
    }
}
