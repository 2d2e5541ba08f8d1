//! Reading a JSON object's fields into typed values, each failure naming its field as DRF
//! does (`{"timeout_seconds": ["A valid integer is required."]}`), and refusing fields the
//! endpoint does not know.

use serde_json::{Map, Value};

use crate::serve::error::{ApiError, ApiResult};

/// The object's fields, taken one by one.
pub struct Fields(Map<String, Value>);

impl Fields {
    pub fn new(map: Map<String, Value>) -> Fields {
        Fields(map)
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Removes `key`: `None` when absent, `Some(Value::Null)` when given as null.
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.0.remove(key)
    }

    /// Drops fields a response has that a client may send back unchanged (DRF ignores
    /// read-only fields).
    pub fn ignore(&mut self, keys: &[&str]) {
        for k in keys {
            self.0.remove(*k);
        }
    }

    /// Refuses whatever is left: a field this endpoint does not know.
    pub fn finish(self) -> ApiResult<()> {
        match self.0.keys().next() {
            Some(k) => Err(ApiError::invalid(k.clone(), "Unknown field.")),
            None => Ok(()),
        }
    }

    pub fn string(&mut self, key: &str) -> ApiResult<Option<String>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid(key, "Not a valid string.")),
        }
    }

    pub fn bool(&mut self, key: &str) -> ApiResult<Option<bool>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(_) => Err(ApiError::invalid(key, "Must be a valid boolean.")),
        }
    }

    /// A whole number (JSON integers only: `"10"` and `10.5` are refused).
    pub fn integer(&mut self, key: &str) -> ApiResult<Option<i64>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(Value::Number(n)) if n.is_u64() => Err(ApiError::invalid(
                key,
                "Ensure this value is not too large.",
            )),
            Some(_) => Err(ApiError::invalid(key, "A valid integer is required.")),
        }
    }

    /// A whole number of at least 0 as `u64`.
    pub fn count(&mut self, key: &str) -> ApiResult<Option<u64>> {
        match self.integer(key)? {
            Some(n) if n < 0 => Err(ApiError::invalid(
                key,
                "Ensure this value is greater than or equal to 0.",
            )),
            n => Ok(n.map(|n| n as u64)),
        }
    }

    /// [`Self::count`] within `range`, said as Django REST framework says it (in the body's
    /// own unit: `timeout_seconds` out of range is said in seconds, not as a duration).
    pub fn count_in(
        &mut self,
        key: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> ApiResult<Option<u64>> {
        match self.count(key)? {
            Some(n) if n < *range.start() => Err(ApiError::invalid(
                key,
                format!(
                    "Ensure this value is greater than or equal to {}.",
                    range.start()
                ),
            )),
            Some(n) if n > *range.end() => Err(ApiError::invalid(
                key,
                format!(
                    "Ensure this value is less than or equal to {}.",
                    range.end()
                ),
            )),
            n => Ok(n),
        }
    }

    pub fn strings(&mut self, key: &str) -> ApiResult<Option<Vec<String>>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(ApiError::invalid(key, "Each item must be a string.")),
                })
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(_) => Err(ApiError::invalid(
                key,
                "Expected a list of items but got something else.",
            )),
        }
    }

    /// An object of string values (headers), in the order given.
    pub fn string_map(&mut self, key: &str) -> ApiResult<Option<Vec<(String, String)>>> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => m
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k, s)),
                    _ => Err(ApiError::invalid(key, format!("{k}: must be a string."))),
                })
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(_) => Err(ApiError::invalid(
                key,
                "Expected a dictionary of items but got something else.",
            )),
        }
    }
}

/// Valid stand-ins for the fields a webhook body must have, put in place of a missing or wrong
/// one so that [`every_error`] can go on to check the others.
const STAND_INS: &[(&str, &str)] = &[
    ("customer", "1"),
    ("name", "\"x\""),
    ("url", "\"https://example.com/\""),
    ("event_types", "[\"*\"]"),
];

/// At most this many fields are named in one answer (a webhook body has 15 fields).
const MAX_ROUNDS: usize = 24;

/// Runs `parse` on `body`; when it names a wrong field, runs it again without that field (or
/// with a stand-in for a required one) until it names no new one, so that a 400 names every
/// wrong field at once, as DRF does: `{"name": [...], "timeout_seconds": [...]}`. `parse` must
/// be pure (it runs several times).
pub fn every_error<T>(
    body: Map<String, Value>,
    parse: impl Fn(Map<String, Value>) -> ApiResult<T>,
) -> ApiResult<T> {
    let first = match parse(body.clone()) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let ApiError::Invalid { field, message } = &first else {
        return Err(first);
    };
    let mut errors = Map::new();
    errors.insert(field.clone(), Value::from(vec![message.clone()]));
    let mut rest = body;
    let mut last = field.clone();
    // Each round removes a field of the body or stands one in, and the rounds are bounded
    // whatever the body (a 1 MiB body can hold 100,000 unknown keys: each round costs a parse).
    for _ in 0..MAX_ROUNDS {
        rest.remove(&last);
        if let Some((k, v)) = STAND_INS.iter().find(|(k, _)| *k == last) {
            rest.insert(
                k.to_string(),
                serde_json::from_str(v).unwrap_or(Value::Null),
            );
        }
        match parse(rest.clone()) {
            Err(ApiError::Invalid { field, message }) if !errors.contains_key(&field) => {
                errors.insert(field.clone(), Value::from(vec![message]));
                last = field;
            }
            _ => break,
        }
    }
    // A stand-in URL brings its own payload format: what is said of the routing key (which
    // only the pagerduty format takes) is then about the stand-in, not the body.
    if errors.contains_key("url") || errors.contains_key("payload_format") {
        errors.remove("routing_key");
    }
    if errors.len() == 1 {
        Err(first)
    } else {
        Err(ApiError::InvalidBody(Value::Object(errors)))
    }
}
