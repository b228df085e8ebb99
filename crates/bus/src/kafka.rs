//! The Kafka adapter, on rdkafka (librdkafka bundled and built from source, so it speaks to recent
//! brokers, tansu among them).
//!
//! Delivery guarantee: [`KafkaPublisher::publish`] resolves with a [`Delivery`] only after the
//! broker acknowledged the record with `acks=all`; with the idempotent producer, librdkafka's own
//! retries neither duplicate nor reorder a partition. It resolves with an error no later than the
//! produce timeout, whether the broker is slow, down or unknown.
//!
//! After a delivery times out, or the client reports a fatal error, the publisher replaces its
//! producer with a fresh one (a new producer id), at most once per produce timeout. librdkafka's
//! idempotent producer otherwise recovers from timed-out records by bumping its epoch (KIP-360),
//! which brokers without that support mishandle: tansu 0.6.0's storage fails for every client after
//! it, and librdkafka's fatal idempotence errors leave the instance unusable by design. The old
//! instance is dropped once the last publish holding it has its answer (on the blocking pool: the
//! teardown waits); records still in flight on it get their own delivery reports first.

use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use clap::Args;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::{
    BusError, ConsumerEvent, Delivery, IncomingRecord, OutgoingRecord, Publisher, Subscriber,
};

mod security;

pub use security::{KafkaSecurity, SaslMechanism, SecurityProtocol, describe};

/// How long a health check waits for the broker's metadata answer: below the 2 s the API promises,
/// leaving room for the HTTP round trip.
const HEALTH_TIMEOUT: Duration = Duration::from_millis(1500);
/// Kept below the produce timeout so the HTTP answer, not just the verdict, comes within it.
const ANSWER_MARGIN: Duration = Duration::from_millis(200);

/// Where the Kafka cluster is; shared by every binary that talks to it.
#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers, comma-separated `host:port`.
    #[arg(
        long = "kafka-bootstrap-servers",
        env = "KAFKA_BOOTSTRAP_SERVERS",
        default_value = "localhost:9092"
    )]
    pub bootstrap_servers: String,
    /// The topic submissions are written to and counted from.
    #[arg(long = "kafka-topic", env = "KAFKA_TOPIC", default_value = wordfreq_domain::names::INPUT_TOPIC)]
    pub topic: String,
    /// TLS and SASL; plaintext unless set.
    #[command(flatten)]
    pub security: KafkaSecurity,
}

impl Default for KafkaArgs {
    /// The flags' defaults: a local plaintext broker and the input topic.
    fn default() -> Self {
        Self {
            bootstrap_servers: "localhost:9092".into(),
            topic: wordfreq_domain::names::INPUT_TOPIC.into(),
            security: KafkaSecurity::default(),
        }
    }
}

/// A topic the system needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    /// Keeps the latest record per key only (`cleanup.policy=compact`).
    pub compacted: bool,
}

impl TopicSpec {
    /// wordfreq's topics: the input (`partitions` of them), its dead letters, and the compacted
    /// window results (one record per window, keyed by window start).
    pub fn system(input: &str, partitions: i32) -> Vec<Self> {
        let topic = |name: &str, partitions, compacted| Self {
            name: name.to_owned(),
            partitions,
            compacted,
        };
        vec![
            topic(input, partitions, false),
            topic(wordfreq_domain::names::DEAD_LETTER_TOPIC, 1, false),
            topic(wordfreq_domain::names::RESULTS_TOPIC, 1, true),
        ]
    }
}

