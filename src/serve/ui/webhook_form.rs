//! Creating and editing a webhook with the form: reading what was sent into a
//! [`WebhookDraft`] or [`WebhookPatch`] (the same the API builds), and answering a mistake
//! with the form again, 400, the values kept and the message next to its field.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::error::UiResult;
use super::form::FormBody;
use super::layout;
use super::webhook_page::{render, Mode, Values};
use super::webhooks::customer_names;
use super::{done, path_id, Ctx, Ui};
use crate::domain::event_type::Subscription;
use crate::domain::format::{PayloadFormat, RoutingKey};
use crate::domain::headers::parse_header;
use crate::domain::webhook::{self, parse_event_types};
use crate::domain::webhook_patch::{SecretEdit, WebhookDraft, WebhookPatch};
use crate::domain::{CustomerId, Scope, Secret, ValidationError, WebhookUrl};
use crate::ops;
use crate::serve::auth::Access;
use crate::serve::state::AppState;
use crate::serve::ApiError;
use crate::store::{Store, StoreError};

type Shared = State<Arc<AppState>>;

/// A field in the wrong, and what is wrong with it.
type Invalid = (String, String);

fn invalid(field: &str, message: impl Into<String>) -> Invalid {
    (field.to_string(), message.into())
}

fn from_validation(v: ValidationError) -> Invalid {
    (
        v.field.to_string(),
        crate::serve::error::over_http(&v.message),
    )
}

/// What the form says, read and checked field by field.
struct Parsed {
    customer: Option<i64>,
    name: String,
    url: WebhookUrl,
    event_types: Vec<Subscription>,
    enabled: bool,
    verify_ssl: bool,
    timeout: Option<Duration>,
    max_retries: Option<u32>,
    retry_backoff: Option<Duration>,
    payload_format: Option<PayloadFormat>,
    headers: Vec<(String, String)>,
    secret: Option<Secret>,
    clear_secret: bool,
    /// PagerDuty's routing key (write-only; empty: keep the stored one).
    routing_key: Option<RoutingKey>,
}

/// `r`'s value, or `None` with its error kept in `errors` (the form names every wrong field).
fn ok<T>(errors: &mut Vec<Invalid>, r: Result<T, Invalid>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

/// Reads the form, naming every field in the wrong at once.
fn parse(f: &FormBody) -> Result<Parsed, Vec<Invalid>> {
    let mut errors = Vec::new();
    let e = &mut errors;
    let customer = ok(
        e,
        match f.text("customer").trim() {
            "" => Ok(None),
            c => c
                .parse::<i64>()
                .map(Some)
                .map_err(|_| invalid("customer", "Choose a customer.")),
        },
    );
    let name = f.text("name");
    let name = ok(
        e,
        match name.trim().is_empty() {
            true => Err(invalid("name", "This field is required.")),
            false => Ok(name),
        },
    );
    let url = f.text("url");
    let url = ok(
        e,
        match url.trim().is_empty() {
            true => Err(invalid("url", "This field is required.")),
            false => WebhookUrl::parse_form(&url).map_err(from_validation),
        },
    );
    let types = f.all("event_types");
    let event_types = ok(
        e,
        match types.is_empty() {
            true => Err(invalid("event_types", "Choose at least one event type.")),
            false => parse_event_types(&types).map_err(from_validation),
        },
    );
    let secs = |key: &str, range| number(f, key, range).map(|n| n.map(Duration::from_secs));
    let timeout = ok(e, secs("timeout_seconds", webhook::TIMEOUT_RANGE));
    let retry_backoff = ok(e, secs("retry_backoff", webhook::BACKOFF_RANGE));
    let max_retries = ok(
        e,
        number(f, "max_retries", 0..=u64::from(webhook::MAX_RETRIES_LIMIT)),
    )
    .map(|n| n.map(|n| u32::try_from(n).unwrap_or(u32::MAX)));
    let payload_format = ok(
        e,
        match f.text("payload_format").as_str() {
            "" | "auto" => Ok(None),
            name => PayloadFormat::parse(name).map(Some).ok_or_else(|| {
                invalid(
                    "payload_format",
                    format!("\"{name}\" is not a valid choice."),
                )
            }),
        },
    );
    let secret = ok(
        e,
        match f.text("secret") {
            s if s.is_empty() => Ok(None),
            s => Secret::new(&s).map(Some).map_err(from_validation),
        },
    );
    let routing_key = ok(
        e,
        match f.text("routing_key").trim() {
            "" => Ok(None),
            k => RoutingKey::new(k).map(Some).map_err(from_validation),
        },
    );
    let headers = ok(e, header_lines(&f.text("headers")));
    // Every field read, and each one that could not be is in `errors`.
    let (
        Some(customer),
        Some(name),
        Some(url),
        Some(event_types),
        Some(timeout),
        Some(max_retries),
        Some(retry_backoff),
        Some(payload_format),
        Some(headers),
        Some(secret),
        Some(routing_key),
    ) = (
        customer,
        name,
        url,
        event_types,
        timeout,
        max_retries,
        retry_backoff,
        payload_format,
        headers,
        secret,
        routing_key,
    )
    else {
        return Err(errors);
    };
    Ok(Parsed {
        routing_key,
        customer,
        name,
        url,
        event_types,
        enabled: f.checked("enabled"),
        verify_ssl: f.checked("verify_ssl"),
        timeout,
        max_retries,
        retry_backoff,
        payload_format,
        headers,
        secret,
        clear_secret: f.checked("clear_secret"),
    })
}

/// A whole number within `range`, or nothing when left empty.
fn number(
    f: &FormBody,
    key: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<u64>, Invalid> {
    match f.text(key).trim() {
        "" => Ok(None),
        n => n
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .map(Some)
            .ok_or_else(|| {
                invalid(
                    key,
                    format!(
                        "Enter a whole number from {} to {}.",
                        range.start(),
                        range.end()
                    ),
                )
            }),
    }
}

/// One `Name: value` per line. A line left as "[redacted]" is passed on as it is: the update
/// keeps the stored value (`WebhookPatch::apply`), a new webhook refuses it.
fn header_lines(text: &str) -> Result<Vec<(String, String)>, Invalid> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| parse_header(line).map_err(|v| invalid("headers", v.message)))
        .collect()
}

