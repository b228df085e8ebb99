//! One suite, both adapters: the Kafka adapter against a real broker (tansu from the test kit) and
//! the in-process adapter must store, address and acknowledge records alike.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::Offset;
use rdkafka::message::{Headers, Message};
use wordfreq_bus::memory::StoredRecord;
use wordfreq_bus::{
    ConsumerEvent, Delivery, IncomingRecord, KafkaArgs, KafkaPublisher, KafkaSubscriber, MemoryBus,
    OutgoingRecord, Publisher, Subscriber,
};
use wordfreq_testkit::{KafkaBroker, TestNames};

const PRODUCE_TIMEOUT: Duration = Duration::from_secs(5);
const WAIT: Duration = Duration::from_secs(30);

/// What the suite needs besides the `Publisher` itself: a topic to write to and a way to read a
/// record back from where the adapter says it stored it.
trait Harness {
    fn publisher(&self) -> Arc<dyn Publisher>;
    fn subscriber(&self) -> Box<dyn Subscriber>;
    fn topic(&self) -> &str;
    fn read_back(&self, delivery: &Delivery) -> StoredRecord;
}

struct Kafka {
    broker: KafkaBroker,
    topic: String,
    publisher: Arc<KafkaPublisher>,
}

impl Kafka {
    async fn start() -> Self {
        let broker = KafkaBroker::start();
        let topic = TestNames::new("conformance").topic;
        broker.create_topic(&topic, 3).await;
        let args = KafkaArgs {
            bootstrap_servers: broker.bootstrap_servers().to_owned(),
            topic: topic.clone(),
            ..KafkaArgs::default()
        };
        let publisher =
            Arc::new(KafkaPublisher::new(&args, "conformance", PRODUCE_TIMEOUT).unwrap());
        Self {
            broker,
            topic,
            publisher,
        }
    }
}

impl Harness for Kafka {
    fn publisher(&self) -> Arc<dyn Publisher> {
        self.publisher.clone()
    }

    fn subscriber(&self) -> Box<dyn Subscriber> {
        let args = KafkaArgs {
            bootstrap_servers: self.broker.bootstrap_servers().to_owned(),
            topic: self.topic.clone(),
            ..KafkaArgs::default()
        };
        Box::new(
            KafkaSubscriber::new(&args, &TestNames::new("subscriber").group, "conformance")
                .unwrap(),
        )
    }

    fn topic(&self) -> &str {
        &self.topic
    }

    fn read_back(&self, delivery: &Delivery) -> StoredRecord {
        let consumer = self.broker.reader(&[(
            delivery.topic.as_str(),
            delivery.partition,
            Offset::Offset(delivery.offset),
        )]);
        let message = consumer
            .poll(WAIT)
            .unwrap_or_else(|| panic!("nothing at {delivery:?} within {WAIT:?}"))
            .unwrap();
        let headers = message.headers().map_or_else(Vec::new, |headers| {
            headers
                .iter()
                .map(|header| {
                    (
                        header.key.to_owned(),
                        header.value.unwrap_or_default().to_vec(),
                    )
                })
                .collect()
        });
        StoredRecord {
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().unwrap_or_default().to_vec(),
            headers,
            timestamp_ms: message.timestamp().to_millis().unwrap_or_default(),
        }
    }
}

struct Memory {
    bus: Arc<MemoryBus>,
}

impl Memory {
    async fn start() -> Self {
        let bus = Arc::new(MemoryBus::new());
        bus.create_topic("user_text", 3);
        Self { bus }
    }
}

impl Harness for Memory {
    fn publisher(&self) -> Arc<dyn Publisher> {
        self.bus.clone()
    }

    fn subscriber(&self) -> Box<dyn Subscriber> {
        Box::new(self.bus.subscribe("user_text").unwrap())
    }

    fn topic(&self) -> &str {
        "user_text"
    }

