//! Topic administration: which topics wordfreq needs, and creating those that are missing.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

use super::args::KafkaArgs;
use super::security::describe;
use crate::contract::BusError;

/// A topic the system needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    /// Keeps the latest record per key only (`cleanup.policy=compact`).
    pub compacted: bool,
}

impl TopicSpec {
    /// wordfreq's topics: the input (`partitions` of them), its dead letters, and the compacted
    /// window results (one record per window, keyed by window start).
    pub fn system(input: &str, partitions: i32) -> Vec<Self> {
        let topic = |name: &str, partitions, compacted| Self {
            name: name.to_owned(),
            partitions,
            compacted,
        };
        vec![
            topic(input, partitions, false),
            topic(wordfreq_domain::names::DEAD_LETTER_TOPIC, 1, false),
            topic(wordfreq_domain::names::RESULTS_TOPIC, 1, true),
        ]
    }
}

/// Creates each topic that does not exist yet, leaving existing ones as they are; says, per
/// topic, whether it was created now.
pub async fn ensure_topics(
    args: &KafkaArgs,
    topics: &[TopicSpec],
    replication: i32,
    timeout: Duration,
) -> Result<Vec<(String, bool)>, BusError> {
    let admin: AdminClient<DefaultClientContext> = args
        .client_config("wordfreq-topics")?
        .create()
        .map_err(|err| BusError::Unavailable(describe(&err)))?;
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|topic| {
            let new = NewTopic::new(
                &topic.name,
                topic.partitions,
                TopicReplication::Fixed(replication),
            );
            if topic.compacted {
                new.set("cleanup.policy", "compact")
            } else {
                new
            }
        })
        .collect();
    let options = AdminOptions::new()
        .operation_timeout(Some(timeout))
        .request_timeout(Some(timeout));
    let results = admin
        .create_topics(&new_topics, &options)
        .await
        .map_err(|err| BusError::Unavailable(err.to_string()))?;
    results
        .into_iter()
        .map(|result| match result {
            Ok(name) => Ok((name, true)),
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => Ok((name, false)),
            Err((name, code)) => Err(BusError::Rejected(format!("creating {name}: {code}"))),
        })
        .collect()
}
