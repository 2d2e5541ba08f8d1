//! `/api/v1/openapi.json`: generated from the handlers, and true to what the server answers —
//! every documented operation exists, and the documented bodies have exactly the fields real
//! responses have.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::common::receiver::Receiver;
use crate::common::server::{token, Server};
use crate::common::Env;

fn properties(doc: &Value, schema: &str) -> BTreeSet<String> {
    doc["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no schema {schema}"))
        .keys()
        .cloned()
        .collect()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

#[test]
fn the_openapi_document_covers_every_operation_and_matches_real_bodies() {
    let env = Env::local();
    let c = env.customer("acme");
    let rx = Receiver::ok();
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &[]);
    let doc = srv
        .call("GET", "/api/v1/openapi.json", None, None)
        .expect(200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "webnet");

    // Real bodies of every kind.
    let webhook = srv
        .post(
            "/api/v1/webhooks/",
            &admin,
            &json!({"customer": c, "name": "ops", "url": rx.url("/"), "event_types": ["job.*"]}),
        )
        .expect(201);
    let id = webhook["id"].as_i64().unwrap();
    let accepted = srv
        .post(
            "/api/v1/events/",
            &admin,
            &json!({"customer": c, "event_type": "job.completed", "job": {"id": 1}}),
        )
        .expect(202);
    let delivery_id = accepted["deliveries"][0]["id"].as_i64().unwrap();
    let tested = srv
        .call(
            "POST",
            &format!("/api/v1/webhooks/{id}/test/"),
            Some(&admin),
            None,
        )
        .expect(200);
    let page = srv.get("/api/v1/webhook-deliveries/", &admin).expect(200);
    let hooks = srv.get("/api/v1/webhooks/", &admin).expect(200);

    assert_eq!(keys(&webhook), properties(&doc, "Webhook"));
    assert_eq!(keys(&hooks), properties(&doc, "WebhookPage"));
    assert_eq!(keys(&page), properties(&doc, "DeliveryPage"));
    assert_eq!(
        keys(&tested),
        properties(&doc, "Delivery"),
        "one delivery: every field"
    );
    let listed = keys(&page["results"][0]);
    assert!(
        listed.is_subset(&properties(&doc, "Delivery")),
        "{listed:?}"
    );
    assert_eq!(keys(&tested["attempt_log"][0]), properties(&doc, "Attempt"));
    assert_eq!(keys(&accepted), properties(&doc, "Accepted"));
    assert_eq!(keys(&accepted["deliveries"][0]), properties(&doc, "Queued"));
    let health = srv.call("GET", "/api/v1/health/", None, None).expect(200);
    assert_eq!(keys(&health), properties(&doc, "Health"));
    // The create body documented is the one the server takes: every field accepted.
    let mut every: serde_json::Map<String, Value> = serde_json::Map::new();
    for field in properties(&doc, "WebhookCreate") {
        let v = match field.as_str() {
            "customer" => json!(c),
            "name" => json!("every"),
            "url" => json!(rx.url("/every")),
            "event_types" => json!(["job.failed"]),
            "secret" => json!("a-secret-of-some-length"),
            "enabled" | "verify_ssl" => json!(true),
            "headers" => json!({"X-Team": "ops"}),
            "payload_format" => json!("json"),
            "max_retries" => json!(5),
            "routing_key" => continue, // only with payload_format pagerduty
            _ => json!(30),
        };
        every.insert(field, v);
    }
    srv.post("/api/v1/webhooks/", &admin, &Value::Object(every))
        .expect(201);

    // Every documented operation exists (not 404/405 for a known id).
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace(
                "{id}",
                &if path.contains("deliveries") {
                    delivery_id
                } else {
                    id
                }
                .to_string(),
            );
            let body = match method.as_str() {
                "post" if path.ends_with("/webhooks/") => Some(
                    json!({"customer": c, "name": "x", "url": rx.url("/x"), "event_types": ["*"]}),
                ),
                "post" if path.ends_with("/events/") => {
                    Some(json!({"customer": c, "event_type": "job.failed", "job": {}}))
                }
                "put" => Some(json!({"name": "ops", "url": rx.url("/"), "event_types": ["job.*"]})),
                "patch" => Some(json!({"enabled": true})),
                _ => None,
            };
            if method == "delete" {
                continue; // last, below
            }
            let r = srv.call(
                &method.to_uppercase(),
                &concrete,
                Some(&admin),
                body.as_ref(),
            );
            assert!(
                ![404, 405].contains(&r.status),
                "{method} {concrete}: {} {}",
                r.status,
                r.body
            );
            operations += 1;
        }
    }
    assert!(operations >= 12, "{operations}");
    srv.call(
        "DELETE",
        &format!("/api/v1/webhooks/{id}/"),
        Some(&admin),
        None,
    )
    .expect(204);
}
