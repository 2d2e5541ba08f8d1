//! Secrets and passphrases given on standard input or typed at a hidden prompt: `--secret` /
//! `--secret-stdin` ([`SecretSource`], for `webhooks create|update|rotate-secret` and
//! `listen`) and `key rotate --new-passphrase-stdin`. One reader, one way of naming errors: a
//! problem with standard input names the `…-stdin` option; a value that is no valid secret
//! names `--secret`, wherever it came from.

use std::io::{BufRead, IsTerminal};

use super::args::SecretSource;
use super::{prompt, CliError};
use crate::domain::Secret;

impl SecretSource {
    /// Whether `--secret` or `--secret-stdin` was given.
    pub fn is_given(&self) -> bool {
        self.secret.is_some() || self.secret_stdin
    }

    /// The secret from `--secret`, or with `--secret-stdin` the first line of standard input
    /// (typed without echo when stdin is a terminal); `None` when neither was given.
    pub fn read(&self) -> Result<Option<Secret>, CliError> {
        if let Some(s) = &self.secret {
            return Ok(Some(Secret::new(s)?));
        }
        if !self.secret_stdin {
            return Ok(None);
        }
        if std::io::stdin().is_terminal() {
            return prompt::secret(true);
        }
        Ok(Some(Secret::new(&stdin_line("--secret-stdin", "secret")?)?))
    }
}

/// The first line of standard input without its line ending, for `option`: an error naming
/// `option` when it cannot be read or holds no `what`.
pub fn stdin_line(option: &str, what: &str) -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::usage(option, format!("cannot read standard input: {e}")))?;
    let line = line.trim_end_matches(['\n', '\r']);
    if line.is_empty() {
        return Err(CliError::usage(
            option,
            format!("standard input held no {what} (give it as the first line)"),
        ));
    }
    Ok(line.to_string())
}
