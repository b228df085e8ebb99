//! The in-process adapter: a log of topics and partitions in memory, for the embedded mode, with
//! Kafka's addressing (a record lives at a topic, partition and offset; the same key always goes to
//! the same partition; offsets count up per partition, from 0 or from where a restored store left
//! off). Memory can be bounded per topic ([`Retention`]), as Kafka's retention bounds a log: a topic
//! may drop what its consumer has committed, or keep only its latest records.

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use tokio::sync::Notify;

use crate::contract::{
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
    partitions: Vec<Mutex<Partition>>,
    retention: Retention,
    /// Spreads records without a key over the partitions.
    next_unkeyed: AtomicUsize,
    /// Wakes subscribers waiting for records.
    published: Arc<Notify>,
}

impl MemoryBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates a topic that keeps every record; a topic that exists is left as it is.
    pub fn create_topic(&self, name: &str, partitions: usize) {
        self.create_topic_with(name, partitions, &HashMap::new(), Retention::Forever);
    }

    /// Creates a topic whose partitions number their records from `first_offsets` (0 for a
    /// partition not listed), as a log restarted where a restored store left off would, keeping
    /// records as `retention` says. A topic that exists is left as it is.
    pub fn create_topic_with(
        &self,
        name: &str,
        partitions: usize,
        first_offsets: &HashMap<i32, i64>,
        retention: Retention,
    ) {
        let mut topics = self.topics.write().unwrap_or_else(PoisonError::into_inner);
        topics.entry(name.to_owned()).or_insert_with(|| Topic {
            partitions: (0..partitions.max(1))
                .map(|index| {
                    let id = i32::try_from(index).expect("fewer than 2^31 partitions");
                    Mutex::new(Partition {
                        base: first_offsets.get(&id).copied().unwrap_or(0).max(0),
                        records: VecDeque::new(),
                    })
                })
                .collect(),
            retention,
            next_unkeyed: AtomicUsize::new(0),
            published: Arc::new(Notify::new()),
        });
    }

    /// Drops a partition's records below `offset` if the topic keeps records only until they are
    /// committed.
    fn drop_committed(&self, topic: &str, partition: i32, offset: i64) {
        self.with_partition(topic, partition, |retention, log| {
            if retention == Retention::UntilCommitted {
                log.drop_below(offset);
            }
        });
    }

    /// The partition's oldest held offset and the offset its next record will get.
    pub fn offsets(&self, topic: &str, partition: i32) -> (i64, i64) {
        self.with_partition(topic, partition, |_, log| (log.base, log.end()))
            .unwrap_or((0, 0))
    }

    fn with_partition<T>(
        &self,
        topic: &str,
        partition: i32,
        f: impl FnOnce(Retention, &mut Partition) -> T,
    ) -> Option<T> {
        let topics = self.topics.read().unwrap_or_else(PoisonError::into_inner);
        let topic = topics.get(topic)?;
        let log = topic.partitions.get(usize::try_from(partition).ok()?)?;
        Some(f(
            topic.retention,
            &mut log.lock().unwrap_or_else(PoisonError::into_inner),
        ))
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
        self.offsets(topic, partition).1
    }

    /// Up to `max` records of a partition from `offset` on (from the oldest held, if `offset` was
    /// dropped).
    pub fn read(&self, topic: &str, partition: i32, offset: i64, max: usize) -> Vec<StoredRecord> {
        self.with_partition(topic, partition, |_, log| {
            let skip = usize::try_from(offset - log.base).unwrap_or(0);
            log.records.iter().skip(skip).take(max).cloned().collect()
        })
        .unwrap_or_default()
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
        let offset = log.end();
        log.records.push_back(StoredRecord {
            offset,
            key: record.key,
            value: record.value,
            headers: record.headers,
            timestamp_ms: now_ms(),
        });
        if let Retention::Latest(keep) = topic.retention {
            let oldest_kept = log.end() - i64::try_from(keep).unwrap_or(i64::MAX);
            log.drop_below(oldest_kept);
        }
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
        Ok(self.bus.offsets(&self.topic, partition))
    }

    async fn topic_partitions(&mut self) -> Result<Vec<i32>, BusError> {
        let partitions = i32::try_from(self.positions.len()).expect("fewer than 2^31 partitions");
        Ok((0..partitions).collect())
    }

    /// The only member of its group holds every partition; there is nothing to rejoin.
    async fn rejoin(&mut self) -> Result<(), BusError> {
        Ok(())
    }

    fn commit(&mut self, next_offsets: &[(i32, i64)]) -> Result<(), BusError> {
        for &(partition, offset) in next_offsets {
            self.bus.drop_committed(&self.topic, partition, offset);
        }
        Ok(())
    }
}

/// How long a topic keeps its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    Forever,
    /// Until its consumer commits past them: the embedded mode's input topic, whose consumer has
    /// stored them for good by then.
    UntilCommitted,
    /// Only the latest this many per partition: a topic nobody in the process consumes.
    Latest(usize),
}

/// One partition's records, `base` being the offset of the first one held.
#[derive(Debug)]
struct Partition {
    base: i64,
    records: VecDeque<StoredRecord>,
}

impl Partition {
    fn end(&self) -> i64 {
        self.base + i64::try_from(self.records.len()).expect("fewer than 2^63 records")
    }

    /// Lets the records below `offset` go.
    fn drop_below(&mut self, offset: i64) {
        while self
            .records
            .front()
            .is_some_and(|record| record.offset < offset)
        {
            self.records.pop_front();
            self.base += 1;
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}
