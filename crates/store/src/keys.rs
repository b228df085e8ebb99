//! The names inside Redis that only the store reads and writes: the key layout of one deployment
//! (one prefix) and the fields of its stats hash, which `redis/apply_batch.lua` writes by the same
//! names.

/// Fields of the stats hash.
pub mod stats {
    pub const TOTAL_WORDS: &str = "total_words";
    pub const RECORDS_PROCESSED: &str = "records_processed";
    pub const INVALID_RECORDS: &str = "invalid_records";
    pub const LATE_RECORDS: &str = "late_records";
    pub const BATCHES: &str = "batches";
    pub const LAST_UPDATED: &str = "last_updated";
}

// Still defined in wordfreq-domain because stream-job's scaling bench imports it from there; the
// definition moves here once the bench imports `wordfreq_store::keys::RedisKeys` (a re-export the
// other way round is impossible: the domain cannot depend on the store).
pub use wordfreq_domain::names::RedisKeys;
