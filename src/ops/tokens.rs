//! API tokens of `webnet serve` (DESIGN §12): create, list, revoke, and `authenticate`, which
//! the server calls on every request. A token is `wnt_` and 32 random bytes in unpadded
//! base64url; it is shown once, when created, and stored only as its SHA-256 (and its last
//! four characters, for lists). Operator actions: callers refuse them for a session pinned to a
//! customer.
//!
//! Invariant: a presented token is compared by its hash only, and one that is not of the
//! `wnt_` form is refused without asking the database.

use base64::Engine as _;
use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::OsRng;
use sha2::{Digest, Sha256};

use super::error::{during, Action, Result};
use crate::domain::time::Millis;
use crate::domain::webhook::validate_name;
use crate::domain::{CustomerId, Scope};
use crate::store::{ApiToken, NewToken, Store};

/// What every token starts with, so it is recognised (by people, and by secret scanners).
pub const PREFIX: &str = "wnt_";

/// Random bytes in a token.
const RANDOM_BYTES: usize = 32;

/// Characters after the prefix: 32 bytes in unpadded base64url.
const ENCODED_LEN: usize = 43;

/// What a valid token lets a request do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The token's id (for request logs: never the token itself).
    pub token: i64,
    pub name: String,
    /// The customer it is pinned to, or every customer for an admin token.
    pub scope: Scope,
    /// Reads only: every write is refused.
    pub read_only: bool,
}

/// A token just created, with the one copy of its text there will ever be.
pub struct Created {
    pub token: ApiToken,
    /// The token itself: show it to whoever created it, once, and keep it nowhere.
    pub plaintext: String,
}

/// Never prints the token, should a `Created` end up in a log.
impl std::fmt::Debug for Created {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Created")
            .field("token", &self.token)
            .field("plaintext", &"wnt_***")
            .finish()
    }
}

/// Creates a token named `name` (as a webhook name: 1–100 characters, one line) for
/// `customer`, or for every customer when `None`; `read_only` tokens may not change anything.
/// The customer must exist (refused as input, field `customer`).
pub fn create(
    store: &Store,
    name: &str,
    customer: Option<CustomerId>,
    read_only: bool,
    now: Millis,
) -> Result<Created> {
    during(Action::CreateToken, || {
        let name = validate_name(name)?;
        if let Some(c) = customer {
            super::customers::require(store, c)?;
        }
        let plaintext = generate();
        let hint = &plaintext[plaintext.len() - 4..];
        let token = store.create_token(
            &NewToken {
                name: &name,
                customer,
                read_only,
                hash: &hash(&plaintext),
                hint,
            },
            now,
        )?;
        Ok(Created { token, plaintext })
    })
}

/// Every token, revoked ones included, newest first.
pub fn list(store: &Store) -> Result<Vec<ApiToken>> {
    during(Action::ListTokens, || Ok(store.tokens()?))
}

/// Revokes token `id` for good; revoking it again changes nothing. An unknown id is not found.
pub fn revoke(store: &Store, id: i64, now: Millis) -> Result<ApiToken> {
    during(Action::RevokeToken, || Ok(store.revoke_token(id, now)?))
}

/// `None` for a token that is unknown, revoked, or not of the `wnt_` form (no database
/// lookup for a malformed one). Compare hashes, never plaintext.
pub fn authenticate(store: &Store, presented: &str, now: Millis) -> Result<Option<Grant>> {
    if !well_formed(presented) {
        return Ok(None);
    }
    let found = during(Action::Authenticate, || {
        Ok(store.token_by_hash(&hash(presented), now)?)
    })?;
    Ok(found.map(|t| Grant {
        token: t.id,
        name: t.name,
        scope: t.customer.map_or(Scope::All, Scope::Customer),
        read_only: t.read_only,
    }))
}

/// A new token: the prefix and 32 random bytes from the operating system.
fn generate() -> String {
    let mut bytes = [0u8; RANDOM_BYTES];
    OsRng.fill_bytes(&mut bytes);
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    format!("{PREFIX}{encoded}")
}

/// What is stored and looked up: the SHA-256 of the whole token string.
fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `presented` could be a token this module made: the prefix and 43 characters that
/// decode as unpadded base64url to 32 bytes.
fn well_formed(presented: &str) -> bool {
    presented.strip_prefix(PREFIX).is_some_and(|rest| {
        rest.len() == ENCODED_LEN
            && base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(rest)
                .is_ok_and(|b| b.len() == RANDOM_BYTES)
    })
}

#[cfg(test)]
mod tests;
