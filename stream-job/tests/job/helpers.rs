//! A stream job under test: real tansu and Redis from the test kit (or the in-process adapters),
//! the job running as a task, and what the counts should be, computed by `wordfreq count`'s code.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use serde_json::json;
use stream_job::{JobMetrics, JobSettings, StreamJob};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wordfreq_bus::{
    KafkaArgs, KafkaPublisher, KafkaSubscriber, MemoryBus, OutgoingRecord, Publisher, Subscriber,
};
use wordfreq_corpus::{Corpus, Mix};
use wordfreq_domain::names::{DEAD_LETTER_TOPIC, RESULTS_TOPIC};
use wordfreq_domain::{Tokenizer, Windows, WordCounts};
use wordfreq_store::{MemoryStore, RedisStore, Store};
use wordfreq_testkit::{KafkaBroker, Persistence, RedisServer, TestNames};

pub const WAIT: Duration = Duration::from_secs(60);

/// A text and its event time.
pub struct Submission {
    pub text: String,
    pub event_ms: i64,
}

/// `count` texts from the corpus (3% non-ASCII words), their event times spread evenly over the
/// three minutes before `end_ms`, in order.
pub fn submissions(count: usize, seed: u64, end_ms: i64) -> Vec<Submission> {
    let mut corpus = Corpus::new(Mix::default(), seed);
    let span_ms = 180_000;
    (0..count)
        .map(|n| Submission {
            text: corpus.sentence(),
            event_ms: end_ms - span_ms + (span_ms * n as i64) / count as i64,
        })
        .collect()
}

/// What `wordfreq count` says of the texts, all-time and per window start (Unix seconds).
pub fn expected_counts(submissions: &[Submission]) -> (WordCounts, BTreeMap<i64, WordCounts>) {
    let tokenizer = Tokenizer::default();
    let all_text: String = submissions
        .iter()
        .map(|s| format!("{}\n", s.text))
        .collect();
    let all = wordfreq::text_tools::count(&tokenizer, all_text.as_bytes()).unwrap();
    let windows = Windows::new(Duration::from_secs(60)).unwrap();
    let mut per_window: BTreeMap<i64, WordCounts> = BTreeMap::new();
    for submission in submissions {
        per_window
            .entry(windows.window_of(submission.event_ms).start_secs())
            .or_default()
            .add_text(&tokenizer, &submission.text);
    }
    (all, per_window)
}

pub fn record_json(submission: &Submission) -> Vec<u8> {
    let timestamp = Utc.timestamp_millis_opt(submission.event_ms).unwrap();
    serde_json::to_vec(&json!({
        "text": submission.text,
        "user_id": "tester",
        "timestamp": wordfreq_domain::record::format_timestamp(timestamp),
    }))
    .unwrap()
}

/// The bus and store a job runs on, and how to make more of its parts.
pub struct Bed {
    pub topic: String,
    pub group: String,
    pub broker: Option<KafkaBroker>,
    pub redis: Option<RedisServer>,
    pub redis_prefix: String,
    pub memory_bus: Option<Arc<MemoryBus>>,
    pub memory_store: Option<Arc<MemoryStore>>,
    pub publisher: Arc<dyn Publisher>,
}

impl Bed {
    /// tansu and Redis, with the job's topics created.
    pub async fn real() -> Self {
        Self::real_with(Persistence::None).await
    }

    /// As [`Bed::real`], with a Redis that keeps its data across a restart (AOF).
    pub async fn real_with_persistent_redis() -> Self {
        Self::real_with(Persistence::AppendOnly).await
    }

    async fn real_with(persistence: Persistence) -> Self {
        let broker = KafkaBroker::start();
        let redis = RedisServer::start_with(persistence);
        let names = TestNames::new("job");
        broker.create_topic(&names.topic, 3).await;
        broker.create_topic(DEAD_LETTER_TOPIC, 1).await;
        broker.create_topic(RESULTS_TOPIC, 1).await;
        let publisher = Arc::new(
            KafkaPublisher::new(
                &kafka_args(&broker, &names.topic),
                "job-test",
                Duration::from_secs(10),
            )
            .unwrap(),
        );
        Self {
            topic: names.topic,
            group: names.group,
            broker: Some(broker),
            redis: Some(redis),
            redis_prefix: names.redis_prefix,
            memory_bus: None,
            memory_store: None,
            publisher,
        }
    }

