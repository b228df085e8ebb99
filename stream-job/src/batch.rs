//! The batch being gathered between flushes: the offsets of each partition it covers, the words it
//! counted per window, and the dead letters it owes. Sealed, it becomes one [`FencedBatch`], which
//! the store applies whole or not at all: the exactly-once step of [`crate::job`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use wordfreq_bus::{IncomingRecord, OutgoingRecord};
use wordfreq_domain::record::format_timestamp;
use wordfreq_domain::{Batch, Timeliness, Tokenizer, Watermark, Window, Windows, decode_record};
use wordfreq_store::{Applied, FencedBatch, OffsetRange, Store};

use crate::error::JobError;
use crate::metrics::JobMetrics;
use crate::outputs::dead_letter;
use crate::retry::Retry;

/// The open batch, and what counting a record into it takes.
pub(crate) struct Batcher {
    tokenizer: Tokenizer,
    windows: Windows,
    open: OpenBatch,
    /// Names this instance in batch ids, so no two instances (or runs) name a batch alike.
    instance: String,
    flushes: u64,
}

/// The batch being gathered.
#[derive(Default)]
struct OpenBatch {
    counts: Batch,
    /// Partition → (the position the batch started from, the next offset after its last record).
    ranges: BTreeMap<i32, (i64, i64)>,
    dead_letters: Vec<OutgoingRecord>,
    /// Event times of the good records, for the end-to-end latency.
    event_times_ms: Vec<i64>,
}

/// A batch taken out of the open one, to be applied.
pub(crate) struct Sealed {
    batch: FencedBatch,
    event_times_ms: Vec<i64>,
    /// Each partition's next offset once the batch is applied.
    next_offsets: Vec<(i32, i64)>,
}

/// What the store did with a sealed batch.
pub(crate) enum Outcome {
    /// Applied; Kafka's committed offsets may mirror these now.
    Applied { next_offsets: Vec<(i32, i64)> },
    /// Refused whole: another instance counted some of these records first.
    Rejected,
}

impl Batcher {
    pub(crate) fn new(tokenizer: Tokenizer, windows: Windows) -> Self {
        Self {
            tokenizer,
            windows,
            open: OpenBatch::default(),
            instance: format!("{}-{}", std::process::id(), now_ms()),
            flushes: 0,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.open.ranges.is_empty()
    }

    /// Records in the open batch, good and bad.
    pub(crate) fn records(&self) -> u64 {
        self.open.counts.records() + self.open.counts.invalid_records()
    }

    /// The dead letters the open batch owes, to be published before it is applied.
    pub(crate) fn dead_letters(&mut self) -> &mut Vec<OutgoingRecord> {
        &mut self.open.dead_letters
    }

    /// Counts a record the partition's position admitted: `from` is where the batch's range of the
    /// partition starts if this is its first record in the batch (the store's offset). A record
    /// that cannot be counted becomes a dead letter. Returns the window it counted in when it came
    /// on time: that window's final result is still to be published.
    pub(crate) fn count(
        &mut self,
        record: IncomingRecord,
        from: i64,
        watermark: &mut Watermark,
    ) -> Option<Window> {
        let next = record.offset + 1;
        self.open
            .ranges
            .entry(record.partition)
            .and_modify(|range| range.1 = next)
            .or_insert((from, next));
        let now = now_ms();
        let broker_ms = record.timestamp_ms.unwrap_or(now);
        let decoded =
            decode_record(record.value.as_deref().unwrap_or_default()).and_then(|decoded| {
                let event_ms = decoded.event_time_ms(broker_ms)?;
                Ok((decoded.text, event_ms))
            });
        match decoded {
            Ok((text, event_ms)) => {
                let window = self.windows.window_of(event_ms);
                let (timeliness, on_time) = if watermark.is_late(&self.windows, event_ms) {
                    (Timeliness::Late, None)
                } else {
                    (Timeliness::OnTime, Some(window))
                };
                watermark.observe(record.partition, event_ms, now);
                self.open
                    .counts
                    .add_record(&self.tokenizer, &text, window, timeliness);
                self.open.event_times_ms.push(event_ms);
                on_time
            }
            Err(invalid) => {
                self.open.counts.add_invalid();
                self.open.dead_letters.push(dead_letter(&record, &invalid));
                None
            }
        }
    }

    /// Takes the open batch out as the next one to apply, and starts an empty one.
    pub(crate) fn seal(&mut self, topic: &str, window_retention: Duration) -> Sealed {
        let open = std::mem::take(&mut self.open);
        self.flushes += 1;
        let batch = FencedBatch {
            id: format!("{}-{}", self.instance, self.flushes),
            ranges: open
                .ranges
                .iter()
                .map(|(&partition, &(from, to))| OffsetRange {
                    topic: topic.to_owned(),
                    partition,
                    from,
                    to,
                })
                .collect(),
            counts: open.counts,
            flushed_at: format_timestamp(Utc::now()),
            window_retention_secs: window_retention.as_secs(),
        };
        Sealed {
            batch,
            event_times_ms: open.event_times_ms,
            next_offsets: open.ranges.iter().map(|(&p, &(_, to))| (p, to)).collect(),
        }
    }
}

impl Sealed {
    /// Applies the batch, retrying while the store is down or full, and counts the outcome.
    #[tracing::instrument(name = "apply", skip_all, fields(batch = %self.batch.id, records = self.batch.counts.records()))]
    pub(crate) async fn apply(
        self,
        store: &dyn Store,
        retry: &Retry,
        metrics: &JobMetrics,
    ) -> Result<Outcome, JobError> {
        let batch = self.batch;
        let started = Instant::now();
        match retry
            .store("applying a batch", || store.apply(&batch))
            .await?
        {
            Applied::Applied => {
                let counts = &batch.counts;
                metrics.applied(
                    counts.records(),
                    counts.invalid_records(),
                    counts.late_records(),
                    started.elapsed(),
                    &self.event_times_ms,
                    now_ms(),
                );
                tracing::debug!(batch = %batch.id, records = batch.counts.records(), "batch applied");
                Ok(Outcome::Applied {
                    next_offsets: self.next_offsets,
                })
            }
            Applied::Rejected {
                partition,
                stored,
                claimed,
                ..
            } => {
                tracing::warn!(batch = %batch.id, partition, ?stored, claimed, "batch rejected: another instance counted these records; re-seeking");
                metrics.rejected();
                Ok(Outcome::Rejected)
            }
        }
    }
}

/// The wall clock in Unix milliseconds: records' processing time, the watermark's clock, and the
/// end of the end-to-end latency.
pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}
