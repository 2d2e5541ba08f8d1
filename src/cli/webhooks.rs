//! `webnet webhooks create|list|show|update|enable|disable|delete|test|rotate-secret`.

use std::io::IsTerminal;

use super::args::{SecretSource, UpdateOnly, WebhookOptions, WebhooksCommand};
use super::output::{self, webhook_json, Format, WEBHOOK_COLUMNS};
use super::secret_input::{stdin_line, warn_if_short, NewSecret};
use super::{prompt, CliError, Context};
use crate::domain::format::{PayloadFormat, RoutingKey};
use crate::domain::headers::parse_headers;
use crate::domain::time::whole_seconds;
use crate::domain::webhook::{self, parse_event_types, validate_max_retries, validate_name};
use crate::domain::{CustomerId, EventType, Scope, WebhookSettings, WebhookUrl};
use crate::store::{SecretChange, Store, StoreError, WebhookFilter};

pub fn run(ctx: &Context, cmd: WebhooksCommand) -> Result<(), CliError> {
    match cmd {
        WebhooksCommand::Create {
            options,
            generate_secret,
        } => create(ctx, options, generate_secret),
        WebhooksCommand::List {
            enabled,
            disabled,
            event,
        } => {
            let filter = WebhookFilter {
                enabled: if enabled {
                    Some(true)
                } else if disabled {
                    Some(false)
                } else {
                    None
                },
                event_type: event
                    .map(|e| e.parse::<EventType>())
                    .transpose()
                    .map_err(|e| CliError::usage("--event", e))?,
            };
            let store = ctx.store()?;
            // A table shows a few fields: build only those (the same names and values).
            let view = match ctx.format {
                Format::Json => webhook_json,
                Format::Table => output::webhook_row_json,
            };
            let list: Vec<_> = store
                .webhooks(ctx.scope, &filter)?
                .iter()
                .map(view)
                .collect();
            // Pinned to one customer, its id in every row says nothing.
            let columns: Vec<output::Column> = WEBHOOK_COLUMNS
                .iter()
                .filter(|(_, key)| *key != "customer" || ctx.scope == Scope::All)
                .copied()
                .collect();
            output::print_list(ctx.format, &list, &columns, "no webhooks");
            Ok(())
        }
        WebhooksCommand::Show { id } => {
            let store = ctx.store()?;
            output::print_object(ctx.format, &webhook_json(&store.webhook(ctx.scope, id)?));
            Ok(())
        }
        WebhooksCommand::Update { id, options, extra } => update(ctx, id, options, extra),
        WebhooksCommand::Enable { id } => set_enabled(ctx, id, true),
        WebhooksCommand::Disable { id } => set_enabled(ctx, id, false),
        WebhooksCommand::Delete { id, yes } => delete(ctx, id, yes),
        WebhooksCommand::Test { id } => test(ctx, id),
        WebhooksCommand::RotateSecret {
            id,
            grace,
            secret,
            generate_secret,
        } => rotate_secret(ctx, id, grace, secret, generate_secret),
    }
}

fn rotate_secret(
    ctx: &Context,
    id: i64,
    grace: humantime::Duration,
    source: SecretSource,
    generate: bool,
) -> Result<(), CliError> {
    let new = NewSecret::read(&source, generate)?
        .ok_or_else(|| CliError::usage("--secret", "a new secret is required"))?;
    let grace = std::time::Duration::from(grace);
    if grace > std::time::Duration::from_secs(30 * 24 * 3600) {
        return Err(CliError::usage("--grace", "at most 30 days"));
    }
    let store = ctx.store()?;
    store.webhook(ctx.scope, id)?;
    let hook = store.rotate_secret(
        ctx.scope,
        id,
        new.secret(),
        grace.as_millis() as i64,
        ctx.now(),
    )?;
    match ctx.format {
        Format::Json => new.report(ctx.format, id, Some(webhook_json(&hook))),
        Format::Table => {
            eprintln!(
                "webhook {id}: new secret in use{}",
                hook.previous_secret_until
                    .map(|t| format!(
                        "; the old one also signs until {}",
                        crate::domain::time::rfc3339(t)
                    ))
                    .unwrap_or_default()
            );
            new.report(ctx.format, id, None)
        }
    }
}

