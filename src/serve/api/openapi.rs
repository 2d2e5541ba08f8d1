//! The OpenAPI 3.1 document of the API, `GET /api/v1/openapi.json` (no token): paths from the
//! handlers' `#[utoipa::path]` attributes, bodies from [`super::schema`].

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{deliveries, events, schema, webhooks};
use crate::serve::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "webnet",
        description = "Webhooks for the webnet platform: subscriptions, signed deliveries, history. Every request but the health check and this document carries `Authorization: Bearer <token>` (from `webnet tokens create`)."
    ),
    paths(
        webhooks::list, webhooks::create, webhooks::show, webhooks::patch, webhooks::put,
        webhooks::delete, webhooks::test, deliveries::list, deliveries::show, deliveries::retry,
        events::create, routes::health, routes::metrics
    ),
    components(schemas(
        schema::WebhookCreate, schema::WebhookPatch, schema::Webhook, schema::WebhookPage,
        schema::Delivery, schema::Attempt, schema::DeliveryPage, schema::Event, schema::Accepted,
        schema::Queued, schema::Detail, schema::FieldErrors, schema::Health
    )),
    modifiers(&TokenAuth)
)]
pub struct ApiDoc;

struct TokenAuth;

impl Modify for TokenAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document as JSON text, made once.
pub fn json() -> &'static str {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_default())
}
