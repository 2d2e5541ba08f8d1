//! The REST API's handlers (DESIGN §12): webhooks, deliveries, events, with the typed reading
//! of bodies (`fields`), and the OpenAPI document generated from them (`openapi`, `schema`).

pub mod deliveries;
pub mod events;
mod fields;
pub mod openapi;
pub(super) mod schema;
pub mod webhooks;