    fn read_back(&self, delivery: &Delivery) -> StoredRecord {
        self.bus
            .read(&delivery.topic, delivery.partition, delivery.offset, 1)
            .pop()
            .unwrap_or_else(|| panic!("nothing at {delivery:?}"))
    }
}

async fn a_published_record_is_stored_where_the_delivery_says(harness: impl Harness) {
    let mut record = OutgoingRecord::new(harness.topic(), "user_1", r#"{"text":"hello"}"#);
    record.headers.push(("reason".into(), b"none".to_vec()));
    let delivery = harness.publisher().publish(record.clone()).await.unwrap();

    assert_eq!(delivery.topic, harness.topic());
    assert!((0..3).contains(&delivery.partition), "{delivery:?}");
    let stored = harness.read_back(&delivery);
    assert_eq!(stored.offset, delivery.offset);
    assert_eq!(
        (stored.key, stored.value, stored.headers),
        (record.key, record.value, record.headers)
    );
    assert!(stored.timestamp_ms > 0);
}

async fn records_with_one_key_go_to_one_partition_at_increasing_offsets(harness: impl Harness) {
    let publisher = harness.publisher();
    let mut deliveries = Vec::new();
    for n in 0..5 {
        let record = OutgoingRecord::new(harness.topic(), "same-user", format!("record {n}"));
        deliveries.push(publisher.publish(record).await.unwrap());
    }
    assert!(
        deliveries
            .iter()
            .all(|d| d.partition == deliveries[0].partition),
        "{deliveries:?}"
    );
    assert!(
        deliveries
            .windows(2)
            .all(|pair| pair[1].offset > pair[0].offset),
        "{deliveries:?}"
    );
    assert_eq!(harness.read_back(&deliveries[4]).value, b"record 4");
}

async fn concurrent_publishes_are_each_acknowledged_at_a_distinct_offset(harness: impl Harness) {
    let publisher = harness.publisher();
    let sends = (0..300).map(|n| {
        let record =
            OutgoingRecord::new(harness.topic(), format!("user_{}", n % 10), format!("{n}"));
        let publisher = publisher.clone();
        async move { publisher.publish(record).await.unwrap() }
    });
    let deliveries = futures::future::join_all(sends).await;
    let distinct: HashSet<(i32, i64)> =
        deliveries.iter().map(|d| (d.partition, d.offset)).collect();
    assert_eq!(distinct.len(), 300);
    for delivery in deliveries.iter().step_by(37) {
        let expected = deliveries
            .iter()
            .position(|d| d == delivery)
            .unwrap()
            .to_string();
        assert_eq!(harness.read_back(delivery).value, expected.as_bytes());
    }
}

async fn a_reachable_bus_is_healthy_and_flushes(harness: impl Harness) {
    let publisher = harness.publisher();
    publisher.check_health().await.unwrap();
    publisher
        .publish(OutgoingRecord::new(harness.topic(), "k", "v"))
        .await
        .unwrap();
    publisher.flush(Duration::from_secs(5)).await.unwrap();
}

/// Reads events until `count` records arrived; returns them and the partitions assigned meanwhile.
async fn read_records(
    subscriber: &mut dyn Subscriber,
    count: usize,
) -> (Vec<IncomingRecord>, HashSet<i32>) {
    let mut records = Vec::new();
    let mut assigned = HashSet::new();
    while records.len() < count {
        let event = tokio::time::timeout(WAIT, subscriber.next_event())
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} records within {WAIT:?}", records.len()))
            .unwrap();
        match event {
            ConsumerEvent::Assigned(partitions) => assigned.extend(partitions),
            ConsumerEvent::Revoked(partitions) => partitions.iter().for_each(|p| {
                assigned.remove(p);
            }),
            ConsumerEvent::Record(record) => records.push(record),
        }
    }
    (records, assigned)
}

