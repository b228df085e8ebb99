//! The Kafka adapter, on rdkafka (librdkafka bundled and built from source, so it speaks to recent
//! brokers, tansu among them).
//!
//! Delivery guarantee: [`KafkaPublisher::publish`] resolves with a [`Delivery`] only after the
//! broker acknowledged the record with `acks=all`; with the idempotent producer, librdkafka's own
//! retries neither duplicate nor reorder a partition. It resolves with an error no later than the
//! produce timeout, whether the broker is slow, down or unknown.
//!
//! [`KafkaPublisher::publish`]: KafkaPublisher#method.publish
//! [`Delivery`]: crate::Delivery

// `args` and `security` are the base: `admin`, `consumer` and `producer` each build their clients
// from them and never from one another.
mod args;
mod security;

mod admin;
mod consumer;
mod producer;

pub use admin::{TopicSpec, ensure_topics};
pub use args::KafkaArgs;
pub use consumer::KafkaSubscriber;
pub use producer::KafkaPublisher;
pub use security::{KafkaSecurity, SaslMechanism, SecurityProtocol, describe};
