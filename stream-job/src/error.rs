//! Why the stream job stops: the one error its loop, and each part the loop calls, returns.

/// Why the job stopped.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("invalid setting: {0}")]
    Settings(String),
    /// The store may evict the keys exactly-once depends on.
    #[error("refusing to count into this store: {0}")]
    EvictingStore(String),
    #[error("shutting down")]
    ShuttingDown,
}
