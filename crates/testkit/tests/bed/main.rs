//! Proves the test bed: the servers the kit starts are real, answer real clients, and survive the
//! stops and restarts that later chaos tests put them through.

use std::time::Duration;

use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use wordfreq_testkit::{KafkaBroker, Persistence, RedisServer, TestNames};

/// Bound on any wait for a server or a record.
const WAIT: Duration = Duration::from_secs(30);

async fn produce(broker: &KafkaBroker, topic: &str, key: &str, value: &str) -> (i32, i64) {
    let producer: FutureProducer = broker
        .client_config()
        .set("enable.idempotence", "true")
        .create()
        .expect("creating a producer");
    producer
        .send(FutureRecord::to(topic).key(key).payload(value), WAIT)
        .await
        .map(|delivery| (delivery.partition, delivery.offset))
        .unwrap_or_else(|(err, _)| panic!("producing to {topic}: {err}"))
}

/// Reads the first record of `topic` as a member of consumer group `group`.
async fn consume_first(
    broker: &KafkaBroker,
    topic: &str,
    group: &str,
) -> (String, String, i32, i64) {
    let consumer: StreamConsumer = broker
        .client_config()
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("creating a consumer");
    consumer.subscribe(&[topic]).expect("subscribing");
    let message = tokio::time::timeout(WAIT, consumer.recv())
        .await
        .unwrap_or_else(|_| panic!("no record on {topic} within {WAIT:?}"))
        .expect("consuming");
    let text =
        |bytes: Option<&[u8]>| String::from_utf8(bytes.unwrap_or_default().to_vec()).unwrap();
    (
        text(message.key()),
        text(message.payload()),
        message.partition(),
        message.offset(),
    )
}

#[tokio::test]
async fn a_record_produced_with_rdkafka_is_consumed_back_by_a_consumer_group() {
    let broker = KafkaBroker::start();
    let names = TestNames::new("bed");
    broker.create_topic(&names.topic, 3).await;

    let (partition, offset) = produce(&broker, &names.topic, "user_1", r#"{"text":"hello"}"#).await;
    let consumed = consume_first(&broker, &names.topic, &names.group).await;

    assert_eq!(
        consumed,
        (
            "user_1".into(),
            r#"{"text":"hello"}"#.into(),
            partition,
            offset
        )
    );
}

#[tokio::test]
async fn the_broker_keeps_its_records_across_a_restart() {
    let mut broker = KafkaBroker::start();
    let names = TestNames::new("bed-restart");
    broker.create_topic(&names.topic, 1).await;
    produce(&broker, &names.topic, "k", "kept").await;

    broker.restart();

    let (_, value, _, _) = consume_first(&broker, &names.topic, &names.group).await;
    assert_eq!(value, "kept");
}

#[tokio::test]
async fn redis_answers_and_an_append_only_redis_keeps_data_across_a_kill() {
    let mut redis = RedisServer::start_with(Persistence::AppendOnly);
    let names = TestNames::new("bed-redis");
    let key = format!("{}probe", names.redis_prefix);
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let pong: String = redis::cmd("PING")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(pong, "PONG");
    let () = redis::cmd("SET")
        .arg(&key)
        .arg("survives")
        .query_async(&mut connection)
        .await
        .unwrap();

    redis.kill();
    redis.restart();

    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let value: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(value, "survives");
}

#[tokio::test]
async fn a_redis_without_persistence_starts_empty_after_a_restart() {
    let mut redis = RedisServer::start();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("SET")
        .arg("probe")
        .arg("gone")
        .query_async(&mut connection)
        .await
        .unwrap();

    redis.restart();

    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let value: Option<String> = redis::cmd("GET")
        .arg("probe")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(value, None);
}
