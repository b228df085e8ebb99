//! What every bus adapter implements and every caller uses: the records going out and coming in,
//! the two traits ([`Publisher`], [`Subscriber`]) and the one error.

use std::time::Duration;

use async_trait::async_trait;

/// A record to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRecord {
    pub topic: String,
    /// Records with the same key go to the same partition, in order.
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl OutgoingRecord {
    pub fn new(
        topic: impl Into<String>,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            topic: topic.into(),
            key: Some(key.into()),
            value: value.into(),
            headers: Vec::new(),
        }
    }
}

/// Where the bus stored a record: the original's `kafka_metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Delivery {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// Why a record was not stored. None of these is a success that might be mistaken for one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// The broker cannot be reached or refused service; trying again later may work.
    #[error("the message broker is unavailable: {0}")]
    Unavailable(String),
    /// No acknowledgement within the bound. The record was not stored, or (if it reached the
    /// broker just before the bound) its storing is unknown; a retry may store it twice.
    #[error("the message broker did not acknowledge the record within {0:?}")]
    Timeout(Duration),
    /// The broker will never take this record (too large, unknown topic); retrying will not help.
    #[error("the message broker rejected the record: {0}")]
    Rejected(String),
}

/// Publishes records and answers for the broker's health.
#[async_trait]
pub trait Publisher: Send + Sync + 'static {
    /// Stores a record; resolves once the broker acknowledged it, or with why not, within the
    /// adapter's produce timeout.
    async fn publish(&self, record: OutgoingRecord) -> Result<Delivery, BusError>;

    /// Whether the broker answers a metadata request now (bounded by about two seconds).
    async fn check_health(&self) -> Result<(), BusError>;

    /// Waits until every record handed to `publish` has been acknowledged or has failed.
    async fn flush(&self, timeout: Duration) -> Result<(), BusError>;
}

/// A record as read from the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// The broker's timestamp, in milliseconds since the Unix epoch.
    pub timestamp_ms: Option<i64>,
}

/// What a consumer-group member learns next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerEvent {
    /// These partitions are now this member's.
    Assigned(Vec<i32>),
    /// These partitions are no longer this member's.
    Revoked(Vec<i32>),
    Record(IncomingRecord),
}

/// One member of a consumer group on one topic. Where it reads from is the caller's business: it
/// seeks each assigned partition to where its own store says to resume.
#[async_trait]
pub trait Subscriber: Send + Sync {
    /// The next event; waits for one.
    async fn next_event(&mut self) -> Result<ConsumerEvent, BusError>;

    /// Moves the read position of an assigned partition to `offset`.
    async fn seek(&mut self, partition: i32, offset: i64) -> Result<(), BusError>;

    /// The earliest offset a partition still holds and the offset its next record will get.
    async fn watermarks(&mut self, partition: i32) -> Result<(i64, i64), BusError>;

    /// Every partition of the topic, held by this member or not.
    async fn topic_partitions(&mut self) -> Result<Vec<i32>, BusError>;

    /// Leaves the group and joins it again: for a member the group left without partitions while
    /// some go unread. What it held is revoked; the next assignment comes as an event.
    async fn rejoin(&mut self) -> Result<(), BusError>;

    /// Records progress where standard lag tools look (Kafka's committed offsets). Best-effort:
    /// the caller's store, not this, is what it resumes from.
    fn commit(&mut self, next_offsets: &[(i32, i64)]) -> Result<(), BusError>;

    /// Stops being a member, as a member that stops should, waiting a bounded time for the
    /// broker; afterwards every call fails. Dropping a member never blocks, but need not leave.
    /// The default does nothing, for adapters with no membership to end (the in-process log).
    async fn close(&mut self) {}
}
