//! Custom HTTP headers of a webhook: parsing `Name: value`, the names webnet reserves for itself,
//! and which headers hold credentials and so are redacted wherever they would be shown and
//! sealed at rest: by their name (`Authorization`, `X-Api-Key`, …) or by their value (an
//! authorization scheme such as `Bearer …`, or a well-known token shape such as `ghp_…`).

use std::collections::BTreeMap;

use super::text::quote;
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

/// How many custom headers a webhook may have, and how long a name, a value and all of them
/// together may be: receivers and the proxies before them (nginx, Node, most load balancers)
/// refuse a request whose header section passes 8–16 KiB, and every delivery would then fail.
pub const MAX_HEADERS: usize = 32;
pub const MAX_HEADER_NAME: usize = 256;
pub const MAX_HEADER_VALUE: usize = 4096;
pub const MAX_HEADERS_TOTAL: usize = 16384;

/// Marks a header value stored sealed (see `store::SEALED_PREFIX`). Header values cannot hold
/// control characters, so no value a user gives can start with it.
pub const SEALED_PREFIX: &str = "\u{1}sealed:";

/// Authorization schemes (RFC 9110 §11.4 and the usual others) a value may start with, followed
/// by a space: `Bearer eyJ…`, `Basic dXNl…`, `Token …`, `Digest …`, `Negotiate …`.
const SCHEMES: &[&str] = &["bearer", "basic", "token", "digest", "negotiate"];

/// Prefixes of well-known credential shapes: GitHub tokens (`ghp_` personal, `gho_` OAuth,
/// `ghu_`/`ghs_` app, `ghr_` refresh, `github_pat_` fine-grained), GitLab personal tokens
/// (`glpat-`), Slack tokens (`xoxa-`, `xoxb-`, `xoxp-`), Stripe secret and restricted keys
/// (`sk_live_`, `sk_test_`, `rk_live_`, `rk_test_`). AWS access key ids (`AKIA` and 16 upper-case
/// letters or digits) and JSON Web Tokens (`eyJ…` in three dotted parts) are checked apart.
const TOKEN_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxa-",
    "xoxb-",
    "xoxp-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
];

/// Parses one `Name: value` header as given to `--header`. Errors never show the value (it may
/// be a credential), nor a name that could be one.
pub fn parse_header(raw: &str) -> Result<(String, String), ValidationError> {
    let err = |m: String| ValidationError::new("headers", m);
    let Some((name, value)) = raw.split_once(':') else {
        // Without a colon the name cannot be told from the value ("Authorization Bearer …").
        return Err(err(format!(
            "{} is not of the form 'Name: value'",
            shown(raw, "the value given")
        )));
    };
    if name.trim().is_empty() {
        return Err(err(
            "a header name is missing before ':' (expected 'Name: value')".into(),
        ));
    }
    check_header(name, value)
}

