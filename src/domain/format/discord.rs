//! The `discord` format: being written (placeholder so the crate builds).

use serde_json::{json, Value};

use super::EventView;

pub fn render(view: &EventView<'_>) -> Value {
    json!({ "text": view.summary })
}