/// The form again, 400, with each of `errors` next to its field and what was sent (no
/// secret).
fn again(
    store: &Store,
    ctx: &Ctx,
    mode: &Mode,
    f: &FormBody,
    errors: Vec<Invalid>,
) -> Result<Response, ApiError> {
    let customers = customer_names(store, ctx)?;
    let markup = render(&ctx.viewer, mode, &Values::sent(f), &errors, &customers);
    Ok(layout::respond(StatusCode::BAD_REQUEST, markup))
}

/// What saving met: the form again when it is about a field (a name already taken, a
/// destination refused), else the failure as it is.
fn again_if_invalid(
    store: &Store,
    ctx: &Ctx,
    mode: &Mode,
    f: &FormBody,
    e: ops::Error,
) -> Result<Saved, ApiError> {
    match ApiError::from(e) {
        ApiError::Invalid { field, message } => Ok(Saved::Again(again(
            store,
            ctx,
            mode,
            f,
            vec![(field, message)],
        )?)),
        other => Err(other),
    }
}

/// `GET /settings/webhooks/new`
pub async fn new(State(state): Shared, ui: Ui) -> UiResult<Response> {
    ui.call(&state, Access::Write, move |store, ctx| {
        let customers = customer_names(store, ctx)?;
        let markup = render(
            &ctx.viewer,
            &Mode::New,
            &Values::defaults(),
            &[],
            &customers,
        );
        Ok(layout::respond(StatusCode::OK, markup))
    })
    .await
}

/// `GET /settings/webhooks/{id}/edit`
pub async fn edit(State(state): Shared, Path(id): Path<String>, ui: Ui) -> UiResult<Response> {
    let id = path_id(&id)?;
    ui.call(&state, Access::Write, move |store, ctx| {
        let w = ops::webhooks::show(store, ctx.grant.scope, id)?;
        let customers = customer_names(store, ctx)?;
        let mode = Mode::Edit {
            id,
            has_secret: w.has_secret,
        };
        let markup = render(&ctx.viewer, &mode, &Values::of(&w), &[], &customers);
        Ok(layout::respond(StatusCode::OK, markup))
    })
    .await
}

/// What saving did: the page to answer with, or the name of the webhook saved.
enum Saved {
    Again(Response),
    Done(String),
}

