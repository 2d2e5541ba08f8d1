//! Query strings and DRF-style pages: `?page=` (from 1) and `?page_size=` (default
//! [`DEFAULT_PAGE_SIZE`], capped at [`MAX_PAGE_SIZE`]); a list answers
//! `{"count", "next", "previous", "results"}` with absolute links.

use axum::http::header::HOST;
use axum::http::HeaderMap;
use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 100;

/// A query string's parameters (the last of a name given twice counts, as in DRF).
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        Query(
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The parameter's value; empty counts as not given (as a blank filter form sends it).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn integer(&self, key: &str) -> ApiResult<Option<i64>> {
        self.get(key)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::invalid(key, "A valid integer is required."))
            })
            .transpose()
    }

    pub fn bool(&self, key: &str) -> ApiResult<Option<bool>> {
        self.get(key)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(ApiError::invalid(key, "Must be a valid boolean.")),
            })
            .transpose()
    }

    /// A value one of a set of choices, read by `choose`.
    pub fn choice<T>(&self, key: &str, choose: impl Fn(&str) -> Option<T>) -> ApiResult<Option<T>> {
        self.get(key)
            .map(|v| {
                choose(v).ok_or_else(|| {
                    ApiError::invalid(
                        key,
                        format!(
                            "Select a valid choice. {} is not one of the available choices.",
                            crate::domain::text::quote(v)
                        ),
                    )
                })
            })
            .transpose()
    }
}

/// Which page a list request asked for.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub number: u32,
    pub size: u32,
}

impl Page {
    /// `?page=` and `?page_size=`; a page that is not a positive number is 404 "Invalid
    /// page." as in DRF; a size over the cap is capped.
    pub fn from_query(q: &mut Query) -> ApiResult<Page> {
        let number = match q.get("page") {
            None => 1,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| ApiError::NotFound("Invalid page.".into()))?,
        };
        let size = match q.get("page_size") {
            None => DEFAULT_PAGE_SIZE,
            Some(v) => match v.parse::<u64>() {
                Ok(0) | Err(_) => DEFAULT_PAGE_SIZE,
                Ok(n) => n.min(u64::from(MAX_PAGE_SIZE)) as u32,
            },
        };
        Ok(Page { number, size })
    }

    pub fn offset(&self) -> u32 {
        (self.number - 1).saturating_mul(self.size)
    }

    /// This page of `all`.
    pub fn slice<T>(&self, all: Vec<T>) -> Vec<T> {
        all.into_iter()
            .skip(self.offset() as usize)
            .take(self.size as usize)
            .collect()
    }

    /// What [`Links::body`] needs to link the next and previous pages.
    pub fn links(&self, headers: &HeaderMap, path: &str, raw: Option<&str>) -> Links {
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .unwrap_or("localhost");
        let others: Vec<(String, String)> = Query::parse(raw)
            .0
            .into_iter()
            .filter(|(k, _)| k != "page")
            .collect();
        Links {
            page: *self,
            base: format!("http://{host}{path}"),
            others,
        }
    }
}

/// How to link a list's neighbouring pages.
pub struct Links {
    page: Page,
    base: String,
    others: Vec<(String, String)>,
}

impl Links {
    fn url(&self, number: u32) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.others {
            q.append_pair(k, v);
        }
        if number > 1 {
            q.append_pair("page", &number.to_string());
        }
        let q = q.finish();
        if q.is_empty() {
            self.base.clone()
        } else {
            format!("{}?{q}", self.base)
        }
    }

    /// The page's body. A page past the last is 404 "Invalid page." (checked by the caller
    /// with [`Links::check`]).
    pub fn body(&self, count: u64, results: Vec<Value>) -> Value {
        let shown = u64::from(self.page.offset()) + results.len() as u64;
        let next = (shown < count).then(|| self.url(self.page.number + 1));
        let previous = (self.page.number > 1).then(|| self.url(self.page.number - 1));
        json!({ "count": count, "next": next, "previous": previous, "results": results })
    }

    /// DRF answers a page past the last (other than the first) with 404.
    pub fn check(&self, count: u64) -> ApiResult<()> {
        if self.page.number > 1 && u64::from(self.page.offset()) >= count {
            return Err(ApiError::NotFound("Invalid page.".into()));
        }
        Ok(())
    }
}
