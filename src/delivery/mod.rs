//! Delivery: claim (lease) → send (ureq, signed) → record. `emit`, `drain`, retries and tests
//! are built on one [`engine::Engine`]; only the coordinator thread touches the database.

mod busy;
mod emit;
pub mod engine;
pub mod outcome;
mod pool;
mod request;
mod resolve;
pub mod send;
pub mod service;
mod summary;
mod tls;

pub use engine::{system_clock, Clock, Engine};
pub use summary::{Note, Summary};
