//! The webhook list and its row actions: test, enable or disable, delete (after a
//! confirmation page). Each action is a small POST form and answers with a redirect back to
//! the list, where a flash message says what happened.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};

use super::error::UiResult;
use super::form::FormBody;
use super::layout::{self, button_form, csrf_field, page, Viewer};
use super::{done, path_id, Ctx, Ui};
use crate::domain::time::rfc3339;
use crate::domain::Scope;
use crate::ops;
use crate::serve::auth::Access;
use crate::serve::state::AppState;
use crate::serve::ApiError;
use crate::store::{Delivery, Store, Webhook, WebhookFilter};

type Shared = State<Arc<AppState>>;

const LIST: &str = "/settings/webhooks/";

/// `GET /settings/webhooks/`
pub async fn list(State(state): Shared, ui: Ui) -> UiResult<Response> {
    let flash = ui.flash(&state);
    ui.call(&state, Access::Read, move |store, ctx| {
        let hooks = ops::webhooks::list(store, ctx.grant.scope, &WebhookFilter::default())?;
        let names = customer_names(store, ctx)?;
        let body = table(&ctx.viewer, &hooks, &names);
        Ok(layout::respond(
            StatusCode::OK,
            page("Webhooks", Some(&ctx.viewer), flash.as_deref(), body),
        ))
    })
    .await
}

/// Every customer's name by id, for an admin's customer column and select (none otherwise).
pub fn customer_names(store: &Store, ctx: &Ctx) -> Result<HashMap<i64, String>, ApiError> {
    if ctx.grant.scope != Scope::All {
        return Ok(HashMap::new());
    }
    Ok(ops::customers::list(store, Scope::All)?
        .into_iter()
        .map(|c| (c.id.0, c.name))
        .collect())
}

fn table(v: &Viewer, hooks: &[Webhook], names: &HashMap<i64, String>) -> Markup {
    html! {
        @if !v.read_only {
            p { a.button href="/settings/webhooks/new" { "New webhook" } }
        }
        @if hooks.is_empty() {
            p { "No webhooks yet." }
        }
        table id="webhooks" {
            thead { tr {
                th { "Name" }
                @if v.admin { th { "Customer" } }
                th { "URL" } th { "Event types" } th { "State" } th { "Health" } th { "Actions" }
            } }
            tbody {
                @for w in hooks { (row(v, w, names)) }
            }
        }
    }
}

fn row(v: &Viewer, w: &Webhook, names: &HashMap<i64, String>) -> Markup {
    let s = &w.settings;
    let base = format!("/settings/webhooks/{}", w.id);
    let types: Vec<String> = s.event_types.iter().map(|t| t.as_string()).collect();
    html! {
        tr data-webhook-id=(w.id) {
            td data-label="Name" {
                @if v.read_only { (s.name) } @else { a href={ (base) "/edit" } { (s.name) } }
            }
            @if v.admin {
                td data-label="Customer" {
                    (names.get(&w.customer.0).cloned().unwrap_or_else(|| w.customer.to_string()))
                }
            }
            td data-label="URL" { (s.url.shown()) }
            td data-label="Event types" { (types.join(", ")) }
            td data-label="State" { @if s.enabled { "enabled" } @else { "disabled" } }
            td data-label="Health" { (health(w)) }
            td data-label="Actions" { div.actions {
                @if !v.read_only {
                    (button_form(&format!("{base}/test"), &v.csrf, "Test", None))
                    @if s.enabled {
                        (button_form(&format!("{base}/disable"), &v.csrf, "Disable", None))
                    } @else {
                        (button_form(&format!("{base}/enable"), &v.csrf, "Enable", None))
                    }
                    a.button href={ (base) "/edit" } { "Edit" }
                    a.button href={ (base) "/delete" } { "Delete" }
                }
                a.button href={ "/settings/webhooks/deliveries?webhook=" (w.id) } { "Deliveries" }
            } }
        }
    }
}

/// "ok", "failing since …", or why it was disabled.
fn health(w: &Webhook) -> String {
    match (&w.disabled_reason, w.failing_since) {
        (Some(reason), _) if !w.settings.enabled => format!("disabled: {reason}"),
        (_, Some(since)) => format!("failing since {}", rfc3339(since)),
        _ => "ok".to_string(),
    }
}

