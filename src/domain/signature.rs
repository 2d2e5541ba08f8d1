//! Payload signatures: `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the body>`, exactly what
//! the spec's Python and Node.js snippets compute.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_known_vector() {
        // RFC 4231 test case 2.
        let s = Secret::new("Jefe").unwrap();
        assert_eq!(
            sign(&s, b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
