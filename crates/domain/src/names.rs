//! Names that tools and checks outside the code rely on (DESIGN.md, "Pinned names"): topics,
//! environment variables with their defaults, and the Redis key layout.

/// The topic the producer API writes submissions to.
pub const INPUT_TOPIC: &str = "user_text";
/// Compacted topic: the final top words of each closed window, keyed by window start.
pub const RESULTS_TOPIC: &str = "word_counts";
/// Records the stream job could not use, with the reason in the headers.
pub const DEAD_LETTER_TOPIC: &str = "user_text.dlq";
/// Partitions of the input topic when the system creates it.
pub const INPUT_PARTITIONS: i32 = 3;

/// Every environment variable a wordfreq binary reads, with its default (`""`: none): the list that
/// deployment files are to be checked against, so a variable is added here when a flag is added.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
    ("KAFKA_TOPIC", INPUT_TOPIC),
    ("KAFKA_SECURITY_PROTOCOL", "plaintext"),
    ("KAFKA_SASL_MECHANISM", ""),
    ("KAFKA_SASL_USERNAME", ""),
    ("KAFKA_SASL_PASSWORD", ""),
    ("KAFKA_SSL_CA_LOCATION", ""),
    ("KAFKA_SSL_CERTIFICATE_LOCATION", ""),
    ("KAFKA_SSL_KEY_LOCATION", ""),
    ("KAFKA_SSL_KEY_PASSWORD", ""),
    ("REDIS_URL", ""),
    ("REDIS_HOST", "localhost"),
    ("REDIS_PORT", "6379"),
    ("REDIS_USERNAME", ""),
    ("REDIS_PASSWORD", ""),
    ("REDIS_PREFIX", DEFAULT_REDIS_PREFIX),
    ("API_ADDR", "0.0.0.0:8000"),
    ("DASHBOARD_ADDR", "0.0.0.0:8501"),
    ("PRODUCER_API_URL", "http://localhost:8000"),
    ("METRICS_ADDR", "0.0.0.0:9100"),
    ("CONSUMER_GROUP", "wordfreq-stream-job"),
    // Default: the host name and the metrics port.
    ("GROUP_INSTANCE_ID", ""),
    ("WINDOW_SIZE", "60s"),
    ("ALLOWED_LATENESS", "30s"),
    ("TRIGGER_INTERVAL", "100ms"),
    ("MIN_WORD_LENGTH", "3"),
    ("STOPWORDS", ""),
    ("LOG_FORMAT", "text"),
    ("PRODUCE_TIMEOUT", "5s"),
    ("MAX_TEXT_CHARS", "100000"),
    ("MAX_BODY_BYTES", "1048576"),
    ("CORS_ALLOWED_ORIGINS", "*"),
    ("API_KEYS", ""),
    ("RATE_LIMIT_PER_SEC", "0"),
    ("IDLE_TIMEOUT", "10s"),
    ("BATCH_MAX_RECORDS", "10000"),
    ("WINDOW_RETENTION", "24h"),
    ("PRODUCER_API_KEY", ""),
    ("HEALTH_INTERVAL", "5s"),
    ("PUSH_INTERVAL", "250ms"),
    ("DATA_DIR", ""),
    ("KAFKA_PARTITIONS", "3"),
    ("KAFKA_REPLICATION_FACTOR", "1"),
    ("DASHBOARD_URL", "http://localhost:8501"),
    ("SIMULATE_HTTP_TIMEOUT", "10s"),
    ("SIMULATE_SEED", ""),
    ("SIMULATE_DELAY_MS", "1000..5000"),
    ("SIMULATE_COUNT", "0"),
    ("SIMULATE_USERS", "10"),
    ("SIMULATE_MESSAGES", "20"),
    ("SIMULATE_LOAD_DELAY_MS", "500..2000"),
    ("SIMULATE_RATE", ""),
    ("SIMULATE_DURATION", "30s"),
    ("SIMULATE_MAX_IN_FLIGHT", "1000"),
    ("SIMULATE_MIN_SUCCESS_RATE", "95"),
    ("SIMULATE_VERIFY", "false"),
    ("SIMULATE_VERIFY_TIMEOUT", "60s"),
    ("SIMULATE_VERIFY_SETTLE", "1s"),
    ("SIMULATE_POLL_INTERVAL", "100ms"),
    ("SIMULATE_NO_MARKERS", "false"),
    ("SIMULATE_REPORT", ""),
];

/// The Redis key prefix: the hash tag keeps every key in one Redis Cluster slot, so one Lua script
/// may touch them all.
pub const DEFAULT_REDIS_PREFIX: &str = "{wordfreq}:";

/// The Redis keys of one deployment (one prefix). Only the store uses them: this moves to
/// `wordfreq_store::keys` (which re-exports it meanwhile) once stream-job's scaling bench imports
/// it from there.
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

    /// Hash of the stats fields (`wordfreq_store::keys::stats`).
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
