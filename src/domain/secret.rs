//! Webhook signing secrets: a type that never shows its value, and their encryption at rest
//! (XChaCha20-Poly1305 under a 32-byte key that lives outside the database).
//!
//! A secret is any string. One starting with `whsec_` is a Standard Webhooks secret: standard
//! base64 (with padding) of the key bytes follows the prefix, checked when it is given, so that
//! the `webhook-signature` key ([`Secret::standard_key`]) is exactly what the `standardwebhooks`
//! libraries decode from the same string.

use std::borrow::Cow;

use base64::Engine as _;
use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::XChaCha20Poly1305;
use sha2::{Digest, Sha256};

use super::ValidationError;

/// What starts a Standard Webhooks secret (`whsec_` + standard base64 of the key bytes).
pub const STANDARD_PREFIX: &str = "whsec_";

/// Random bytes in a generated secret: inside the 24–64 that Standard Webhooks asks for.
pub const GENERATED_BYTES: usize = 32;

/// A secret with fewer key bytes than this is accepted with a warning (DESIGN §9).
pub const SHORT_BYTES: usize = 16;

/// A signing secret. Its `Debug` never shows the value; only signing reads it, and the one
/// output that shows a secret webnet generated.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Validates a secret given by the user: non-empty, at most 1024 bytes, one line; after a
    /// `whsec_` prefix, standard base64 with padding of at least one byte.
    pub fn new(value: &str) -> Result<Secret, ValidationError> {
        let err = |m: &str| ValidationError::new("secret", m);
        if value.is_empty() {
            return Err(err("the secret is empty"));
        }
        if value.len() > 1024 {
            return Err(err("the secret is longer than 1024 bytes"));
        }
        if value.chars().any(char::is_control) {
            return Err(err("the secret contains control characters or line breaks"));
        }
        if let Some(encoded) = value.strip_prefix(STANDARD_PREFIX) {
            // Never quote the value: it is the secret.
            decode_standard(encoded).map_err(|why| {
                err(&format!(
                    "a secret starting with \"{STANDARD_PREFIX}\" is a Standard Webhooks \
                     secret: the rest must be its key in standard base64 with padding \
                     (A-Z a-z 0-9 + /, = to a multiple of 4 characters); this one {why}"
                ))
            })?;
        }
        Ok(Secret(value.to_string()))
    }

    /// A new Standard Webhooks secret: `whsec_` + standard base64 (with padding) of 32 random
    /// bytes from the operating system.
    pub fn generate() -> Secret {
        let mut key = [0u8; GENERATED_BYTES];
        OsRng.fill_bytes(&mut key);
        let encoded = base64::engine::general_purpose::STANDARD.encode(key);
        Secret(format!("{STANDARD_PREFIX}{encoded}"))
    }

    /// The secret as text, only to show a secret webnet generated, once, to whoever asked
    /// for it.
    pub fn reveal_generated(&self) -> &str {
        &self.0
    }

    /// The secret's bytes as given: the `X-Webhook-Signature` key, and what is sealed.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Whether this is a Standard Webhooks (`whsec_`) secret whose key decodes.
    pub fn is_standard(&self) -> bool {
        self.decoded().is_some()
    }

    /// The `webhook-signature` key: the decoded bytes of a `whsec_` secret, else the string's
    /// bytes. (A stored `whsec_` value that does not decode — only a secret given before they
    /// were checked — keeps its string's bytes, as it was signed then.)
    pub fn standard_key(&self) -> Cow<'_, [u8]> {
        match self.decoded() {
            Some(key) => Cow::Owned(key),
            None => Cow::Borrowed(self.expose()),
        }
    }

    /// The number of key bytes when fewer than [`SHORT_BYTES`] (a `whsec_` secret's decoded
    /// bytes): short enough to warn about.
    pub fn short(&self) -> Option<usize> {
        let len = self.standard_key().len();
        (len < SHORT_BYTES).then_some(len)
    }

    fn decoded(&self) -> Option<Vec<u8>> {
        decode_standard(self.0.strip_prefix(STANDARD_PREFIX)?).ok()
    }
}

