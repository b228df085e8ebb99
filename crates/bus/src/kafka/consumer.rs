//! The Kafka consumer-group member behind [`Subscriber`]: rebalances become events, and where a
//! partition is read from is the caller's (it seeks to what its store says).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::args::KafkaArgs;
use super::security::describe;
use crate::contract::{BusError, ConsumerEvent, IncomingRecord, Subscriber};

/// How long a seek or a watermark query may take.
const CONSUMER_OP_TIMEOUT: Duration = Duration::from_secs(5);

/// How long closing a consumer is waited for. librdkafka's close waits for the group coordinator's
/// answers, and rdkafka's drop polls until it is closed with no bound (rust-rdkafka #509): with a
/// broker that hangs (paused, or cut off) it never is. Past this the close goes on by itself on
/// its own thread.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

type Member = std::sync::Arc<StreamConsumer<RebalanceEvents>>;

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
    /// None once closed ([`Subscriber::close`]).
    consumer: Option<Member>,
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
            consumer: Some(consumer),
            topic: args.topic.clone(),
            rebalances,
            config,
        })
    }

    fn consumer(&self) -> Result<&Member, BusError> {
        self.consumer.as_ref().ok_or_else(closed)
    }
}

impl Drop for KafkaSubscriber {
    /// Never blocks the dropping thread, which may be an async worker or a runtime shutting down:
    /// a subscriber not closed by [`Subscriber::close`] closes on its own thread.
    fn drop(&mut self) {
        if let Some(consumer) = self.consumer.take() {
            drop(close_on_own_thread(consumer, false));
        }
    }
}

fn closed() -> BusError {
    BusError::Unavailable("the Kafka consumer is closed".into())
}

type Subscription = (Member, tokio::sync::mpsc::UnboundedReceiver<ConsumerEvent>);

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

/// Closes `consumer` (after leaving the group, with `leave`) on a thread of its own; the receiver
/// hears once it is closed.
fn close_on_own_thread(consumer: Member, leave: bool) -> tokio::sync::oneshot::Receiver<()> {
    let (closed, on_closed) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("kafka-consumer-close".into())
        .spawn(move || {
            if leave {
                consumer.unsubscribe();
            }
            drop(consumer);
            let _ = closed.send(());
        });
    if let Err(err) = spawned {
        // The closure, and with it the consumer, was dropped here: closed, if slowly.
        tracing::warn!(error = %err, "no thread to close the Kafka consumer on");
    }
    on_closed
}

/// Waits at most [`CLOSE_TIMEOUT`] for `consumer` to close on its own thread.
async fn close_within_bound(consumer: Member, leave: bool) {
    let on_closed = close_on_own_thread(consumer, leave);
    if tokio::time::timeout(CLOSE_TIMEOUT, on_closed)
        .await
        .is_err()
    {
        tracing::warn!(
            timeout = ?CLOSE_TIMEOUT,
            "the Kafka consumer did not close in time (is the broker reachable?); it goes on \
             closing in the background"
        );
    }
}

#[async_trait]
impl Subscriber for KafkaSubscriber {
    async fn next_event(&mut self) -> Result<ConsumerEvent, BusError> {
        // The field, not `self.consumer()`, so `rebalances` can be borrowed beside it.
        let consumer = self.consumer.as_ref().ok_or_else(closed)?;
        // Rebalances are reported while `recv` polls; hand them out before further records.
        if let Ok(event) = self.rebalances.try_recv() {
            return Ok(event);
        }
        tokio::select! {
            biased;
            Some(event) = self.rebalances.recv() => Ok(event),
            message = consumer.recv() => {
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
        let consumer = self.consumer()?.clone();
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
        let consumer = self.consumer()?.clone();
        let topic = self.topic.clone();
        tokio::task::spawn_blocking(move || {
            consumer.fetch_watermarks(&topic, partition, CONSUMER_OP_TIMEOUT)
        })
        .await
        .map_err(|err| BusError::Unavailable(format!("watermark task: {err}")))?
        .map_err(|err| BusError::Unavailable(format!("watermarks of partition {partition}: {err}")))
    }

    async fn topic_partitions(&mut self) -> Result<Vec<i32>, BusError> {
        let consumer = self.consumer()?.clone();
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
        let old = self.consumer.replace(consumer);
        self.rebalances = rebalances;
        if let Some(old) = old {
            close_within_bound(old, true).await;
        }
        Ok(())
    }

    /// A static member's close does not leave the group (its partitions wait for it for one
    /// session timeout); a dynamic member's leaves, so the others take over at once.
    async fn close(&mut self) {
        if let Some(consumer) = self.consumer.take() {
            close_within_bound(consumer, false).await;
        }
    }

    fn commit(&mut self, next_offsets: &[(i32, i64)]) -> Result<(), BusError> {
        let mut list = TopicPartitionList::new();
        for &(partition, offset) in next_offsets {
            list.add_partition_offset(&self.topic, partition, Offset::Offset(offset))
                .map_err(|err| BusError::Rejected(err.to_string()))?;
        }
        self.consumer()?
            .commit(&list, CommitMode::Async)
            .map_err(|err| BusError::Unavailable(format!("committing offsets: {err}")))
    }
}
