//! `/api/v1/webhooks/`: list, create, show, update (PATCH and PUT), delete and test — the
//! CLI's `webhooks` commands over HTTP, through the same `ops` functions and scoping.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::Value;

use super::fields::{every_error, Fields};
#[allow(unused_imports)]
use super::schema::*;
use crate::cli::views::{delivery_json, webhook_json};
use crate::domain::event_type::Subscription;
use crate::domain::format::{PayloadFormat, RoutingKey};
use crate::domain::time::Millis;
use crate::domain::webhook::{self, parse_event_types};
use crate::domain::webhook_patch::{SecretEdit, WebhookDraft, WebhookPatch};
use crate::domain::{CustomerId, Scope, Secret, WebhookUrl};
use crate::ops;
use crate::ops::tokens::Grant;
use crate::serve::auth::{Access, Bearer};
use crate::serve::body::{object, JsonBody};
use crate::serve::error::{ApiError, ApiResult};
use crate::serve::page::{Page, Query};
use crate::serve::path::Id;
use crate::serve::state::AppState;
use crate::store::{Store, WebhookFilter};

/// Fields a webhook response has that a client may send back unchanged; they are ignored.
const READ_ONLY: &[&str] = &[
    "id",
    "has_secret",
    "has_routing_key",
    "disabled_reason",
    "failing_since",
    "previous_secret_until",
    "created_at",
    "updated_at",
];

type Shared = State<Arc<AppState>>;

#[utoipa::path(get, path = "/api/v1/webhooks/", tag = "webhooks",
    params(("page" = Option<u32>, Query, description = "From 1"), ("page_size" = Option<u32>, Query, description = "Default 50, at most 100"), ("enabled" = Option<bool>, Query), ("event_type" = Option<String>, Query, description = "Webhooks that receive this type; a wildcard (job.*, *): any event it covers"), ("customer" = Option<i64>, Query, description = "Admin tokens: one customer's")),
    responses((status = 200, description = "A page of webhooks", body = WebhookPage), (status = 400, description = "Invalid input, by field", body = FieldErrors), (status = 401, description = "No token, or not a valid one", body = Detail), (status = 403, description = "A read-only token, or another customer's", body = Detail)), security(("token" = [])))]
pub async fn list(
    State(state): Shared,
    bearer: Bearer,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let mut q = Query::parse(raw.as_deref());
    let page = Page::from_query(&mut q)?;
    let filter = WebhookFilter {
        enabled: q.bool("enabled")?,
        event_type: q.choice("event_type", |s| Subscription::parse(s).ok())?,
    };
    let customer = q.integer("customer")?;
    let link = page.links(&headers, "/api/v1/webhooks/", raw.as_deref());
    state
        .call(bearer, Access::Read, move |store, grant| {
            let scope = narrowed(grant, customer)?;
            let all = ops::webhooks::list(store, scope, &filter)?;
            let count = all.len() as u64;
            link.check(count)?;
            let results = page.slice(all).iter().map(webhook_json).collect();
            Ok(Json(link.body(count, results)))
        })
        .await
}

/// The caller's scope, narrowed to `customer` when an admin asks for one customer's.
pub(super) fn narrowed(grant: &Grant, customer: Option<i64>) -> ApiResult<Scope> {
    match (grant.scope, customer) {
        (Scope::All, Some(c)) => Ok(Scope::Customer(CustomerId(c))),
        (Scope::Customer(own), Some(c)) if own.0 != c => Err(ApiError::Forbidden(format!(
            "This token belongs to customer {own}; customer {c} is not yours."
        ))),
        (scope, _) => Ok(scope),
    }
}

#[utoipa::path(post, path = "/api/v1/webhooks/", tag = "webhooks", request_body = WebhookCreate,
    responses((status = 201, description = "Created", body = Webhook), (status = 400, description = "Invalid input, by field", body = FieldErrors), (status = 401, description = "No token, or not a valid one", body = Detail), (status = 403, description = "A read-only token, or another customer's", body = Detail), (status = 413, description = "Body over 1 MiB", body = Detail), (status = 415, description = "Not JSON", body = Detail)), security(("token" = [])))]