/// Creates each topic that does not exist yet, leaving existing ones as they are; says, per
/// topic, whether it was created now.
pub async fn ensure_topics(
    args: &KafkaArgs,
    topics: &[TopicSpec],
    replication: i32,
    timeout: Duration,
) -> Result<Vec<(String, bool)>, BusError> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;

    let admin: AdminClient<DefaultClientContext> = args
        .client_config("wordfreq-topics")?
        .create()
        .map_err(|err| BusError::Unavailable(describe(&err)))?;
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|topic| {
            let new = NewTopic::new(
                &topic.name,
                topic.partitions,
                TopicReplication::Fixed(replication),
            );
            if topic.compacted {
                new.set("cleanup.policy", "compact")
            } else {
                new
            }
        })
        .collect();
    let options = AdminOptions::new()
        .operation_timeout(Some(timeout))
        .request_timeout(Some(timeout));
    let results = admin
        .create_topics(&new_topics, &options)
        .await
        .map_err(|err| BusError::Unavailable(err.to_string()))?;
    results
        .into_iter()
        .map(|result| match result {
            Ok(name) => Ok((name, true)),
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => Ok((name, false)),
            Err((name, code)) => Err(BusError::Rejected(format!("creating {name}: {code}"))),
        })
        .collect()
}

impl KafkaArgs {
    /// The client settings every wordfreq client (producer, consumer, admin) shares, security
    /// included; fails when the security settings cannot work together.
    pub fn client_config(&self, client_id: &str) -> Result<ClientConfig, BusError> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.bootstrap_servers)
            .set("client.id", client_id);
        self.security.apply(&mut config)?;
        Ok(config)
    }
}

/// Publishes to Kafka.
pub struct KafkaPublisher {
    config: ClientConfig,
    current: RwLock<Generation>,
    produce_timeout: Duration,
}

/// The producer in use, numbered so that concurrent failures replace it once.
struct Generation {
    producer: FutureProducer,
    number: u64,
    created: Instant,
}

impl KafkaPublisher {
    /// A producer for `args`' cluster. It connects lazily: creating it succeeds with the broker
    /// down, so a service can start, report the broker unhealthy and recover when it returns.
    pub fn new(
        args: &KafkaArgs,
        client_id: &str,
        produce_timeout: Duration,
    ) -> Result<Self, BusError> {
        // librdkafka notices expired records on a scan about once a second, so it is given a
        // second less than the bound: its definite "not stored" then usually arrives before the
        // outer bound in `publish`, which guarantees the answer within `produce_timeout`.
        let message_timeout = produce_timeout
            .saturating_sub(Duration::from_secs(1))
            .max(produce_timeout / 2)
            .as_millis()
            .max(1)
            .to_string();
        let mut config = args.client_config(client_id)?;
        config
            // A success means every in-sync replica has the record.
            .set("acks", "all")
            // librdkafka's retries may then neither duplicate nor reorder records.
            .set("enable.idempotence", "true")
            // Gather concurrent requests into one produce request instead of a round trip each.
            .set("linger.ms", "5")
            .set("message.timeout.ms", &message_timeout)
            .set("request.timeout.ms", &message_timeout);
        let producer = create_producer(&config)?;
        Ok(Self {
            config,
            current: RwLock::new(Generation {
                producer,
                number: 0,
                created: Instant::now(),
            }),
            produce_timeout,
        })
    }

    /// The producer in use and its generation.
    fn producer(&self) -> (FutureProducer, u64) {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        (current.producer.clone(), current.number)
    }

    /// Replaces generation `failed` with a fresh producer, unless another failure already did or
    /// it is younger than one produce timeout (one replacement per failure episode).
    fn replace(&self, failed: u64) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if current.number != failed || current.created.elapsed() < self.produce_timeout {
            return;
        }
        match create_producer(&self.config) {
            Ok(fresh) => {
                let old = std::mem::replace(&mut current.producer, fresh);
                current.number += 1;
                current.created = Instant::now();
                tracing::info!(
                    generation = current.number,
                    "replaced the Kafka producer after a failed delivery"
                );
                // Dropping purges and waits up to half a second: not on an async worker.
                tokio::task::spawn_blocking(move || drop(old));
            }
            Err(err) => tracing::warn!(error = %err, "could not replace the Kafka producer"),
        }
    }
}

fn create_producer(config: &ClientConfig) -> Result<FutureProducer, BusError> {
    config.create().map_err(|err| {
        BusError::Unavailable(format!("creating the Kafka producer: {}", describe(&err)))
    })
}

