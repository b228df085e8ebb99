//! What every request handler shares: the cached store reader, the live pushes and health, the
//! producer API's client, the settings, and the stop token; and starting the live tasks.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use wordfreq_domain::Windows;
use wordfreq_store::Store;

use crate::api_client::ProducerApiClient;
use crate::config::DashboardSettings;
use crate::error::DashboardError;
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
    pub fn new(store: Arc<dyn Store>, settings: DashboardSettings) -> Result<Self, DashboardError> {
        let windows = Windows::new(settings.window_size)
            .map_err(|err| DashboardError::Settings(format!("WINDOW_SIZE: {err}")))?;
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
