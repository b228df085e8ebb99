//! Where the Kafka cluster is and how to reach it: the flags every binary that talks to Kafka
//! shares, and the client settings they make.

use clap::Args;
use rdkafka::ClientConfig;

use super::security::KafkaSecurity;
use crate::contract::BusError;

/// Where the Kafka cluster is; shared by every binary that talks to it.
#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers, comma-separated `host:port`.
    #[arg(
        long = "kafka-bootstrap-servers",
        visible_alias = "kafka",
        env = "KAFKA_BOOTSTRAP_SERVERS",
        default_value = "localhost:9092"
    )]
    pub bootstrap_servers: String,
    /// The topic submissions are written to and counted from.
    #[arg(long = "kafka-topic", env = "KAFKA_TOPIC", default_value = wordfreq_domain::names::INPUT_TOPIC)]
    pub topic: String,
    /// TLS and SASL; plaintext unless set.
    #[command(flatten)]
    pub security: KafkaSecurity,
}

impl Default for KafkaArgs {
    /// The flags' defaults: a local plaintext broker and the input topic.
    fn default() -> Self {
        Self {
            bootstrap_servers: "localhost:9092".into(),
            topic: wordfreq_domain::names::INPUT_TOPIC.into(),
            security: KafkaSecurity::default(),
        }
    }
}

impl KafkaArgs {
    /// The client settings every wordfreq client (producer, consumer, admin) shares, security
    /// included; fails when the security settings cannot work together.
    pub fn client_config(&self, client_id: &str) -> Result<ClientConfig, BusError> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.bootstrap_servers)
            .set("client.id", client_id);
        self.security.apply(&mut config)?;
        Ok(config)
    }
}
