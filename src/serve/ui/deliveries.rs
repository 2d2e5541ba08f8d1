//! Delivery history: the list filtered by webhook, status and event type (or family; 50 a page,
//! newest first), one
//! delivery with its payload and attempts, and "Retry now" for a failed or retrying one.
//! Response bodies come from strangers' servers: shown escaped, cut to [`BODY_SHOWN`].

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};

use super::error::UiResult;
use super::form::FormBody;
use super::layout::{self, csrf_field, page};
use super::webhooks::outcome;
use super::{done, path_id, Ui};
use crate::delivery::service::RetryError;
use crate::domain::event_type::{EventType, Subscription, FAMILIES};
use crate::domain::text::escape_controls;
use crate::domain::time::rfc3339;
use crate::ops;
use crate::serve::auth::Access;
use crate::serve::page::Query;
use crate::serve::state::AppState;
use crate::serve::ApiError;
use crate::store::{AttemptLog, Delivery, DeliveryFilter, DeliveryStatus, WebhookFilter};

/// What an empty field shows on a delivery's page.
const NONE: &str = "—";

type Shared = State<Arc<AppState>>;

/// Deliveries a page.
const PER_PAGE: u32 = 50;

/// How much of a response body is shown.
const BODY_SHOWN: usize = 2048;

const STATUSES: [DeliveryStatus; 4] = [
    DeliveryStatus::Pending,
    DeliveryStatus::Retrying,
    DeliveryStatus::Success,
    DeliveryStatus::Failed,
];

/// `GET /settings/webhooks/deliveries?webhook=&status=&event_type=&page=`
pub async fn list(State(state): Shared, ui: Ui, RawQuery(raw): RawQuery) -> UiResult<Response> {
    let q = Query::parse(raw.as_deref());
    let webhook = q
        .get("webhook")
        .filter(|w| *w != "all")
        .map(|w| {
            w.parse::<i64>()
                .map_err(|_| ApiError::invalid("webhook", "Choose a webhook from the list."))
        })
        .transpose()?;
    let status = q
        .get("status")
        .filter(|s| *s != "all")
        .map(|s| {
            DeliveryStatus::parse(s)
                .ok_or_else(|| ApiError::invalid("status", "Choose a status from the list."))
        })
        .transpose()?;
    let event_type = q
        .get("event_type")
        .filter(|t| *t != "all")
        .map(|t| {
            Subscription::parse_filter(t)
                .map_err(|_| ApiError::invalid("event_type", "Choose an event type from the list."))
        })
        .transpose()?;
    let number = q
        .get("page")
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let filter = DeliveryFilter {
        webhook,
        status,
        event_type,
        limit: Some(PER_PAGE),
        offset: (number - 1).saturating_mul(PER_PAGE),
        ..DeliveryFilter::default()
    };
    let flash = ui.flash(&state);
    ui.call(&state, Access::Read, move |store, ctx| {
        let hooks = ops::webhooks::list(store, ctx.grant.scope, &WebhookFilter::default())?;
        let (count, rows) = ops::deliveries::page(store, ctx.grant.scope, &filter)?;
        let link = |n: u32| {
            let mut s = url::form_urlencoded::Serializer::new(String::new());
            if let Some(w) = webhook {
                s.append_pair("webhook", &w.to_string());
            }
            if let Some(st) = status {
                s.append_pair("status", st.as_str());
            }
            if let Some(t) = event_type {
                s.append_pair("event_type", &t.as_string());
            }
            s.append_pair("page", &n.to_string());
            format!("/settings/webhooks/deliveries?{}", s.finish())
        };
        let older = u64::from(filter.offset) + (rows.len() as u64) < count;
        let body = html! {
            form.filters method="get" action="/settings/webhooks/deliveries" {
                label { "Webhook " select name="webhook" {
                    option value="all" { "all" }
                    @for w in &hooks {
                        option value=(w.id) selected[webhook == Some(w.id)] { (w.settings.name) }
                    }
                    // A deleted webhook's history (linked from a delivery) is still its own.
                    @if let Some(w) = webhook.filter(|w| !hooks.iter().any(|h| h.id == *w)) {
                        option value=(w) selected {
                            @match rows.first() {
                                Some(d) => { (webhook_name(d)) },
                                None => { "webhook " (w) },
                            }
                        }
                    }
                } }
                label { "Status " select name="status" {
                    option value="all" { "all" }
                    @for st in STATUSES {
                        option value=(st.as_str()) selected[status == Some(st)] { (st.as_str()) }
                    }
                } }
                label { "Event type " select name="event_type" {
                    option value="all" { "all" }
                    @for (value, shown) in event_type_choices() {
                        option value=(value.as_string()) selected[event_type == Some(value)] { (shown) }
                    }
                } }
                button type="submit" { "Filter" }
            }
            p { (count) @if count == 1 { " delivery" } @else { " deliveries" } }
            table id="deliveries" {
                thead { tr {
                    th { "ID" } th { "Webhook" } th { "Event type" } th { "Status" }
                    th { "Attempts" } th { "HTTP" } th { "Created (UTC)" } th { "Next retry" }
                } }
                tbody { @for d in &rows { (row(d)) } }
            }
            div.pages {
                @if number > 1 { a href=(link(number - 1)) rel="prev" { "Newer" } }
                @if older { a href=(link(number + 1)) rel="next" { "Older" } }
            }
        };
        Ok(layout::respond(
            StatusCode::OK,
            page("Deliveries", Some(&ctx.viewer), flash.as_deref(), body),
        ))
    })
    .await
}