fn create(ctx: &Context, opts: WebhookOptions, generate: bool) -> Result<(), CliError> {
    let missing = ctx.scope == Scope::All
        || opts.name.is_none()
        || opts.url.is_none()
        || opts.events.is_empty();
    if missing && !ctx.interactive {
        let what = [
            (ctx.scope == Scope::All, "--customer"),
            (opts.name.is_none(), "--name"),
            (opts.url.is_none(), "--url"),
            (opts.events.is_empty(), "--event"),
        ];
        let names: Vec<&str> = what.iter().filter(|(m, _)| *m).map(|(_, n)| *n).collect();
        return Err(CliError::usage(
            names[0],
            format!(
                "required (missing: {}); see `webnet webhooks create --help`",
                names.join(", ")
            ),
        ));
    }
    // Check what was given before asking for the rest, so a typo fails at once.
    let mut settings = WebhookSettings {
        name: String::new(),
        url: WebhookUrl::parse_form("http://placeholder.invalid/")?,
        event_types: Vec::new(),
        enabled: !opts.disabled,
        verify_ssl: !opts.no_verify_ssl,
        timeout_seconds: webhook::DEFAULT_TIMEOUT,
        max_retries: webhook::DEFAULT_MAX_RETRIES,
        retry_backoff: webhook::DEFAULT_BACKOFF,
        auto_disable_after: webhook::DEFAULT_AUTO_DISABLE,
        payload_format: Default::default(),
        headers: Default::default(),
    };
    apply_limits(&mut settings, &opts)?;
    let given_name = opts.name.as_deref().map(validate_name).transpose()?;
    // The form now; the destination once the allow list is read (below).
    let given_url = opts
        .url
        .as_deref()
        .map(WebhookUrl::parse_form)
        .transpose()?;
    let given_types = (!opts.events.is_empty())
        .then(|| parse_event_types(&opts.events))
        .transpose()?;
    let mut secret = NewSecret::read(&opts.secret, generate)?;
    let mut routing_key = read_routing_key(&opts)?;
    // A PagerDuty webhook known to be one from what was given: refused before anything is
    // created (asked for below when the rest is asked for too).
    let forced = opts
        .payload_format
        .as_deref()
        .and_then(PayloadFormat::parse);
    let known = forced.or_else(|| given_url.as_ref().map(WebhookUrl::detect_format));
    if !missing {
        if let Some(format) = known {
            check_routing_key(format, routing_key.is_some(), false)?;
        }
    }

    let store = ctx.store_or_create()?;
    let policy = ctx.target_policy(&store)?;
    if let Some(u) = &given_url {
        u.check_destination(&policy)?;
    }
    let customer = match ctx.scope {
        Scope::Customer(c) => c,
        Scope::All => prompt::customer(&store)?,
    };
    ensure_customer(&store, customer)?;
    settings.name = match given_name {
        Some(n) => n,
        None => validate_name(&prompt::name()?)?,
    };
    settings.url = match given_url {
        Some(u) => u,
        None => WebhookUrl::parse_for(&prompt::url(&policy)?, &policy)?,
    };
    settings.payload_format = match opts
        .payload_format
        .as_deref()
        .and_then(PayloadFormat::parse)
    {
        Some(f) => f,
        None => settings.url.detect_format(),
    };
    settings.event_types = match given_types {
        Some(t) => t,
        None => parse_event_types(&prompt::events()?)?,
    };
    if missing && secret.is_none() {
        secret = prompt::new_secret()?;
    }
    if missing && settings.payload_format.needs_routing_key() && routing_key.is_none() {
        routing_key = Some(prompt::routing_key()?);
    }
    check_routing_key(settings.payload_format, routing_key.is_some(), false)?;
    warn_unusual(routing_key.as_ref());
    let hook = store.create_webhook_with(
        customer,
        &settings,
        secret.as_ref().map(NewSecret::secret),
        routing_key.as_ref(),
        ctx.now(),
    )?;
    match ctx.format {
        Format::Json => match &secret {
            Some(secret) => secret.report(ctx.format, hook.id, Some(webhook_json(&hook)))?,
            None => output::print_json(&webhook_json(&hook)),
        },
        Format::Table => {
            output::print_line(&hook.id.to_string());
            let unsigned = if hook.has_secret {
                String::new()
            } else {
                format!(
                    " (unsigned: add a secret with `webnet webhooks update {} --secret-stdin`)",
                    hook.id
                )
            };
            eprintln!(
                "created webhook {} {:?} for customer {customer}{unsigned}",
                hook.id, hook.settings.name,
            );
            if let Some(secret) = &secret {
                secret.report(ctx.format, hook.id, None)?;
            }
        }
    }
    Ok(())
}

