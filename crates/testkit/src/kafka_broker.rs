//! A real Kafka-protocol broker for a test (tansu, with SQLite storage in a temporary directory so a
//! restart keeps the data), or the one named by `WORDFREQ_TEST_KAFKA`.

use std::net::SocketAddr;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::process::{Launch, ServerProcess};

/// Environment variable naming an already-running broker (`host:port`) to use instead.
pub const EXTERNAL_KAFKA: &str = "WORDFREQ_TEST_KAFKA";

/// The tansu release the test bed is built and checked against (scripts/test.sh installs it).
pub const TANSU_VERSION: &str = "0.6.0";

/// A Kafka broker for one test. Stopped when dropped.
pub struct KafkaBroker {
    bootstrap_servers: String,
    process: Option<ServerProcess>,
}

impl KafkaBroker {
    /// Starts a fresh tansu broker, or uses `WORDFREQ_TEST_KAFKA`.
    pub fn start() -> Self {
        if let Ok(bootstrap_servers) = std::env::var(EXTERNAL_KAFKA) {
            return Self {
                bootstrap_servers,
                process: None,
            };
        }
        let process = ServerProcess::start(Launch {
            program: "tansu",
            install_hint: "run scripts/test.sh (it runs `cargo install tansu --version 0.6.0 --locked \
                           --features dynostore,libsql`) or set WORDFREQ_TEST_KAFKA",
            args: tansu_args,
            ready: answers_metadata,
            // tansu 0.6.0 on SIGTERM stops its storage at once but keeps its listener (answering
            // errors) until every client has disconnected, which connected tests never do.
            stop_grace: Duration::from_secs(2),
        });
        Self {
            bootstrap_servers: process.addr().to_string(),
            process: Some(process),
        }
    }

    /// The broker's address for `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }

    /// A client configuration pointing at this broker, for producers, consumers and admin clients.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        config
    }

    /// A consumer in a group of its own that commits nothing, assigned `(topic, partition, from)`:
    /// for reading records back in tests.
    pub fn reader(&self, assignment: &[(&str, i32, Offset)]) -> BaseConsumer {
        let consumer: BaseConsumer = self
            .client_config()
            .set("group.id", crate::TestNames::new("reader").group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("creating a Kafka consumer");
        let mut list = TopicPartitionList::new();
        for &(topic, partition, from) in assignment {
            list.add_partition_offset(topic, partition, from)
                .expect("a valid offset");
        }
        consumer.assign(&list).expect("assigning partitions");
        consumer
    }

    /// Creates a topic (succeeds if it already exists).
    pub async fn create_topic(&self, name: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> = self
            .client_config()
            .create()
            .expect("creating a Kafka admin client");
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let results = admin
            .create_topics(
                &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
                &options,
            )
            .await
            .unwrap_or_else(|err| panic!("creating topic {name}: {err}"));
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => panic!("creating topic {topic}: {code}"),
            }
        }
    }

    /// Stops the broker (SIGTERM). Panics for an external broker, which the kit does not own.
    ///
    /// Under produce load, crash it instead (`kill`, then `restart`): tansu 0.6.0 stops its
    /// storage at SIGTERM but answers requests with errors until the grace ends, librdkafka's
    /// idempotent producers bump their epochs on those errors (epoch 119 seen after 2 s), and the
    /// restarted broker's storage panics at the first produce carrying an epoch it never issued,
    /// failing every request from then on (docs/RELIABILITY.md).
    pub fn stop(&mut self) {
        self.owned("stop").stop();
    }

    /// Kills the broker (SIGKILL).
    pub fn kill(&mut self) {
        self.owned("kill").kill();
    }

    /// Freezes the broker (SIGSTOP): connections stay open and no request is answered, as with a
    /// paused container or a cut network. Dropping the broker ends it.
    pub fn pause(&mut self) {
        self.owned("pause").pause();
    }

    /// Lets a paused broker go on.
    pub fn resume(&mut self) {
        self.owned("resume").resume();
    }

    /// Restarts the broker on the same port and storage and waits until it answers.
    pub fn restart(&mut self) {
        self.owned("restart").restart();
    }

    /// The broker's log (stdout and stderr, across restarts), for a test to keep; `None` for an
    /// external broker. It lives in the broker's temporary directory, gone when this is dropped.
    pub fn log_path(&self) -> Option<std::path::PathBuf> {
        self.process.as_ref().map(ServerProcess::log_path)
    }

    fn owned(&mut self, action: &str) -> &mut ServerProcess {
        self.process.as_mut().unwrap_or_else(|| {
            panic!(
                "cannot {action} the external broker at {}",
                self.bootstrap_servers
            )
        })
    }
}

fn tansu_args(port: u16) -> Vec<String> {
    let url = format!("tcp://127.0.0.1:{port}");
    vec![
        "broker".into(),
        "--listener-url".into(),
        url.clone(),
        "--advertised-listener-url".into(),
        url,
        // Relative to the working directory, which is the server's temporary data directory.
        "--storage-engine".into(),
        "sqlite://tansu.db".into(),
    ]
}

fn answers_metadata(addr: SocketAddr) -> Result<(), String> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", addr.to_string())
        .create()
        .map_err(|err| err.to_string())?;
    producer
        .client()
        .fetch_metadata(None, Duration::from_secs(2))
        .map(drop)
        .map_err(|err| format!("metadata request failed: {err}"))
}