/// The history's event-type filter: each family, then each type (`webhook.test` last).
fn event_type_choices() -> Vec<(Subscription, String)> {
    let families = FAMILIES
        .iter()
        .map(|f| (Subscription::Family(f), format!("{f}.* (every {f} event)")));
    let types = EventType::ALL
        .iter()
        .map(|t| (Subscription::Exact(*t), t.as_str().to_string()));
    families.chain(types).collect()
}

fn status_badge(s: DeliveryStatus) -> Markup {
    html! { span class={ "status status-" (s.as_str()) } { (s.as_str()) } }
}

fn webhook_name(d: &Delivery) -> String {
    if d.webhook_deleted {
        format!("{} (deleted)", d.webhook_name)
    } else {
        d.webhook_name.clone()
    }
}

fn row(d: &Delivery) -> Markup {
    html! {
        tr data-delivery-id=(d.id) {
            td data-label="ID" { a href={ "/settings/webhooks/deliveries/" (d.id) } { (d.id) } }
            td data-label="Webhook" { (webhook_name(d)) }
            td data-label="Event type" { (d.event_type.as_str()) }
            td data-label="Status" { (status_badge(d.status)) }
            td data-label="Attempts" { (d.attempts) }
            td data-label="HTTP" { (d.http_status.map(|c| c.to_string()).unwrap_or_default()) }
            td data-label="Created (UTC)" { (rfc3339(d.created_at)) }
            td data-label="Next retry" { (d.next_attempt_at.map(rfc3339).unwrap_or_default()) }
        }
    }
}

/// At most [`BODY_SHOWN`] bytes of `body` (on a character boundary), and whether it was cut.
fn cut(body: &str) -> (&str, bool) {
    if body.len() <= BODY_SHOWN {
        return (body, false);
    }
    let mut end = BODY_SHOWN;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    (&body[..end], true)
}

fn response_body(body: Option<&str>) -> Markup {
    html! {
        @if let Some(b) = body.filter(|b| !b.is_empty()) {
            @let (shown, was_cut) = cut(b);
            pre { (visible_lines(shown)) }
            @if was_cut { p.hint { "(cut: the first 2 KB of " (b.len()) " bytes)" } }
        }
    }
}

/// A receiver's text for a `pre`: its lines and tabs kept, every other control character
/// escaped as the CLI shows it (`\x1b`), never sent raw to the browser.
fn visible_lines(text: &str) -> String {
    text.replace("\r\n", "\n")
        .split_inclusive(['\n', '\t'])
        .map(|part| {
            let (body, end) = match part.strip_suffix(['\n', '\t']) {
                Some(body) => (body, &part[body.len()..]),
                None => (part, ""),
            };
            format!("{}{end}", escape_controls(body))
        })
        .collect()
}

