//! What the stream job's benchmarks share: records as the producer API writes them, and filling a
//! topic with them.

use serde_json::json;
use wordfreq_bus::{KafkaPublisher, OutgoingRecord, Publisher};
use wordfreq_corpus::{Corpus, Mix};

/// A record of 5 to 40 words from `corpus`, stamped `event_ms`.
pub fn record(corpus: &mut Corpus, n: u64, event_ms: i64) -> Vec<u8> {
    let wanted = 5 + (n * 7919 % 36) as usize;
    let mut words: Vec<String> = Vec::with_capacity(wanted);
    while words.len() < wanted {
        words.extend(corpus.sentence().split_whitespace().map(str::to_owned));
    }
    words.truncate(wanted);
    record_of(&words.join(" "), n, event_ms)
}

/// A record of `text` from user `n % 100`, stamped `event_ms`.
pub fn record_of(text: &str, n: u64, event_ms: i64) -> Vec<u8> {
    let timestamp = chrono::DateTime::from_timestamp_millis(event_ms).unwrap();
    serde_json::to_vec(&json!({
        "text": text,
        "user_id": format!("user_{}", n % 100),
        "timestamp": wordfreq_domain::record::format_timestamp(timestamp),
    }))
    .unwrap()
}

/// Publishes every value, keyed by user as the producer API keys them, and waits for each to be
/// acknowledged.
pub async fn publish_all(publisher: &KafkaPublisher, topic: &str, values: Vec<Vec<u8>>) {
    let sends = values.into_iter().enumerate().map(|(n, value)| {
        publisher.publish(OutgoingRecord::new(
            topic,
            format!("user_{}", n % 100),
            value,
        ))
    });
    for outcome in futures::future::join_all(sends).await {
        outcome.expect("filling the topic");
    }
}

/// Fills `topic` with `records` records from the default corpus, all stamped now, in chunks of
/// 20,000 published at once.
pub async fn fill_topic(publisher: &KafkaPublisher, topic: &str, records: u64) {
    let mut corpus = Corpus::new(Mix::default(), 1);
    let now = chrono::Utc::now().timestamp_millis();
    for chunk_start in (0..records).step_by(20_000) {
        let values = (chunk_start..(chunk_start + 20_000).min(records))
            .map(|n| record(&mut corpus, n, now))
            .collect();
        publish_all(publisher, topic, values).await;
    }
}
