//! webnet: webhooks for the webnet platform as a command-line tool over a local SQLite file.
//!
//! Layers point one way: [`domain`] (pure rules) ← [`store`] (SQLite) ← [`delivery`] (sending)
//! ← [`cli`] (commands and output; the only layer that prints).
#![forbid(unsafe_code)]

pub mod cli;
pub mod domain;
pub mod store;
