//! Webhook signing secrets: a type that never shows its value, and their encryption at rest
//! (XChaCha20-Poly1305 under a 32-byte key that lives outside the database).

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::XChaCha20Poly1305;
use sha2::{Digest, Sha256};

use super::ValidationError;

/// A signing secret. Its `Debug` never shows the value; only signing reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Validates a secret given by the user: non-empty, at most 1024 bytes, one line.
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
        Ok(Secret(value.to_string()))
    }

    /// The secret's bytes, for signing only.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
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
}