/// The payload as indented JSON (as sent when it is not JSON).
fn pretty(payload: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(payload).into_owned())
}

fn attempts_table(attempts: &[AttemptLog]) -> Markup {
    html! {
        table id="attempts" {
            thead { tr {
                th { "#" } th { "Started (UTC)" } th { "HTTP" } th { "Duration" } th { "Error" } th { "Response body" }
            } }
            tbody {
                @for a in attempts {
                    tr {
                        td data-label="#" { (a.attempt) }
                        td data-label="Started (UTC)" { (rfc3339(a.started_at)) }
                        td data-label="HTTP" { (a.http_status.map(|c| c.to_string()).unwrap_or_default()) }
                        td data-label="Duration" { (a.duration_ms) " ms" }
                        td data-label="Error" { (escape_controls(a.error_message.as_deref().unwrap_or(""))) }
                        td data-label="Response body" { (response_body(a.response_body.as_deref())) }
                    }
                }
            }
        }
    }
}

/// `GET /settings/webhooks/deliveries/{id}`
pub async fn show(State(state): Shared, Path(id): Path<String>, ui: Ui) -> UiResult<Response> {
    let id = path_id(&id)?;
    let flash = ui.flash(&state);
    ui.call(&state, Access::Read, move |store, ctx| {
        let (d, attempts) = ops::deliveries::show(store, ctx.grant.scope, id)?;
        // Not for a deleted webhook's: there is nowhere to send it.
        let retryable = matches!(d.status, DeliveryStatus::Failed | DeliveryStatus::Retrying)
            && !d.webhook_deleted
            && d.webhook.is_some();
        let body = html! {
            table id="delivery" { tbody {
                tr { th { "Webhook" } td { (webhook_name(&d)) } }
                tr { th { "Event type" } td { (d.event_type.as_str()) } }
                tr { th { "Status" } td { (status_badge(d.status)) } }
                tr { th { "Attempts" } td { (d.attempts) } }
                tr { th { "HTTP status" } td { (d.http_status.map_or(NONE.to_string(), |c| c.to_string())) } }
                tr { th { "Error" } td { (escape_controls(d.error_message.as_deref().unwrap_or(NONE))) } }
                tr { th { "Created (UTC)" } td { (rfc3339(d.created_at)) } }
                tr { th { "Next retry" } td { (d.next_attempt_at.map_or(NONE.to_string(), rfc3339)) } }
            } }
            @if retryable && !ctx.viewer.read_only {
                form method="post" action={ "/settings/webhooks/deliveries/" (d.id) "/retry" } {
                    (csrf_field(&ctx.viewer.csrf))
                    p { button.primary type="submit" { "Retry now" } }
                }
            }
            h2 { "Payload" }
            pre { (pretty(&d.payload)) }
            h2 { "Attempts" }
            (attempts_table(&attempts))
        };
        let title = format!("Delivery {}", d.id);
        Ok(layout::respond(StatusCode::OK, page(&title, Some(&ctx.viewer), flash.as_deref(), body)))
    })
    .await
}

/// Why a retry was refused, in the UI's words (the CLI's name a command).
fn refused_words(refused: &RetryError) -> String {
    match refused {
        RetryError::WebhookDisabled { webhook, .. } => format!(
            "its webhook is disabled; enable it on the webhooks page (webhook {webhook}) first."
        ),
        other => other.to_string(),
    }
}

/// `POST /settings/webhooks/deliveries/{id}/retry`: one attempt now; a refusal (not failed or
/// retrying, its webhook deleted or disabled, another process sending it) is said in the
/// delivery page's flash.
pub async fn retry(
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
            let r = match ops::delivery::retry_one(store, &sending, id) {
                Ok(r) => r,
                Err(ops::Error::Retry(refused)) if !matches!(refused, RetryError::Store(_)) => {
                    return Ok(format!("Not retried: {}", refused_words(&refused)))
                }
                Err(e) => return Err(e.into()),
            };
            Ok(format!(
                "Retried delivery {}: {}",
                r.delivery.id,
                outcome(&r.delivery)
            ))
        })
        .await?;
    Ok(done(
        &ui,
        &state,
        &format!("/settings/webhooks/deliveries/{id}"),
        message,
    ))
}
