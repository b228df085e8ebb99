//! What every store adapter implements and every caller uses: the fenced batch and its outcome,
//! the views and their reads, the updates, the [`Store`] trait and the one error.

use std::collections::HashMap;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use wordfreq_domain::{Batch, TopWords, WordCounts, WordQuery};

use crate::eviction::MemoryStatus;

/// One partition's share of a batch: the records at offsets `from..to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetRange {
    pub topic: String,
    pub partition: i32,
    /// The first offset in the batch: must equal the stored next offset.
    pub from: i64,
    /// The next offset to read after the batch: stored when it is applied.
    pub to: i64,
}

/// Everything one flush changes, applied atomically or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FencedBatch {
    /// Names the batch in the updates channel and in logs.
    pub id: String,
    pub ranges: Vec<OffsetRange>,
    pub counts: Batch,
    /// When the batch was flushed, RFC 3339 UTC (the stats hash's `last_updated`).
    pub flushed_at: String,
    /// How long a window's counts are kept after its last change.
    pub window_retention_secs: u64,
}

/// Whether a batch was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Applied,
    /// A range did not start at the stored offset; nothing was changed.
    Rejected {
        topic: String,
        partition: i32,
        stored: Option<i64>,
        claimed: i64,
    },
}

/// The stats hash.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub total_words: u64,
    pub records_processed: u64,
    pub invalid_records: u64,
    pub late_records: u64,
    pub batches: u64,
    /// RFC 3339 UTC; `None` before the first batch.
    pub last_updated: Option<String>,
}

/// What the updates channel announces after each applied batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    pub batch_id: String,
    pub records: u64,
    pub total_words: u64,
    /// Starts (Unix seconds) of the windows the batch changed.
    pub windows: Vec<i64>,
    pub flushed_at: String,
}

impl Update {
    pub fn of(batch: &FencedBatch) -> Self {
        Self {
            batch_id: batch.id.clone(),
            records: batch.counts.records(),
            total_words: batch.counts.total_words(),
            windows: batch
                .counts
                .windows()
                .keys()
                .map(|window| window.start_secs())
                .collect(),
            flushed_at: batch.flushed_at.clone(),
        }
    }
}

/// Which counts to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    AllTime,
    /// The union of these windows (starts in Unix seconds).
    Windows(Vec<i64>),
}

/// Why the store could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or did not answer in time; retrying later may work.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The store refuses writes because it is full (Redis's `maxmemory` under `noeviction`):
    /// nothing was changed; retrying once memory is freed or the limit raised works.
    #[error("the store is full and refuses writes: {0}")]
    Full(String),
    /// The store answered something this code does not understand.
    #[error("the store answered unexpectedly: {0}")]
    Protocol(String),
}

/// Applies fenced batches and reads the counts back.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies `batch` if every range starts at the stored offset; otherwise changes nothing.
    async fn apply(&self, batch: &FencedBatch) -> Result<Applied, StoreError>;

    /// The stored next offset of each partition of `topic` the store has seen.
    async fn offsets(&self, topic: &str) -> Result<HashMap<i32, i64>, StoreError>;

    /// Every word of a view with its count.
    async fn counts(&self, view: &View) -> Result<WordCounts, StoreError>;

    /// The words of a view that `query` shows, ranked, with the view's totals; cheaper than
    /// [`Store::counts`] when only the top of a large view is wanted.
    async fn top(&self, view: &View, query: &WordQuery) -> Result<TopWords, StoreError>;

    /// The counts in a view of the given words (0 for a word it lacks), in their order; a lookup
    /// per word, not a read of the view.
    async fn count_words(&self, view: &View, words: &[String]) -> Result<Vec<u64>, StoreError>;

    async fn stats(&self) -> Result<Stats, StoreError>;

    /// Whether the store answers now.
    async fn check_health(&self) -> Result<(), StoreError>;

    /// How full the store is and what it drops when full.
    async fn memory(&self) -> Result<MemoryStatus, StoreError>;

    /// Announcements of the batches applied from now on. The stream ends when the store's
    /// connection is lost; subscribe again once it answers.
    async fn updates(&self) -> Result<BoxStream<'static, Update>, StoreError>;
}
