//! The Kafka adapter, on rdkafka (librdkafka bundled and built from source, so it speaks to recent
//! brokers, tansu among them).
//!
//! Delivery guarantee: [`KafkaPublisher::publish`] resolves with a [`Delivery`] only after the
//! broker acknowledged the record with `acks=all`; with the idempotent producer, librdkafka's own
//! retries neither duplicate nor reorder a partition. It resolves with an error no later than the
//! produce timeout, whether the broker is slow, down or unknown.

use std::time::Duration;

use async_trait::async_trait;
use clap::Args;
use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;

use crate::{BusError, Delivery, OutgoingRecord, Publisher};

/// How long a health check waits for the broker's metadata answer.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

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
}

impl KafkaArgs {
    /// The client settings every wordfreq client shares.
    pub fn client_config(&self, client_id: &str) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.bootstrap_servers)
            .set("client.id", client_id);
        config
    }
}

/// Publishes to Kafka.
pub struct KafkaPublisher {
    producer: FutureProducer,
    produce_timeout: Duration,
}

impl KafkaPublisher {
    /// A producer for `args`' cluster. It connects lazily: creating it succeeds with the broker
    /// down, so a service can start, report the broker unhealthy and recover when it returns.
    pub fn new(
        args: &KafkaArgs,
        client_id: &str,
        produce_timeout: Duration,
    ) -> Result<Self, BusError> {
        let timeout_ms = produce_timeout.as_millis().max(1).to_string();
        let producer = args
            .client_config(client_id)
            // A success means every in-sync replica has the record.
            .set("acks", "all")
            // librdkafka's retries may then neither duplicate nor reorder records.
            .set("enable.idempotence", "true")
            // Gather concurrent requests into one produce request instead of a round trip each.
            .set("linger.ms", "5")
            // The bound on a record's wait for acknowledgement, broker down or not.
            .set("message.timeout.ms", &timeout_ms)
            .set("request.timeout.ms", &timeout_ms)
            .create()
            .map_err(|err| BusError::Unavailable(format!("creating the Kafka producer: {err}")))?;
        Ok(Self {
            producer,
            produce_timeout,
        })
    }
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
        // librdkafka enforces `message.timeout.ms`; the outer bound only guards against a lost
        // delivery report, so no request can hang whatever happens inside the client.
        let delivery = self
            .producer
            .send(outgoing, Timeout::After(self.produce_timeout));
        match tokio::time::timeout(self.produce_timeout + Duration::from_secs(1), delivery).await {
            Ok(Ok(delivery)) => Ok(Delivery {
                topic: record.topic,
                partition: delivery.partition,
                offset: delivery.offset,
            }),
            Ok(Err((err, _))) => Err(classify(&err, self.produce_timeout)),
            Err(_) => Err(BusError::Timeout(self.produce_timeout)),
        }
    }

    async fn check_health(&self) -> Result<(), BusError> {
        let producer = self.producer.clone();
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
        let producer = self.producer.clone();
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
