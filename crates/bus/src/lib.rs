//! The message bus: two small traits, [`Publisher`] and [`Subscriber`] (one consumer-group//! member), each with two adapters that behave the same (one conformance suite,
//! `tests/conformance`, runs against both):
//!
//! - Kafka, on rdkafka ([`KafkaPublisher`], [`KafkaSubscriber`]): a publish resolves only once
//!   every in-sync replica has the record (`acks=all`, idempotent, so retries never duplicate or
//!   reorder);
//! - the in-process log ([`MemoryBus`]) of the embedded mode: partitions and offsets like Kafka.

mod contract;
pub mod kafka;
pub mod memory;

pub use contract::{
    BusError, ConsumerEvent, Delivery, IncomingRecord, OutgoingRecord, Publisher, Subscriber,
};
pub use kafka::{KafkaArgs, KafkaPublisher, KafkaSubscriber, TopicSpec, ensure_topics};
pub use memory::{MemoryBus, MemorySubscriber, Retention};