/// The key bytes of a `whsec_` secret's base64, or why it is none, in words that never quote
/// the secret. Only the canonical form is taken (padding included): both `standardwebhooks`
/// libraries decode it alike, whereas they part ways on unpadded or irregular input.
fn decode_standard(encoded: &str) -> Result<Vec<u8>, &'static str> {
    use base64::DecodeError;
    if encoded.is_empty() {
        return Err("has nothing after the prefix");
    }
    match base64::engine::general_purpose::STANDARD.decode(encoded) {
        Ok(key) => Ok(key),
        Err(DecodeError::InvalidByte(_, b'-' | b'_')) => {
            Err("is URL-safe base64 (- and _): convert it to standard base64 (+ and /)")
        }
        Err(DecodeError::InvalidByte(_, b'=')) => Err("has = before its end (padding comes last)"),
        Err(DecodeError::InvalidByte(..)) => Err("has a character that is not base64"),
        Err(DecodeError::InvalidLength(_) | DecodeError::InvalidPadding) => {
            Err("is not padded to a multiple of 4 characters with =")
        }
        Err(DecodeError::InvalidLastSymbol(..)) => Err("does not end as base64 encoding ends"),
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The key that encrypts secrets at rest.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

/// Why a stored secret could not be read back.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("the key does not open this secret (was WEBNET_SECRET_KEY or the key file changed?)")]
    WrongKey,
    #[error("the key file is malformed: expected 64 hex digits")]
    BadKeyFile,
}

const NONCE_LEN: usize = 24;

impl SecretKey {
    /// A key derived from `WEBNET_SECRET_KEY` (any passphrase).
    pub fn from_passphrase(passphrase: &str) -> SecretKey {
        let mut h = Sha256::new();
        h.update(b"webnet secret key v1\0");
        h.update(passphrase.as_bytes());
        SecretKey(h.finalize().into())
    }

    /// A fresh random key, for a new key file.
    pub fn generate() -> SecretKey {
        SecretKey(XChaCha20Poly1305::generate_key(&mut OsRng).into())
    }

