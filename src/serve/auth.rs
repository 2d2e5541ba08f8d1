//! Who is asking: the token in `Authorization: Bearer <token>` (or DRF's `Token <token>`),
//! checked against the stored hashes on every request. A customer token acts exactly as
//! `--customer` does in the CLI; a read-only token may only read.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::{ApiError, ApiResult};
use crate::domain::time::Millis;
use crate::ops::tokens::{self, Grant};
use crate::store::Store;

/// What a handler needs of its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    /// An admin token (every customer): `/metrics`.
    Admin,
}

/// The token a request presented, not yet checked.
pub struct Bearer(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Bearer::from_headers(&parts.headers)
    }
}

impl Bearer {
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Result<Bearer, ApiError> {
        // Two are refused rather than one picked: a proxy before the server may have read the
        // other one.
        if headers.get_all(AUTHORIZATION).iter().nth(1).is_some() {
            return Err(ApiError::Unauthenticated(
                "More than one Authorization header: send one.".into(),
            ));
        }
        if let Some(header) = headers.get(AUTHORIZATION) {
            let text = header.to_str().unwrap_or("");
            let (scheme, token) = text.split_once(' ').unwrap_or((text, ""));
            let token = token.trim();
            if !(scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
                || token.is_empty()
            {
                return Err(ApiError::Unauthenticated(
                    "Invalid Authorization header: send \"Authorization: Bearer <token>\".".into(),
                ));
            }
            return Ok(Bearer(token.to_string()));
        }
        Err(ApiError::Unauthenticated(
            "Authentication credentials were not provided.".into(),
        ))
    }
}

/// The grant of `bearer`, if it may do `access`: 401 for an unknown or revoked token, 403
/// for a read-only token asked to write or a customer token asked for everyone's metrics.
pub fn check(store: &Store, bearer: &Bearer, access: Access, now: Millis) -> ApiResult<Grant> {
    let grant = tokens::authenticate(store, &bearer.0, now)?
        .ok_or_else(|| ApiError::Unauthenticated("Invalid token.".into()))?;
    match access {
        Access::Write if grant.read_only => Err(ApiError::Forbidden(
            "This token is read-only: it cannot change anything.".into(),
        )),
        Access::Admin if grant.scope != crate::domain::Scope::All => Err(ApiError::Forbidden(
            "Only an admin token may read this.".into(),
        )),
        _ => Ok(grant),
    }
}
