//! webnet: webhooks for the webnet platform as a command-line tool over a local SQLite file.
//!
//! Layers point one way: [`domain`] (pure rules) ← [`store`] (SQLite) ← [`delivery`] (sending)
//! ← [`ops`] (one function per user action) ← [`cli`] (commands and output; the only layer
//! that prints).
#![forbid(unsafe_code)]
// No unwrap on a request or delivery path; unit tests may.
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod cli;
pub mod delivery;
pub mod domain;
pub mod ops;
pub mod serve;
pub mod store;
