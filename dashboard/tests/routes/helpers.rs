//! A dashboard under test: its router over a store (in-process, or Redis from the test kit), a
//! producer API in-process on a free port (or none), and ways to seed counts and send requests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use chrono::Utc;
use dashboard::{AppState, DashboardSettings, app};
use producer_api::ApiSettings;
use tokio::net::TcpListener;
use tokio_util::sync::{CancellationToken, DropGuard};
use tower::ServiceExt;
use wordfreq_bus::MemoryBus;
use wordfreq_domain::{Batch, Timeliness, Tokenizer, Windows};
use wordfreq_store::{FencedBatch, MemoryStore, OffsetRange, Store};
use wordfreq_testkit::free_port;

/// Bound on any wait in these tests.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestDashboard {
    pub state: AppState,
    pub store: Arc<dyn Store>,
    /// The producer API's log, when one runs.
    pub bus: Option<Arc<MemoryBus>>,
    _api: Option<DropGuard>,
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|err| panic!("{err}: {}", self.body))
    }
}

/// Settings whose producer API is at `url`, checking health often so tests need not wait.
pub fn settings(url: &str) -> DashboardSettings {
    DashboardSettings {
        producer_api_url: url.into(),
        health_interval: Duration::from_millis(100),
        push_interval: Duration::from_millis(50),
        ..DashboardSettings::default()
    }
}

/// An address where nothing listens.
pub fn closed_url() -> String {
    let port = free_port();
    format!("http://127.0.0.1:{port}")
}

impl TestDashboard {
    /// The in-process store and a producer API on the in-process log.
    pub async fn new() -> Self {
        let (url, bus, api) = spawn_producer_api().await;
        let mut dashboard = Self::over(Arc::new(MemoryStore::new()), &url);
        dashboard.bus = Some(bus);
        dashboard._api = Some(api.drop_guard());
        dashboard
    }

    /// The in-process store, and no producer API.
    pub fn without_api() -> Self {
        Self::over(Arc::new(MemoryStore::new()), &closed_url())
    }

    pub fn over(store: Arc<dyn Store>, producer_api_url: &str) -> Self {
        Self::with_settings(store, settings(producer_api_url))
    }

    pub fn with_settings(store: Arc<dyn Store>, settings: DashboardSettings) -> Self {
        // The dashboard's logs and spans, only when TEST_LOG is set.
        wordfreq_testkit::init_test_log("dashboard=debug,wordfreq_store=debug,tower_http=debug");
        let state = AppState::new(store.clone(), settings).unwrap();
        Self {
            state,
            store,
            bus: None,
            _api: None,
        }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    /// Posts the submit form as a browser with htmx would.
    pub async fn submit(&self, text: &str, user_id: &str) -> Reply {
        let form = serde_urlencoded::to_string([("text", text), ("user_id", user_id)]).unwrap();
        self.send(
            Request::post("/submit")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("hx-request", "true")
                .body(Body::from(form))
                .unwrap(),
        )
        .await
    }

    /// Counts each `(word, count)` in the window holding now, and all-time.
    pub async fn seed(&self, words: &[(&str, u64)]) {
        self.seed_at(words, Utc::now().timestamp_millis()).await;
    }

    /// Counts each `(word, count)` in the window holding `event_ms`, and all-time.
    pub async fn seed_at(&self, words: &[(&str, u64)], event_ms: i64) {
        // Each seeding is the next batch of one partition, as the stream job's would be.
        let from = self
            .store
            .offsets("seed")
            .await
            .unwrap()
            .get(&0)
            .copied()
            .unwrap_or(0);
        let window = Windows::new(Duration::from_secs(60))
            .unwrap()
            .window_of(event_ms);
        let tokenizer = Tokenizer::default();
        let mut counts = Batch::new();
        for &(word, times) in words {
            let text = vec![word; times as usize].join(" ");
            counts.add_record(&tokenizer, &text, window, Timeliness::OnTime);
        }
        let batch = FencedBatch {
            id: format!("seed-{from}"),
            ranges: vec![OffsetRange {
                topic: "seed".into(),
                partition: 0,
                from,
                to: from + 1,
            }],
            counts,
            flushed_at: wordfreq_domain::record::format_timestamp(Utc::now()),
            window_retention_secs: 3600,
        };
        assert_eq!(
            self.store.apply(&batch).await.unwrap(),
            wordfreq_store::Applied::Applied
        );
    }
}

/// The producer API on the in-process log, on a free port, until the token is cancelled.
pub async fn spawn_producer_api() -> (String, Arc<MemoryBus>, CancellationToken) {
    spawn_producer_api_on("127.0.0.1:0").await
}

/// As [`spawn_producer_api`], on `addr` (a port a test reserved, to start the API late).
pub async fn spawn_producer_api_on(addr: &str) -> (String, Arc<MemoryBus>, CancellationToken) {
    let bus = Arc::new(MemoryBus::new());
    bus.create_topic("user_text", 3);
    let listener = TcpListener::bind(addr).await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let state = producer_api::AppState::new(bus.clone(), "user_text", ApiSettings::default());
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(producer_api::serve(listener, state, async move {
        stopped.cancelled().await;
    }));
    (format!("http://{addr}"), bus, stop)
}