#[async_trait]
impl Publisher for KafkaPublisher {
    async fn publish(&self, record: OutgoingRecord) -> Result<Delivery, BusError> {
        let headers = record
            .headers
            .iter()
            .fold(OwnedHeaders::new(), |headers, (key, value)| {
                headers.insert(Header {
                    key,
                    value: Some(value),
                })
            });
        let mut outgoing = FutureRecord::to(&record.topic)
            .payload(&record.value)
            .headers(headers);
        if let Some(key) = &record.key {
            outgoing = outgoing.key(key);
        }
        let (producer, generation) = self.producer();
        // The answer comes within `produce_timeout` whatever happens inside the client; past it
        // the record is reported as not acknowledged, which is the truth (it may still land).
        let delivery = producer.send(outgoing, Timeout::After(self.produce_timeout));
        let bound = self
            .produce_timeout
            .saturating_sub(ANSWER_MARGIN)
            .max(self.produce_timeout / 2);
        let result = match tokio::time::timeout(bound, delivery).await {
            Ok(Ok(delivery)) => Ok(Delivery {
                topic: record.topic,
                partition: delivery.partition,
                offset: delivery.offset,
            }),
            Ok(Err((err, _))) => Err(classify(&err, self.produce_timeout)),
            Err(_) => Err(BusError::Timeout(self.produce_timeout)),
        };
        if matches!(result, Err(BusError::Timeout(_))) || producer.client().fatal_error().is_some()
        {
            self.replace(generation);
        }
        result
    }

    async fn check_health(&self) -> Result<(), BusError> {
        let (producer, _) = self.producer();
        // A metadata request is a real round trip to a broker; rdkafka's call blocks.
        tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(None, HEALTH_TIMEOUT)
                .map(drop)
        })
        .await
        .map_err(|err| BusError::Unavailable(format!("health check task: {err}")))?
        .map_err(|err| {
            BusError::Unavailable(format!(
                "no metadata answer within {HEALTH_TIMEOUT:?}: {err}"
            ))
        })
    }

    async fn flush(&self, timeout: Duration) -> Result<(), BusError> {
        let (producer, _) = self.producer();
        tokio::task::spawn_blocking(move || producer.flush(timeout))
            .await
            .map_err(|err| BusError::Unavailable(format!("flush task: {err}")))?
            .map_err(|err| classify(&err, timeout))
    }
}

fn classify(err: &KafkaError, timeout: Duration) -> BusError {
    use RDKafkaErrorCode as Code;
    let code = match err {
        KafkaError::MessageProduction(code) | KafkaError::Flush(code) => *code,
        other => return BusError::Unavailable(other.to_string()),
    };
    match code {
        Code::MessageTimedOut | Code::OperationTimedOut | Code::RequestTimedOut => {
            BusError::Timeout(timeout)
        }
        Code::MessageSizeTooLarge
        | Code::InvalidMessageSize
        | Code::InvalidMessage
        | Code::UnknownTopic
        | Code::UnknownTopicOrPartition
        | Code::TopicAuthorizationFailed
        | Code::InvalidRecord => BusError::Rejected(err.to_string()),
        _ => BusError::Unavailable(err.to_string()),
    }
}

/// How long a seek or a watermark query may take.
const CONSUMER_OP_TIMEOUT: Duration = Duration::from_secs(5);

/// Forwards the group's rebalances to the subscriber's event stream.
struct RebalanceEvents {
    events: tokio::sync::mpsc::UnboundedSender<ConsumerEvent>,
}

impl ClientContext for RebalanceEvents {}

impl ConsumerContext for RebalanceEvents {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let partitions =
            |list: &TopicPartitionList| list.elements().iter().map(|e| e.partition()).collect();
        let event = match rebalance {
            Rebalance::Assign(list) => ConsumerEvent::Assigned(partitions(list)),
            Rebalance::Revoke(list) => ConsumerEvent::Revoked(partitions(list)),
            Rebalance::Error(err) => {
                tracing::warn!(error = %err, "consumer group rebalance failed");
                return;
            }
        };
        // The receiver lives as long as the consumer; a send can only fail while both drop.
        let _ = self.events.send(event);
    }
}

