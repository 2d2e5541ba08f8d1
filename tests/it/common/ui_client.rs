//! The web UI over plain HTTP, for the UI tests that need no real browser: a session cookie,
//! the CSRF token its forms carry, and form bodies (names may repeat).

use super::server::{Reply, Server};

/// A signed-in browser: its session cookie and the CSRF token its forms carry.
pub struct Browser<'a> {
    srv: &'a Server,
    pub cookie: String,
    pub csrf: String,
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A form body from pairs (names may repeat).
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn sign_in<'a>(srv: &'a Server, token: &str) -> Browser<'a> {
    let r = srv.page(
        "POST",
        "/settings/sign-in",
        None,
        Some(&form(&[("token", token)])),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let set = r.header("set-cookie").expect("a session cookie");
    let cookie = set
        .strip_prefix("webnet_session=")
        .and_then(|v| v.split(';').next())
        .expect("webnet_session=…")
        .to_string();
    let page = srv.page("GET", "/settings/webhooks/", Some(&cookie), None);
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a csrf field")
        .to_string();
    Browser { srv, cookie, csrf }
}

impl Browser<'_> {
    pub fn get(&self, path: &str) -> Reply {
        self.srv.page("GET", path, Some(&self.cookie), None)
    }

    /// POSTs `pairs` with the session's CSRF token.
    pub fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Reply {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(pairs);
        self.post_raw(path, &form(&all))
    }

    pub fn post_raw(&self, path: &str, body: &str) -> Reply {
        self.srv.page("POST", path, Some(&self.cookie), Some(body))
    }
}