pub async fn create(
    State(state): Shared,
    bearer: Bearer,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let allow_private = state.sending.allow_private;
    let webhook = state
        .call(bearer, Access::Write, move |store, grant| {
            // Read after the token is checked: a token that may not write gets 403, not a
            // verdict on its body.
            let (customer, draft) = every_error(object(body.parse()?)?, |body| {
                let mut f = Fields::new(body);
                // Required of an admin token (named with the other fields); another
                // customer's is refused (403) once the body is right.
                let customer = match (grant.scope, f.integer("customer")?) {
                    (Scope::All, Some(c)) => Ok(CustomerId(c)),
                    (Scope::All, None) => {
                        return Err(ApiError::invalid("customer", "This field is required."))
                    }
                    (Scope::Customer(own), Some(c)) if own.0 != c => Err((own, c)),
                    (Scope::Customer(own), _) => Ok(own),
                };
                let draft = draft(&mut f)?;
                f.finish()?;
                draft.settings()?;
                let customer = customer.map_err(|(own, c)| {
                    ApiError::Forbidden(format!(
                        "This token belongs to customer {own}; it cannot create webhooks for customer {c}."
                    ))
                })?;
                Ok((customer, draft))
            })?;
            let policy = ops::target_policy(store, allow_private)?;
            match ops::webhooks::create(store, &policy, customer, &draft, now(store)) {
                Err(ops::Error::Store {
                    source: crate::store::StoreError::NotFound { .. },
                    ..
                }) => {
                    Err(ApiError::invalid(
                        "customer",
                        format!("Invalid pk \"{}\" - object does not exist.", customer.0),
                    ))
                }
                other => Ok(other?),
            }
        })
        .await?;
    Ok((StatusCode::CREATED, Json(webhook_json(&webhook))))
}

fn now(_store: &Store) -> Millis {
    crate::delivery::system_clock()
}

/// A new webhook from a create (or PUT) body: `name`, `url` and `event_types` required.
fn draft(f: &mut Fields) -> ApiResult<WebhookDraft> {
    f.ignore(READ_ONLY);
    let required = |v: Option<String>, key: &str| {
        v.ok_or_else(|| ApiError::invalid(key, "This field is required."))
    };
    let name = required(f.string("name")?, "name")?;
    let url = required(f.string("url")?, "url")?;
    let url = WebhookUrl::parse_form(&url)?;
    let event_types = f
        .strings("event_types")?
        .ok_or_else(|| ApiError::invalid("event_types", "This field is required."))?;
    let mut draft = WebhookDraft::new(name, url, parse_event_types(&event_types)?);
    let patch = settings(f)?;
    draft.enabled = patch.enabled.unwrap_or(true);
    draft.verify_ssl = patch.verify_ssl.unwrap_or(true);
    draft.timeout = patch.timeout;
    draft.max_retries = patch.max_retries;
    draft.retry_backoff = patch.retry_backoff;
    draft.auto_disable_after = patch.auto_disable_after;
    draft.payload_format = patch.payload_format;
    draft.headers = patch.headers;
    draft.routing_key = patch.routing_key;
    draft.secret = match patch.secret {
        SecretEdit::Set(s) => Some(s),
        SecretEdit::Keep | SecretEdit::Clear => None,
    };
    Ok(draft)
}

/// The optional settings of a body, as a patch (a create body's defaults are the draft's).
fn settings(f: &mut Fields) -> ApiResult<WebhookPatch> {
    use std::time::Duration;
    let secs = |n: Option<u64>| n.map(Duration::from_secs);
    let mut p = WebhookPatch {
        enabled: f.bool("enabled")?,
        verify_ssl: f.bool("verify_ssl")?,
        timeout: secs(f.count_in("timeout_seconds", webhook::TIMEOUT_RANGE)?),
        retry_backoff: secs(f.count_in("retry_backoff", webhook::BACKOFF_RANGE)?),
        auto_disable_after: secs(f.count_in("auto_disable_after", webhook::AUTO_DISABLE_RANGE)?),
        ..WebhookPatch::default()
    };
    if let Some(n) = f.count_in("max_retries", 0..=u64::from(webhook::MAX_RETRIES_LIMIT))? {
        p.max_retries = Some(u32::try_from(n).unwrap_or(u32::MAX));
    }
    if let Some(name) = f.string("payload_format")? {
        p.payload_format = Some(PayloadFormat::parse(&name).ok_or_else(|| {
            ApiError::invalid(
                "payload_format",
                format!("\"{name}\" is not a valid choice."),
            )
        })?);
    }
    if let Some(headers) = f.string_map("headers")? {
        // Checked with the rest of the settings; a credential given back as "[redacted]"
        // keeps the stored value.
        p.clear_headers = true;
        p.headers = headers;
    }
    if let Some(key) = f.string("routing_key")? {
        p.routing_key = Some(RoutingKey::new(&key)?);
    }
    p.secret = match f.take("secret") {
        None => SecretEdit::Keep,
        Some(Value::Null) => SecretEdit::Clear,
        // As `--secret ''` is refused: a blank secret is a mistake more often than a way to
        // remove one, and a webhook would silently go unsigned.
        Some(Value::String(s)) if s.is_empty() => {
            return Err(ApiError::invalid(
                "secret",
                "This field may not be blank; send null to remove the secret.",
            ))
        }
        Some(Value::String(s)) => SecretEdit::Set(Secret::new(&s)?),
        Some(_) => return Err(ApiError::invalid("secret", "Not a valid string.")),
    };
    Ok(p)
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/", tag = "webhooks", params(("id" = i64, Path, description = "The id")),
    responses((status = 200, description = "The webhook", body = Webhook), (status = 401, description = "No token, or not a valid one", body = Detail), (status = 404, description = "No such id for this token", body = Detail)), security(("token" = [])))]
