//! Clap's usage errors as webnet shows them: one line naming the option (or its environment
//! variable), what was wrong, and `see --help`; and the clap command as this process's
//! environment sets it.

use crate::domain::text::{self, error_line, quote};

use super::command;

/// The clap command as this process's environment sets it: a `WEBNET_*` variable of a global
/// option that is set but empty (or blank) counts as unset, for every option alike (as an
/// empty `WEBNET_SECRET_KEY` does), rather than as an empty value some options refuse.
pub(super) fn command_for_env() -> clap::Command {
    let mut cmd = command();
    let blank: Vec<clap::Id> = cmd
        .get_arguments()
        .filter(|a| {
            a.get_env()
                .and_then(std::env::var_os)
                .is_some_and(|v| v.to_string_lossy().trim().is_empty())
        })
        .map(|a| a.get_id().clone())
        .collect();
    for id in blank {
        cmd = cmd.mut_arg(id, |a| a.env(None::<&'static str>));
    }
    cmd
}

/// A clap usage error on one line: what is wrong, the suggestion or the accepted values, and
/// where to read more. A value our parsers refused is `error: --option: <what they said>`.
/// Whatever the user typed is quoted cut short, with control characters escaped.
pub(super) fn one_line(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let text_of = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.as_str()),
        _ => None,
    };
    let suggested: Vec<String> = [
        ContextKind::SuggestedValue,
        ContextKind::SuggestedArg,
        ContextKind::SuggestedSubcommand,
    ]
    .into_iter()
    .flat_map(|kind| match e.get(kind) {
        Some(ContextValue::String(s)) => vec![s.clone()],
        Some(ContextValue::Strings(v)) => v.clone(),
        _ => Vec::new(),
    })
    .collect();
    let arg = text_of(ContextKind::InvalidArg);
    // `webhooks update`'s group of changes missing whole (`<--name <NAME>|--url <URL>|…>`):
    // said as the rule it is, not as clap's list of nineteen options.
    let group_missing = e.kind() == ErrorKind::MissingRequiredArgument
        && matches!(e.get(ContextKind::InvalidArg),
            Some(ContextValue::Strings(v)) if v.iter().any(|a| a.contains('|') && a.contains("--clear-secret")));
    if group_missing {
        return error_line(
            "error: update: nothing to change; give at least one option (see `webnet webhooks update --help`)",
        );
    }
    let mut line = match (e.kind(), arg) {
        (ErrorKind::ValueValidation, Some(arg)) if std::error::Error::source(e).is_some() => {
            let why = std::error::Error::source(e).map(ToString::to_string);
            // Our parsers say what was given and the form expected.
            return format!(
                "error: {}",
                error_line(&format!(
                    "{}: {}",
                    source_name(arg),
                    why.unwrap_or_default()
                ))
            );
        }
        // The forms below quote what the user typed themselves: clap's text would show it
        // whole (and strips only some escape sequences).
        (ErrorKind::InvalidValue, Some(arg)) => {
            let valid = match e.get(ContextKind::ValidValue) {
                Some(ContextValue::Strings(v)) => v.join(", "),
                _ => String::new(),
            };
            let given = text_of(ContextKind::InvalidValue).unwrap_or_default();
            // An option given last with nothing after it (`--url` and the line ends).
            if given.is_empty() {
                let name = source_name(arg);
                let mut line = format!("error: {name} needs a value ({arg})");
                if !valid.is_empty() {
                    line.push_str(&format!(": one of {valid}"));
                }
                return error_line(&format!("{line}; see --help"));
            }
            format!(
                "error: {}: {} is not one of: {valid}",
                source_name(arg),
                quote(text_of(ContextKind::InvalidValue).unwrap_or_default())
            )
        }
        (ErrorKind::UnknownArgument, Some(given)) => {
            format!("error: unexpected argument {}", quote(given))
        }
        (ErrorKind::InvalidSubcommand, _) => format!(
            "error: unrecognized subcommand {}",
            quote(text_of(ContextKind::InvalidSubcommand).unwrap_or_default())
        ),
        _ => {
            // clap's first paragraph says what is wrong (and lists missing arguments on
            // indented lines); the usage and tips follow after a blank line.
            let rendered = e.render().to_string();
            rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    if line.is_empty() {
        line = "error: invalid arguments".into();
    }
    if !suggested.is_empty() {
        let cut: Vec<String> = suggested
            .iter()
            .map(|s| text::cut(s, text::QUOTE_CHARS).into_owned())
            .collect();
        line.push_str(&format!(" (did you mean '{}'?)", cut.join("', '")));
    }
    line.push_str("; see --help");
    error_line(&line)
}

/// An argument as clap shows it, as our messages name it: `--since <DURATION>` is `--since`,
/// `<ID>` is `ID`.
fn arg_name(shown: &str) -> &str {
    if shown.starts_with('-') {
        shown.split_whitespace().next().unwrap_or(shown)
    } else {
        shown.trim_matches(|c| matches!(c, '<' | '>' | '[' | ']' | '.'))
    }
}

/// Where a refused value came from, as clap shows the argument: the option (`--customer`), or
/// its environment variable (`WEBNET_CUSTOMER`) when the value came from there, i.e. the
/// variable is set and the option is not on the command line.
fn source_name(shown: &str) -> String {
    let name = arg_name(shown);
    let Some(long) = name.strip_prefix("--") else {
        return name.to_string();
    };
    let env = command()
        .get_arguments()
        .find(|a| a.get_long() == Some(long))
        .and_then(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()));
    let on_command_line = std::env::args_os().skip(1).any(|a| {
        let a = a.to_string_lossy();
        a == name || a.starts_with(&format!("{name}="))
    });
    match env {
        Some(var) if !on_command_line && std::env::var_os(&var).is_some() => var,
        _ => name.to_string(),
    }
}