/// A member of a Kafka consumer group on one topic.
pub struct KafkaSubscriber {
    consumer: std::sync::Arc<StreamConsumer<RebalanceEvents>>,
    topic: String,
    rebalances: tokio::sync::mpsc::UnboundedReceiver<ConsumerEvent>,
    /// What [`Subscriber::rejoin`] creates the next consumer from.
    config: ClientConfig,
}

impl KafkaSubscriber {
    /// Joins `group` on `args.topic` as a dynamic member. Connects lazily, like the producer.
    pub fn new(args: &KafkaArgs, group: &str, client_id: &str) -> Result<Self, BusError> {
        Self::new_member(args, group, None, client_id)
    }

    /// Joins `group` on `args.topic`; with `instance_id`, as a static member (KIP-345,
    /// `group.instance.id`): an instance restarted with the same id within the session timeout
    /// takes back its own partitions without a rebalance, and a clean shutdown does not leave the
    /// group (its partitions wait for it for one session timeout).
    pub fn new_member(
        args: &KafkaArgs,
        group: &str,
        instance_id: Option<&str>,
        client_id: &str,
    ) -> Result<Self, BusError> {
        let mut config = args.client_config(client_id)?;
        config
            .set("group.id", group)
            // Progress lives in the caller's store; Kafka's committed offsets only mirror it.
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            // A partition nothing was ever committed for starts at its beginning.
            .set("auto.offset.reset", "earliest")
            // A killed member's partitions move to the others within seconds, not 45.
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "2000")
            // How long the broker may hold a fetch waiting for data. tansu holds every fetch for
            // the whole wait even when records are there, so librdkafka's 500 ms default made up
            // most of the end-to-end latency (p99 near 2 s at 2,000 records/s; 56 ms with 10 ms
            // and a 20 ms trigger). The cost: about 100 empty fetches a second while idle.
            .set("fetch.wait.max.ms", "10")
            // Finds a topic created after the job started (and added partitions) within seconds;
            // librdkafka's default looks again only every five minutes.
            .set("topic.metadata.refresh.interval.ms", "5000");
        if let Some(instance_id) = instance_id.filter(|id| !id.is_empty()) {
            config.set("group.instance.id", instance_id);
        }
        let (consumer, rebalances) = subscribe(&config, &args.topic)?;
        Ok(Self {
            consumer,
            topic: args.topic.clone(),
            rebalances,
            config,
        })
    }
}

type Subscription = (
    std::sync::Arc<StreamConsumer<RebalanceEvents>>,
    tokio::sync::mpsc::UnboundedReceiver<ConsumerEvent>,
);

/// A consumer on `config`, subscribed to `topic`, with its rebalances forwarded.
fn subscribe(config: &ClientConfig, topic: &str) -> Result<Subscription, BusError> {
    let (events, rebalances) = tokio::sync::mpsc::unbounded_channel();
    let consumer: StreamConsumer<RebalanceEvents> = config
        .create_with_context(RebalanceEvents { events })
        .map_err(|err| {
            BusError::Unavailable(format!("creating the Kafka consumer: {}", describe(&err)))
        })?;
    consumer
        .subscribe(&[topic])
        .map_err(|err| BusError::Unavailable(format!("subscribing to {topic}: {err}")))?;
    Ok((std::sync::Arc::new(consumer), rebalances))
}

#[async_trait]
impl Subscriber for KafkaSubscriber {
    async fn next_event(&mut self) -> Result<ConsumerEvent, BusError> {
        // Rebalances are reported while `recv` polls; hand them out before further records.
        if let Ok(event) = self.rebalances.try_recv() {
            return Ok(event);
        }
        tokio::select! {
            biased;
            Some(event) = self.rebalances.recv() => Ok(event),
            message = self.consumer.recv() => {
                let message = message.map_err(|err| match err {
                    KafkaError::MessageConsumption(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic) => {
                        BusError::Rejected(format!("topic {} does not exist", self.topic))
                    }
                    other => BusError::Unavailable(other.to_string()),
                })?;
                Ok(ConsumerEvent::Record(IncomingRecord {
                    topic: message.topic().to_owned(),
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message.key().map(<[u8]>::to_vec),
                    value: message.payload().map(<[u8]>::to_vec),
                    timestamp_ms: message.timestamp().to_millis(),
                }))
            }
        }
    }