    /// The key as stored in a key file.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Reads a key file's contents.
    pub fn from_hex(text: &str) -> Result<SecretKey, KeyError> {
        let bytes = hex::decode(text.trim()).map_err(|_| KeyError::BadKeyFile)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| KeyError::BadKeyFile)?;
        Ok(SecretKey(key))
    }

    /// Encrypts `plain` as nonce ‖ ciphertext.
    pub fn seal(&self, plain: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(&self.0.into());
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        // Encryption under a valid key and nonce cannot fail for in-memory buffers.
        out.extend(cipher.encrypt(&nonce, plain).unwrap_or_default());
        out
    }

    /// Decrypts what [`SecretKey::seal`] produced.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        if sealed.len() < NONCE_LEN {
            return Err(KeyError::WrongKey);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(&self.0.into());
        cipher
            .decrypt(nonce.into(), body)
            .map_err(|_| KeyError::WrongKey)
    }

    pub fn seal_secret(&self, secret: &Secret) -> Vec<u8> {
        self.seal(secret.expose())
    }

    pub fn open_secret(&self, sealed: &[u8]) -> Result<Secret, KeyError> {
        let plain = self.open(sealed)?;
        String::from_utf8(plain)
            .map(Secret)
            .map_err(|_| KeyError::WrongKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2-very-secret").unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn seal_and_open_round_trip_and_reject_other_keys() {
        let k = SecretKey::generate();
        let s = Secret::new("abc").unwrap();
        let sealed = k.seal_secret(&s);
        assert!(!sealed.windows(3).any(|w| w == b"abc"));
        assert_eq!(k.open_secret(&sealed).unwrap(), s);
        let other = SecretKey::from_passphrase("other");
        assert_eq!(other.open_secret(&sealed), Err(KeyError::WrongKey));
        let again = SecretKey::from_hex(&k.to_hex()).unwrap();
        assert_eq!(again.open_secret(&sealed).unwrap(), s);
    }

    #[test]
    fn rejects_bad_secrets_and_key_files() {
        assert!(Secret::new("").is_err());
        assert!(Secret::new("a\nb").is_err());
        assert!(SecretKey::from_hex("zz").is_err());
    }

    #[test]
    fn generated_secrets_are_whsec_and_32_random_bytes() {
        use base64::Engine as _;
        let a = Secret::generate();
        let b = Secret::generate();
        assert_ne!(a, b);
        let text = a.reveal_generated();
        // 32 bytes: 43 base64 characters and one "=".
        assert_eq!(text.len(), "whsec_".len() + 44, "{text}");
        assert!(text.starts_with("whsec_") && text.ends_with('='));
        let key = base64::engine::general_purpose::STANDARD
            .decode(&text["whsec_".len()..])
            .unwrap();
        assert_eq!(key.len(), 32);
        assert_eq!(a.standard_key().as_ref(), key.as_slice());
        assert!(a.is_standard());
        assert_eq!(a.short(), None);
        // What create accepts back, unchanged.
        assert_eq!(Secret::new(text).unwrap(), a);
    }

    #[test]
    fn the_standard_key_is_the_decoded_whsec_or_the_string() {
        // "AAECAw==" is the bytes 0, 1, 2, 3.
        let s = Secret::new("whsec_AAECAw==").unwrap();
        assert_eq!(s.standard_key().as_ref(), &[0, 1, 2, 3]);
        assert_eq!(s.expose(), b"whsec_AAECAw==");
        let plain = Secret::new("AAECAw==").unwrap();
        assert!(!plain.is_standard());
        assert_eq!(plain.standard_key().as_ref(), b"AAECAw==");
        // A stored value from before the check keeps signing with its string's bytes.
        let old = Secret("whsec_not base64".into());
        assert_eq!(old.standard_key().as_ref(), b"whsec_not base64");
    }

    #[test]
    fn a_bad_whsec_secret_is_refused_without_quoting_it() {
        for (bad, why) in [
            ("whsec_", "nothing after"),
            ("whsec_AAE", "padded"), // two bytes want "AAE="
            ("whsec_A", "padded"),   // no whole byte
            ("whsec_AA==AA==", "padding comes last"),
            ("whsec_a b=", "not base64"),
            ("whsec_-_8=", "URL-safe"),
            ("whsec_AAF=", "ends"), // the last character carries bits that are not zero
            ("whsec_====", "padding comes last"),
        ] {
            let e = Secret::new(bad).unwrap_err();
            assert_eq!(e.field, "secret");
            assert!(e.message.contains(why), "{bad}: {}", e.message);
            assert!(e.message.contains("Standard Webhooks"), "{}", e.message);
            let body = &bad["whsec_".len()..];
            assert!(body.len() < 3 || !e.message.contains(body), "{}", e.message);
        }
        // Other prefixes are plain secrets, whatever follows.
        assert!(Secret::new("WHSEC_not base64").is_ok());
        assert!(Secret::new("my whsec_ secret").is_ok());
    }

    #[test]
    fn short_secrets_count_key_bytes() {
        assert_eq!(Secret::new("fifteen-bytes!!").unwrap().short(), Some(15));
        assert_eq!(Secret::new("sixteen-bytes!!!").unwrap().short(), None);
        // Five characters but ten bytes.
        assert_eq!(Secret::new("ééééé").unwrap().short(), Some(10));
        // 44 characters that decode to 32 bytes, and 20 characters that decode to 15.
        let long = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        assert_eq!(Secret::new(long).unwrap().short(), None);
        let short = "whsec_AAECAwQFBgcICQoLDA0O";
        assert_eq!(Secret::new(short).unwrap().short(), Some(15));
        let sixteen = "whsec_AAECAwQFBgcICQoLDA0ODw==";
        assert_eq!(Secret::new(sixteen).unwrap().short(), None);
    }

    proptest::proptest! {
        /// Any key bytes written as `whsec_` + padded base64 are taken back as those bytes.
        #[test]
        fn whsec_round_trips(key in proptest::collection::vec(proptest::num::u8::ANY, 1..200)) {
            use base64::Engine as _;
            let text = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(&key));
            let s = Secret::new(&text).unwrap();
            proptest::prop_assert_eq!(s.standard_key().into_owned(), key);
        }

        /// Whatever follows `whsec_`, an accepted secret is the one canonical encoding of its
        /// key (which both standardwebhooks libraries decode alike); the rest are refused.
        #[test]
        fn accepted_whsec_secrets_are_canonical(rest in "[A-Za-z0-9+/=_ -]{0,12}") {
            use base64::Engine as _;
            if let Ok(s) = Secret::new(&format!("whsec_{rest}")) {
                let again = base64::engine::general_purpose::STANDARD.encode(s.standard_key());
                proptest::prop_assert_eq!(again, rest);
            }
        }
    }
}
