//! The dashboard: the live top words on :8501. Pages are rendered on the server (askama) and
//! swapped in by htmx; when the stream job flushes, one store subscription per process tells every
//! browser to refresh, over server-sent events. Submissions go to the producer API over HTTP.
//!
//! Routes: `GET /` (the page), `GET /fragments/{main,words,health}` (its parts), `POST /submit`,
//! `GET /events` (server-sent events), the JSON API `GET /api/{words,stats,health}`, the exports
//! `GET /export.{csv,json}`, and the vendored assets under `/static/`.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub mod api_client;
pub mod charts;
pub mod config;
pub mod error;
pub mod health;
pub mod live;
pub mod params;
pub mod reader;
pub mod routes;
mod state;

pub use crate::config::{DashboardArgs, DashboardSettings};
pub use crate::error::DashboardError;
pub use crate::state::AppState;

/// The dashboard's router, shared by `main`, the embedded mode and the tests.
pub fn app(state: AppState) -> Router {
    let bounded = Router::new()
        .route("/", get(routes::pages::page))
        .route("/fragments/main", get(routes::pages::main_fragment))
        .route("/fragments/words", get(routes::pages::words_fragment))
        .route("/fragments/health", get(routes::pages::health_fragment))
        .route("/submit", post(routes::pages::submit))
        .route("/api/words", get(routes::api::words))
        .route("/api/stats", get(routes::api::stats))
        .route("/api/health", get(routes::api::health))
        .route("/export.csv", get(routes::api::export_csv))
        .route("/export.json", get(routes::api::export_json))
        .route("/static/{name}", get(routes::assets::asset))
        // Every route is bounded on its own (store reads at 2 s, submissions at 10 s): this only
        // keeps a stuck request from holding up shutdown.
        .route_layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ));
    Router::new()
        .merge(bounded)
        // Streams for as long as the browser stays, until shutdown.
        .route("/events", get(routes::events::events))
        .fallback(routes::api::not_found)
        // The default predicate leaves event streams uncompressed, so events are not held back.
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves the dashboard on `listener` until `shutdown` resolves; live pushes run until then too.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    state.start();
    let stop = state.stopping().clone();
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Ends the event streams too, or open browsers would hold shutdown forever.
            stop.cancel();
        })
        .await
}