    async fn seek(&mut self, partition: i32, offset: i64) -> Result<(), BusError> {
        let consumer = self.consumer.clone();
        let topic = self.topic.clone();
        tokio::task::spawn_blocking(move || {
            // Right after an assignment the partition's fetcher may not be started yet, and
            // librdkafka then refuses the seek ("erroneous state"); it is ready within moments.
            let deadline = Instant::now() + CONSUMER_OP_TIMEOUT;
            loop {
                match consumer.seek(
                    &topic,
                    partition,
                    Offset::Offset(offset),
                    CONSUMER_OP_TIMEOUT,
                ) {
                    Ok(()) => return Ok(()),
                    Err(err) if Instant::now() < deadline => {
                        tracing::debug!(partition, offset, error = %err, "seek not possible yet");
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Err(err) => {
                        return Err(BusError::Unavailable(format!(
                            "seeking partition {partition}: {err}"
                        )));
                    }
                }
            }
        })
        .await
        .map_err(|err| BusError::Unavailable(format!("seek task: {err}")))?
    }

    async fn watermarks(&mut self, partition: i32) -> Result<(i64, i64), BusError> {
        let consumer = self.consumer.clone();
        let topic = self.topic.clone();
        tokio::task::spawn_blocking(move || {
            consumer.fetch_watermarks(&topic, partition, CONSUMER_OP_TIMEOUT)
        })
        .await
        .map_err(|err| BusError::Unavailable(format!("watermark task: {err}")))?
        .map_err(|err| BusError::Unavailable(format!("watermarks of partition {partition}: {err}")))
    }

    async fn topic_partitions(&mut self) -> Result<Vec<i32>, BusError> {
        let consumer = self.consumer.clone();
        let topic = self.topic.clone();
        tokio::task::spawn_blocking(move || {
            let metadata = consumer
                .fetch_metadata(Some(&topic), CONSUMER_OP_TIMEOUT)
                .map_err(|err| BusError::Unavailable(format!("metadata of {topic}: {err}")))?;
            Ok(metadata
                .topics()
                .iter()
                .filter(|found| found.name() == topic && found.error().is_none())
                .flat_map(|found| found.partitions().iter().map(|p| p.id()))
                .collect())
        })
        .await
        .map_err(|err| BusError::Unavailable(format!("metadata task: {err}")))?
    }

    /// Closes the consumer and joins again with a new one, as a dynamic member: the place a static
    /// member holds is what a coordinator may hold wrongly (tansu 0.6.0, after a broker restart,
    /// assigns a static member nothing, however often it rejoins with its id), while a new
    /// dynamic member is assigned by every coordinator. The next start of the process is static
    /// again.
    async fn rejoin(&mut self) -> Result<(), BusError> {
        self.config.remove("group.instance.id");
        let (consumer, rebalances) = subscribe(&self.config, &self.topic)?;
        let old = std::mem::replace(&mut self.consumer, consumer);
        self.rebalances = rebalances;
        // Closing waits for the broker's answers: not on an async worker.
        tokio::task::spawn_blocking(move || {
            old.unsubscribe();
            drop(old);
        })
        .await
        .map_err(|err| BusError::Unavailable(format!("closing the consumer: {err}")))
    }

    fn commit(&mut self, next_offsets: &[(i32, i64)]) -> Result<(), BusError> {
        let mut list = TopicPartitionList::new();
        for &(partition, offset) in next_offsets {
            list.add_partition_offset(&self.topic, partition, Offset::Offset(offset))
                .map_err(|err| BusError::Rejected(err.to_string()))?;
        }
        self.consumer
            .commit(&list, CommitMode::Async)
            .map_err(|err| BusError::Unavailable(format!("committing offsets: {err}")))
    }
}
