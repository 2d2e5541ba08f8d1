//! `/api/v1/webhook-deliveries/`: history filtered by `webhook`, `status` and `event_type`,
//! one delivery with its attempts, and a manual retry (409 when the delivery cannot be
//! retried) — `deliveries list/show/retry` over HTTP.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::Value;

#[allow(unused_imports)]
use super::schema::*;
use crate::cli::views::delivery_json;
use crate::domain::event_type::Subscription;
use crate::ops;
use crate::serve::auth::{Access, Bearer};
use crate::serve::error::{ApiError, ApiResult};
use crate::serve::page::{Page, Query};
use crate::serve::path::Id;
use crate::serve::state::AppState;
use crate::store::{DeliveryFilter, DeliveryStatus, StoreError};

type Shared = State<Arc<AppState>>;

#[utoipa::path(get, path = "/api/v1/webhook-deliveries/", tag = "deliveries",
    params(("page" = Option<u32>, Query, description = "From 1"), ("page_size" = Option<u32>, Query, description = "Default 50, at most 100"), ("webhook" = Option<i64>, Query), ("status" = Option<String>, Query, description = "pending, retrying, success or failed"), ("event_type" = Option<String>, Query, description = "One event type, or a family's: job.*"), ("customer" = Option<i64>, Query, description = "Admin tokens: one customer's")),
    responses((status = 200, description = "A page of deliveries, newest first", body = DeliveryPage), (status = 400, description = "Invalid input, by field", body = FieldErrors), (status = 401, description = "No token, or not a valid one", body = Detail), (status = 403, description = "A customer token asking for another customer", body = Detail), (status = 404, description = "The webhook filter names no webhook this token may see", body = Detail)), security(("token" = [])))]
pub async fn list(
    State(state): Shared,
    bearer: Bearer,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let mut q = Query::parse(raw.as_deref());
    let page = Page::from_query(&mut q)?;
    let filter = DeliveryFilter {
        webhook: q.integer("webhook")?,
        status: q.choice("status", DeliveryStatus::parse)?,
        event_type: q.choice("event_type", |s| Subscription::parse_filter(s).ok())?,
        since: None,
        limit: Some(page.size),
        offset: page.offset(),
    };
    let customer = q.integer("customer")?;
    let link = page.links(&headers, "/api/v1/webhook-deliveries/", raw.as_deref());
    state
        .call(bearer, Access::Read, move |store, grant| {
            let scope = super::webhooks::narrowed(grant, customer)?;
            // A webhook filter naming no webhook this token may see (none, or another
            // customer's: the same words) is 404 as such an id is anywhere, saying which.
            let (count, list) = match ops::deliveries::page(store, scope, &filter) {
                Err(ops::Error::Store {
                    source: StoreError::NotFound { .. },
                    ..
                }) => {
                    return Err(ApiError::NotFound(format!(
                        "Not found: webhook {} (the webhook filter).",
                        filter.webhook.unwrap_or_default()
                    )))
                }
                other => other?,
            };
            link.check(count)?;
            let results = list.iter().map(|d| delivery_json(d, None)).collect();
            Ok(Json(link.body(count, results)))
        })
        .await
}

#[utoipa::path(get, path = "/api/v1/webhook-deliveries/{id}/", tag = "deliveries", params(("id" = i64, Path, description = "The id")),
    responses((status = 200, description = "The delivery with its attempt_log", body = Delivery), (status = 401, description = "No token, or not a valid one", body = Detail), (status = 404, description = "No such id for this token", body = Detail)), security(("token" = [])))]
pub async fn show(State(state): Shared, bearer: Bearer, Id(id): Id) -> ApiResult<Json<Value>> {
    state
        .call(bearer, Access::Read, move |store, grant| {
            let (d, attempts) = ops::deliveries::show(store, grant.scope, id)?;
            Ok(Json(delivery_json(&d, Some(&attempts))))
        })
        .await
}

/// `POST …/retry/`: one attempt now; 200 with the delivery as it is after it.
#[utoipa::path(post, path = "/api/v1/webhook-deliveries/{id}/retry/", tag = "deliveries", params(("id" = i64, Path, description = "The id")),
    responses((status = 200, description = "Sent now; the delivery as it is after", body = Delivery), (status = 401, description = "No token, or not a valid one", body = Detail), (status = 403, description = "A read-only token, or another customer's", body = Detail), (status = 404, description = "No such id for this token", body = Detail), (status = 409, description = "Not failed or retrying, or its webhook is disabled or deleted", body = Detail)), security(("token" = [])))]
pub async fn retry(State(state): Shared, bearer: Bearer, Id(id): Id) -> ApiResult<Json<Value>> {
    state
        .call_sending(bearer, move |store, sending| {
            let r = ops::delivery::retry_one(store, sending, id)?;
            Ok(Json(delivery_json(&r.delivery, Some(&r.attempts))))
        })
        .await
}
