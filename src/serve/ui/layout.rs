//! The page shell every UI page shares: one inline stylesheet (no external assets: the
//! Content-Security-Policy allows nothing else), the nav bar with who is signed in and a
//! sign-out form, the flash message, and the security headers every UI response carries.

use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// Who is looking at a page, for the nav bar and its forms.
pub struct Viewer {
    /// "admin", or the customer's name.
    pub who: String,
    pub token_name: String,
    pub csrf: String,
    /// A read-only token: no form that changes anything is shown.
    pub read_only: bool,
    /// An admin token: pages show a customer column.
    pub admin: bool,
}

/// Laptop and phone: tables become stacked cards below 640px (each cell names its column).
const CSS: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f8fa}
nav{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.6rem 1rem;background:#24292f;color:#fff}
nav a{color:#fff;text-decoration:none;font-weight:600}
nav .who{margin-left:auto;color:#d0d7de;font-size:.9em}
nav form{margin:0}
main{max-width:1200px;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
a{color:#0969da}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid #d0d7de}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #d0d7de;vertical-align:top;overflow-wrap:break-word}td[data-label=URL],td[data-label=Error],td[data-label="Response body"]{overflow-wrap:anywhere}
th{white-space:nowrap;overflow-wrap:normal}
th{background:#f6f8fa;font-size:.85em}
pre{background:#fff;border:1px solid #d0d7de;padding:.6rem;overflow:auto;max-height:30rem;white-space:pre-wrap;overflow-wrap:anywhere}
button,.button{font:inherit;padding:.3rem .7rem;border:1px solid #8c959f;border-radius:6px;background:#fff;color:#1f2328;cursor:pointer;text-decoration:none;display:inline-block}
button.primary{background:#1f883d;border-color:#1a7f37;color:#fff}
button.danger{background:#cf222e;border-color:#a40e26;color:#fff}
nav button{background:transparent;color:#fff;border-color:#8c959f}
.actions{display:flex;flex-wrap:wrap;gap:.3rem}
.actions form{margin:0}
.flash{padding:.6rem .8rem;background:#ddf4ff;border:1px solid #54aeff;border-radius:6px}
.error{color:#cf222e;margin:.2rem 0}
p.error.page{padding:.6rem .8rem;background:#ffebe9;border:1px solid #ff8182;border-radius:6px;color:#1f2328}
.status{padding:.05rem .45rem;border-radius:1rem;font-size:.85em;border:1px solid #d0d7de}
.status-success{background:#dafbe1}.status-failed{background:#ffebe9}.status-retrying{background:#fff8c5}.status-pending{background:#f6f8fa}
form.stacked label{display:block;margin:.8rem 0 .2rem;font-weight:600}
form.stacked input[type=text],form.stacked input[type=url],form.stacked input[type=password],form.stacked input[type=number],form.stacked select,form.stacked textarea{width:100%;max-width:40rem;font:inherit;padding:.35rem;border:1px solid #8c959f;border-radius:6px}
fieldset{border:1px solid #d0d7de;max-width:40rem}
fieldset label{display:block;font-weight:400!important;margin:.15rem 0!important}
form.stacked label.check{font-weight:400}
.hint{color:#57606a;font-size:.85em;margin:.1rem 0}
.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin-bottom:1rem}
.pages{display:flex;gap:1rem;margin:1rem 0}
@media (max-width:640px){
table,thead,tbody,tr,th,td{display:block}
thead{display:none}
tr{border-bottom:2px solid #8c959f;padding:.3rem 0}
td{border:0;padding:.2rem .6rem}
th{white-space:normal}
td[data-label]::before{content:attr(data-label);display:block;font-size:.8em;color:#57606a;font-weight:600}
nav .who{margin-left:0}
}
"#;

/// A whole page: `title` (also the heading), the nav for `viewer` (none on the sign-in page),
/// the flash message, then `body`.
pub fn page(title: &str, viewer: Option<&Viewer>, flash: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · webnet" }
                style { (PreEscaped(CSS)) }
            }
            body {
                @if let Some(v) = viewer { (nav(v)) }
                main {
                    @if let Some(message) = flash {
                        p.flash role="status" { (message) }
                    }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

fn nav(v: &Viewer) -> Markup {
    html! {
        nav {
            a href="/settings/webhooks/" { "Webhooks" }
            a href="/settings/webhooks/deliveries" { "Deliveries" }
            span.who { "Signed in as " strong { (v.who) } " (token " (v.token_name) ")" }
            form method="post" action="/settings/sign-out" {
                (csrf_field(&v.csrf))
                button type="submit" { "Sign out" }
            }
        }
    }
}

/// The hidden `csrf` field every form carries.
pub fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// A one-button POST form (the row actions of a list).
pub fn button_form(action: &str, csrf: &str, label: &str, class: Option<&str>) -> Markup {
    html! {
        form method="post" action=(action) {
            (csrf_field(csrf))
            button type="submit" class=[class] { (label) }
        }
    }
}

/// An HTML response with the UI's security headers.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure(headers);
    response
}

/// The headers of every UI response (redirects too): nothing from elsewhere may load, the
/// page may not be framed, nothing is cached.
pub fn secure(headers: &mut axum::http::HeaderMap) {
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// `303 See Other` to `to` (a local path), with the security headers.
pub fn see_other(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    secure(response.headers_mut());
    response
}

/// A page that only says what went wrong (403, 404, 409, …), with plain nav links.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = html! {
        p.error.page { (message) }
        p { a href="/settings/webhooks/" { "Webhooks" } " · " a href="/settings/webhooks/deliveries" { "Deliveries" } }
    };
    respond(status, page(title, None, None, body))
}
