//! `POST /api/v1/events/`: the platform emits one event (an object of DESIGN §4) or many (an
//! array), recorded with their deliveries — all or none — and answered 202 with them; the
//! worker makes the first attempts at once. A customer token may emit only its own events
//! (another customer's is 403); an invalid item is 400 naming its field (for an array, DRF's
//! list of per-item errors).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};

#[allow(unused_imports)]
use super::schema::*;
use crate::delivery::service::validate_event;
use crate::domain::payload::Event;
use crate::domain::{CustomerId, Scope};
use crate::serve::auth::{Access, Bearer};
use crate::serve::body::JsonBody;
use crate::serve::error::{ApiError, ApiResult};
use crate::serve::state::AppState;

/// The most events one request may carry.
pub const MAX_EVENTS: usize = 1000;

#[utoipa::path(post, path = "/api/v1/events/", tag = "events", request_body(content = super::schema::Event, description = "An event, or an array of up to 1000"),
    responses((status = 202, description = "Recorded with their deliveries (an array for an array); the worker sends them at once", body = Accepted), (status = 400, description = "Invalid input, by field", body = FieldErrors), (status = 401, description = "No token, or not a valid one", body = Detail), (status = 403, description = "A read-only token, or another customer's", body = Detail)), security(("token" = [])))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    bearer: Bearer,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    // The token and every event checked on a pooled connection; then recorded with the
    // other requests waiting (group commit, `serve::recorder`).
    let (events, many) = state
        .call(bearer, Access::Write, move |_store, grant| {
            let (docs, many) = shape(body)?;
            let now = crate::delivery::system_clock();
            Ok((validate(grant.scope, docs, many, now)?, many))
        })
        .await?;
    let (events, recorded) = state.recorder.record(events).await?;
    let mut answers: Vec<Value> = events
        .iter()
        .zip(&recorded)
        .map(|((customer, event), rec)| {
            json!({
                "event": rec.event_row,
                "customer": customer.0,
                "event_type": event.event_type.as_str(),
                "event_id": event.event_id,
                "deliveries": rec.deliveries.iter().map(|(id, webhook)| json!({
                    "id": id, "webhook": webhook, "status": "pending"
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    if recorded.iter().any(|r| !r.deliveries.is_empty()) {
        state.wake_worker();
    }
    let body = if many {
        Value::Array(answers)
    } else {
        answers.pop().unwrap_or(Value::Null)
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}

/// The body as events: one object, or a non-empty array of at most [`MAX_EVENTS`]; `true`
/// for an array.
fn shape(body: JsonBody) -> ApiResult<(Vec<Value>, bool)> {
    let (docs, many) = match body.parse()? {
        Value::Array(items) => (items, true),
        one @ Value::Object(_) => (vec![one], false),
        other => {
            return Err(ApiError::InvalidBody(json!({
                "non_field_errors": [format!(
                    "Expected an event object or a list of them, but got {}.",
                    crate::serve::body::kind(&other)
                )]
            })))
        }
    };
    if docs.is_empty() {
        return Err(ApiError::InvalidBody(
            json!({ "non_field_errors": ["This list may not be empty."] }),
        ));
    }
    if docs.len() > MAX_EVENTS {
        return Err(ApiError::InvalidBody(json!({
            "non_field_errors": [format!("At most {MAX_EVENTS} events per request.")]
        })));
    }
    Ok((docs, many))
}

/// Every document checked: whose it is (403 for another customer's, with a customer token)
/// and its fields; the errors of all of them at once.
fn validate(
    scope: Scope,
    docs: Vec<Value>,
    many: bool,
    now: i64,
) -> ApiResult<Vec<(CustomerId, Event)>> {
    let mut events = Vec::new();
    let mut errors = Vec::new();
    let mut bad = false;
    for doc in docs {
        if let (Scope::Customer(own), Some(named)) =
            (scope, doc.get("customer").and_then(named_customer))
        {
            if named != own.0 {
                return Err(ApiError::Forbidden(format!(
                    "This token belongs to customer {own}; it cannot emit events for customer {named}."
                )));
            }
        }
        let text = doc.to_string();
        match validate_event(scope, doc, &text, now) {
            Ok(e) => {
                events.push(e);
                errors.push(Value::Object(Map::new()));
            }
            Err(e) => {
                bad = true;
                errors.push(json!({ e.field: [e.message] }));
            }
        }
    }
    match (bad, many) {
        (false, _) => Ok(events),
        (true, true) => Err(ApiError::InvalidBody(Value::Array(errors))),
        (true, false) => Err(ApiError::InvalidBody(errors.pop().unwrap_or(Value::Null))),
    }
}

/// The customer an event names, however it is written (`2`, `2.0`, `"2"`): another customer's
/// is 403 even when its form is wrong too.
fn named_customer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
