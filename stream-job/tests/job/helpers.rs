//! A stream job under test: real tansu (or librdkafka's mock cluster) and Redis from the test kit,
//! or the in-process adapters; the job running as a task or as the `stream-job` binary; and what
//! the counts should be, computed by `wordfreq count`'s code.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
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
use wordfreq_testkit::{
    KafkaBroker, MockKafka, Persistence, RedisServer, TestNames, inherit_only_stdio,
};

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

/// A delay in 0..300 ms that differs from run to run, so kills land at different moments.
pub fn random_delay() -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    Duration::from_millis(u64::from(nanos % 300))
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
    /// The Kafka the bed owns: tansu, or none on the mock cluster (the test owns that) and in
    /// process.
    pub broker: Option<KafkaBroker>,
    /// Where the bed's Kafka listens; `None` in process.
    pub bootstrap_servers: Option<String>,
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
        Self::real_on(RedisServer::start_with(persistence)).await
    }

    /// tansu and the given Redis, with the job's topics created.
    pub async fn real_on(redis: RedisServer) -> Self {
        let broker = KafkaBroker::start();
        let names = TestNames::new("job");
        broker.create_topic(&names.topic, 3).await;
        broker.create_topic(DEAD_LETTER_TOPIC, 1).await;
        broker.create_topic(RESULTS_TOPIC, 1).await;
        let bootstrap_servers = broker.bootstrap_servers().to_owned();
        Self::on_kafka(names, bootstrap_servers, Some(broker), redis)
    }

    /// librdkafka's mock cluster `kafka` (which the test keeps alive) and Redis, with the job's
    /// topics created: for what tansu's group coordinator cannot show.
    pub fn on_mock_kafka(kafka: &MockKafka) -> Self {
        let redis = RedisServer::start();
        let names = TestNames::new("job");
        kafka.create_topic(&names.topic, 3);
        kafka.create_topic(DEAD_LETTER_TOPIC, 1);
        kafka.create_topic(RESULTS_TOPIC, 1);
        Self::on_kafka(names, kafka.bootstrap_servers().to_owned(), None, redis)
    }

    fn on_kafka(
        names: TestNames,
        bootstrap_servers: String,
        broker: Option<KafkaBroker>,
        redis: RedisServer,
    ) -> Self {
        let publisher = Arc::new(
            KafkaPublisher::new(
                &kafka_args(&bootstrap_servers, &names.topic),
                "job-test",
                Duration::from_secs(10),
            )
            .unwrap(),
        );
        Self {
            topic: names.topic,
            group: names.group,
            broker,
            bootstrap_servers: Some(bootstrap_servers),
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
            bootstrap_servers: None,
            redis: None,
            redis_prefix: String::new(),
            memory_bus: Some(bus.clone()),
            memory_store: Some(Arc::new(MemoryStore::new())),
            publisher: bus,
        }
    }

    /// The in-process bus with a real Redis: for what concerns only the store.
    pub fn in_process_on_redis(redis: RedisServer) -> Self {
        let names = TestNames::new("job");
        Self {
            redis: Some(redis),
            redis_prefix: names.redis_prefix,
            memory_store: None,
            ..Self::in_process()
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
        match (&self.bootstrap_servers, &self.memory_bus) {
            (Some(servers), _) => Box::new(
                KafkaSubscriber::new(&kafka_args(servers, &self.topic), &self.group, "job-test")
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

/// The job's `/metrics` and `/health` served on a free port, as the binary serves them, until the
/// test ends; returns where.
pub async fn serve_metrics(metrics: Arc<JobMetrics>, store: Arc<dyn Store>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(stream_job::serve_metrics(
        listener,
        metrics,
        store,
        std::future::pending(),
    ));
    addr
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

pub fn kafka_args(bootstrap_servers: &str, topic: &str) -> KafkaArgs {
    KafkaArgs {
        bootstrap_servers: bootstrap_servers.to_owned(),
        topic: topic.to_owned(),
        ..KafkaArgs::default()
    }
}

/// The `stream-job` command for the bed, reading `topic`, quiet unless its stderr is redirected.
pub fn job_command(bed: &Bed, topic: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stream-job"));
    command
        .env(
            "KAFKA_BOOTSTRAP_SERVERS",
            bed.bootstrap_servers
                .as_deref()
                .expect("the binary needs a bed on Kafka"),
        )
        .env("KAFKA_TOPIC", topic)
        .env(
            "REDIS_URL",
            bed.redis
                .as_ref()
                .expect("the binary needs a bed on Redis")
                .url(),
        )
        .env("REDIS_PREFIX", &bed.redis_prefix)
        .env("CONSUMER_GROUP", &bed.group)
        .env("METRICS_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// A `stream-job` process, killed when dropped so a failed assertion leaves none behind.
pub struct JobProcess(pub Child);

impl JobProcess {
    pub fn spawn(mut command: Command) -> Self {
        // Or it would keep another test's mock broker connections open across that one's outage.
        inherit_only_stdio(&mut command);
        Self(command.spawn().expect("starting stream-job"))
    }

    /// Spawns `command` logging JSON to a pipe, and follows what it logs.
    pub fn spawn_logged(mut command: Command) -> (Self, JobLog) {
        command.env("LOG_FORMAT", "json").stderr(Stdio::piped());
        let mut job = Self::spawn(command);
        let stderr = job.0.stderr.take().expect("stderr is piped");
        let (lines, log) = std::sync::mpsc::channel();
        // A thread, not a task: reading the pipe blocks, and it ends when the process does.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // A panic message is not JSON; it comes through as a string.
                let line = serde_json::from_str(&line).unwrap_or(Value::String(line));
                // Reading on with nobody listening keeps the job from blocking on a full pipe.
                let _ = lines.send(line);
            }
        });
        (job, JobLog::new(log))
    }

    /// SIGKILL, as a crash would, and reap it.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for JobProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What a `stream-job` process logs, one JSON object per line (its fields flattened beside
/// `message`, `level` and `target`), read as it comes.
pub struct JobLog {
    lines: Receiver<Value>,
    /// Read from the pipe, not yet handed out.
    unread: VecDeque<Value>,
    ended: bool,
    /// The last lines read, to show when a wait fails.
    recent: VecDeque<String>,
}

impl JobLog {
    const RECENT: usize = 40;

    fn new(lines: Receiver<Value>) -> Self {
        Self {
            lines,
            unread: VecDeque::new(),
            ended: false,
            recent: VecDeque::new(),
        }
    }

    fn read_pipe(&mut self) {
        loop {
            match self.lines.try_recv() {
                Ok(line) => {
                    if self.recent.len() == Self::RECENT {
                        self.recent.pop_front();
                    }
                    self.recent.push_back(line.to_string());
                    self.unread.push_back(line);
                }
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    self.ended = true;
                    return;
                }
            }
        }
    }

    /// The lines logged since the last call, without waiting.
    pub fn new_lines(&mut self) -> Vec<Value> {
        self.read_pipe();
        self.unread.drain(..).collect()
    }

    /// Whether the process has closed its log (it exited).
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The last lines read, for a failure message.
    pub fn recent(&self) -> String {
        Vec::from(self.recent.clone()).join("\n")
    }

    /// Waits (bounded by `within`) for a line that `pick` accepts, and returns what it picked. The
    /// lines up to it are consumed; those after it are left for the next call.
    pub async fn wait_for<T>(
        &mut self,
        what: &str,
        within: Duration,
        mut pick: impl FnMut(&Value) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + within;
        loop {
            self.read_pipe();
            while let Some(line) = self.unread.pop_front() {
                if let Some(picked) = pick(&line) {
                    return picked;
                }
            }
            assert!(
                !self.ended,
                "stream-job exited without logging {what}; its last lines:\n{}",
                self.recent()
            );
            assert!(
                Instant::now() < deadline,
                "stream-job did not log {what} within {within:?}; its last lines:\n{}",
                self.recent()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A log line's message.
pub fn message(line: &Value) -> &str {
    line["message"].as_str().unwrap_or_default()
}
