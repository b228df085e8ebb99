//! The names inside Redis that only the store reads and writes: the key layout of one deployment
//! (one prefix) and the fields of its stats hash, which `redis/apply_batch.lua` writes by the same
//! names.

use wordfreq_domain::names::DEFAULT_REDIS_PREFIX;

/// Fields of the stats hash.
pub mod stats {
    pub const TOTAL_WORDS: &str = "total_words";
    pub const RECORDS_PROCESSED: &str = "records_processed";
    pub const INVALID_RECORDS: &str = "invalid_records";
    pub const LATE_RECORDS: &str = "late_records";
    pub const BATCHES: &str = "batches";
    pub const LAST_UPDATED: &str = "last_updated";
}

/// The Redis keys of one deployment (one prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisKeys {
    prefix: String,
}

impl Default for RedisKeys {
    fn default() -> Self {
        Self::new(DEFAULT_REDIS_PREFIX)
    }
}

impl RedisKeys {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Sorted set of all-time counts.
    pub fn all_time(&self) -> String {
        format!("{}all", self.prefix)
    }

    /// Sorted set of one window's counts, named by its start in Unix seconds.
    pub fn window(&self, start_secs: i64) -> String {
        format!("{}win:{start_secs}", self.prefix)
    }

    /// The total of one window's counts (a string, expiring with the window), so a view's total
    /// is read without adding up every word.
    pub fn window_total(&self, start_secs: i64) -> String {
        format!("{}wintotal:{start_secs}", self.prefix)
    }

    /// Hash of the [`stats`] fields.
    pub fn stats(&self) -> String {
        format!("{}stats", self.prefix)
    }

    /// Hash of `<topic>:<partition>` → next offset to read.
    pub fn offsets(&self) -> String {
        format!("{}offsets", self.prefix)
    }

    /// Where a read builds the union of windows for a sliding view; it exists only while that
    /// read's script runs.
    pub fn scratch(&self) -> String {
        format!("{}scratch", self.prefix)
    }

    /// Pub/sub channel announcing each flush.
    pub fn updates(&self) -> String {
        format!("{}updates", self.prefix)
    }

    /// The field of [`RedisKeys::offsets`] for one partition.
    pub fn offset_field(topic: &str, partition: i32) -> String {
        format!("{topic}:{partition}")
    }

    /// The partition an [`RedisKeys::offset_field`] names, if the field is `topic`'s.
    pub fn partition_of(field: &str, topic: &str) -> Option<i32> {
        field.strip_prefix(topic)?.strip_prefix(':')?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_pinned_layout_under_the_default_prefix() {
        let keys = RedisKeys::default();
        assert_eq!(keys.all_time(), "{wordfreq}:all");
        assert_eq!(keys.window(1_700_000_040), "{wordfreq}:win:1700000040");
        assert_eq!(keys.stats(), "{wordfreq}:stats");
        assert_eq!(keys.offsets(), "{wordfreq}:offsets");
        assert_eq!(keys.updates(), "{wordfreq}:updates");
        assert_eq!(RedisKeys::offset_field("user_text", 2), "user_text:2");
        assert_eq!(RedisKeys::partition_of("user_text:2", "user_text"), Some(2));
        assert_eq!(
            RedisKeys::partition_of("user_text.dlq:2", "user_text"),
            None
        );
        assert_eq!(RedisKeys::partition_of("other:2", "user_text"), None);
    }
}
