//! The stream job's flags; each has an environment variable and a default.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser};
use wordfreq_bus::KafkaArgs;
use wordfreq_service_kit::{LogArgs, TokenizerArgs};
use wordfreq_store::RedisArgs;

/// Counts the words of the input topic per event-time window and all-time, exactly once, into
/// Redis.
#[derive(Debug, Clone, Parser)]
#[command(name = "stream-job", version, about)]
pub struct JobArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub redis: RedisArgs,
    /// Consumer group; instances in one group split the partitions.
    #[arg(long, env = "CONSUMER_GROUP", default_value = "wordfreq-stream-job")]
    pub consumer_group: String,
    /// Static group membership (`group.instance.id`, KIP-345): a restarted instance takes back its
    /// own partitions without a rebalance. Must be unique in the group and stable across restarts
    /// of one instance; by default the host name and the metrics port (unique on a host, since
    /// two instances cannot share the port). Empty: a dynamic member.
    #[arg(long, env = "GROUP_INSTANCE_ID")]
    pub group_instance_id: Option<String>,
    /// Address of `/metrics` and `/health`.
    #[arg(long, env = "METRICS_ADDR", default_value = "0.0.0.0:9100")]
    pub metrics_addr: SocketAddr,
    /// Longest wait for the broker to acknowledge a dead-letter or result record.
    #[arg(long, env = "PRODUCE_TIMEOUT", value_parser = humantime::parse_duration, default_value = "5s")]
    pub produce_timeout: Duration,
    #[command(flatten)]
    pub settings: JobSettings,
    #[command(flatten)]
    pub log: LogArgs,
}

impl JobArgs {
    /// The `group.instance.id` to join with (`None`: a dynamic member), given the metrics port
    /// actually bound.
    pub fn instance_id(&self, metrics_port: u16) -> Option<String> {
        match &self.group_instance_id {
            Some(id) if id.is_empty() => None,
            Some(id) => Some(id.clone()),
            None => Some(format!("{}-{metrics_port}", host_name())),
        }
    }
}

/// This machine's (or container's) host name.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "stream-job".to_owned())
}

/// How the job counts; the embedded mode takes these too.
#[derive(Debug, Clone, Args)]
pub struct JobSettings {
    /// Length of the tumbling event-time windows (whole seconds).
    #[arg(long, env = "WINDOW_SIZE", value_parser = humantime::parse_duration, default_value = "60s")]
    pub window_size: Duration,
    /// How far behind the newest event time a record may be and still count in its window.
    #[arg(long, env = "ALLOWED_LATENESS", value_parser = humantime::parse_duration, default_value = "30s")]
    pub allowed_lateness: Duration,
    /// A partition silent this long stops holding the watermark back.
    #[arg(long, env = "IDLE_TIMEOUT", value_parser = humantime::parse_duration, default_value = "10s")]
    pub idle_timeout: Duration,
    /// Flush at least this often.
    #[arg(long, env = "TRIGGER_INTERVAL", value_parser = humantime::parse_duration, default_value = "100ms")]
    pub trigger_interval: Duration,
    /// Flush when a batch holds this many records, even before the trigger.
    #[arg(long, env = "BATCH_MAX_RECORDS", default_value_t = 10_000)]
    pub batch_max_records: u64,
    /// How long a window's counts are kept after its last change.
    #[arg(long, env = "WINDOW_RETENTION", value_parser = humantime::parse_duration, default_value = "24h")]
    pub window_retention: Duration,
    #[command(flatten)]
    pub tokenizer: TokenizerArgs,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            window_size: Duration::from_secs(60),
            allowed_lateness: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(10),
            trigger_interval: Duration::from_millis(100),
            batch_max_records: 10_000,
            window_retention: Duration::from_secs(24 * 3600),
            tokenizer: TokenizerArgs {
                min_word_length: wordfreq_domain::DEFAULT_MIN_WORD_LENGTH,
                stopwords: Vec::new(),
            },
        }
    }
}
