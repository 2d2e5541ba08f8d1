//! The shapes of the API's bodies, for the OpenAPI document only (`/api/v1/openapi.json`,
//! [`super::openapi`]): the handlers build and read JSON through `cli::views` and
//! `serve::fields`, and a test compares these with what the server really answers, so the
//! document cannot drift from it.
#![allow(dead_code)]

use std::collections::BTreeMap;

use utoipa::ToSchema;

/// A webhook as created (the spec's body; `customer` may be left out with a customer token).
#[derive(ToSchema)]
pub struct WebhookCreate {
    #[schema(example = 1)]
    customer: Option<i64>,
    #[schema(example = "Slack Notifications")]
    name: String,
    #[schema(example = "https://hooks.slack.com/services/YOUR/WEBHOOK/URL")]
    url: String,
    /// Event types, family wildcards (`job.*`) or `*`.
    #[schema(example = json!(["job.completed", "job.failed"]))]
    event_types: Vec<String>,
    /// Write-only: signs each delivery (HMAC-SHA256); a `whsec_…` secret also signs as
    /// Standard Webhooks.
    secret: Option<String>,
    /// Default true.
    enabled: Option<bool>,
    /// Default true.
    verify_ssl: Option<bool>,
    /// Seconds, 1–120; default 10.
    timeout_seconds: Option<u32>,
    /// 0–20; default 3.
    max_retries: Option<u32>,
    /// Seconds before the first retry, doubling; default 60.
    retry_backoff: Option<u32>,
    /// Custom headers sent with each delivery.
    headers: Option<BTreeMap<String, String>>,
    /// Seconds of failing before the webhook is disabled (0: never); default 3 days.
    auto_disable_after: Option<u32>,
    /// `json` (the spec's payload), `slack`, `teams`, `discord`, `mattermost`, `google_chat`,
    /// `pagerduty`; default detected from the URL.
    payload_format: Option<String>,
    /// Write-only: PagerDuty's integration key.
    routing_key: Option<String>,
}

/// A change to a webhook (PATCH): only the fields given change; `"secret": null` removes it.
#[derive(ToSchema)]
pub struct WebhookPatch {
    name: Option<String>,
    url: Option<String>,
    event_types: Option<Vec<String>>,
    secret: Option<String>,
    enabled: Option<bool>,
    verify_ssl: Option<bool>,
    timeout_seconds: Option<u32>,
    max_retries: Option<u32>,
    retry_backoff: Option<u32>,
    headers: Option<BTreeMap<String, String>>,
    auto_disable_after: Option<u32>,
    payload_format: Option<String>,
    routing_key: Option<String>,
}

/// A webhook as answered: the secret only as `has_secret`, credential headers `[redacted]`.
#[derive(ToSchema)]
pub struct Webhook {
    id: i64,
    customer: i64,
    name: String,
    /// A token in it (Slack, Discord, Teams `sig=`, Google Chat `key=`, …) as `[redacted]`;
    /// sent back unchanged in a PUT or PATCH, it keeps the stored URL.
    url: String,
    event_types: Vec<String>,
    has_secret: bool,
    has_routing_key: bool,
    enabled: bool,
    verify_ssl: bool,
    timeout_seconds: u32,
    max_retries: u32,
    retry_backoff: u32,
    headers: BTreeMap<String, String>,
    auto_disable_after: u32,
    /// Why webnet disabled it (410 Gone, failing too long), if it did.
    disabled_reason: Option<String>,
    /// RFC 3339; since when its receiver has been failing.
    failing_since: Option<String>,
    /// RFC 3339; until when the previous secret also signs (after a rotation).
    previous_secret_until: Option<String>,
    payload_format: String,
    created_at: String,
    updated_at: String,
}

/// One attempt of a delivery.
#[derive(ToSchema)]
pub struct Attempt {
    attempt: u32,
    started_at: String,
    request_headers: BTreeMap<String, String>,
    http_status: Option<u16>,
    response_body: Option<String>,
    duration_ms: i64,
    error_message: Option<String>,
}

/// A delivery: one event to one webhook. (One delivery also has `request_body` and
/// `attempt_log`.)
#[derive(ToSchema)]
pub struct Delivery {
    id: i64,
    customer: i64,
    webhook: Option<i64>,
    webhook_name: String,
    webhook_deleted: bool,
    event_type: String,
    event_id: Option<i64>,
    /// The event as sent (the spec's payload).
    #[schema(value_type = Object)]
    payload: serde_json::Value,
    /// `pending`, `retrying`, `success` or `failed`.
    status: String,
    attempts: u32,
    http_status: Option<u16>,
    response_body: Option<String>,
    error_message: Option<String>,
    duration_ms: Option<i64>,
    next_retry_at: Option<String>,
    created_at: String,
    updated_at: String,
    /// One delivery only: what the receiver got on the latest attempt.
    #[schema(value_type = Option<Object>)]
    request_body: Option<serde_json::Value>,
    /// One delivery only: every attempt.
    attempt_log: Option<Vec<Attempt>>,
}

/// A page of webhooks.
#[derive(ToSchema)]
pub struct WebhookPage {
    count: u64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<Webhook>,
}

/// A page of deliveries, newest first.
#[derive(ToSchema)]
pub struct DeliveryPage {
    count: u64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<Delivery>,
}

/// An event to record (DESIGN §4): the spec's payload fields; the object named by the event's
/// family (`job`, `device`, `config`, `compliance`) carries its details. Or an array of these.
#[derive(ToSchema)]
pub struct Event {
    #[schema(example = "job.completed")]
    event_type: String,
    /// Required with an admin token; a customer token's own customer otherwise.
    customer: Option<i64>,
    event_id: Option<i64>,
    #[schema(value_type = Option<Object>)]
    actor: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    job: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    device: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    config: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    compliance: Option<serde_json::Value>,
}

/// A delivery recorded for an accepted event.
#[derive(ToSchema)]
pub struct Queued {
    id: i64,
    webhook: i64,
    status: String,
}

/// An accepted event (202); an array of these for an array of events.
#[derive(ToSchema)]
pub struct Accepted {
    /// The recorded event's id (as `emit` prints it).
    event: i64,
    customer: i64,
    event_type: String,
    event_id: Option<i64>,
    deliveries: Vec<Queued>,
}

/// An error that is not about one field.
#[derive(ToSchema)]
pub struct Detail {
    #[schema(example = "Not found.")]
    detail: String,
}

/// Invalid input: each field named with its messages, e.g.
/// `{"timeout_seconds": ["A valid integer is required."]}`.
#[derive(ToSchema)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

/// The health check.
#[derive(ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: String,
}
