//! Real servers for wordfreq's tests.
//!
//! [`RedisServer`] runs Debian's `redis-server` and [`KafkaBroker`] runs tansu (a Kafka
//! wire-compatible broker) on free loopback ports, wait until each answers, and stop them when
//! dropped. Both can be stopped, killed and restarted mid-test on the same port and data. When
//! `WORDFREQ_TEST_REDIS` or `WORDFREQ_TEST_KAFKA` is set, the tests use those servers instead (so
//! the same tests run against Apache Kafka). A missing server binary is a test failure, never a
//! skip. [`TestNames`] gives each test its own topic, consumer group and key prefix. [`MockKafka`]
//! is librdkafka's in-process mock cluster, for the group-coordination scenarios tansu 0.6 cannot
//! play.
//!
//! Servers die with the thread that started them (and with the test process), so start them from
//! the test's own thread. They inherit no file descriptor but stdio; start other child processes
//! with [`inherit_only_stdio`] too when a [`MockKafka`] may be running. [`init_test_log`] shows the
//! in-process services' logs when `TEST_LOG` is set.

mod bench;
mod kafka_broker;
mod mock_kafka;
mod names;
mod process;
mod rebalance;
mod redis_server;
mod test_log;

pub use bench::{bench_setting, percentile_ms, write_bench_report};
pub use kafka_broker::{EXTERNAL_KAFKA, KafkaBroker, TANSU_VERSION};
pub use mock_kafka::MockKafka;
pub use names::TestNames;
pub use process::{free_port, inherit_only_stdio};
pub use rebalance::Rebalance;
pub use redis_server::{EXTERNAL_REDIS, Persistence, RedisServer};
pub use test_log::init_test_log;
