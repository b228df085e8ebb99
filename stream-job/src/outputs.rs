//! What the job owes Kafka besides the counts, both at least once: each record it cannot count, as
//! a dead letter on `user_text.dlq`, published before the batch that accounts for it is applied;
//! and the final top words of each window it counted in, on `word_counts`, once the watermark has
//! closed the window.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use wordfreq_bus::{IncomingRecord, OutgoingRecord, Publisher};
use wordfreq_domain::names::{DEAD_LETTER_TOPIC, RESULTS_TOPIC};
use wordfreq_domain::record::format_timestamp;
use wordfreq_domain::{InvalidRecord, Window};
use wordfreq_store::{Store, View};

use crate::error::JobError;
use crate::retry::Retry;

/// Top words published per closed window.
const RESULT_WORDS: usize = 100;

/// The record as it goes to the dead-letter topic: untouched, with why and where from in headers.
pub(crate) fn dead_letter(record: &IncomingRecord, invalid: &InvalidRecord) -> OutgoingRecord {
    OutgoingRecord {
        topic: DEAD_LETTER_TOPIC.to_owned(),
        key: record.key.clone(),
        value: record.value.clone().unwrap_or_default(),
        headers: vec![
            ("reason".into(), invalid.reason().as_bytes().to_vec()),
            ("error".into(), invalid.to_string().into_bytes()),
            ("source_topic".into(), record.topic.as_bytes().to_vec()),
            (
                "source_partition".into(),
                record.partition.to_string().into_bytes(),
            ),
            (
                "source_offset".into(),
                record.offset.to_string().into_bytes(),
            ),
        ],
    }
}

/// Publishes `letters` until the broker has acknowledged every one, retrying those it did not;
/// the acknowledged ones leave `letters`, so a flush cut short by a shutdown repeats only the rest.
#[tracing::instrument(skip_all, fields(dead_letters = letters.len()))]
pub(crate) async fn publish_dead_letters(
    letters: &mut Vec<OutgoingRecord>,
    publisher: &dyn Publisher,
    retry: &Retry,
) -> Result<(), JobError> {
    while !letters.is_empty() {
        let sends = letters
            .iter()
            .map(|record| publisher.publish(record.clone()));
        let outcomes = futures::future::join_all(sends).await;
        let mut outcomes = outcomes.into_iter();
        letters.retain(|_| outcomes.next().is_some_and(|outcome| outcome.is_err()));
        if !letters.is_empty() {
            tracing::warn!(
                pending = letters.len(),
                "dead letters not acknowledged; retrying"
            );
            retry.pause(Duration::from_millis(500)).await?;
        }
    }
    Ok(())
}

/// The windows this instance counted in whose final result it has not published yet.
#[derive(Default)]
pub(crate) struct WindowResults {
    unpublished: BTreeSet<Window>,
}

/// The final result of a closed window on `word_counts`.
#[derive(Debug, Serialize)]
struct WindowResult<'a> {
    window_start: String,
    window_end: String,
    words: Vec<WordCount<'a>>,
    total_words: u64,
}

#[derive(Debug, Serialize)]
struct WordCount<'a> {
    word: &'a str,
    count: u64,
}

impl WindowResults {
    /// A record was counted on time in `window`: its result is owed once the window closes.
    pub(crate) fn counted_in(&mut self, window: Window) {
        self.unpublished.insert(window);
    }

    /// Publishes the final top words of each owed window that `watermark` has closed. A failure
    /// is retried at the next flush.
    pub(crate) async fn publish_closed(
        &mut self,
        watermark: i64,
        store: &dyn Store,
        publisher: &dyn Publisher,
    ) {
        let closed: Vec<Window> = self
            .unpublished
            .iter()
            .copied()
            .take_while(|window| window.is_closed_by(watermark))
            .collect();
        for window in closed {
            match publish_window(window, store, publisher).await {
                Ok(()) => {
                    self.unpublished.remove(&window);
                }
                Err(err) => {
                    tracing::warn!(window = window.start_secs(), error = %err, "publishing a window result failed");
                    return;
                }
            }
        }
    }
}

#[tracing::instrument(skip_all, fields(window = window.start_secs()))]
async fn publish_window(
    window: Window,
    store: &dyn Store,
    publisher: &dyn Publisher,
) -> Result<(), String> {
    let counts = store
        .counts(&View::Windows(vec![window.start_secs()]))
        .await
        .map_err(|err| err.to_string())?;
    let as_time = |ms: i64| {
        DateTime::<Utc>::from_timestamp_millis(ms)
            .map(format_timestamp)
            .unwrap_or_default()
    };
    let result = WindowResult {
        window_start: as_time(window.start_ms),
        window_end: as_time(window.end_ms),
        words: counts
            .top(RESULT_WORDS)
            .into_iter()
            .map(|(word, count)| WordCount { word, count })
            .collect(),
        total_words: counts.total(),
    };
    let value = serde_json::to_vec(&result).expect("a window result always serializes");
    let record = OutgoingRecord::new(RESULTS_TOPIC, window.start_secs().to_string(), value);
    publisher
        .publish(record)
        .await
        .map(drop)
        .map_err(|err| err.to_string())
}
