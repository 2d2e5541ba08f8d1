//! The web UI under `/settings/`: server-rendered pages (no JavaScript) to manage webhooks and
//! read delivery history, signed in with an API token. Pages do what the REST API does,
//! through the same `ops` functions under the token's scope — a customer token sees exactly
//! its customer, a read-only token changes nothing — and never by calling the API.
//!
//! Every form carries the session's CSRF token; every response carries the security headers
//! of [`layout::secure`]; everything shown is escaped by `maud`.

mod deliveries;
mod error;
mod form;
mod layout;
mod session;
mod sign_in;
mod webhook_form;
mod webhook_page;
mod webhooks;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, post, MethodRouter};
use axum::Router;

use super::auth::Access;
use super::state::AppState;
use super::ApiError;
use crate::domain::Scope;
use crate::ops::tokens::Grant;
use crate::store::Store;
use error::{UiError, UiResult};
use form::FormBody;
use layout::Viewer;

pub use session::Sessions;

/// The UI's routes, each also reachable with or without its trailing slash.
pub fn routes() -> Router<Arc<AppState>> {
    let list: Vec<(&str, MethodRouter<Arc<AppState>>)> = vec![
        (
            "/settings/sign-in",
            get(sign_in::form).post(sign_in::submit),
        ),
        ("/settings/sign-out", post(sign_in::sign_out)),
        (
            "/settings/webhooks/",
            get(webhooks::list).post(webhook_form::create),
        ),
        ("/settings/webhooks/new", get(webhook_form::new)),
        (
            "/settings/webhooks/{id}/",
            get(webhooks::to_edit).post(webhook_form::update),
        ),
        ("/settings/webhooks/{id}/edit", get(webhook_form::edit)),
        ("/settings/webhooks/{id}/test", post(webhooks::test)),
        ("/settings/webhooks/{id}/enable", post(webhooks::enable)),
        ("/settings/webhooks/{id}/disable", post(webhooks::disable)),
        (
            "/settings/webhooks/{id}/delete",
            get(webhooks::confirm_delete).post(webhooks::delete),
        ),
        ("/settings/webhooks/deliveries/", get(deliveries::list)),
        ("/settings/webhooks/deliveries/{id}/", get(deliveries::show)),
        (
            "/settings/webhooks/deliveries/{id}/retry",
            post(deliveries::retry),
        ),
    ];
    let mut r = Router::new();
    for (path, route) in list {
        let trimmed = path.trim_end_matches('/');
        r = r.route(trimmed, route.clone());
        if trimmed != path {
            r = r.route(path, route);
        } else {
            r = r.route(&format!("{path}/"), route);
        }
    }
    let home = || get(|| async { layout::see_other("/settings/webhooks/") });
    r.route("/", home())
        .route("/settings", home())
        .route("/settings/", home())
        .route("/settings/{*rest}", get(unknown).post(unknown))
}

/// A path under `/settings/` that is no page: signed in, a 404 page.
async fn unknown(_: Ui) -> UiError {
    UiError::not_found()
}

/// A request from a signed-in browser: its live session (the token in it not yet checked).
pub struct Ui {
    id: String,
    token: String,
    csrf: String,
    /// Where to come back after signing in.
    here: String,
}

impl FromRequestParts<Arc<AppState>> for Ui {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> UiResult<Ui> {
        // A form posted without a session comes back to the list, not to its action.
        let here = match (&parts.method, parts.uri.path_and_query()) {
            (&Method::GET, Some(pq)) => pq.as_str().to_string(),
            _ => "/settings/webhooks/".to_string(),
        };
        let signed_in =
            session::cookie(&parts.headers).and_then(|id| state.sessions.get(&id).map(|s| (id, s)));
        match signed_in {
            Some((id, s)) => Ok(Ui {
                id,
                token: s.token,
                csrf: s.csrf,
                here,
            }),
            None => Err(UiError::SignIn { next: here }),
        }
    }
}

/// What a page's work knows of its viewer.
pub struct Ctx {
    pub grant: Grant,
    pub viewer: Viewer,
}

impl Ui {
    /// Refuses a form without this session's CSRF token (403, nothing done).
    pub fn check_csrf(&self, form: &FormBody) -> UiResult<()> {
        match form.get("csrf") {
            Some(sent) if crate::domain::signature::same_in_constant_time(sent, &self.csrf) => {
                Ok(())
            }
            _ => Err(UiError::forbidden(error::STALE_FORM)),
        }
    }

    /// The flash message kept for this page, taken.
    pub fn flash(&self, state: &AppState) -> Option<String> {
        state.sessions.take_flash(&self.id)
    }

    /// Keeps `message` for the next page.
    pub fn set_flash(&self, state: &AppState, message: String) {
        state.sessions.flash(&self.id, message);
    }

    /// Runs `f` on a blocking thread with a connection once the session's token is found
    /// still valid and allowed `access`; a token revoked since ends the session.
    pub async fn call<T, F>(&self, state: &Arc<AppState>, access: Access, f: F) -> UiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store, &Ctx) -> Result<T, ApiError> + Send + 'static,
    {
        let token = self.token.clone();
        let csrf = self.csrf.clone();
        let result = state
            .with_store(move |store, now| {
                let grant = crate::ops::tokens::authenticate(store, &token, now)?
                    .ok_or_else(|| ApiError::Unauthenticated("revoked".into()))?;
                if access == Access::Write && grant.read_only {
                    return Err(ApiError::Forbidden(
                        "This token is read-only: it cannot change anything.".into(),
                    ));
                }
                let who = match grant.scope {
                    Scope::All => "admin".to_string(),
                    Scope::Customer(c) => crate::ops::customers::list(store, grant.scope)?
                        .into_iter()
                        .find(|x| x.id == c)
                        .map_or_else(|| format!("customer {c}"), |x| x.name),
                };
                let viewer = Viewer {
                    who,
                    token_name: grant.name.clone(),
                    csrf,
                    read_only: grant.read_only,
                    admin: grant.scope == Scope::All,
                };
                f(store, &Ctx { grant, viewer })
            })
            .await;
        match result {
            Err(ApiError::Unauthenticated(_)) => {
                state.sessions.end(&self.id);
                Err(UiError::SignIn {
                    next: self.here.clone(),
                })
            }
            other => Ok(other?),
        }
    }
}

/// An id in a UI path: a positive whole number, else the 404 page.
pub fn path_id(text: &str) -> UiResult<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(UiError::not_found)
}

/// The response of a finished action: back to `to`, with `message` shown there once.
pub fn done(ui: &Ui, state: &AppState, to: &str, message: String) -> Response {
    ui.set_flash(state, message);
    layout::see_other(to)
}
