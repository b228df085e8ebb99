//! Names that tools and checks outside the code rely on (DESIGN.md, "Pinned names"): topics,
//! environment variables with their defaults, and the default Redis key prefix.

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
