//! Reading a request's JSON body: `Content-Type`, when given, must say JSON (415 otherwise;
//! none is read as JSON, as the spec's Slack example sends it), the body must
//! arrive within [`BODY_TIMEOUT`] (408) and be at most [`MAX_BODY`] (413), and parse as one
//! JSON document whose top-level object names no key twice (400, DRF's
//! `{"detail": "JSON parse error - …"}`).

use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use crate::domain::json_doc;

/// The largest request body accepted.
pub const MAX_BODY: usize = 1 << 20;

/// How long a client may take to send its body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// A request's body that says it is JSON, read but not yet parsed: handlers parse it
/// ([`JsonBody::parse`]) once the token is found good, so a bad token is 401 whatever it sent.
pub struct JsonBody(axum::body::Bytes);

impl JsonBody {
    /// The body as one JSON document (400 in DRF's words when it is not).
    pub fn parse(self) -> Result<Value, ApiError> {
        let text = std::str::from_utf8(&self.0)
            .map_err(|_| parse_error("the body is not UTF-8".into()))?;
        json_doc::parse(text).map_err(|e| parse_error(e.to_string()))
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            })
            // None given: read as JSON (the spec's examples do not all say it).
            .unwrap_or(!req.headers().contains_key(CONTENT_TYPE));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "Unsupported media type: send Content-Type: application/json.".into(),
            ));
        }
        Ok(JsonBody(read(req.into_body()).await?))
    }
}

/// A body, read within [`BODY_TIMEOUT`] and [`MAX_BODY`].
pub async fn read(body: Body) -> Result<axum::body::Bytes, ApiError> {
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY)).await {
        Err(_) => Err(ApiError::Timeout),
        Ok(Err(e)) => {
            // axum reports the limit as a `LengthLimitError` somewhere in the chain.
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(c) = cause {
                if c.is::<http_body_util::LengthLimitError>() {
                    return Err(ApiError::TooLarge);
                }
                cause = c.source();
            }
            // `detail` a string, as in every other error of its kind.
            Err(ApiError::InvalidBody(
                json!({ "detail": format!("the body could not be read: {e}") }),
            ))
        }
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

fn parse_error(why: String) -> ApiError {
    ApiError::InvalidBody(json!({ "detail": format!("JSON parse error - {why}") }))
}

/// The body as an object, or 400 naming what it is instead.
pub fn object(v: Value) -> Result<Map<String, Value>, ApiError> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(ApiError::InvalidBody(json!({
            "non_field_errors": [format!("Invalid data. Expected a dictionary, but got {}.", kind(&other))]
        }))),
    }
}

/// A JSON value's kind, as DRF names it in messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}
