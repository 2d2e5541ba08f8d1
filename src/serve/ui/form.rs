//! Reading a form's `application/x-www-form-urlencoded` body, keeping every value of a name
//! given more than once (the `event_types` checkboxes: axum's `Form` keeps one). At most
//! 1 MiB, within the API's body timeout; any other content type is a 415 page.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;

use super::error::UiError;
use crate::serve::body;
use crate::serve::ApiError;

/// A form's fields in the order sent.
pub struct FormBody(Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for FormBody {
    type Rejection = UiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, UiError> {
        let is_form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(UiError::Api(ApiError::UnsupportedMediaType(
                "Unsupported media type: a form is sent as application/x-www-form-urlencoded."
                    .into(),
            )));
        }
        let bytes = body::read(req.into_body()).await?;
        Ok(FormBody::parse(&bytes))
    }
}

impl FormBody {
    pub fn parse(bytes: &[u8]) -> FormBody {
        FormBody(
            url::form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `key`, or empty.
    pub fn text(&self, key: &str) -> String {
        self.get(key).unwrap_or_default().to_string()
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A checkbox: ticked when sent at all.
    pub fn checked(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_are_all_kept() {
        let f =
            FormBody::parse(b"name=a+b&event_types=job.*&event_types=device.created&enabled=on");
        assert_eq!(f.text("name"), "a b");
        assert_eq!(f.all("event_types"), ["job.*", "device.created"]);
        assert!(f.checked("enabled"));
        assert!(!f.checked("verify_ssl"));
        assert_eq!(f.text("missing"), "");
    }
}
