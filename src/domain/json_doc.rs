//! One JSON document of input (a stdin document, an NDJSON line, `emit --data`, an API body),
//! parsed once: as serde_json reads it, except that a key given twice is refused in the
//! top-level object, in each object of a top-level array (a batch of events), and in a
//! `headers` object within those (a webhook's custom headers). serde_json keeps the last one,
//! so `{"customer": 1, …, "customer": 2}` would record the event for customer 2, whatever the
//! line appeared to say. Other nested objects are payload the receiver reads, and keep
//! serde_json's reading.

use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::text::quote;

/// Why a document was refused. Positions are serde_json's: line and column within the
/// document, from 1.
#[derive(Debug)]
pub enum DocError {
    /// Not JSON.
    Json(serde_json::Error),
    /// The top-level object names `key` twice.
    Duplicate {
        key: String,
        line: usize,
        column: usize,
    },
}

impl DocError {
    /// What is wrong, without the position: `not valid JSON: expected value`,
    /// `duplicate key "customer"`.
    pub fn what(&self) -> String {
        match self {
            DocError::Json(e) => {
                let text = e.to_string();
                let suffix = format!(" at line {} column {}", e.line(), e.column());
                format!(
                    "not valid JSON: {}",
                    text.strip_suffix(&suffix).unwrap_or(&text)
                )
            }
            DocError::Duplicate { key, .. } => format!("duplicate key {}", quote(key)),
        }
    }

    pub fn line(&self) -> usize {
        match self {
            DocError::Json(e) => e.line(),
            DocError::Duplicate { line, .. } => *line,
        }
    }

    pub fn column(&self) -> usize {
        match self {
            DocError::Json(e) => e.column(),
            DocError::Duplicate { column, .. } => *column,
        }
    }

    /// The text ended inside the document (rather than holding something that is not JSON).
    pub fn is_eof(&self) -> bool {
        matches!(self, DocError::Json(e) if e.is_eof())
    }
}

impl fmt::Display for DocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.what(),
            self.line(),
            self.column()
        )
    }
}

impl std::error::Error for DocError {}

/// Parses one document, refusing a top-level object that names a key twice.
pub fn parse(text: &str) -> Result<Value, DocError> {
    let mut duplicate = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = TopLevel {
        duplicate: &mut duplicate,
        depth: Depth::Document,
    }
    .deserialize(&mut de)
    .and_then(|value| de.end().map(|()| value));
    match (parsed, duplicate) {
        (Ok(value), _) => Ok(value),
        (Err(e), Some(key)) => Err(DocError::Duplicate {
            key,
            line: e.line(),
            column: e.column(),
        }),
        (Err(e), None) => Err(DocError::Json(e)),
    }
}

/// Builds the document's value as serde_json's `Value` would, checking the keys of the objects
/// named in the module's summary as they come (the first repeated one is written to
/// `duplicate`).
struct TopLevel<'a> {
    duplicate: &'a mut Option<String>,
    depth: Depth,
}

/// Where a value is, for what is checked in it.
#[derive(Clone, Copy, PartialEq)]
enum Depth {
    /// The document itself.
    Document,
    /// An element of the top-level array.
    Element,
    /// The value of a `headers` key.
    Headers,
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.depth != Depth::Document {
            return Value::deserialize(de::value::SeqAccessDeserializer::new(seq));
        }
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(TopLevel {
            duplicate: &mut *self.duplicate,
            depth: Depth::Element,
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                *self.duplicate = Some(key);
                return Err(de::Error::custom("duplicate key"));
            }
            let value: Value = if key == "headers" && self.depth != Depth::Headers {
                map.next_value_seed(TopLevel {
                    duplicate: &mut *self.duplicate,
                    depth: Depth::Headers,
                })?
            } else {
                map.next_value()?
            };
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            r#"{"customer": 1, "event_type": "job.completed", "job": {"a": [1, -2, 3.5e3, null, true, "é\n"]}, "z": 18446744073709551615}"#,
            "[1, {\"a\": 1}]",
            "\"text\"",
            "-7",
            "0.25",
            "null",
            "false",
            " {} ",
        ] {
            assert_eq!(
                parse(text).unwrap(),
                serde_json::from_str::<Value>(text).unwrap(),
                "{text}"
            );
        }
        // Key order is kept (the payload's other keys follow in the order given).
        let v = parse(r#"{"b": 1, "a": 2}"#).unwrap();
        assert_eq!(v.to_string(), r#"{"b":1,"a":2}"#);
    }

    #[test]
    fn refuses_a_top_level_key_given_twice() {
        let e = parse("{\"customer\": 1,\n \"job\": {}, \"customer\": 2}").unwrap_err();
        assert_eq!(e.what(), "duplicate key \"customer\"");
        assert_eq!(e.line(), 2);
        assert!(e
            .to_string()
            .starts_with("duplicate key \"customer\" at line 2"));
        // Nested objects are the receiver's business.
        assert!(parse(r#"{"job": {"id": 1, "id": 2}}"#).is_ok());
        // Only a key repeated exactly: JSON keys are case-sensitive.
        assert!(parse(r#"{"Customer": 1, "customer": 2}"#).is_ok());
        // Escapes are read before comparing.
        assert!(parse(r#"{"a": 1, "\u0061": 2}"#).is_err());
    }

    #[test]
    fn refuses_a_key_given_twice_in_a_batch_element_or_in_headers() {
        let batch =
            "[{\"customer\": 2, \"job\": {}},\n {\"customer\": 2, \"job\": {}, \"customer\": 1}]";
        let e = parse(batch).unwrap_err();
        assert_eq!(e.what(), "duplicate key \"customer\"");
        assert_eq!(e.line(), 2);
        let e = parse(r#"{"name": "x", "headers": {"X-A": "1", "X-A": "2"}}"#).unwrap_err();
        assert_eq!(e.what(), "duplicate key \"X-A\"");
        assert!(parse(r#"[{"headers": {"X-A": "1", "X-A": "2"}}]"#).is_err());
        // Deeper, it is payload: kept as serde_json reads it.
        for fine in [
            r#"[{"job": {"id": 1, "id": 2}}]"#,
            r#"{"job": {"headers": {"a": 1, "a": 2}}}"#,
            r#"[[{"a": 1, "a": 2}]]"#,
        ] {
            assert_eq!(
                parse(fine).unwrap(),
                serde_json::from_str::<Value>(fine).unwrap(),
                "{fine}"
            );
        }
    }

    #[test]
    fn other_errors_stay_serde_jsons() {
        let e = parse("{\"a\": }").unwrap_err();
        assert!(matches!(e, DocError::Json(_)));
        assert!(
            e.what().starts_with("not valid JSON: expected value"),
            "{e}"
        );
        assert!(parse("{\"a\": 1").unwrap_err().is_eof());
        assert!(parse("{} x").is_err());
        assert!(parse(&"[".repeat(1000)).is_err());
    }
}