/// `POST /settings/webhooks/`
pub async fn create(State(state): Shared, ui: Ui, f: FormBody) -> UiResult<Response> {
    ui.check_csrf(&f)?;
    let allow_private = state.sending.allow_private;
    let now = state.now();
    let saved = ui
        .call(&state, Access::Write, move |store, ctx| {
            let p = match parse(&f) {
                Ok(p) => p,
                Err(errors) => return Ok(Saved::Again(again(store, ctx, &Mode::New, &f, errors)?)),
            };
            let customer = match (ctx.grant.scope, p.customer) {
                (Scope::Customer(own), _) => own,
                (Scope::All, Some(c)) => CustomerId(c),
                (Scope::All, None) => {
                    let e = invalid("customer", "Choose a customer.");
                    return Ok(Saved::Again(again(store, ctx, &Mode::New, &f, vec![e])?));
                }
            };
            let mut d = WebhookDraft::new(p.name, p.url, p.event_types);
            d.enabled = p.enabled;
            d.verify_ssl = p.verify_ssl;
            d.timeout = p.timeout;
            d.max_retries = p.max_retries;
            d.retry_backoff = p.retry_backoff;
            d.payload_format = p.payload_format;
            d.headers = p.headers;
            d.secret = p.secret;
            d.routing_key = p.routing_key;
            let policy = ops::target_policy(store, allow_private)?;
            match ops::webhooks::create(store, &policy, customer, &d, now) {
                Ok(w) => Ok(Saved::Done(w.settings.name)),
                Err(ops::Error::Store {
                    source: StoreError::NotFound { .. },
                    ..
                }) => {
                    let e = invalid("customer", format!("There is no customer {customer}."));
                    Ok(Saved::Again(again(store, ctx, &Mode::New, &f, vec![e])?))
                }
                Err(e) => again_if_invalid(store, ctx, &Mode::New, &f, e),
            }
        })
        .await?;
    Ok(match saved {
        Saved::Again(page) => page,
        Saved::Done(name) => done(
            &ui,
            &state,
            "/settings/webhooks/",
            format!("Created webhook {name}."),
        ),
    })
}

/// `POST /settings/webhooks/{id}`: every field as the form sends it (numbers left empty
/// stay as they are).
pub async fn update(
    State(state): Shared,
    Path(id): Path<String>,
    ui: Ui,
    f: FormBody,
) -> UiResult<Response> {
    ui.check_csrf(&f)?;
    let id = path_id(&id)?;
    let allow_private = state.sending.allow_private;
    let now = state.now();
    let saved = ui
        .call(&state, Access::Write, move |store, ctx| {
            let current = ops::webhooks::show(store, ctx.grant.scope, id)?;
            let mode = Mode::Edit {
                id,
                has_secret: current.has_secret,
            };
            let p = match parse(&f) {
                Ok(p) if p.customer.is_some_and(|c| c != current.customer.0) => {
                    let e = invalid("customer", "A webhook's customer cannot be changed.");
                    return Ok(Saved::Again(again(store, ctx, &mode, &f, vec![e])?));
                }
                Ok(p) => p,
                Err(errors) => return Ok(Saved::Again(again(store, ctx, &mode, &f, errors)?)),
            };
            let patch = WebhookPatch {
                name: Some(p.name),
                url: Some(p.url),
                event_types: Some(p.event_types),
                enabled: Some(p.enabled),
                verify_ssl: Some(p.verify_ssl),
                timeout: p.timeout,
                max_retries: p.max_retries,
                retry_backoff: p.retry_backoff,
                auto_disable_after: None,
                payload_format: p.payload_format,
                clear_headers: true,
                headers: p.headers,
                secret: match (p.secret, p.clear_secret) {
                    (Some(s), _) => SecretEdit::Set(s),
                    (None, true) => SecretEdit::Clear,
                    (None, false) => SecretEdit::Keep,
                },
                routing_key: p.routing_key,
            };
            match ops::webhooks::update(store, allow_private, ctx.grant.scope, id, &patch, now) {
                Ok(w) => Ok(Saved::Done(w.settings.name)),
                Err(e) => again_if_invalid(store, ctx, &mode, &f, e),
            }
        })
        .await?;
    Ok(match saved {
        Saved::Again(page) => page,
        Saved::Done(name) => done(
            &ui,
            &state,
            "/settings/webhooks/",
            format!("Saved webhook {name}."),
        ),
    })
}
