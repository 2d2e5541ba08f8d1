//! The `pagerduty` format: being written (placeholder so the crate builds).

use serde_json::{json, Value};

use super::{EventView, Render};

pub fn render(view: &EventView<'_>, ctx: &Render<'_>) -> Value {
    json!({ "routing_key": ctx.routing_key, "payload": {"summary": view.summary} })
}
