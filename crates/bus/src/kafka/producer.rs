//! The Kafka producer behind [`Publisher`].
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
use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;

use super::args::KafkaArgs;
use super::security::describe;
use crate::contract::{BusError, Delivery, OutgoingRecord, Publisher};

/// How long a health check waits for the broker's metadata answer: below the 2 s the API promises,
/// leaving room for the HTTP round trip.
const HEALTH_TIMEOUT: Duration = Duration::from_millis(1500);
/// Kept below the produce timeout so the HTTP answer, not just the verdict, comes within it.
const ANSWER_MARGIN: Duration = Duration::from_millis(200);

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
