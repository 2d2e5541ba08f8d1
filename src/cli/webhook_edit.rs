//! `webnet webhooks create|update`: the options turned into a domain draft or patch (what is
//! missing asked for on a terminal), handed to `ops`, and the result shown.

use std::io::IsTerminal;

use super::args::{UpdateOnly, WebhookOptions};
use super::output::{self, Format};
use super::secret_input::{stdin_line, warn_if_short, NewSecret};
use super::views::webhook_json;
use super::{prompt, CliError, Context};
use crate::domain::format::RoutingKey;
use crate::domain::webhook::{parse_event_types, validate_name};
use crate::domain::webhook_patch::{
    check_routing_key, headers, SecretEdit, WebhookDraft, WebhookPatch,
};
use crate::domain::{Scope, WebhookUrl};
use crate::ops;

pub fn create(ctx: &Context, opts: WebhookOptions, generate: bool) -> Result<(), CliError> {
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
    // Check what was given before asking for the rest, so a mistake fails at once.
    headers(&opts.headers)?;
    let mut secret = NewSecret::read(&opts.secret, generate)?;
    let mut routing_key = read_routing_key(&opts)?;
    // A PagerDuty webhook known to be one from what was given: refused before anything is
    // created (asked for below when the rest is asked for too).
    let known = opts
        .payload_format
        .or_else(|| opts.url.as_ref().map(WebhookUrl::detect_format));
    if let (false, Some(format)) = (missing, known) {
        check_routing_key(format, routing_key.is_some(), false)?;
    }

    let store = ctx.store_or_create()?;
    let policy = ctx.target_policy(&store)?;
    if let Some(u) = &opts.url {
        ops::webhooks::check_destination(u, &policy)?;
    }
    let customer = match ctx.scope {
        Scope::Customer(c) => c,
        Scope::All => prompt::customer(&store)?,
    };
    ops::customers::require(&store, customer)?;
    let name = match opts.name {
        Some(n) => n,
        None => validate_name(&prompt::name()?)?,
    };
    let url = match opts.url {
        Some(u) => u,
        None => WebhookUrl::parse_for(&prompt::url(&policy)?, &policy)?,
    };
    let events = match opts.events.is_empty() {
        false => opts.events,
        true => parse_event_types(&prompt::events()?)?,
    };
    let mut draft = WebhookDraft::new(name, url, events);
    if missing && secret.is_none() {
        secret = super::secret_input::prompt_new_secret()?;
    }
    draft.payload_format = opts.payload_format;
    if missing && draft.format().needs_routing_key() && routing_key.is_none() {
        routing_key = Some(prompt::routing_key()?);
    }
    draft.enabled = !opts.disabled;
    draft.verify_ssl = !opts.no_verify_ssl;
    draft.timeout = opts.timeout;
    draft.max_retries = opts.max_retries;
    draft.retry_backoff = opts.retry_backoff;
    draft.auto_disable_after = opts.auto_disable_after;
    draft.headers = opts.headers;
    draft.secret = secret.as_ref().map(|s| s.secret().clone());
    draft.routing_key = routing_key;
    let hook = ops::webhooks::create(&store, &policy, customer, &draft, ctx.now())?;
    warn_unusual(draft.routing_key.as_ref());
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

pub fn update(
    ctx: &Context,
    id: i64,
    opts: WebhookOptions,
    extra: UpdateOnly,
) -> Result<(), CliError> {
    let either = |off: bool, on: bool| match (off, on) {
        (true, _) => Some(false),
        (false, true) => Some(true),
        (false, false) => None,
    };
    let mut patch = WebhookPatch {
        enabled: either(opts.disabled, extra.enabled),
        verify_ssl: either(opts.no_verify_ssl, extra.verify_ssl),
        clear_headers: extra.clear_headers,
        secret: if extra.clear_secret {
            SecretEdit::Clear
        } else {
            SecretEdit::Keep
        },
        routing_key: None,
        ..WebhookPatch::default()
    };
    // Standard input is read only for an option that asks for it: with nothing given,
    // "nothing to change" is said before anything is read or opened.
    let secret = opts.secret.read()?;
    if let Some(s) = &secret {
        patch.secret = SecretEdit::Set(s.clone());
    }
    patch.routing_key = read_routing_key(&opts)?;
    fill(&mut patch, &opts);
    patch.require_change()?;

    let store = ctx.store()?;
    // A new (or no) secret ends a rotation's grace at once: said, as rotate-secret says it.
    let grace_ended = match patch.secret {
        SecretEdit::Keep => None,
        _ => ops::webhooks::show(&store, ctx.scope, id)
            .ok()
            .and_then(|w| w.previous_secret_until)
            .filter(|until| *until > ctx.now()),
    };
    let hook = ops::webhooks::update(&store, ctx.allow_private, ctx.scope, id, &patch, ctx.now())?;
    if let Some(until) = grace_ended {
        eprintln!(
            "warning: webhook {id}: the secret from before the last rotation (which was to sign until {}) stopped signing now; `webhooks rotate-secret --grace` keeps the one replaced signing for a while",
            crate::domain::time::rfc3339(until)
        );
    }
    warn_unusual(patch.routing_key.as_ref());
    output::print_object(ctx.format, &webhook_json(&hook));
    if let Some(secret) = &secret {
        warn_if_short(secret, id);
    }
    Ok(())
}

/// The settings options of `opts` into `patch`.
fn fill(patch: &mut WebhookPatch, opts: &WebhookOptions) {
    patch.name = opts.name.clone();
    patch.url = opts.url.clone();
    patch.event_types = (!opts.events.is_empty()).then(|| opts.events.clone());
    patch.timeout = opts.timeout;
    patch.max_retries = opts.max_retries;
    patch.retry_backoff = opts.retry_backoff;
    patch.auto_disable_after = opts.auto_disable_after;
    patch.payload_format = opts.payload_format;
    patch.headers = opts.headers.clone();
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
