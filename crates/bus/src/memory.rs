//! The in-process adapter: a log of topics and partitions in memory, for the embedded mode, with
//! Kafka's addressing (a record lives at a topic, partition and offset; the same key always goes to
//! the same partition; offsets count up from 0 per partition).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use tokio::sync::Notify;

use crate::{
    BusError, ConsumerEvent, Delivery, IncomingRecord, OutgoingRecord, Publisher, Subscriber,
};

/// A record as the log stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    /// When the log stored it, in milliseconds since the Unix epoch (Kafka's log-append time).
    pub timestamp_ms: i64,
}

/// The in-process log. Share it behind an `Arc`.
#[derive(Debug, Default)]
pub struct MemoryBus {
    topics: RwLock<HashMap<String, Topic>>,
}

#[derive(Debug)]
struct Topic {
    partitions: Vec<Mutex<Vec<StoredRecord>>>,
    /// Spreads records without a key over the partitions.
    next_unkeyed: AtomicUsize,
    /// Wakes subscribers waiting for records.
    published: Arc<Notify>,
}

impl MemoryBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates a topic; a topic that exists is left as it is.
    pub fn create_topic(&self, name: &str, partitions: usize) {
        let mut topics = self.topics.write().unwrap_or_else(PoisonError::into_inner);
        topics.entry(name.to_owned()).or_insert_with(|| Topic {
            partitions: (0..partitions.max(1))
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
            next_unkeyed: AtomicUsize::new(0),
            published: Arc::new(Notify::new()),
        });
    }

    /// The topic's one consumer: the embedded mode runs a single stream job, which gets every
    /// partition.
    pub fn subscribe(self: &Arc<Self>, topic: &str) -> Result<MemorySubscriber, BusError> {
        let topics = self.topics.read().unwrap_or_else(PoisonError::into_inner);
        let known = topics
            .get(topic)
            .ok_or_else(|| BusError::Rejected(format!("unknown topic {topic}")))?;
        Ok(MemorySubscriber {
            bus: self.clone(),
            topic: topic.to_owned(),
            published: known.published.clone(),
            positions: vec![0; known.partitions.len()],
            assigned: false,
            next_partition: 0,
        })
    }

    /// The offset the partition's next record will get (0 for an unknown partition).
    pub fn end_offset(&self, topic: &str, partition: i32) -> i64 {
        let topics = self.topics.read().unwrap_or_else(PoisonError::into_inner);
        topics
            .get(topic)
            .and_then(|topic| topic.partitions.get(usize::try_from(partition).ok()?))
            .map_or(0, |log| {
                let log = log.lock().unwrap_or_else(PoisonError::into_inner);
                i64::try_from(log.len()).expect("fewer than 2^63 records")
            })
    }

    /// Up to `max` records of a partition from `offset` on.
    pub fn read(&self, topic: &str, partition: i32, offset: i64, max: usize) -> Vec<StoredRecord> {
        let topics = self.topics.read().unwrap_or_else(PoisonError::into_inner);
        let Some(log) = topics
            .get(topic)
            .and_then(|topic| topic.partitions.get(usize::try_from(partition).ok()?))
        else {
            return Vec::new();
        };
        let log = log.lock().unwrap_or_else(PoisonError::into_inner);
        let start = usize::try_from(offset).unwrap_or(0).min(log.len());
        log[start..].iter().take(max).cloned().collect()
    }
}

#[async_trait]
impl Publisher for MemoryBus {
    async fn publish(&self, record: OutgoingRecord) -> Result<Delivery, BusError> {
        let topics = self.topics.read().unwrap_or_else(PoisonError::into_inner);
        let topic = topics
            .get(&record.topic)
            .ok_or_else(|| BusError::Rejected(format!("unknown topic {}", record.topic)))?;
        let partition = match &record.key {
            Some(key) => {
                let mut hasher = DefaultHasher::new();
                key.hash(&mut hasher);
                usize::try_from(hasher.finish() % topic.partitions.len() as u64)
                    .expect("fits: below the partition count")
            }
            None => topic.next_unkeyed.fetch_add(1, Ordering::Relaxed) % topic.partitions.len(),
        };
        let mut log = topic.partitions[partition]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let offset = i64::try_from(log.len()).expect("fewer than 2^63 records");
        log.push(StoredRecord {
            offset,
            key: record.key,
            value: record.value,
            headers: record.headers,
            timestamp_ms: now_ms(),
        });
        drop(log);
        topic.published.notify_waiters();
        Ok(Delivery {
            topic: record.topic,
            partition: i32::try_from(partition).expect("fewer than 2^31 partitions"),
            offset,
        })
    }

    async fn check_health(&self) -> Result<(), BusError> {
        Ok(())
    }

    async fn flush(&self, _timeout: Duration) -> Result<(), BusError> {
        // Records are stored before `publish` returns: nothing is ever in flight.
        Ok(())
    }
}

/// The single consumer of a topic of the in-process log.
pub struct MemorySubscriber {
    bus: Arc<MemoryBus>,
    topic: String,
    published: Arc<Notify>,
    /// Next offset to read, per partition.
    positions: Vec<i64>,
    assigned: bool,
    /// Where the round robin over partitions resumes, so no partition starves another.
    next_partition: usize,
}

impl MemorySubscriber {
    fn next_record(&mut self) -> Option<IncomingRecord> {
        let partitions = self.positions.len();
        for step in 0..partitions {
            let partition = (self.next_partition + step) % partitions;
            let id = i32::try_from(partition).expect("fewer than 2^31 partitions");
            if let Some(stored) = self
                .bus
                .read(&self.topic, id, self.positions[partition], 1)
                .pop()
            {
                self.positions[partition] = stored.offset + 1;
                self.next_partition = partition + 1;
                return Some(IncomingRecord {
                    topic: self.topic.clone(),
                    partition: id,
                    offset: stored.offset,
                    key: stored.key,
                    value: Some(stored.value),
                    timestamp_ms: Some(stored.timestamp_ms),
                });
            }
        }
        None
    }

    fn position(&mut self, partition: i32) -> Result<&mut i64, BusError> {
        usize::try_from(partition)
            .ok()
            .and_then(|index| self.positions.get_mut(index))
            .ok_or_else(|| BusError::Rejected(format!("no partition {partition}")))
    }
}

#[async_trait]
impl Subscriber for MemorySubscriber {
    async fn next_event(&mut self) -> Result<ConsumerEvent, BusError> {
        if !self.assigned {
            self.assigned = true;
            let partitions =
                i32::try_from(self.positions.len()).expect("fewer than 2^31 partitions");
            return Ok(ConsumerEvent::Assigned((0..partitions).collect()));
        }
        loop {
            // Registered before looking, so a record published in between still wakes us.
            let published = self.published.clone();
            let mut woken = std::pin::pin!(published.notified());
            woken.as_mut().enable();
            if let Some(record) = self.next_record() {
                return Ok(ConsumerEvent::Record(record));
            }
            woken.await;
        }
    }

    async fn seek(&mut self, partition: i32, offset: i64) -> Result<(), BusError> {
        *self.position(partition)? = offset.max(0);
        Ok(())
    }

    async fn watermarks(&mut self, partition: i32) -> Result<(i64, i64), BusError> {
        self.position(partition)?;
        Ok((0, self.bus.end_offset(&self.topic, partition)))
    }

    fn commit(&mut self, _next_offsets: &[(i32, i64)]) -> Result<(), BusError> {
        Ok(())
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}