    /// The in-process bus and store of the embedded mode.
    pub fn in_process() -> Self {
        let bus = Arc::new(MemoryBus::new());
        for (topic, partitions) in [("user_text", 3), (DEAD_LETTER_TOPIC, 1), (RESULTS_TOPIC, 1)] {
            bus.create_topic(topic, partitions);
        }
        Self {
            topic: "user_text".into(),
            group: "embedded".into(),
            broker: None,
            redis: None,
            redis_prefix: String::new(),
            memory_bus: Some(bus.clone()),
            memory_store: Some(Arc::new(MemoryStore::new())),
            publisher: bus,
        }
    }

    pub async fn store(&self) -> Arc<dyn Store> {
        match (&self.redis, &self.memory_store) {
            (Some(redis), _) => Arc::new(
                RedisStore::connect(redis.url(), &self.redis_prefix)
                    .await
                    .unwrap(),
            ),
            (None, Some(store)) => store.clone(),
            (None, None) => unreachable!("a bed has a store"),
        }
    }

    fn subscriber(&self) -> Box<dyn Subscriber> {
        match (&self.broker, &self.memory_bus) {
            (Some(broker), _) => Box::new(
                KafkaSubscriber::new(&kafka_args(broker, &self.topic), &self.group, "job-test")
                    .unwrap(),
            ),
            (None, Some(bus)) => Box::new(bus.subscribe(&self.topic).unwrap()),
            (None, None) => unreachable!("a bed has a bus"),
        }
    }

    /// Starts a job instance as a task; cancel the token to stop it.
    pub async fn spawn_job(&self) -> (CancellationToken, JoinHandle<()>) {
        self.spawn_job_with(Arc::new(JobMetrics::default())).await
    }

    /// As [`Bed::spawn_job`], recording into `metrics`.
    pub async fn spawn_job_with(
        &self,
        metrics: Arc<JobMetrics>,
    ) -> (CancellationToken, JoinHandle<()>) {
        let stop = CancellationToken::new();
        let job = StreamJob::new(
            self.subscriber(),
            self.store().await,
            self.publisher.clone(),
            &self.topic,
            JobSettings::default(),
            metrics,
            stop.clone(),
        )
        .unwrap();
        let handle = tokio::spawn(async move { job.run().await.unwrap() });
        (stop, handle)
    }

    /// Publishes raw values, keyed by user, all acknowledged.
    pub async fn produce(&self, values: Vec<Vec<u8>>) {
        for chunk in values.chunks(500) {
            let sends = chunk.iter().enumerate().map(|(n, value)| {
                self.publisher.publish(OutgoingRecord::new(
                    &self.topic,
                    format!("user_{}", n % 7),
                    value.clone(),
                ))
            });
            for outcome in futures::future::join_all(sends).await {
                outcome.unwrap();
            }
        }
    }

    /// Waits (bounded) until the store has accounted for `records` records, good and bad.
    pub async fn wait_for_records(&self, store: &dyn Store, records: u64) {
        let deadline = Instant::now() + WAIT;
        loop {
            // The first read after a Redis restart fails while the connection is re-made.
            let Ok(stats) = store.stats().await else {
                assert!(
                    Instant::now() < deadline,
                    "the store did not answer within {WAIT:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let seen = stats.records_processed + stats.invalid_records;
            assert!(
                seen <= records,
                "more records counted ({seen}) than produced ({records})"
            );
            if seen == records {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "only {seen} of {records} records counted within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Publishes raw values to `topic`, keyed by user, and waits until all are acknowledged.
pub async fn produce(publisher: Arc<dyn Publisher>, topic: String, values: Vec<Vec<u8>>) {
    for chunk in values.chunks(500) {
        let sends = chunk.iter().enumerate().map(|(n, value)| {
            publisher.publish(OutgoingRecord::new(
                &topic,
                format!("user_{}", n % 7),
                value.clone(),
            ))
        });
        for outcome in futures::future::join_all(sends).await {
            outcome.unwrap();
        }
    }
}

pub fn kafka_args(broker: &KafkaBroker, topic: &str) -> KafkaArgs {
    KafkaArgs {
        bootstrap_servers: broker.bootstrap_servers().to_owned(),
        topic: topic.to_owned(),
    }
}
