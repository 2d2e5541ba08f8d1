//! Delivery: claim (lease) → send (ureq, signed) → record. `emit`, `drain`, retries and tests
//! are built on one [`engine::Engine`]; only the coordinator thread touches the database.

mod busy;
mod clock;
mod emit;
pub mod engine;
mod error;
mod isolation;
mod keys;
pub mod outcome;
mod pool;
mod request;
mod resolve;
mod retry;
pub mod send;
pub mod service;
mod summary;
mod tls;
mod work;

pub use clock::{system_clock, Clock};
pub use engine::Engine;
pub use error::{DeliveryError, Sealed};
pub use summary::{Note, Summary};
