//! Webhooks: create from a [`WebhookDraft`], update from a [`WebhookPatch`], show, list,
//! enable or disable, rotate the secret, delete. (`test` sends: see [`super::delivery`].)
//! The store seals what is sealed (secrets, routing keys, credential headers) as it writes.

use std::time::Duration;

use super::error::{during, Action, Result};
use crate::domain::allowlist::TargetPolicy;
use crate::domain::time::Millis;
use crate::domain::webhook_patch::{SecretEdit, WebhookDraft, WebhookPatch};
use crate::domain::{CustomerId, Scope, Secret, ValidationError, WebhookUrl};
use crate::store::{SecretChange, Store, Webhook, WebhookFilter, WebhookLabel};

/// The longest grace period a secret rotation keeps the old secret signing.
pub const MAX_GRACE: Duration = Duration::from_secs(30 * 24 * 3600);

/// Refuses a URL `policy` does not let webhooks reach (a non-public address not allowed).
pub fn check_destination(url: &WebhookUrl, policy: &TargetPolicy) -> Result<()> {
    Ok(url.check_destination(policy)?)
}

/// Creates a webhook for `customer` (who must exist) from `draft`, its URL checked against
/// `policy`.
pub fn create(
    store: &Store,
    policy: &TargetPolicy,
    customer: CustomerId,
    draft: &WebhookDraft,
    now: Millis,
) -> Result<Webhook> {
    during(Action::CreateWebhook, || {
        let settings = draft.settings()?;
        check_destination(&draft.url, policy)?;
        super::customers::require(store, customer)?;
        Ok(store.create_webhook_with(
            customer,
            &settings,
            draft.secret.as_ref(),
            draft.routing_key.as_ref(),
            now,
        )?)
    })
}

/// Changes webhook `id` as `patch` says (refused when it says nothing); a new URL is checked
/// against [`super::target_policy`].
pub fn update(
    store: &Store,
    allow_private: bool,
    scope: Scope,
    id: i64,
    patch: &WebhookPatch,
    now: Millis,
) -> Result<Webhook> {
    during(Action::UpdateWebhook, || {
        patch.require_change()?;
        if let Some(url) = &patch.url {
            check_destination(url, &super::target_policy(store, allow_private)?)?;
        }
        let current = store.webhook(scope, id)?;
        let settings = patch.apply(&current.settings, current.has_routing_key)?;
        let secret = match &patch.secret {
            SecretEdit::Keep => SecretChange::Keep,
            SecretEdit::Set(s) => SecretChange::Set(s.clone()),
            SecretEdit::Clear => SecretChange::Clear,
        };
        Ok(store.update_webhook_with(
            scope,
            id,
            &settings,
            secret,
            patch.routing_key.as_ref(),
            now,
        )?)
    })
}

pub fn show(store: &Store, scope: Scope, id: i64) -> Result<Webhook> {
    during(Action::ShowWebhook, || Ok(store.webhook(scope, id)?))
}

pub fn list(store: &Store, scope: Scope, filter: &WebhookFilter) -> Result<Vec<Webhook>> {
    during(Action::ListWebhooks, || Ok(store.webhooks(scope, filter)?))
}

/// Enables or disables webhook `id`.
pub fn set_enabled(
    store: &Store,
    scope: Scope,
    id: i64,
    enabled: bool,
    now: Millis,
) -> Result<Webhook> {
    during(Action::EnableWebhook, || {
        let mut s = store.webhook(scope, id)?.settings;
        s.enabled = enabled;
        Ok(store.update_webhook(scope, id, &s, SecretChange::Keep, now)?)
    })
}

/// Deletes webhook `id` (its delivery history stays), one whose stored row no longer decodes
/// too: the way out for it. Returns which webhook it was.
pub fn delete(store: &mut Store, scope: Scope, id: i64, now: Millis) -> Result<WebhookLabel> {
    during(Action::DeleteWebhook, || {
        Ok(store.delete_webhook(scope, id, now)?)
    })
}

/// Which webhook `id` is, for a confirmation (its settings not decoded).
pub fn label(store: &Store, scope: Scope, id: i64) -> Result<WebhookLabel> {
    during(Action::ShowWebhook, || Ok(store.webhook_label(scope, id)?))
}

/// Replaces webhook `id`'s signing secret; the old one keeps signing beside it for `grace`
/// (at most [`MAX_GRACE`]). Only one earlier secret signs beside the new one: the second value
/// is when an earlier rotation's secret was to stop signing, when that was still ahead (it
/// stopped now).
pub fn rotate_secret(
    store: &Store,
    scope: Scope,
    id: i64,
    secret: &Secret,
    grace: Duration,
    now: Millis,
) -> Result<(Webhook, Option<Millis>)> {
    during(Action::RotateSecret, || {
        if grace > MAX_GRACE {
            return Err(ValidationError::new("grace", "at most 30 days").into());
        }
        let cut_short = store
            .webhook(scope, id)?
            .previous_secret_until
            .filter(|until| *until > now);
        let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
        let hook = store.rotate_secret(scope, id, secret, grace_ms, now)?;
        Ok((hook, cut_short))
    })
}
