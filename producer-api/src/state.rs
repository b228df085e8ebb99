//! What every request handler shares: the publisher, the topic, the settings, the access guard's
//! keys and limits, and the metrics. Its one business operation, `publish`, stands beside the
//! submission rules in `submission.rs`.

use std::sync::Arc;

use axum::extract::FromRef;
use wordfreq_bus::Publisher;

use crate::access::Access;
use crate::config::ApiSettings;
use crate::metrics::Metrics;

/// What every request handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

struct Shared {
    publisher: Arc<dyn Publisher>,
    topic: String,
    settings: ApiSettings,
    access: Arc<Access>,
    metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(
        publisher: Arc<dyn Publisher>,
        topic: impl Into<String>,
        settings: ApiSettings,
    ) -> Self {
        Self(Arc::new(Shared {
            publisher,
            topic: topic.into(),
            access: Arc::new(Access::new(&settings.api_keys, settings.rate_limit_per_sec)),
            settings,
            metrics: Arc::default(),
        }))
    }

    pub fn publisher(&self) -> &dyn Publisher {
        &*self.0.publisher
    }

    pub fn settings(&self) -> &ApiSettings {
        &self.0.settings
    }

    pub(crate) fn access(&self) -> &Access {
        &self.0.access
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    pub(crate) fn topic(&self) -> &str {
        &self.0.topic
    }
}

// The access guard and the metrics middleware take only their part of the state, so their modules
// need not know the state that holds them.
impl FromRef<AppState> for Arc<Access> {
    fn from_ref(state: &AppState) -> Self {
        state.0.access.clone()
    }
}

impl FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.0.metrics.clone()
    }
}