fn update(ctx: &Context, id: i64, opts: WebhookOptions, extra: UpdateOnly) -> Result<(), CliError> {
    let nothing = opts.name.is_none()
        && opts.url.is_none()
        && opts.events.is_empty()
        && !opts.secret.is_given()
        && !opts.disabled
        && !opts.no_verify_ssl
        && opts.timeout.is_none()
        && opts.max_retries.is_none()
        && opts.retry_backoff.is_none()
        && opts.auto_disable_after.is_none()
        && opts.payload_format.is_none()
        && opts.routing_key.is_none()
        && !opts.routing_key_stdin
        && opts.headers.is_empty()
        && !extra.enabled
        && !extra.verify_ssl
        && !extra.clear_secret
        && !extra.clear_headers;
    if nothing {
        return Err(CliError::usage(
            "update",
            "nothing to change; give at least one option (see `webnet webhooks update --help`)",
        ));
    }
    // Validate everything before touching the database.
    let name = opts.name.as_deref().map(validate_name).transpose()?;
    // The form now; the destination once the allow list is read (below).
    let url = opts
        .url
        .as_deref()
        .map(WebhookUrl::parse_form)
        .transpose()?;
    let types = (!opts.events.is_empty())
        .then(|| parse_event_types(&opts.events))
        .transpose()?;
    let new_headers = parse_headers(&opts.headers)?;
    let secret = opts.secret.read()?;
    let routing_key = read_routing_key(&opts)?;

    let store = ctx.store()?;
    if let Some(u) = &url {
        u.check_destination(&ctx.target_policy(&store)?)?;
    }
    let current = store.webhook(ctx.scope, id)?;
    let mut s = current.settings.clone();
    apply_limits(&mut s, &opts)?;
    if let Some(n) = name {
        s.name = n;
    }
    if let Some(u) = url {
        // A new URL brings its own format unless one is given.
        s.payload_format = u.detect_format();
        s.url = u;
    }
    if let Some(f) = opts
        .payload_format
        .as_deref()
        .and_then(PayloadFormat::parse)
    {
        s.payload_format = f;
    }
    if let Some(t) = types {
        s.event_types = t;
    }
    if opts.disabled {
        s.enabled = false;
    }
    if extra.enabled {
        s.enabled = true;
    }
    if opts.no_verify_ssl {
        s.verify_ssl = false;
    }
    if extra.verify_ssl {
        s.verify_ssl = true;
    }
    if extra.clear_headers {
        s.headers.clear();
    }
    for (k, v) in new_headers {
        s.headers.retain(|old, _| !old.eq_ignore_ascii_case(&k));
        s.headers.insert(k, v);
    }
    check_routing_key(
        s.payload_format,
        routing_key.is_some(),
        current.has_routing_key,
    )?;
    warn_unusual(routing_key.as_ref());
    let change = match (&secret, extra.clear_secret) {
        (Some(secret), _) => SecretChange::Set(secret.clone()),
        (None, true) => SecretChange::Clear,
        (None, false) => SecretChange::Keep,
    };
    let hook =
        store.update_webhook_with(ctx.scope, id, &s, change, routing_key.as_ref(), ctx.now())?;
    output::print_object(ctx.format, &webhook_json(&hook));
    if let Some(secret) = &secret {
        warn_if_short(secret, id);
    }
    Ok(())
}

/// The routing key from `--routing-key`, or with `--routing-key-stdin` the first line of
/// standard input (typed without echo on a terminal); `None` when neither was given.
fn read_routing_key(opts: &WebhookOptions) -> Result<Option<RoutingKey>, CliError> {
    Ok(Some(if let Some(k) = &opts.routing_key {
        RoutingKey::new(k)?
    } else if !opts.routing_key_stdin {
        return Ok(None);
    } else if std::io::stdin().is_terminal() {
        prompt::routing_key()?
    } else {
        RoutingKey::new(&stdin_line("--routing-key-stdin", "routing key")?)?
    }))
}

/// A length other than PagerDuty's 32 characters is accepted with a warning (never showing
/// the key), once the command is going to succeed.
fn warn_unusual(key: Option<&RoutingKey>) {
    if let Some(n) = key.and_then(RoutingKey::unusual_length) {
        eprintln!(
            "warning: --routing-key: PagerDuty's integration keys have 32 characters, this one has {n}; check it was copied whole"
        );
    }
}

/// A `pagerduty` webhook needs a routing key (`given` now or `stored` already); any other
/// format sends none, so giving one is a mistake worth saying.
fn check_routing_key(format: PayloadFormat, given: bool, stored: bool) -> Result<(), CliError> {
    if format.needs_routing_key() && !given && !stored {
        return Err(CliError::usage(
            "--routing-key",
            "required for the pagerduty format: the integration key of a PagerDuty Events API v2 integration (give it with --routing-key-stdin)",
        ));
    }
    if given && !format.needs_routing_key() {
        return Err(CliError::usage(
            "--routing-key",
            format!(
                "only the pagerduty format sends a routing key, and this webhook's format is {format} (add --payload-format pagerduty)"
            ),
        ));
    }
    Ok(())
}

