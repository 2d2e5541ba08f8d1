//! Payload signatures: `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the body>`, exactly what
//! the spec's Python and Node.js snippets compute; and the Standard Webhooks signature
//! (`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), which the
//! `standardwebhooks` libraries verify: keyed with the decoded key of a `whsec_` secret (the
//! libraries given the string as it is), else with the string's bytes (the libraries given
//! those bytes). `X-Webhook-Signature` is always keyed with the string as given, `whsec_`
//! included, as the spec's snippets compute it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Secret;

/// The `X-Webhook-Signature` value for `body` under `secret`.
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.expose()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The Standard Webhooks `webhook-signature` value for one attempt (one `v1,` signature).
pub fn sign_standard(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> String {
    use base64::Engine as _;
    let mut mac = match Hmac::<Sha256>::new_from_slice(&secret.standard_key()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("v1,{digest}")
}

/// Whether `given` is `expected`, compared in time that does not depend on where they differ
/// (a signature, a CSRF token).
pub fn same_in_constant_time(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_in_constant_time_is_equality() {
        assert!(same_in_constant_time("abc", "abc"));
        assert!(!same_in_constant_time("abd", "abc"));
        assert!(!same_in_constant_time("ab", "abc"));
    }

    #[test]
    fn matches_a_known_vector() {
        // RFC 4231 test case 2.
        let s = Secret::new("Jefe").unwrap();
        assert_eq!(
            sign(&s, b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn standard_webhooks_signs_id_timestamp_and_body() {
        // The same HMAC over "id.timestamp.body", base64 instead of hex.
        let s = Secret::new("Jefe").unwrap();
        let standard = sign_standard(&s, "7", 1_700_000_000, b"{}");
        assert!(standard.starts_with("v1,"));
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&standard[3..])
            .unwrap();
        let hexed = sign(&s, b"7.1700000000.{}");
        assert_eq!(format!("sha256={}", hex::encode(raw)), hexed);
    }

    #[test]
    fn a_whsec_secret_keys_the_standard_signature_with_its_decoded_bytes() {
        // The same key bytes, as a whsec_ secret and as a plain string: one standard signature.
        let whsec = Secret::new("whsec_SmVmZQ==").unwrap(); // base64 of "Jefe"
        let plain = Secret::new("Jefe").unwrap();
        assert_eq!(
            sign_standard(&whsec, "7", 1_700_000_000, b"{}"),
            sign_standard(&plain, "7", 1_700_000_000, b"{}")
        );
        // X-Webhook-Signature keys with the whole string, prefix and all.
        assert_ne!(sign(&whsec, b"{}"), sign(&plain, b"{}"));
        let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_SmVmZQ==").unwrap();
        mac.update(b"{}");
        assert_eq!(
            sign(&whsec, b"{}"),
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        );
    }
}