pub async fn show(State(state): Shared, bearer: Bearer, Id(id): Id) -> ApiResult<Json<Value>> {
    state
        .call(bearer, Access::Read, move |store, grant| {
            Ok(Json(webhook_json(&ops::webhooks::show(
                store,
                grant.scope,
                id,
            )?)))
        })
        .await
}

/// `PATCH`: only the fields given change (`headers` replaces the set; `"secret": null`
/// removes the secret).
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}/", tag = "webhooks", params(("id" = i64, Path, description = "The id")), request_body = super::schema::WebhookPatch,
    responses((status = 200, description = "Changed", body = Webhook), (status = 400, description = "Invalid input, by field", body = FieldErrors), (status = 401, description = "No token, or not a valid one", body = Detail), (status = 403, description = "A read-only token, or another customer's", body = Detail), (status = 404, description = "No such id for this token", body = Detail)), security(("token" = [])))]
pub async fn patch(
    State(state): Shared,
    bearer: Bearer,
    Id(id): Id,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    update(state, bearer, id, move |current| {
        every_error(object(body.parse()?)?, |body| {
            let mut f = Fields::new(body);
            f.ignore(READ_ONLY);
            let customer = f.integer("customer")?;
            let mut p = settings(&mut f)?;
            p.name = f.string("name")?;
            if let Some(url) = f.string("url")? {
                p.url = Some(WebhookUrl::parse_form(&url)?);
            }
            if let Some(types) = f.strings("event_types")? {
                p.event_types = Some(parse_event_types(&types)?);
            }
            f.finish()?;
            in_range(current, &p)?;
            Ok((customer, p))
        })
    })
    .await
}

/// The webhook `p` would make of `current` is within every range: checked with the body's
/// form, so that one answer names every wrong field (the update checks it again).
fn in_range(current: &crate::store::Webhook, p: &WebhookPatch) -> ApiResult<()> {
    if !p.is_empty() {
        p.apply(&current.settings, current.has_routing_key)?;
    }
    Ok(())
}

/// `PUT`: the whole webhook as a create body gives it; settings left out return to their
/// defaults, the secret is kept unless given (it is never shown, so a client cannot echo it).
#[utoipa::path(put, path = "/api/v1/webhooks/{id}/", tag = "webhooks", params(("id" = i64, Path, description = "The id")), request_body = WebhookCreate,
    responses((status = 200, description = "Replaced: settings left out return to their defaults; the secret and routing key are kept unless given", body = Webhook), (status = 400, description = "Invalid input, by field", body = FieldErrors), (status = 401, description = "No token, or not a valid one", body = Detail), (status = 403, description = "A read-only token, or another customer's", body = Detail), (status = 404, description = "No such id for this token", body = Detail)), security(("token" = [])))]
pub async fn put(
    State(state): Shared,
    bearer: Bearer,
    Id(id): Id,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    update(state, bearer, id, move |current| whole(current, body)).await
}

/// A PUT body as a patch that sets everything.
fn whole(
    current: &crate::store::Webhook,
    body: JsonBody,
) -> ApiResult<(Option<i64>, WebhookPatch)> {
    every_error(object(body.parse()?)?, |body| {
        let (customer, p) = whole_fields(body)?;
        in_range(current, &p)?;
        Ok((customer, p))
    })
}

