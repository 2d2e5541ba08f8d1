//! [`ApiError`]: every way a request fails, as DRF answers it — a validation error is
//! `400 {"field": ["message"]}`, the rest `{"detail": "message"}` with its status. Bad input is
//! always a 4xx; a 5xx means the database failed (503 while it is locked or unreachable,
//! with `Retry-After`), never the request.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::delivery::service::RetryError;
use crate::domain::ValidationError;
use crate::ops;
use crate::store::StoreError;

#[derive(Debug, Clone)]
pub enum ApiError {
    /// 400: `field` is wrong (DRF's `{"field": ["message"]}`).
    Invalid {
        field: String,
        message: String,
    },
    /// 400 with several fields at once (an array of events: one object per item).
    InvalidBody(Value),
    Unauthenticated(String),
    Forbidden(String),
    NotFound(String),
    MethodNotAllowed,
    Conflict(String),
    TooLarge,
    UnsupportedMediaType(String),
    Timeout,
    /// 503: the database is locked or unreachable; try again.
    Unavailable(String),
    /// 500: the database failed in a way that is not the request's fault.
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid { .. } | ApiError::InvalidBody(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Timeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let detail = |m: &str| json!({ "detail": m });
        match self {
            ApiError::Invalid { field, message } => json!({ field.clone(): [message] }),
            ApiError::InvalidBody(v) => v.clone(),
            ApiError::Unauthenticated(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::UnsupportedMediaType(m)
            | ApiError::Unavailable(m) => detail(m),
            // The detail goes to the server's log (see `into_response`), not to the client.
            ApiError::Internal(_) => detail("Internal server error; the server's log says more."),
            ApiError::MethodNotAllowed => detail("Method not allowed."),
            ApiError::TooLarge => detail("Request body over 1 MiB refused."),
            ApiError::Timeout => detail("The request body did not arrive in time."),
        }
    }

    /// One line for the request log.
    pub fn summary(&self) -> String {
        match self.body() {
            Value::Object(m) => m
                .iter()
                .next()
                .map(|(k, v)| match v {
                    Value::String(s) => s.clone(),
                    Value::Array(a) => format!(
                        "{k}: {}",
                        a.first().and_then(Value::as_str).unwrap_or("invalid")
                    ),
                    _ => k.clone(),
                })
                .unwrap_or_default(),
            _ => String::new(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(m) = &self {
            eprintln!("serve: error: {}", crate::domain::text::error_line(m));
        }
        let status = self.status();
        let mut response = (status, axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthenticated(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"webnet\""),
                );
            }
            ApiError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

impl From<ValidationError> for ApiError {
    fn from(v: ValidationError) -> Self {
        ApiError::invalid(v.field, over_http(&v.message))
    }
}

/// A validation message said over HTTP (the API, the web form): the few that point at a
/// command-line option point at the body's field (or the server's option) instead.
pub fn over_http(message: &str) -> String {
    const SAID: [(&str, &str); 4] = [
        (
            "send credentials with --header 'Authorization: …'",
            "send credentials in an Authorization header (headers) instead",
        ),
        ("(give it with --routing-key-stdin)", "(routing_key)"),
        (
            "(add --payload-format pagerduty)",
            "(set payload_format to pagerduty)",
        ),
        (
            "or pass --allow-private-targets while developing",
            "or start the server with --allow-private-targets while developing",
        ),
    ];
    SAID.iter()
        .fold(message.to_string(), |m, (cli, http)| m.replace(cli, http))
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ops::Error::from(e).into()
    }
}

impl From<ops::Error> for ApiError {
    fn from(e: ops::Error) -> Self {
        use ops::Error as E;
        match e {
            E::Invalid(v) => v.into(),
            E::PinnedCustomerMissing(c) => ApiError::NotFound(format!("customer {c} not found")),
            E::TargetNotAllowed(t) => ApiError::NotFound(format!("{t} is not allowed")),
            E::Retry(RetryError::Store(s)) => s.into(),
            // Said the API's way (the CLI's message names `webnet webhooks enable`).
            E::Retry(RetryError::WebhookDisabled { id, webhook }) => ApiError::Conflict(format!(
                "delivery {id}: its webhook {webhook} is disabled; enable it first (PATCH /api/v1/webhooks/{webhook}/ with {{\"enabled\": true}})"
            )),
            E::Retry(r) => ApiError::Conflict(r.to_string()),
            E::Locked { .. } => ApiError::Unavailable(e.to_string()),
            E::Emit(_) => ApiError::Unavailable(e.to_string()),
            E::Store { source, .. } => match source {
                StoreError::NotFound { .. } => ApiError::NotFound("Not found.".into()),
                StoreError::Conflict(v) => v.into(),
                // Its own words ("database unavailable: …"): the server lost, not a lock held.
                s @ StoreError::Unavailable { .. } => {
                    ApiError::Unavailable(format!("{s}; try again"))
                }
                s if s.is_busy() => ApiError::Unavailable(format!("database busy: {s}")),
                s @ (StoreError::ReadOnly { .. } | StoreError::DiskFull { .. }) => {
                    ApiError::Unavailable(s.to_string())
                }
                s => ApiError::Internal(format!("database error: {s}")),
            },
        }
    }
}