/// Checks one custom header however it was given (`--header`, the API's `headers` object, the
/// web form): a valid name that webnet does not set itself, a value without control
/// characters; both trimmed. Errors never show the value.
pub fn check_header(name: &str, value: &str) -> Result<(String, String), ValidationError> {
    let err = |m: String| ValidationError::new("headers", m);
    let name = name.trim();
    let value = value.trim();
    if name.is_empty() {
        return Err(err("a header name is empty".into()));
    }
    if !name.bytes().all(is_token_char) {
        return Err(err(format!(
            "{} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)",
            shown(name, "the name given")
        )));
    }
    let lower = name.to_ascii_lowercase();
    if RESERVED.contains(&lower.as_str())
        || lower.starts_with("x-webhook-")
        || lower.starts_with("webhook-")
    {
        return Err(err(format!(
            "{} is set by webnet itself and cannot be overridden",
            quote(name)
        )));
    }
    if value
        .bytes()
        .any(|b| b == b'\r' || b == b'\n' || b == 0 || (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Err(err(format!(
            "the value of {} contains control characters",
            quote(name)
        )));
    }
    Ok((name.to_string(), value.to_string()))
}

/// One custom header's size, as given (checked with [`check_header`] where a new value is
/// given; a value kept as stored is not judged again).
pub fn check_header_size(name: &str, value: &str) -> Result<(), ValidationError> {
    let err = |m: String| ValidationError::new("headers", m);
    if name.len() > MAX_HEADER_NAME {
        return Err(err(format!(
            "a header name is {} bytes long: at most {MAX_HEADER_NAME}",
            name.len()
        )));
    }
    if value.len() > MAX_HEADER_VALUE {
        return Err(err(format!(
            "the value of {} is {} bytes long: at most {MAX_HEADER_VALUE}",
            quote(name),
            value.len()
        )));
    }
    Ok(())
}

/// How long a stored value is as sent: a sealed one (`SEALED_PREFIX` + hex of a 24-byte
/// nonce, the value and a 16-byte tag) counts as the value it holds.
fn sent_len(value: &str) -> usize {
    match value.strip_prefix(SEALED_PREFIX) {
        Some(hex) => (hex.len() / 2).saturating_sub(24 + 16),
        None => value.len(),
    }
}

/// A webhook's whole set of custom headers: at most [`MAX_HEADERS`] of them, together (as
/// `Name: value` lines, as sent) at most [`MAX_HEADERS_TOTAL`] bytes.
pub fn check_header_set<'a>(
    headers: impl ExactSizeIterator<Item = (&'a String, &'a String)>,
) -> Result<(), ValidationError> {
    let count = headers.len();
    if count > MAX_HEADERS {
        return Err(ValidationError::new(
            "headers",
            format!("{count} custom headers: at most {MAX_HEADERS}"),
        ));
    }
    let total: usize = headers.map(|(k, v)| k.len() + sent_len(v) + 4).sum();
    if total > MAX_HEADERS_TOTAL {
        return Err(ValidationError::new(
            "headers",
            format!(
                "the custom headers come to {total} bytes: at most {MAX_HEADERS_TOTAL} in all \
                 (receivers refuse requests with larger headers)"
            ),
        ));
    }
    Ok(())
}

/// How an error shows malformed `--header` input: its first word when more follows and it looks
/// like a header name (`"Authorization …"`), else only `instead` — a lone word, or the rest,
/// may be a credential.
fn shown(raw: &str, instead: &str) -> String {
    let mut words = raw.split_whitespace();
    match (words.next(), words.next()) {
        (Some(first), Some(_)) if looks_like_a_name(first) => quote(&format!("{first} …")),
        _ => format!("{instead} (not shown: it may hold a credential)"),
    }
}

/// Letters, digits and `-`, starting with a letter, short, with few digits: a header name
/// (`X-Api-Key`, `X-B3-TraceId`) rather than a token or a key.
fn looks_like_a_name(word: &str) -> bool {
    word.len() <= 40
        && word.starts_with(|c: char| c.is_ascii_alphabetic())
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && word.chars().filter(char::is_ascii_digit).count() <= 2
}