/// Applies `--timeout`, `--max-retries`, `--retry-backoff` and (on create) `--header`.
fn apply_limits(s: &mut WebhookSettings, opts: &WebhookOptions) -> Result<(), CliError> {
    if let Some(t) = &opts.timeout {
        s.timeout_seconds = whole_seconds("timeout_seconds", t, webhook::TIMEOUT_RANGE)?;
    }
    if let Some(n) = opts.max_retries {
        s.max_retries = validate_max_retries(n)?;
    }
    if let Some(b) = &opts.retry_backoff {
        s.retry_backoff = whole_seconds("retry_backoff", b, webhook::BACKOFF_RANGE)?;
    }
    if let Some(a) = &opts.auto_disable_after {
        s.auto_disable_after = whole_seconds("auto_disable_after", a, webhook::AUTO_DISABLE_RANGE)?;
    }
    if s.headers.is_empty() {
        s.headers = parse_headers(&opts.headers)?;
    }
    Ok(())
}

/// Refuses (exit 2, naming `--customer`) a customer that does not exist, saying how to make one.
pub(super) fn ensure_customer(store: &Store, id: CustomerId) -> Result<(), CliError> {
    match store.customer(Scope::All, id) {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => Err(CliError::usage(
            "--customer",
            format!("no customer {id}; create one with `webnet customers create NAME`"),
        )),
        Err(e) => Err(e.into()),
    }
}

fn set_enabled(ctx: &Context, id: i64, enabled: bool) -> Result<(), CliError> {
    let store = ctx.store()?;
    let mut s = store.webhook(ctx.scope, id)?.settings;
    s.enabled = enabled;
    let hook = store.update_webhook(ctx.scope, id, &s, SecretChange::Keep, ctx.now())?;
    match ctx.format {
        Format::Json => output::print_json(&webhook_json(&hook)),
        Format::Table => eprintln!(
            "webhook {id} {:?} {}",
            hook.settings.name,
            if enabled { "enabled" } else { "disabled" }
        ),
    }
    Ok(())
}

fn delete(ctx: &Context, id: i64, yes: bool) -> Result<(), CliError> {
    let mut store = ctx.store()?;
    let hook = store.webhook(ctx.scope, id)?;
    if !yes && ctx.can_prompt() {
        let q = format!(
            "Delete webhook {id} {:?} of customer {}? Its delivery history is kept",
            hook.settings.name, hook.customer
        );
        if !prompt::confirm(&q)? {
            return Err(CliError::failure("cancelled; nothing was deleted"));
        }
    }
    store.delete_webhook(ctx.scope, id, ctx.now())?;
    match ctx.format {
        Format::Json => output::print_json(&serde_json::json!({"id": id, "deleted": true})),
        Format::Table => eprintln!("deleted webhook {id} {:?}", hook.settings.name),
    }
    Ok(())
}

/// Sends a `webhook.test` now and reports what the receiver said; exit 1 unless 2xx.
fn test(ctx: &Context, id: i64) -> Result<(), CliError> {
    let mut store = ctx.store()?;
    let mut engine = ctx.engine(&mut store, 1)?;
    let o = crate::delivery::service::test_webhook(&mut engine, id)?;
    let attempt = o.attempt.as_ref();
    let http_status = attempt.and_then(|a| a.http_status);
    let duration = attempt.map_or(0, |a| a.duration_ms);
    let ok = o.status == crate::store::DeliveryStatus::Success;
    match ctx.format {
        Format::Json => output::print_json(&serde_json::json!({
            "webhook": id,
            "delivery": o.delivery_id,
            "status": o.status.as_str(),
            "http_status": http_status,
            "duration_ms": duration,
            "error_message": o.error_message,
        })),
        Format::Table => output::print_line(&match (&o.error_message, http_status) {
            (None, Some(code)) => format!(
                "ok: HTTP {code} in {duration} ms (delivery {})",
                o.delivery_id
            ),
            (Some(e), _) => format!(
                "failed: {} after {duration} ms (delivery {})",
                crate::domain::text::escape_controls(e),
                o.delivery_id
            ),
            (None, None) => format!("ok in {duration} ms (delivery {})", o.delivery_id),
        }),
    }
    if ok {
        Ok(())
    } else {
        Err(CliError::failure(format!(
            "webhook {id}: test delivery failed: {}",
            o.error_message.unwrap_or_default()
        )))
    }
}
