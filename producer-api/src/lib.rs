//! The producer API: accepts text over HTTP with the original's FastAPI contract and puts each
//! submission on the `user_text` topic, keyed by user id, answering 200 only once the broker
//! acknowledged it.
//!
//! Routes: `POST /submit_text`, `POST /submit_texts` (bulk), `GET /`, `GET /health`, `GET /docs`,
//! `GET /openapi.json`, `GET /metrics`. The bus is a [`Publisher`](wordfreq_bus::Publisher):
//! Kafka in production, the in-process log in the embedded mode.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::extract::MatchedPath;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::middleware;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub mod access;
pub mod config;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod routes;
pub mod state;
pub mod submission;

pub use crate::config::{ApiArgs, ApiSettings};
pub use crate::state::AppState;

/// The API's router, shared by `main`, the embedded mode and the tests.
pub fn app(state: AppState) -> Router {
    let settings = state.settings().clone();
    let submissions = Router::new()
        .route("/submit_text", post(routes::submit::submit_text))
        .route("/submit_texts", post(routes::submit::submit_texts))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            access::guard_submissions,
        ));
    Router::new()
        .route("/", get(routes::health::root))
        .route("/health", get(routes::health::health))
        .route("/metrics", get(metrics::render))
        .merge(submissions)
        .merge(routes::docs::router())
        // FastAPI's bodies for unknown paths and methods, so clients parse every error alike.
        .fallback(|| async { (StatusCode::NOT_FOUND, Json(json!({"detail": "Not Found"}))) })
        .method_not_allowed_fallback(|| async {
            (StatusCode::METHOD_NOT_ALLOWED, Json(json!({"detail": "Method Not Allowed"})))
        })
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
            tracing::info_span!("request", method = %request.method(), route, uri = %request.uri())
        }))
        // A safety net: every route is bounded on its own, so this never fires in normal operation,
        // yet no request can hold graceful shutdown forever.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            settings.produce_timeout + Duration::from_secs(5),
        ))
        .layer(cors_layer(&settings.cors_allowed_origins))
        .with_state(state)
}

/// CORS open to every origin, as the original, unless origins are listed.
fn cors_layer(allowed_origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            "x-api-key".parse().expect("valid header"),
        ]);
    if allowed_origins.is_empty() || allowed_origins.iter().any(|origin| origin == "*") {
        layer.allow_origin(Any)
    } else {
        let origins = allowed_origins
            .iter()
            .filter_map(|origin| HeaderValue::from_str(origin.trim()).ok())
            .collect::<Vec<_>>();
        layer.allow_origin(AllowOrigin::list(origins))
    }
}

/// Serves the API on `listener` until `shutdown` resolves, lets in-flight requests finish, then
/// waits (bounded by the produce timeout) for every record handed to the producer.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = app(state.clone());
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    let bound = state.settings().produce_timeout;
    match state.publisher().flush(bound).await {
        Ok(()) => tracing::info!("producer flushed"),
        Err(err) => tracing::error!(error = %err, "producer flush failed"),
    }
    Ok(())
}