/// Parses every `--header`, refusing the same name twice (case-insensitively).
pub fn parse_headers(raw: &[String]) -> Result<BTreeMap<String, String>, ValidationError> {
    let mut out = BTreeMap::new();
    for h in raw {
        let (name, value) = parse_header(h)?;
        if out.keys().any(|k: &String| k.eq_ignore_ascii_case(&name)) {
            return Err(ValidationError::new(
                "headers",
                format!("{} is given more than once", quote(&name)),
            ));
        }
        out.insert(name, value);
    }
    Ok(out)
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// True for headers that carry credentials, by their name or their value: their values are
/// never shown or logged, and are sealed at rest. A value stored sealed counts as one.
pub fn is_sensitive(name: &str, value: &str) -> bool {
    is_sensitive_name(name) || looks_like_credential(value)
}

/// A value that is a credential whatever its header is called: an authorization scheme and
/// its parameters (`Bearer …`, [`SCHEMES`]), a well-known token shape ([`TOKEN_PREFIXES`], an
/// AWS access key id, a JSON Web Token), or a value already sealed.
pub fn looks_like_credential(value: &str) -> bool {
    let v = value.trim();
    if v.starts_with(SEALED_PREFIX) {
        return true;
    }
    if let Some((scheme, rest)) = v.split_once([' ', '\t']) {
        if SCHEMES.iter().any(|s| scheme.eq_ignore_ascii_case(s)) && !rest.trim().is_empty() {
            return true;
        }
    }
    // Tokens are one word: the first one is checked (`ghp_… extra` is still a token).
    let word = v.split_whitespace().next().unwrap_or_default();
    TOKEN_PREFIXES
        .iter()
        .any(|p| word.len() > p.len() && word.starts_with(p))
        || is_aws_access_key_id(word)
        || is_jwt(word)
}

/// `AKIA` and 16 upper-case letters or digits (also `ASIA`, a temporary key's id).
fn is_aws_access_key_id(word: &str) -> bool {
    (word.starts_with("AKIA") || word.starts_with("ASIA"))
        && word.len() == 20
        && word[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A JSON Web Token: `eyJ` (base64url of `{"`) and three dot-separated base64url parts.
fn is_jwt(word: &str) -> bool {
    word.starts_with("eyJ")
        && word.split('.').count() == 3
        && word.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
        })
}

/// A header whose name says it holds a credential.
fn is_sensitive_name(name: &str) -> bool {
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
            let v = if is_sensitive(k, v) {
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
    fn malformed_headers_never_echo_a_value() {
        for (raw, shown) in [
            ("Authorization Bearer TOKEN123", "\"Authorization …\""),
            ("Authorization Bearer abc:TOKEN123", "\"Authorization …\""),
            ("NoColon", "not shown"),
            ("TOKEN123", "not shown"),
            ("ghp_TOKEN123abcdef", "not shown"),
            ("0123456789abcdef0123TOKEN123", "not shown"),
            (" : TOKEN123", "missing"),
            ("X(Api)TOKEN123: v", "not shown"),
        ] {
            let e = parse_header(raw).unwrap_err().message;
            assert!(e.contains(shown), "{raw}: {e}");
            assert!(!e.contains("TOKEN123"), "{raw}: {e}");
        }
        let e = parse_header("X-Api-Key: TOKEN123\u{1}")
            .unwrap_err()
            .message;
        assert!(!e.contains("TOKEN123"), "{e}");
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

    #[test]
    fn values_that_are_credentials_are_sensitive_whatever_the_name() {
        for value in [
            "Bearer eyJhbGciOiJIUzI1NiJ9",
            "bearer x",
            "BASIC dXNlcjpwYXNz",
            "Token abc",
            "Digest username=\"u\", response=\"r\"",
            "Negotiate YIIB",
            "ghp_0123456789abcdefABCDEF0123456789abcd",
            "github_pat_11ABCDEFG_xyz",
            "gho_x1",
            "glpat-abcdefghij",
            "xoxb-1234-5678-abcd",
            "xoxp-1",
            "sk_live_51Habc",
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "AKIAIOSFODNN7EXAMPLE",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "\u{1}sealed:00ff",
        ] {
            assert!(looks_like_credential(value), "{value}");
            assert!(is_sensitive("X-Upstream", value), "{value}");
        }
        for value in [
            "netops",
            "Bearer",
            "Basic ",
            "Bearers of good news",
            "tokenised",
            "ghp_",
            "sk_live",
            "AKIA",
            "AKIAIOSFODNN7EXAMPL",
            "akiaiosfodnn7example",
            "eyJ-not-a-token",
            "https://example.com/a.b.c",
            "application/json",
        ] {
            assert!(!looks_like_credential(value), "{value}");
        }
        let mut h = BTreeMap::new();
        h.insert("X-Upstream".to_string(), "Bearer eyJabc".to_string());
        h.insert("X-Creds".to_string(), "Basic dXNlcjpwYXNz".to_string());
        h.insert("X-Team".to_string(), "netops".to_string());
        let r = redacted(&h);
        assert_eq!(r["X-Upstream"], REDACTED);
        assert_eq!(r["X-Creds"], REDACTED);
        assert_eq!(r["X-Team"], "netops");
    }
}