/// [`whole`] of the body's fields.
fn whole_fields(body: serde_json::Map<String, Value>) -> ApiResult<(Option<i64>, WebhookPatch)> {
    let mut f = Fields::new(body);
    let customer = f.integer("customer")?;
    let secret_given = f.has("secret");
    let d = draft(&mut f)?;
    f.finish()?;
    // Not `d.settings()`: a PUT may give back what a GET showed ("[redacted]" values, the
    // masked URL) and leave out a stored routing key; its ranges are checked by the update.
    let p =
        WebhookPatch {
            name: Some(d.name.clone()),
            url: Some(d.url.clone()),
            event_types: Some(d.event_types.clone()),
            enabled: Some(d.enabled),
            verify_ssl: Some(d.verify_ssl),
            timeout: Some(d.timeout.unwrap_or(std::time::Duration::from_secs(
                crate::domain::webhook::DEFAULT_TIMEOUT.into(),
            ))),
            max_retries: Some(
                d.max_retries
                    .unwrap_or(crate::domain::webhook::DEFAULT_MAX_RETRIES),
            ),
            retry_backoff: Some(d.retry_backoff.unwrap_or(std::time::Duration::from_secs(
                crate::domain::webhook::DEFAULT_BACKOFF.into(),
            ))),
            auto_disable_after: Some(d.auto_disable_after.unwrap_or(
                std::time::Duration::from_secs(crate::domain::webhook::DEFAULT_AUTO_DISABLE.into()),
            )),
            payload_format: Some(d.format()),
            clear_headers: true,
            headers: d.headers.clone(),
            secret: match (&d.secret, secret_given) {
                (Some(s), _) => SecretEdit::Set(s.clone()),
                (None, true) => SecretEdit::Clear,
                (None, false) => SecretEdit::Keep,
            },
            routing_key: d.routing_key.clone(),
        };
    Ok((customer, p))
}

/// Reads the body with `parse` once the token may write and the webhook is found, then
/// applies it.
async fn update(
    state: Arc<AppState>,
    bearer: Bearer,
    id: i64,
    parse: impl FnOnce(&crate::store::Webhook) -> ApiResult<(Option<i64>, WebhookPatch)>
        + Send
        + 'static,
) -> ApiResult<Json<Value>> {
    let allow_private = state.sending.allow_private;
    state
        .call(bearer, Access::Write, move |store, grant| {
            // Found first, as Django REST framework does: another customer's id is 404
            // whatever the body, and the body is judged against the webhook it changes.
            let current = ops::webhooks::show(store, grant.scope, id)?;
            let (customer, p) = parse(&current)?;
            if customer.is_some_and(|c| c != current.customer.0) {
                return Err(ApiError::invalid(
                    "customer",
                    "A webhook's customer cannot be changed.",
                ));
            }
            // A PATCH of nothing (or of read-only fields only) changes nothing and says so
            // with the webhook, as DRF does; the CLI's "nothing to change" is for a command line.
            if p.is_empty() {
                return Ok(Json(webhook_json(&current)));
            }
            let w = ops::webhooks::update(store, allow_private, grant.scope, id, &p, now(store))?;
            Ok(Json(webhook_json(&w)))
        })
        .await
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}/", tag = "webhooks", params(("id" = i64, Path, description = "The id")),
    responses((status = 204, description = "Deleted; its delivery history is kept"), (status = 401, description = "No token, or not a valid one", body = Detail), (status = 403, description = "A read-only token, or another customer's", body = Detail), (status = 404, description = "No such id for this token", body = Detail)), security(("token" = [])))]
pub async fn delete(State(state): Shared, bearer: Bearer, Id(id): Id) -> ApiResult<StatusCode> {
    state
        .call(bearer, Access::Write, move |store, grant| {
            ops::webhooks::delete(store, grant.scope, id, now(store))?;
            Ok(StatusCode::NO_CONTENT)
        })
        .await
}

/// `POST …/test/`: a signed `webhook.test` sent now; 200 with the test delivery as recorded.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test/", tag = "webhooks", params(("id" = i64, Path, description = "The id")),
    responses((status = 200, description = "The test delivery, sent now", body = Delivery), (status = 401, description = "No token, or not a valid one", body = Detail), (status = 403, description = "A read-only token, or another customer's", body = Detail), (status = 404, description = "No such id for this token", body = Detail), (status = 503, description = "Too many tests and retries at once", body = Detail)), security(("token" = [])))]
pub async fn test(State(state): Shared, bearer: Bearer, Id(id): Id) -> ApiResult<Json<Value>> {
    state
        .call_sending(bearer, move |store, sending| {
            let o = ops::delivery::test_webhook(store, sending, id)?;
            let (d, attempts) = ops::deliveries::show(store, sending.scope, o.delivery_id)?;
            Ok(Json(delivery_json(&d, Some(&attempts))))
        })
        .await
}
