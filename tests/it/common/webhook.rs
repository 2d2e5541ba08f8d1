//! `webhooks create` built option by option, so a test names only what it is about:
//!
//! ```ignore
//! let id = env.create_webhook(&rx.url("/")).events(&["job.failed"]).local().id();
//! env.create_webhook("https://x.example.com/").args(&["--timeout", "0s"]).run().fails(2, "--timeout");
//! ```
//!
//! Defaults: customer 1, name `hook`, event `job.completed` (only when no `--event` is given).

use super::{Env, Out};

#[derive(Clone)]
pub struct CreateWebhook<'e> {
    env: &'e Env,
    customer: String,
    name: String,
    url: String,
    events: Vec<String>,
    extra: Vec<String>,
    vars: Vec<(String, String)>,
    stdin: Option<String>,
}

impl Env {
    /// `webhooks create --url url` for customer 1, named `hook`, for `job.completed`; change
    /// any of it with the builder's methods, then [`CreateWebhook::run`] or
    /// [`CreateWebhook::id`].
    pub fn create_webhook(&self, url: &str) -> CreateWebhook<'_> {
        CreateWebhook {
            env: self,
            customer: "1".into(),
            name: "hook".into(),
            url: url.into(),
            events: Vec::new(),
            extra: Vec::new(),
            vars: Vec::new(),
            stdin: None,
        }
    }
}

impl CreateWebhook<'_> {
    pub fn customer(mut self, customer: impl ToString) -> Self {
        self.customer = customer.to_string();
        self
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// One `--event` option per entry (each may itself be a comma-separated list).
    pub fn events(mut self, events: &[&str]) -> Self {
        self.events.extend(events.iter().map(|e| e.to_string()));
        self
    }

    /// More options, as given, after the others.
    pub fn args(mut self, extra: &[&str]) -> Self {
        self.extra.extend(extra.iter().map(|a| a.to_string()));
        self
    }

    /// Private targets allowed (`WEBNET_ALLOW_PRIVATE_TARGETS`): test receivers are on loopback.
    pub fn local(self) -> Self {
        self.var("WEBNET_ALLOW_PRIVATE_TARGETS", "1")
    }

    /// An environment variable for this one command.
    pub fn var(mut self, key: &str, value: &str) -> Self {
        self.vars.push((key.into(), value.into()));
        self
    }

    /// Text on the command's stdin (e.g. for `--secret-stdin`).
    pub fn stdin(mut self, input: &str) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// The command line, `webhooks create …`.
    pub fn argv(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "webhooks",
            "create",
            "--customer",
            &self.customer,
            "--name",
            &self.name,
            "--url",
            &self.url,
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        if self.events.is_empty() && !self.extra.iter().any(|a| a == "--event") {
            args.extend(["--event".to_string(), "job.completed".to_string()]);
        }
        for e in &self.events {
            args.extend(["--event".to_string(), e.clone()]);
        }
        args.extend(self.extra.iter().cloned());
        args
    }

    /// Runs it; the caller checks the outcome.
    pub fn run(self) -> Out {
        let argv = self.argv();
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let vars: Vec<(&str, &str)> = self
            .vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match &self.stdin {
            Some(input) => self.env.run_stdin_env(&vars, &args, input),
            None => self.env.run_env(&vars, &args),
        }
    }

    /// Runs it, asserts success and returns the new webhook's id.
    #[track_caller]
    pub fn id(self) -> i64 {
        self.run().ok().json()["id"].as_i64().expect("id")
    }
}
