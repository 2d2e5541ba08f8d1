//! How a UI request fails: as a page with the status the API would answer (404 for another
//! customer's ids, 403, 409 for a retry that cannot be, 503 while the database is busy), or
//! as a redirect to the sign-in page when there is no session or its token was revoked.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::layout;
use crate::serve::ApiError;

pub enum UiError {
    /// No live session (or its token no longer works): sign in, then come back to `next`.
    SignIn { next: String },
    /// Anything the API would answer with an error, shown as a page.
    Api(ApiError),
}

pub type UiResult<T> = Result<T, UiError>;

/// The message of the 403 page for a form without the session's CSRF token.
pub const STALE_FORM: &str =
    "The form was out of date or not from this site; go back, reload and try again.";

impl UiError {
    pub fn forbidden(message: &str) -> UiError {
        UiError::Api(ApiError::Forbidden(message.into()))
    }

    pub fn not_found() -> UiError {
        UiError::Api(ApiError::NotFound("Not found.".into()))
    }
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        UiError::Api(e)
    }
}

impl From<crate::ops::Error> for UiError {
    fn from(e: crate::ops::Error) -> Self {
        UiError::Api(e.into())
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::SignIn { next } => {
                let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                layout::see_other(&format!("/settings/sign-in?next={next}"))
            }
            UiError::Api(e) => {
                let status = e.status();
                let message = match &e {
                    ApiError::NotFound(_) => {
                        "Not found: there is nothing here, or it is not yours to see.".to_string()
                    }
                    ApiError::Internal(m) => {
                        eprintln!("serve: error: {}", crate::domain::text::error_line(m));
                        "Internal server error; the server's log says more.".to_string()
                    }
                    ApiError::Invalid { field, message } => format!("{field}: {message}"),
                    _ => e.summary(),
                };
                let mut response = layout::error_page(status, &message);
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    response.headers_mut().insert(
                        axum::http::header::RETRY_AFTER,
                        axum::http::HeaderValue::from_static("1"),
                    );
                }
                response
            }
        }
    }
}
