//! Interactive questions (dialoguer, on stderr) for `webhooks create` when required options are
//! missing and stdin is a terminal. Scripts never see these: without a terminal, a missing option
//! is an error instead.

use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, MultiSelect, Password};

use super::CliError;
use crate::domain::allowlist::TargetPolicy;
use crate::domain::webhook::{validate_name, WebhookUrl};
use crate::domain::{CustomerId, EventType, Secret};
use crate::store::Store;

pub(super) fn cancelled(e: dialoguer::Error) -> CliError {
    CliError::failure(format!("prompt cancelled ({e}); nothing was changed"))
}

pub fn customer(store: &Store) -> Result<CustomerId, CliError> {
    let id: String = Input::with_theme(&ColorfulTheme::default())
        .with_prompt("Customer id")
        .validate_with(|s: &String| -> Result<(), String> {
            let id: CustomerId = s.parse()?;
            store
                .customer(crate::domain::Scope::All, id)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .interact_text()
        .map_err(cancelled)?;
    id.parse()
        .map_err(|e: String| CliError::usage("--customer", e))
}

pub fn name() -> Result<String, CliError> {
    Input::<String>::with_theme(&ColorfulTheme::default())
        .with_prompt("Name")
        .validate_with(|s: &String| validate_name(s).map(|_| ()).map_err(|e| e.message))
        .interact_text()
        .map_err(cancelled)
}

/// A URL whose destination `policy` allows (DESIGN §7).
pub fn url(policy: &TargetPolicy) -> Result<String, CliError> {
    Input::<String>::with_theme(&ColorfulTheme::default())
        .with_prompt("URL")
        .validate_with(|s: &String| {
            WebhookUrl::parse_for(s, policy)
                .map(|_| ())
                .map_err(|e| e.message)
        })
        .interact_text()
        .map_err(cancelled)
}

pub fn events() -> Result<Vec<String>, CliError> {
    let all: Vec<EventType> = EventType::subscribable().collect();
    let labels: Vec<String> = all
        .iter()
        .map(|t| format!("{:<30} {}", t.as_str(), t.about()))
        .collect();
    loop {
        // dialoguer's own report would echo every chosen label, padding and description
        // included; one short line of the types is what there is to confirm.
        let picked = MultiSelect::with_theme(&ColorfulTheme::default())
            .with_prompt("Events (space to select, a for all, enter to confirm)")
            .items(&labels)
            .report(false)
            .interact()
            .map_err(cancelled)?;
        if !picked.is_empty() {
            let types: Vec<String> = picked
                .iter()
                .map(|&i| all[i].as_str().to_string())
                .collect();
            eprintln!("Events: {}", types.join(", "));
            return Ok(types);
        }
        eprintln!("pick at least one event type");
    }
}

/// A secret typed without echo (checked here: callers need not); empty is asked again.
pub fn secret() -> Result<Secret, CliError> {
    loop {
        let s = Password::with_theme(&ColorfulTheme::default())
            .with_prompt("Secret")
            .interact()
            .map_err(cancelled)?;
        match Secret::new(&s) {
            Ok(secret) => return Ok(secret),
            // Never echo what was typed.
            Err(e) => eprintln!("{}", e.message),
        }
    }
}

/// A PagerDuty routing key typed without echo (required; checked here).
pub fn routing_key() -> Result<crate::domain::format::RoutingKey, CliError> {
    let s = Password::with_theme(&ColorfulTheme::default())
        .with_prompt("PagerDuty routing key (integration key)")
        .interact()
        .map_err(cancelled)?;
    Ok(crate::domain::format::RoutingKey::new(&s)?)
}

pub fn confirm(question: &str) -> Result<bool, CliError> {
    Confirm::with_theme(&ColorfulTheme::default())
        .with_prompt(question)
        .default(false)
        .interact()
        .map_err(cancelled)
}

/// A new passphrase, typed twice without echo.
pub fn new_passphrase() -> Result<String, CliError> {
    Password::with_theme(&ColorfulTheme::default())
        .with_prompt("New passphrase")
        .with_confirmation("Again", "the two passphrases differ")
        .interact()
        .map_err(cancelled)
}
