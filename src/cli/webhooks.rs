//! `webnet webhooks list|show|enable|disable|delete|test|rotate-secret` (`create` and
//! `update` are in `webhook_edit.rs`): each turns its arguments into an `ops` call and renders
//! what it returns.

use super::args::{SecretSource, WebhooksCommand};
use super::output::{self, Format};
use super::secret_input::NewSecret;
use super::views::{self, webhook_json, WEBHOOK_COLUMNS};
use super::{prompt, webhook_edit, CliError, Context};
use crate::ops;
use crate::store::WebhookFilter;

pub fn run(ctx: &Context, cmd: WebhooksCommand) -> Result<(), CliError> {
    match cmd {
        WebhooksCommand::Create {
            options,
            generate_secret,
        } => webhook_edit::create(ctx, options, generate_secret),
        WebhooksCommand::List {
            enabled,
            disabled,
            event,
        } => {
            let filter = WebhookFilter {
                enabled: match (enabled, disabled) {
                    (true, _) => Some(true),
                    (false, true) => Some(false),
                    (false, false) => None,
                },
                event_type: event,
            };
            let store = ctx.store()?;
            // A table shows a few fields: build only those (the same names and values).
            let view = match ctx.format {
                Format::Json => webhook_json,
                Format::Table => views::webhook_row_json,
            };
            let list: Vec<_> = ops::webhooks::list(&store, ctx.scope, &filter)?
                .iter()
                .map(view)
                .collect();
            let columns = views::scoped_columns(WEBHOOK_COLUMNS, ctx.scope);
            output::print_list(ctx.format, &list, &columns, "no webhooks");
            Ok(())
        }
        WebhooksCommand::Show { id } => {
            let store = ctx.store()?;
            let hook = ops::webhooks::show(&store, ctx.scope, id)?;
            output::print_object(ctx.format, &webhook_json(&hook));
            Ok(())
        }
        WebhooksCommand::Update { id, options, extra } => {
            webhook_edit::update(ctx, id, options, extra)
        }
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
    grace: std::time::Duration,
    source: SecretSource,
    generate: bool,
) -> Result<(), CliError> {
    let new = NewSecret::read(&source, generate)?
        .ok_or_else(|| CliError::usage("--secret", "a new secret is required"))?;
    let store = ctx.store()?;
    let (hook, cut_short) =
        ops::webhooks::rotate_secret(&store, ctx.scope, id, new.secret(), grace, ctx.now())?;
    // Receivers not yet moved to the secret that stopped now notice.
    if let Some(until) = cut_short {
        eprintln!(
            "warning: webhook {id}: the secret from before the last rotation (which was to sign until {}) stopped signing now: at most one earlier secret signs beside the new one",
            crate::domain::time::rfc3339(until)
        );
    }
    match ctx.format {
        Format::Json => new.report(ctx.format, id, Some(webhook_json(&hook))),
        Format::Table => {
            eprintln!(
                "webhook {id}: new secret in use{}",
                hook.previous_secret_until
                    .map(|t| format!(
                        "; the one it replaced also signs until {}",
                        crate::domain::time::rfc3339(t)
                    ))
                    .unwrap_or_default()
            );
            new.report(ctx.format, id, None)
        }
    }
}

fn set_enabled(ctx: &Context, id: i64, enabled: bool) -> Result<(), CliError> {
    let store = ctx.store()?;
    let hook = ops::webhooks::set_enabled(&store, ctx.scope, id, enabled, ctx.now())?;
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
    let hook = ops::webhooks::label(&store, ctx.scope, id)?;
    if !yes && ctx.can_prompt() {
        let q = format!(
            "Delete webhook {id} {:?} of customer {}? Its delivery history is kept",
            hook.name, hook.customer
        );
        if !prompt::confirm(&q)? {
            return Err(CliError::failure("cancelled; nothing was deleted"));
        }
    }
    ops::webhooks::delete(&mut store, ctx.scope, id, ctx.now())?;
    match ctx.format {
        Format::Json => output::print_json(&serde_json::json!({"id": id, "deleted": true})),
        Format::Table => eprintln!("deleted webhook {id} {:?}", hook.name),
    }
    Ok(())
}

/// Sends a `webhook.test` now and reports what the receiver said; exit 1 unless 2xx.
fn test(ctx: &Context, id: i64) -> Result<(), CliError> {
    let mut store = ctx.store()?;
    let sending = ctx.sending(1)?;
    let o = ops::delivery::test_webhook(&mut store, &sending, id)?;
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
