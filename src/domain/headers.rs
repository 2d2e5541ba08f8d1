//! Custom HTTP headers of a webhook: parsing `Name: value`, the names webnet reserves for itself,
//! and which headers hold credentials and so are redacted wherever they would be shown.

use std::collections::BTreeMap;

use super::ValidationError;

/// Header names webnet sets itself or that would break the request framing.
const RESERVED: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "user-agent",
    "te",
    "upgrade",
    "expect",
    "keep-alive",
    "trailer",
];

/// What is shown in place of a credential.
pub const REDACTED: &str = "[redacted]";

/// Parses one `Name: value` header as given to `--header`.
pub fn parse_header(raw: &str) -> Result<(String, String), ValidationError> {
    let err = |m: String| ValidationError::new("headers", m);
    let (name, value) = raw
        .split_once(':')
        .ok_or_else(|| err(format!("{raw:?} is not of the form 'Name: value'")))?;
    let name = name.trim();
    let value = value.trim();
    if name.is_empty() {
        return Err(err(format!("{raw:?} has an empty header name")));
    }
    if !name.bytes().all(is_token_char) {
        return Err(err(format!(
            "{name:?} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)"
        )));
    }
    let lower = name.to_ascii_lowercase();
    if RESERVED.contains(&lower.as_str())
        || lower.starts_with("x-webhook-")
        || lower.starts_with("webhook-")
    {
        return Err(err(format!(
            "{name:?} is set by webnet itself and cannot be overridden"
        )));
    }
    if value
        .bytes()
        .any(|b| b == b'\r' || b == b'\n' || b == 0 || (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Err(err(format!(
            "the value of {name:?} contains control characters"
        )));
    }
    Ok((name.to_string(), value.to_string()))
}

/// Parses every `--header`, refusing the same name twice (case-insensitively).
pub fn parse_headers(raw: &[String]) -> Result<BTreeMap<String, String>, ValidationError> {
    let mut out = BTreeMap::new();
    for h in raw {
        let (name, value) = parse_header(h)?;
        if out.keys().any(|k: &String| k.eq_ignore_ascii_case(&name)) {
            return Err(ValidationError::new(
                "headers",
                format!("{name:?} is given more than once"),
            ));
        }
        out.insert(name, value);
    }
    Ok(out)
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// True for headers that carry credentials: their values are never shown or logged.
pub fn is_sensitive(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || [
        "secret",
        "token",
        "key",
        "auth",
        "password",
        "passwd",
        "signature",
        "session",
        "credential",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// The headers as they may be shown: credential values replaced by [`REDACTED`].
pub fn redacted(headers: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(k, v)| {
            let v = if is_sensitive(k) {
                REDACTED.to_string()
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_trims() {
        assert_eq!(
            parse_header("X-Team:  netops ").unwrap(),
            ("X-Team".to_string(), "netops".to_string())
        );
        assert_eq!(parse_header("X-Empty:").unwrap().1, "");
    }

    #[test]
    fn refuses_malformed_and_reserved() {
        for bad in [
            "NoColon",
            ": value",
            "Bad Name: v",
            "Host: evil",
            "Content-Length: 5",
            "X-Webhook-Signature: x",
            "X-Ok: a\u{1}b",
        ] {
            assert!(parse_header(bad).is_err(), "{bad} should be refused");
        }
        assert!(parse_headers(&["A: 1".into(), "a: 2".into()]).is_err());
    }

    #[test]
    fn redacts_credentials() {
        let mut h = BTreeMap::new();
        h.insert("Authorization".to_string(), "Bearer abc".to_string());
        h.insert("X-Api-Key".to_string(), "k".to_string());
        h.insert("X-Team".to_string(), "netops".to_string());
        let r = redacted(&h);
        assert_eq!(r["Authorization"], REDACTED);
        assert_eq!(r["X-Api-Key"], REDACTED);
        assert_eq!(r["X-Team"], "netops");
    }
}