/// `GET /settings/webhooks/{id}/`: the edit page is where a webhook is shown.
pub async fn to_edit(Path(id): Path<String>, _: Ui) -> UiResult<Response> {
    let id = path_id(&id)?;
    Ok(layout::see_other(&format!("/settings/webhooks/{id}/edit")))
}

/// How a delivery went, in words: "success, HTTP 200 in 12 ms", "failed: connection refused".
pub fn outcome(d: &Delivery) -> String {
    let mut text = d.status.as_str().to_string();
    if let Some(code) = d.http_status {
        text.push_str(&format!(", HTTP {code}"));
    }
    if let Some(ms) = d.duration_ms {
        text.push_str(&format!(" in {ms} ms"));
    }
    if let Some(e) = d
        .error_message
        .as_deref()
        .filter(|_| d.http_status != Some(200))
    {
        text.push_str(&format!(": {}", crate::domain::text::error_line(e)));
    }
    text
}

/// `POST /settings/webhooks/{id}/test`: a signed `webhook.test` sent now.
pub async fn test(
    State(state): Shared,
    Path(id): Path<String>,
    ui: Ui,
    form: FormBody,
) -> UiResult<Response> {
    ui.check_csrf(&form)?;
    let id = path_id(&id)?;
    // The API's bound on sending requests holds here too.
    let _slot = state.sending_slot().await?;
    let sending_state = Arc::clone(&state);
    let message = ui
        .call(&state, Access::Write, move |store, ctx| {
            let sending = sending_state.sending_for(ctx.grant.scope);
            let o = ops::delivery::test_webhook(store, &sending, id)?;
            let (d, _) = ops::deliveries::show(store, ctx.grant.scope, o.delivery_id)?;
            Ok(format!("Test delivery {}: {}", d.id, outcome(&d)))
        })
        .await?;
    Ok(done(&ui, &state, LIST, message))
}

pub async fn enable(
    state: Shared,
    Path(id): Path<String>,
    ui: Ui,
    form: FormBody,
) -> UiResult<Response> {
    set_enabled(state, id, ui, form, true).await
}

pub async fn disable(
    state: Shared,
    Path(id): Path<String>,
    ui: Ui,
    form: FormBody,
) -> UiResult<Response> {
    set_enabled(state, id, ui, form, false).await
}

async fn set_enabled(
    State(state): Shared,
    id: String,
    ui: Ui,
    form: FormBody,
    enabled: bool,
) -> UiResult<Response> {
    ui.check_csrf(&form)?;
    let id = path_id(&id)?;
    let now = state.now();
    let w = ui
        .call(&state, Access::Write, move |store, ctx| {
            Ok(ops::webhooks::set_enabled(
                store,
                ctx.grant.scope,
                id,
                enabled,
                now,
            )?)
        })
        .await?;
    let done_word = if enabled { "Enabled" } else { "Disabled" };
    let message = format!("{done_word} webhook {}.", w.settings.name);
    Ok(done(&ui, &state, LIST, message))
}

/// `GET /settings/webhooks/{id}/delete`: are you sure?
pub async fn confirm_delete(
    State(state): Shared,
    Path(id): Path<String>,
    ui: Ui,
) -> UiResult<Response> {
    let id = path_id(&id)?;
    ui.call(&state, Access::Write, move |store, ctx| {
        let w = ops::webhooks::label(store, ctx.grant.scope, id)?;
        let body = html! {
            p { "Delete webhook " strong { (w.name) } "? Its delivery history is kept." }
            form method="post" action={ "/settings/webhooks/" (id) "/delete" } {
                (csrf_field(&ctx.viewer.csrf))
                div.actions {
                    button.danger type="submit" { "Delete" }
                    a.button href=(LIST) { "Cancel" }
                }
            }
        };
        Ok(layout::respond(
            StatusCode::OK,
            page("Delete webhook", Some(&ctx.viewer), None, body),
        ))
    })
    .await
}

/// `POST /settings/webhooks/{id}/delete`
pub async fn delete(
    State(state): Shared,
    Path(id): Path<String>,
    ui: Ui,
    form: FormBody,
) -> UiResult<Response> {
    ui.check_csrf(&form)?;
    let id = path_id(&id)?;
    let now = state.now();
    let w = ui
        .call(&state, Access::Write, move |store, ctx| {
            Ok(ops::webhooks::delete(store, ctx.grant.scope, id, now)?)
        })
        .await?;
    let message = format!("Deleted webhook {}; its delivery history is kept.", w.name);
    Ok(done(&ui, &state, LIST, message))
}
