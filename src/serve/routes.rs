//! The routes of DESIGN §12, each also reachable without its trailing slash; an unknown route
//! is 404 and a known one asked with another method 405, both as JSON; one log line per
//! request on stderr.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use serde_json::{json, Value};

#[allow(unused_imports)]
use super::api::schema::*;
use super::api::{deliveries, events, webhooks};
use super::auth::{Access, Bearer};
use super::error::{ApiError, ApiResult};
use super::state::AppState;
use crate::domain::Scope;
use crate::ops;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;

pub fn router(state: Arc<AppState>) -> Router {
    let mut r = Router::new();
    let routes: Vec<(&str, MethodRouter<Arc<AppState>>)> = vec![
        ("/api/v1/health/", get(health)),
        (
            "/api/v1/webhooks/",
            get(webhooks::list).post(webhooks::create),
        ),
        (
            "/api/v1/webhooks/{id}/",
            get(webhooks::show)
                .patch(webhooks::patch)
                .put(webhooks::put)
                .delete(webhooks::delete),
        ),
        ("/api/v1/webhooks/{id}/test/", post(webhooks::test)),
        ("/api/v1/webhook-deliveries/", get(deliveries::list)),
        ("/api/v1/webhook-deliveries/{id}/", get(deliveries::show)),
        (
            "/api/v1/webhook-deliveries/{id}/retry/",
            post(deliveries::retry),
        ),
        ("/api/v1/events/", post(events::create)),
        ("/metrics/", get(metrics)),
        ("/api/v1/openapi.json/", get(openapi)),
    ];
    for (path, route) in routes {
        let route = route.fallback(method_not_allowed);
        r = r.route(path, route.clone());
        r = r.route(path.trim_end_matches('/'), route);
    }
    r.merge(super::ui::routes())
        .fallback(not_found)
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// `GET /api/v1/openapi.json` (no token).
async fn openapi() -> Response {
    (
        [(CONTENT_TYPE, "application/json")],
        super::api::openapi::json(),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::NotFound("Not found.".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// `GET /api/v1/health/` (no token): 200 when the database answers, 503 when it does not.
#[utoipa::path(get, path = "/api/v1/health/", tag = "server",
    responses((status = 200, description = "The database answers", body = Health), (status = 503, description = "It does not", body = Detail)))]
async fn health(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    state
        .with_store(|store, now| {
            // A cheap read that needs the schema: the database answers, and is ours.
            store.backlog(Scope::All, now)?;
            Ok(Json(json!({ "status": "ok" })))
        })
        .await
}

/// `GET /metrics`: the Prometheus text of `webnet metrics`, for every customer: an admin
/// token, or none with `--public-metrics`.
#[utoipa::path(get, path = "/metrics", tag = "server",
    responses((status = 200, description = "Prometheus text (0.0.4)", content_type = "text/plain"), (status = 401, description = "No token, or not a valid one", body = Detail), (status = 403, description = "Not an admin token", body = Detail)), security(("token" = [])))]
async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Response> {
    let text = if state.public_metrics {
        state
            .with_store(|store, now| Ok(ops::metrics::render(store, Scope::All, now)?))
            .await?
    } else {
        let bearer = Bearer::from_headers(&headers)?;
        state
            .call(bearer, Access::Admin, |store, _| {
                Ok(ops::metrics::render(
                    store,
                    Scope::All,
                    crate::delivery::system_clock(),
                )?)
            })
            .await?
    };
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response())
}

/// `serve: GET /api/v1/webhooks/ 200 3ms` (the path without its query, which may hold
/// anything a client typed).
async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = crate::domain::text::escape_controls(req.uri().path()).into_owned();
    let response = next.run(req).await.into_response();
    // One write per line (stderr is unbuffered: `eprintln!` writes each piece).
    let line = format!(
        "serve: {method} {path} {} {}ms\n",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    response
}
