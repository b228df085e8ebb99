//! The real stack for the browser test: tansu and Redis from the test kit; the producer API, the
//! stream job and the dashboard in this process, each on its own free port.

use std::sync::Arc;
use std::time::Duration;

use dashboard::{AppState, DashboardSettings};
use producer_api::ApiSettings;
use stream_job::{JobMetrics, JobSettings, StreamJob};
use tokio::net::TcpListener;
use tokio_util::sync::{CancellationToken, DropGuard};
use wordfreq_bus::{KafkaArgs, KafkaPublisher, KafkaSubscriber};
use wordfreq_domain::names::{DEAD_LETTER_TOPIC, RESULTS_TOPIC};
use wordfreq_store::RedisStore;
use wordfreq_testkit::{KafkaBroker, RedisServer, TestNames};

pub struct Stack {
    pub api_url: String,
    pub dashboard_url: String,
    /// The producer API, when it is to be started later ([`Stack::start_before_the_api`]).
    pending_api: Option<(String, producer_api::AppState)>,
    stop: CancellationToken,
    http: reqwest::Client,
    _stop: DropGuard,
    _broker: KafkaBroker,
    _redis: RedisServer,
}

impl Stack {
    /// Everything, the producer API listening before the first request, health checked twice a
    /// second.
    pub async fn start() -> Self {
        let mut stack = Self::launch(Duration::from_millis(500)).await;
        stack.start_api().await;
        stack
    }

    /// Everything but the producer API, whose address the dashboard is given but where nothing
    /// listens until [`Stack::start_api`]: services started together, the API the last to listen.
    /// The health interval is longer than the test, so only the fast retries after a failed probe
    /// and the evidence of submissions can show the API up.
    pub async fn start_before_the_api() -> Self {
        Self::launch(Duration::from_secs(3600)).await
    }

    /// Everything but the producer API, the dashboard checking health every `health_interval`.
    async fn launch(health_interval: Duration) -> Self {
        let broker = KafkaBroker::start();
        let redis = RedisServer::start();
        let names = TestNames::new("browser");
        broker.create_topic(&names.topic, 3).await;
        broker.create_topic(DEAD_LETTER_TOPIC, 1).await;
        broker.create_topic(RESULTS_TOPIC, 1).await;
        let kafka = KafkaArgs {
            bootstrap_servers: broker.bootstrap_servers().to_owned(),
            topic: names.topic.clone(),
            ..KafkaArgs::default()
        };
        let stop = CancellationToken::new();
        let publisher =
            Arc::new(KafkaPublisher::new(&kafka, "browser-test", Duration::from_secs(5)).unwrap());

        let api_addr = format!("127.0.0.1:{}", wordfreq_testkit::free_port());
        let api_url = format!("http://{api_addr}");
        let api_state =
            producer_api::AppState::new(publisher.clone(), &names.topic, ApiSettings::default());

        let store = || async {
            Arc::new(
                RedisStore::connect(redis.url(), &names.redis_prefix)
                    .await
                    .unwrap(),
            )
        };
        let job = StreamJob::new(
            Box::new(KafkaSubscriber::new(&kafka, &names.group, "browser-test").unwrap()),
            store().await,
            publisher,
            &names.topic,
            JobSettings::default(),
            Arc::new(JobMetrics::default()),
            stop.clone(),
        )
        .unwrap();
        tokio::spawn(async move { job.run().await.unwrap() });

        let dashboard = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dashboard_url = format!("http://{}", dashboard.local_addr().unwrap());
        let settings = DashboardSettings {
            producer_api_url: api_url.clone(),
            health_interval,
            ..DashboardSettings::default()
        };
        let state = AppState::new(store().await, settings).unwrap();
        tokio::spawn(dashboard::serve(
            dashboard,
            state,
            stop.clone().cancelled_owned(),
        ));

        Self {
            api_url,
            dashboard_url,
            pending_api: Some((api_addr, api_state)),
            stop: stop.clone(),
            http: reqwest::Client::new(),
            _stop: stop.drop_guard(),
            _broker: broker,
            _redis: redis,
        }
    }

    /// Starts the producer API on the address the dashboard was given.
    pub async fn start_api(&mut self) {
        let (addr, state) = self.pending_api.take().expect("the API is started once");
        let listener = TcpListener::bind(&addr).await.unwrap();
        tokio::spawn(producer_api::serve(
            listener,
            state,
            self.stop.clone().cancelled_owned(),
        ));
    }

    /// Waits (bounded) until a text submitted now is counted: the job has joined its group and
    /// owns the partitions, so later timings measure the pipeline, not start-up.
    pub async fn warm_up(&self, within: Duration) {
        self.submit("warming", "warm-up").await;
        let started = std::time::Instant::now();
        loop {
            let stats: serde_json::Value = self
                .http
                .get(format!("{}/api/stats", self.dashboard_url))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if stats["records_processed"].as_u64() >= Some(1) {
                return;
            }
            assert!(
                started.elapsed() < within,
                "nothing counted within {within:?}: {stats}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Submits `text` straight to the producer API, as another client would.
    pub async fn submit(&self, text: &str, user_id: &str) {
        let response = self
            .http
            .post(format!("{}/submit_text", self.api_url))
            .json(&serde_json::json!({"text": text, "user_id": user_id}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
}
