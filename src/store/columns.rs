//! How a webhook's settings are kept as text in a row, the same on every backend: event types
//! and headers as JSON, credential header values sealed with the secret key, and the decoding
//! that fails loudly ([`StoreError::Corrupt`]) when a stored value does not read back.

use std::collections::BTreeMap;

use super::{Result, StoreError, SEALED_PREFIX};
use crate::domain::event_type::Subscription;
use crate::domain::secret::SecretKey;

pub(super) fn types_json(types: &[Subscription]) -> String {
    serde_json::Value::from(types.iter().map(|t| t.as_string()).collect::<Vec<_>>()).to_string()
}

pub(super) fn headers_json(h: &BTreeMap<String, String>) -> String {
    serde_json::to_string(h).unwrap_or_else(|_| "{}".into())
}

/// Whether storing `headers` needs the secret key: a credential header not sealed yet.
pub(super) fn headers_need_key(headers: &BTreeMap<String, String>) -> bool {
    headers
        .iter()
        .any(|(k, v)| crate::domain::headers::is_sensitive(k, v) && !v.starts_with(SEALED_PREFIX))
}

/// Custom headers as stored: credential values (`Authorization`, `X-Api-Key`, …, or a value
/// such as `Bearer …` under any name) sealed with the secret key like webhook secrets, so they
/// are never in clear in the database. `key` is given whenever [`headers_need_key`].
pub(super) fn seal_headers(
    headers: &BTreeMap<String, String>,
    key: Option<&SecretKey>,
) -> BTreeMap<String, String> {
    let mut out = headers.clone();
    let Some(key) = key else {
        return out;
    };
    for (k, v) in out.iter_mut() {
        if crate::domain::headers::is_sensitive(k, v) && !v.starts_with(SEALED_PREFIX) {
            *v = format!("{SEALED_PREFIX}{}", hex::encode(key.seal(v.as_bytes())));
        }
    }
    out
}

/// The headers to write back on update. A sealed value in `given` is one the caller read
/// earlier and did not change; `key rotate` (or `key reset`) may have re-sealed (or dropped) it
/// since, so the value stored now is written back instead, never the caller's copy: that one
/// may be sealed under a key that no longer exists. A sealed header the stored row no longer
/// has (a reset dropped it) stays dropped.
pub(super) fn keep_stored_sealed(
    given: &BTreeMap<String, String>,
    stored: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    given
        .iter()
        .filter_map(|(k, v)| {
            if !v.starts_with(SEALED_PREFIX) {
                return Some((k.clone(), v.clone()));
            }
            stored
                .get(k)
                .filter(|now| now.starts_with(SEALED_PREFIX))
                .map(|now| (k.clone(), now.clone()))
        })
        .collect()
}

pub(super) fn name_taken(name: &str) -> String {
    format!("a webhook named {name:?} already exists for this customer")
}

/// `webhooks.event_types` of row `id`: a JSON array of subscriptions.
pub(super) fn event_types(id: i64, text: &str) -> Result<Vec<Subscription>> {
    let bad = |what: String| StoreError::corrupt("webhooks", id, what);
    let names: Vec<String> = serde_json::from_str(text)
        .map_err(|e| bad(format!("event_types is not a JSON array of names ({e})")))?;
    names
        .iter()
        .map(|t| Subscription::parse(t).map_err(|e| bad(format!("event_types: {e}"))))
        .collect()
}

/// An enabled webhook as recording sees it: whose it is and what it subscribes to, or why
/// that does not read.
pub(super) struct Subscriber {
    pub id: i64,
    pub customer: i64,
    pub types: std::result::Result<Vec<Subscription>, String>,
}

impl Subscriber {
    pub fn read(id: i64, customer: i64, event_types_text: &str) -> Subscriber {
        Subscriber {
            id,
            customer,
            types: event_types(id, event_types_text).map_err(|e| e.to_string()),
        }
    }
}

/// Where each event goes: for each of `events`, in order, the ids of the `subscribers` of its
/// customer subscribed to its type (in the order given), and those whose subscriptions do
/// not read. Decided here rather than in SQL, so that one webhook's damaged row is passed
/// over by name instead of failing the whole batch — every customer's events in it.
pub(super) fn route(
    events: &[super::NewEvent<'_>],
    subscribers: &[Subscriber],
) -> Vec<(Vec<i64>, Vec<super::PassedOver>)> {
    // Each event looks only at its own customer's webhooks (a batch may hold many customers).
    let mut of: std::collections::HashMap<i64, Vec<&Subscriber>> = std::collections::HashMap::new();
    for s in subscribers {
        of.entry(s.customer).or_default().push(s);
    }
    events
        .iter()
        .map(|e| {
            let mut to = Vec::new();
            let mut passed_over = Vec::new();
            for s in of.get(&e.customer.0).into_iter().flatten() {
                match &s.types {
                    Ok(types) if types.iter().any(|t| t.matches(e.event_type)) => to.push(s.id),
                    Ok(_) => {}
                    Err(why) => passed_over.push(super::PassedOver {
                        webhook: s.id,
                        why: why.clone(),
                    }),
                }
            }
            (to, passed_over)
        })
        .collect()
}

/// `webhooks.headers` of row `id`: a JSON object of header names and values (credential values
/// sealed). Every read of the column goes through here.
pub(super) fn headers(id: i64, text: &str) -> Result<BTreeMap<String, String>> {
    serde_json::from_str(text).map_err(|e| {
        StoreError::corrupt(
            "webhooks",
            id,
            format!("headers is not a JSON object of names and values ({e})"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_headers_and_event_types_name_the_row_and_the_value() {
        let e = headers(7, "{not json").unwrap_err().to_string();
        assert!(
            e.starts_with("webhooks row 7: headers is not a JSON object"),
            "{e}"
        );
        assert!(headers(7, "[\"a\"]").is_err());
        assert!(headers(7, "{\"A\": 1}").is_err());
        assert_eq!(headers(7, "{}").unwrap(), BTreeMap::new());
        let e = event_types(3, "job.completed").unwrap_err().to_string();
        assert!(e.starts_with("webhooks row 3: event_types is not"), "{e}");
        let e = event_types(3, "[\"job.exploded\"]")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("webhooks row 3: event_types: "), "{e}");
        assert!(event_types(3, "[\"job.*\", \"device.created\"]").is_ok());
    }
}