async fn a_subscriber_gets_every_partition_and_every_record_at_its_offset(harness: impl Harness) {
    let publisher = harness.publisher();
    let mut published = HashSet::new();
    for n in 0..30 {
        let record =
            OutgoingRecord::new(harness.topic(), format!("user_{n}"), format!("value {n}"));
        let delivery = publisher.publish(record).await.unwrap();
        published.insert((delivery.partition, delivery.offset, format!("value {n}")));
    }
    let mut subscriber = harness.subscriber();

    let (records, assigned) = read_records(&mut *subscriber, 30).await;

    assert_eq!(assigned, HashSet::from([0, 1, 2]));
    let read: HashSet<(i32, i64, String)> = records
        .iter()
        .map(|r| {
            (
                r.partition,
                r.offset,
                String::from_utf8(r.value.clone().unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(read, published);
    assert!(
        records
            .iter()
            .all(|r| r.timestamp_ms.is_some_and(|ms| ms > 0))
    );
    for partition in 0..3 {
        let stored = published.iter().filter(|(p, _, _)| *p == partition).count();
        assert_eq!(
            subscriber.watermarks(partition).await.unwrap(),
            (0, stored as i64)
        );
    }
}

async fn seeking_back_reads_a_partition_again_from_that_offset(harness: impl Harness) {
    let publisher = harness.publisher();
    for n in 0..5 {
        publisher
            .publish(OutgoingRecord::new(
                harness.topic(),
                "one-key",
                format!("value {n}"),
            ))
            .await
            .unwrap();
    }
    let mut subscriber = harness.subscriber();
    let (records, _) = read_records(&mut *subscriber, 5).await;
    let partition = records[0].partition;

    subscriber.seek(partition, 2).await.unwrap();
    subscriber.commit(&[(partition, 5)]).unwrap();

    let (again, _) = read_records(&mut *subscriber, 3).await;
    let offsets: Vec<i64> = again.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, [2, 3, 4]);
}

/// Runs each check against both adapters, as `kafka::<check>` and `memory::<check>`.
macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod kafka {
            $(#[tokio::test] async fn $check() { super::$check(super::Kafka::start().await).await; })*
        }
        mod memory {
            $(#[tokio::test] async fn $check() { super::$check(super::Memory::start().await).await; })*
        }
    };
}

conformance!(
    a_published_record_is_stored_where_the_delivery_says,
    records_with_one_key_go_to_one_partition_at_increasing_offsets,
    concurrent_publishes_are_each_acknowledged_at_a_distinct_offset,
    a_reachable_bus_is_healthy_and_flushes,
    a_subscriber_gets_every_partition_and_every_record_at_its_offset,
    seeking_back_reads_a_partition_again_from_that_offset,
);

/// What only the in-process log does: retention, and numbering that resumes where a restored store
/// left off.
mod memory_only {
    use std::collections::HashMap;

    use super::*;
    use wordfreq_bus::Retention;

    fn record(topic: &str, key: &str) -> OutgoingRecord {
        OutgoingRecord::new(topic, key, b"value".to_vec())
    }

    #[tokio::test]
    async fn a_topic_kept_until_committed_lets_committed_records_go_and_numbers_on() {
        let bus = Arc::new(MemoryBus::new());
        bus.create_topic_with("input", 1, &HashMap::new(), Retention::UntilCommitted);
        for _ in 0..5 {
            bus.publish(record("input", "k")).await.unwrap();
        }
        let mut subscriber = bus.subscribe("input").unwrap();
        subscriber.commit(&[(0, 3)]).unwrap();
        assert_eq!(bus.offsets("input", 0), (3, 5));
        assert_eq!(subscriber.watermarks(0).await.unwrap(), (3, 5));
        let kept: Vec<i64> = bus
            .read("input", 0, 0, 10)
            .iter()
            .map(|r| r.offset)
            .collect();
        assert_eq!(
            kept,
            [3, 4],
            "a read from a dropped offset starts at the oldest held"
        );
        let next = bus.publish(record("input", "k")).await.unwrap();
        assert_eq!(next.offset, 5);
    }

    #[tokio::test]
    async fn a_topic_kept_forever_ignores_commits() {
        let bus = Arc::new(MemoryBus::new());
        bus.create_topic("input", 1);
        for _ in 0..3 {
            bus.publish(record("input", "k")).await.unwrap();
        }
        bus.subscribe("input").unwrap().commit(&[(0, 3)]).unwrap();
        assert_eq!(bus.offsets("input", 0), (0, 3));
    }

    #[tokio::test]
    async fn a_topic_keeping_its_latest_records_drops_the_oldest() {
        let bus = MemoryBus::new();
        bus.create_topic_with("dlq", 1, &HashMap::new(), Retention::Latest(2));
        for _ in 0..5 {
            bus.publish(record("dlq", "k")).await.unwrap();
        }
        let kept: Vec<i64> = bus.read("dlq", 0, 0, 10).iter().map(|r| r.offset).collect();
        assert_eq!(kept, [3, 4]);
    }

    #[tokio::test]
    async fn a_topic_created_from_offsets_numbers_its_records_from_them() {
        let bus = Arc::new(MemoryBus::new());
        bus.create_topic_with("input", 2, &HashMap::from([(1, 40)]), Retention::Forever);
        let first = bus.publish(record("input", "a")).await.unwrap();
        let expected = if first.partition == 1 { 40 } else { 0 };
        assert_eq!(first.offset, expected);
        assert_eq!(bus.offsets("input", 1).0, 40);
        let mut subscriber = bus.subscribe("input").unwrap();
        subscriber.seek(1, 40).await.unwrap();
        assert_eq!(subscriber.watermarks(1).await.unwrap().0, 40);
    }
}

/// What only the Kafka adapter has to get right: a group member whose broker hangs.
mod kafka_only {
    use std::time::Instant;

    use super::*;

    /// How long `close` may take: the adapter's bound (10 s) and some slack for a busy machine.
    const CLOSE_BOUND: Duration = Duration::from_secs(15);

    /// rdkafka's own drop of a group member polls until the coordinator has let it go, with no
    /// bound (rust-rdkafka #509): with the broker hanging that may be never, and a job's shutdown,
    /// or the runtime's under it, would hang there.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_member_whose_broker_hangs_closes_within_a_bound_and_drops_at_once() {
        let mut harness = Kafka::start().await;
        let record = OutgoingRecord::new(harness.topic(), "key", "value");
        harness.publisher().publish(record).await.unwrap();
        // Each in a group of its own, so each is assigned every partition and reads the record.
        let mut joined_then_closed = harness.subscriber();
        let mut joined_then_dropped = harness.subscriber();
        read_records(&mut *joined_then_closed, 1).await;
        read_records(&mut *joined_then_dropped, 1).await;
        let joining_then_dropped = harness.subscriber();
        // Not killed: a dead broker refuses connections and librdkafka gives up at once. One
        // that hangs (paused, or cut off) leaves its close waiting for answers.
        harness.broker.pause();

        for (what, member) in [
            ("a joined member", joined_then_dropped),
            ("a member still joining", joining_then_dropped),
        ] {
            let (dropped, on_dropped) = std::sync::mpsc::channel();
            // A thread of its own, so a drop that blocks fails this test instead of hanging it.
            std::thread::spawn(move || {
                drop(member);
                let _ = dropped.send(());
            });
            assert!(
                on_dropped.recv_timeout(Duration::from_secs(2)).is_ok(),
                "dropping {what} blocked with the broker hanging"
            );
        }

        let started = Instant::now();
        joined_then_closed.close().await;
        assert!(
            started.elapsed() < CLOSE_BOUND,
            "close took {:?}",
            started.elapsed()
        );
        assert!(joined_then_closed.next_event().await.is_err());
        assert!(joined_then_closed.commit(&[(0, 1)]).is_err());
    }
}
