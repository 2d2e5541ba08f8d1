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
        FormBody::parse(&bytes).ok_or_else(|| {
            UiError::Api(ApiError::InvalidBody(serde_json::json!({
                "detail": "the form is not UTF-8 once decoded; send it from the page as it is"
            })))
        })
    }
}

impl FormBody {
    /// The fields of an urlencoded body; `None` when a name or value is not UTF-8 once
    /// decoded (a browser sends UTF-8: such a body was made by hand, and would otherwise be
    /// stored with U+FFFD in place of what was sent).
    pub fn parse(bytes: &[u8]) -> Option<FormBody> {
        bytes
            .split(|b| *b == b'&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (k, v) = match pair.iter().position(|b| *b == b'=') {
                    Some(at) => (&pair[..at], &pair[at + 1..]),
                    None => (pair, &pair[pair.len()..]),
                };
                Some((decode(k)?, decode(v)?))
            })
            .collect::<Option<Vec<_>>>()
            .map(FormBody)
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

/// One urlencoded name or value: `+` is a space, `%XX` a byte (a `%` not followed by two hex
/// digits is itself, as browsers and `url::form_urlencoded` read it); UTF-8 or `None`.
fn decode(part: &[u8]) -> Option<String> {
    let spaced: Vec<u8> = part
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_encoding::percent_decode(&spaced)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_are_all_kept() {
        let f =
            FormBody::parse(b"name=a+b&event_types=job.*&event_types=device.created&enabled=on")
                .expect("UTF-8");
        assert_eq!(f.text("name"), "a b");
        assert_eq!(f.all("event_types"), ["job.*", "device.created"]);
        assert!(f.checked("enabled"));
        assert!(!f.checked("verify_ssl"));
        assert_eq!(f.text("missing"), "");
    }

    #[test]
    fn decodes_as_browsers_encode_and_refuses_what_is_not_utf8() {
        let f = FormBody::parse(
            b"name=Z%C3%BCrich+%E6%9D%B1%E4%BA%AC&note=100%&x=%2&empty=&flag&a%3Db=c%26d",
        )
        .expect("UTF-8");
        assert_eq!(f.text("name"), "Zürich 東京");
        assert_eq!(f.text("note"), "100%");
        assert_eq!(f.text("x"), "%2");
        assert_eq!(f.get("empty"), Some(""));
        assert!(f.checked("flag"));
        assert_eq!(f.text("a=b"), "c&d");
        // The same as the url crate reads valid input.
        let raw: &[u8] = b"a=1&b=x+y%21&c=%E2%82%AC&d=%zz";
        let ours = FormBody::parse(raw).expect("UTF-8").0;
        let theirs: Vec<(String, String)> = url::form_urlencoded::parse(raw)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(ours, theirs);
        for bad in [&b"name=%ff%fe"[..], b"%C3=x", b"name=\xff"] {
            assert!(FormBody::parse(bad).is_none(), "{bad:?}");
        }
    }
}
