//! Real servers for wordfreq's tests.
//!
//! [`RedisServer`] runs Debian's `redis-server` and [`KafkaBroker`] runs tansu (a Kafka
//! wire-compatible broker) on free loopback ports, wait until each answers, and stop them when
//! dropped. Both can be stopped, killed and restarted mid-test on the same port and data. When
//! `WORDFREQ_TEST_REDIS` or `WORDFREQ_TEST_KAFKA` is set, the tests use those servers instead (so
//! the same tests run against Apache Kafka). A missing server binary is a test failure, never a
//! skip. [`TestNames`] gives each test its own topic, consumer group and key prefix.
//!
//! Servers die with the thread that started them (and with the test process), so start them from
//! the test's own thread.

mod kafka_broker;
mod names;
mod process;
mod redis_server;

pub use kafka_broker::{EXTERNAL_KAFKA, KafkaBroker, TANSU_VERSION};
pub use names::TestNames;
pub use redis_server::{EXTERNAL_REDIS, Persistence, RedisServer};
