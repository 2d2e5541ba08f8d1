//! Event input: any bytes, as one JSON document or NDJSON lines. Parsing never panics; what it
//! accepts has the spec's shape.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webnet::domain::payload::parse_event;
use webnet::domain::stream::{Piece, Splitter};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(event) = parse_event(&text, 1_764_637_200_000) {
        let v: serde_json::Value = serde_json::from_slice(&event.payload).expect("payload is JSON");
        let obj = v.as_object().expect("payload is an object");
        assert!(obj.contains_key("event_timestamp") && obj.contains_key("actor"));
        assert!(!obj.contains_key("customer") && !obj.contains_key("event_id"));
        assert!(obj.contains_key(event.event_type.family()));
    }
    let mut s = Splitter::new();
    let mut pieces = Vec::new();
    for (i, line) in text.lines().enumerate() {
        pieces.extend(s.push(i + 1, line));
    }
    pieces.extend(s.finish());
    for p in pieces {
        if let Piece::Doc { value, .. } = p {
            if let serde_json::Value::Object(map) = value {
                let _ = webnet::domain::payload::from_object(map, 0);
            }
        }
    }
});
