//! The shared vocabulary of wordfreq, with no I/O: the record on the topic, the tokenizer, event-time
//! windows and the watermark, batch aggregation, and the pinned names that cross service
//! boundaries (topics, environment variables). Every service and tool uses these, so they count
//! the same way everywhere.

pub mod aggregate;
pub mod names;
pub mod query;
pub mod record;
pub mod tokenizer;
pub mod window;

pub use aggregate::{Batch, Timeliness, WordCounts};
pub use query::{TopWords, Trend, WordQuery, trending};
pub use record::{DecodedRecord, InvalidRecord, TextRecord, decode_record};
pub use tokenizer::{DEFAULT_MIN_WORD_LENGTH, Tokenizer};
pub use window::{PartitionId, Watermark, Window, Windows};

/// Settings the domain refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("window size must be a whole, positive number of seconds, got {0:?}")]
    WindowSize(std::time::Duration),
}
