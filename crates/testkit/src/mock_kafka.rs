//! librdkafka's built-in mock Kafka cluster, for group-coordination scenarios tansu 0.6 cannot play.
//!
//! tansu 0.6.0's group coordinator does not rebalance when a member joins, and gives a member that
//! joins next to a dead one an empty assignment for good; the mock's coordinator (classic protocol)
//! rebalances on every join, leave and expired session. It lives in the test's own process
//! (librdkafka threads; not `Send`, so keep it in the test's scope) but listens on a real loopback
//! port, so other processes can use it, and it keeps its records and groups in memory while the
//! broker is taken down and brought back up. Its sockets are inherited by child processes: start
//! them with [`crate::inherit_only_stdio`] (the kit's servers are), or a broker outage leaves
//! connections open through them.
//!
//! Its coordinator runs on the members' `session.timeout.ms` (10 s for wordfreq's consumers): a
//! killed member is evicted once its session expires, and every rebalance after the group's first
//! waits session timeout − 1 s for the members to rejoin, so a takeover takes about 20 s. The
//! group's first rebalance waits 3 s for more members to join.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

/// A one-broker mock Kafka cluster. Gone, with its records, when dropped.
pub struct MockKafka {
    cluster: MockCluster<'static, DefaultProducerContext>,
    bootstrap_servers: String,
}

impl MockKafka {
    /// Starts a mock cluster of one broker on a free loopback port.
    pub fn start() -> Self {
        let cluster = MockCluster::new(1).expect("starting librdkafka's mock Kafka cluster");
        let bootstrap_servers = cluster.bootstrap_servers();
        Self {
            cluster,
            bootstrap_servers,
        }
    }

    /// The broker's address for `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }

    /// Creates a topic. The mock has no admin API (CreateTopics); topics are made through it.
    pub fn create_topic(&self, name: &str, partitions: i32) {
        self.cluster
            .create_topic(name, partitions, 1)
            .unwrap_or_else(|err| panic!("creating topic {name} on the mock cluster: {err}"));
    }

    /// Takes the broker down: open connections are closed and new ones refused (same port, records
    /// and group state kept).
    pub fn broker_down(&self) {
        // -1: every broker, which here is the one.
        self.cluster
            .broker_down(-1)
            .expect("taking the mock broker down");
    }

    /// Brings the broker back up on the same port.
    pub fn broker_up(&self) {
        self.cluster
            .broker_up(-1)
            .expect("bringing the mock broker up");
    }
}
