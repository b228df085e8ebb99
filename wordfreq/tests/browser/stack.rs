//! The real stack for the browser test: tansu and Redis from the test kit; the launcher's whole
//! system (the producer API, the stream job and the dashboard) in this process on them, each
//! service on its own free port.

use std::time::Duration;

use clap::Parser;
use wordfreq::cli::Cli;
use wordfreq::system::{System, Wiring};
use wordfreq_domain::names::{DEAD_LETTER_TOPIC, RESULTS_TOPIC};
use wordfreq_testkit::{KafkaBroker, RedisServer, TestNames};

pub struct Stack {
    pub api_url: String,
    pub dashboard_url: String,
    system: System,
    http: reqwest::Client,
    _broker: KafkaBroker,
    _redis: RedisServer,
}

impl Stack {
    /// Everything, the producer API listening before the first request, health checked twice a
    /// second.
    pub async fn start() -> Self {
        Self::launch(Duration::from_millis(500), true).await
    }

    /// Everything but the producer API, whose address the dashboard is given but where nothing
    /// listens until [`Stack::start_api`]: services started together, the API the last to listen.
    /// The health interval is longer than the test, so only the fast retries after a failed probe
    /// and the evidence of submissions can show the API up.
    pub async fn start_before_the_api() -> Self {
        Self::launch(Duration::from_secs(3600), false).await
    }

    /// The system on tansu and Redis, the dashboard checking health every `health_interval`.
    async fn launch(health_interval: Duration, api_at_start: bool) -> Self {
        let broker = KafkaBroker::start();
        let redis = RedisServer::start();
        let names = TestNames::new("browser");
        broker.create_topic(&names.topic, 3).await;
        broker.create_topic(DEAD_LETTER_TOPIC, 1).await;
        broker.create_topic(RESULTS_TOPIC, 1).await;
        let api_addr = format!("127.0.0.1:{}", wordfreq_testkit::free_port());
        let flags = [
            "wordfreq",
            "--kafka",
            broker.bootstrap_servers(),
            "--kafka-topic",
            &names.topic,
            "--consumer-group",
            &names.group,
            "--redis",
            redis.url(),
            "--redis-prefix",
            &names.redis_prefix,
            "--api-addr",
            &api_addr,
            "--dashboard-addr",
            "127.0.0.1:0",
        ];
        let mut args = Cli::try_parse_from(flags).unwrap().system;
        args.dashboard.health_interval = health_interval;
        let wiring = Wiring {
            api_at_start,
            ..Wiring::default()
        };
        let system = System::start(args, wiring).await.unwrap();
        Self {
            api_url: format!("http://{}", system.api_addr),
            dashboard_url: format!("http://{}", system.dashboard_addr),
            system,
            http: reqwest::Client::new(),
            _broker: broker,
            _redis: redis,
        }
    }

    /// Starts the producer API on the address the dashboard was given.
    pub async fn start_api(&mut self) {
        self.system.start_api().await.unwrap();
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
