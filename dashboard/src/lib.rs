//! The dashboard: the live top words on :8501. Pages are rendered on the server (askama) and
//! swapped in by htmx; when the stream job flushes, one store subscription per process tells every
//! browser to refresh, over server-sent events. Submissions go to the producer API over HTTP.
//!
//! Routes: `GET /` (the page), `GET /fragments/{main,words,health}` (its parts), `POST /submit`,
//! `GET /events` (server-sent events), the JSON API `GET /api/{words,stats,health}`, the exports
//! `GET /export.{csv,json}`, and the vendored assets under `/static/`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use wordfreq_domain::Windows;
use wordfreq_store::Store;

pub mod api_client;
pub mod charts;
pub mod config;
pub mod error;
pub mod health;
pub mod live;
pub mod params;
pub mod reader;
pub mod routes;

use crate::api_client::ProducerApiClient;
pub use crate::config::{DashboardArgs, DashboardSettings};
pub use crate::error::DashboardError;
use crate::live::Live;
use crate::reader::Reader;

/// What every request handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

struct Shared {
    reader: Reader,
    live: Arc<Live>,
    producer_api: ProducerApiClient,
    settings: DashboardSettings,
    stop: CancellationToken,
}

impl AppState {
    /// A dashboard over `store`. Nothing runs until [`AppState::start`] (the live pushes); the
    /// router alone serves reads.
    pub fn new(store: Arc<dyn Store>, settings: DashboardSettings) -> anyhow::Result<Self> {
        let windows = Windows::new(settings.window_size)?;
        Ok(Self(Arc::new(Shared {
            reader: Reader::new(store, windows),
            live: Arc::new(Live::default()),
            producer_api: ProducerApiClient::new(
                &settings.producer_api_url,
                settings.producer_api_key.clone(),
            ),
            settings,
            stop: CancellationToken::new(),
        })))
    }

    pub fn reader(&self) -> &Reader {
        &self.0.reader
    }

    pub fn live(&self) -> &Live {
        &self.0.live
    }

    pub fn producer_api(&self) -> &ProducerApiClient {
        &self.0.producer_api
    }

    pub fn settings(&self) -> &DashboardSettings {
        &self.0.settings
    }

    /// Cancelled when the dashboard shuts down: the live pushes and event streams end.
    pub fn stopping(&self) -> &CancellationToken {
        &self.0.stop
    }

    /// Starts following the store's updates and checking health, until shutdown.
    pub fn start(&self) {
        let stop = &self.0.stop;
        let store = self.0.reader.store_handle();
        let settings = &self.0.settings;
        tokio::spawn(self.0.live.clone().follow_updates(
            store.clone(),
            settings.push_interval,
            stop.clone(),
        ));
        tokio::spawn(self.0.live.clone().watch_health(
            self.0.producer_api.clone(),
            store,
            settings.health_interval,
            stop.clone(),
        ));
    }
}

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
    let stop = state.0.stop.clone();
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Ends the event streams too, or open browsers would hold shutdown forever.
            stop.cancel();
        })
        .await
}
