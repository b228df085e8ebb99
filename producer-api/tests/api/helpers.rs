//! `spawn_app`: the API on a free port, on a real broker (tansu from the test kit) or on the
//! in-process log, with request helpers and a way to read the topic back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use producer_api::{ApiSettings, AppState, serve};
use rdkafka::Offset;
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use serde_json::Value;
use tokio::sync::oneshot;
use wordfreq_bus::{KafkaArgs, KafkaPublisher, MemoryBus, Publisher};
use wordfreq_testkit::{KafkaBroker, TestNames, free_port};

/// Bound on any wait in these tests.
pub const WAIT: Duration = Duration::from_secs(30);

/// A record read back from the topic.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub value: Value,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub topic: String,
    pub broker: Option<KafkaBroker>,
    pub memory: Option<Arc<MemoryBus>>,
    _shutdown: oneshot::Sender<()>,
}

/// The API on a fresh tansu broker with a 3-partition topic of its own.
pub async fn spawn_kafka_app(settings: ApiSettings) -> TestApp {
    let broker = KafkaBroker::start();
    let topic = TestNames::new("api").topic;
    broker.create_topic(&topic, 3).await;
    let args = KafkaArgs {
        bootstrap_servers: broker.bootstrap_servers().to_owned(),
        topic: topic.clone(),
        ..KafkaArgs::default()
    };
    let publisher = KafkaPublisher::new(&args, "api-test", settings.produce_timeout).unwrap();
    spawn(Arc::new(publisher), topic, settings, Some(broker), None).await
}

/// The API pointed at an address where no broker listens.
pub async fn spawn_app_without_broker(settings: ApiSettings) -> TestApp {
    let closed_port = free_port();
    let args = KafkaArgs {
        bootstrap_servers: format!("127.0.0.1:{closed_port}"),
        topic: "user_text".into(),
        ..KafkaArgs::default()
    };
    let publisher = KafkaPublisher::new(&args, "api-test", settings.produce_timeout).unwrap();
    spawn(
        Arc::new(publisher),
        "user_text".into(),
        settings,
        None,
        None,
    )
    .await
}

/// The API on the in-process log (the embedded mode's bus).
pub async fn spawn_memory_app(settings: ApiSettings) -> TestApp {
    let bus = Arc::new(MemoryBus::new());
    bus.create_topic("user_text", 3);
    spawn(bus.clone(), "user_text".into(), settings, None, Some(bus)).await
}

async fn spawn(
    publisher: Arc<dyn Publisher>,
    topic: String,
    settings: ApiSettings,
    broker: Option<KafkaBroker>,
    memory: Option<Arc<MemoryBus>>,
) -> TestApp {
    // The in-process API's logs and spans, only when TEST_LOG is set.
    wordfreq_testkit::init_test_log("producer_api=debug,tower_http=debug");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (shutdown, stop) = oneshot::channel();
    let state = AppState::new(publisher, topic.clone(), settings);
    tokio::spawn(serve(listener, state, async {
        let _ = stop.await;
    }));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        topic,
        broker,
        memory,
        _shutdown: shutdown,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn submit(&self, body: Value) -> reqwest::Response {
        self.post_json("/submit_text", &body).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send().await.unwrap()
    }

    /// How many records the in-process log holds, over all partitions.
    pub fn stored_in_memory(&self) -> usize {
        let bus = self.memory.as_ref().expect("an app on the in-process bus");
        (0..3)
            .map(|partition| bus.end_offset(&self.topic, partition) as usize)
            .sum()
    }

    fn broker(&self) -> &KafkaBroker {
        self.broker.as_ref().expect("a Kafka-backed app")
    }

    /// How many records the topic holds (sum of the partitions' high watermarks).
    pub fn stored_count(&self) -> i64 {
        let consumer = self.broker().reader(&[]);
        (0..3)
            .map(|partition| {
                consumer
                    .fetch_watermarks(&self.topic, partition, WAIT)
                    .unwrap()
                    .1
            })
            .sum()
    }

    /// Every record of the topic, read from the beginning of each partition.
    pub fn read_topic(&self) -> Vec<TopicRecord> {
        let partitions: Vec<(&str, i32, Offset)> = (0..3)
            .map(|p| (self.topic.as_str(), p, Offset::Beginning))
            .collect();
        let consumer = self.broker().reader(&partitions);
        let mut remaining: i64 = (0..3)
            .map(|partition| {
                consumer
                    .fetch_watermarks(&self.topic, partition, WAIT)
                    .unwrap()
                    .1
            })
            .sum();
        let deadline = Instant::now() + WAIT;
        let mut records = Vec::new();
        while remaining > 0 {
            assert!(
                Instant::now() < deadline,
                "{remaining} records not read back within {WAIT:?}"
            );
            if let Some(message) = consumer.poll(Duration::from_millis(500)) {
                let message = message.unwrap();
                records.push(TopicRecord {
                    partition: message.partition(),
                    offset: message.offset(),
                    key: String::from_utf8(message.key().unwrap().to_vec()).unwrap(),
                    value: serde_json::from_slice(message.payload().unwrap()).unwrap(),
                });
                remaining -= 1;
            }
        }
        records
    }
}
