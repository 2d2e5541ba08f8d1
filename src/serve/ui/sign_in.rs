//! Signing in with an API token and out again. The sign-in form carries no CSRF token (there
//! is no session yet to keep one in): a browser's sign-in sent from another site
//! (`Sec-Fetch-Site: cross-site`) is refused instead, so no page elsewhere can sign a visitor
//! in with a token of its own choosing (login CSRF).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::header::{HeaderValue, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;

use super::error::{UiError, UiResult};
use super::form::FormBody;
use super::layout::{self, page};
use super::session;
use super::Ui;
use crate::serve::page::Query;
use crate::serve::state::AppState;

/// Where signing in leads when `next` is missing or not a page of the UI.
const HOME: &str = "/settings/webhooks/";

/// `next` if it is a local UI path (never elsewhere: an open redirect would help phishing).
fn local(next: Option<&str>) -> String {
    next.filter(|n| {
        n.starts_with("/settings/") && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    })
    .unwrap_or(HOME)
    .to_string()
}

fn render(next: &str, message: Option<&str>) -> maud::Markup {
    let body = html! {
        @if let Some(m) = message { p.error.page id="error-token" { (m) } }
        p { "Sign in with an API token (" code { "webnet tokens create" } " makes one)." }
        form.stacked method="post" action="/settings/sign-in" {
            input type="hidden" name="next" value=(next);
            label for="token" { "Token" }
            input type="password" id="token" name="token" autocomplete="off" required;
            p { button.primary type="submit" { "Sign in" } }
        }
    };
    page("Sign in", None, None, body)
}

/// `GET /settings/sign-in?next=/settings/…`
pub async fn form(RawQuery(raw): RawQuery) -> Response {
    let q = Query::parse(raw.as_deref());
    layout::respond(StatusCode::OK, render(&local(q.get("next")), None))
}

/// `POST /settings/sign-in`: a valid token opens a session and goes to `next`; anything
/// else is the form again, 401 (the token is never shown back).
pub async fn submit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    form: FormBody,
) -> UiResult<Response> {
    // Browsers say where a request comes from; a proxy in front leaves this header alone.
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if cross_site {
        return Err(UiError::forbidden(
            "Signing in is only possible from this server's own sign-in page.",
        ));
    }
    let next = local(form.get("next"));
    let token = form.text("token").trim().to_string();
    if token.is_empty() {
        return Ok(layout::respond(
            StatusCode::BAD_REQUEST,
            render(&next, Some("Paste an API token (webnet tokens create).")),
        ));
    }
    let presented = token.clone();
    let valid = state
        .with_store(move |store, now| {
            Ok(crate::ops::tokens::authenticate(store, &presented, now)?.is_some())
        })
        .await?;
    if !valid {
        return Ok(layout::respond(
            StatusCode::UNAUTHORIZED,
            render(&next, Some("That token is not valid.")),
        ));
    }
    let id = state.sessions.open(token);
    let mut response = layout::see_other(&next);
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(&id)) {
        response.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(response)
}

/// `POST /settings/sign-out`: ends the session (a form from elsewhere cannot).
pub async fn sign_out(
    State(state): State<Arc<AppState>>,
    ui: Ui,
    form: FormBody,
) -> UiResult<Response> {
    ui.check_csrf(&form)?;
    state.sessions.end(&ui.id);
    let mut response = layout::see_other("/settings/sign-in");
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie()) {
        response.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(response)
}
