//! The flags of the whole system in one process (`wordfreq` with no subcommand): where the log and
//! the store are (in-process unless Kafka and Redis are given), the two addresses, and the
//! services' own settings, each with its environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use dashboard::DashboardSettings;
use producer_api::ApiSettings;
use stream_job::JobSettings;
use wordfreq_domain::names::{DEFAULT_REDIS_PREFIX, INPUT_TOPIC};
use wordfreq_runtime::LogArgs;

/// Runs the producer API, the stream job and the dashboard in this process.
#[derive(Debug, Clone, Args)]
pub struct SystemArgs {
    /// Use this Kafka (comma-separated host:port) instead of the in-process log.
    #[arg(
        long = "kafka",
        env = "KAFKA_BOOTSTRAP_SERVERS",
        value_name = "HOST:PORT"
    )]
    pub kafka: Option<String>,
    /// The topic submissions are written to and counted from.
    #[arg(long = "kafka-topic", env = "KAFKA_TOPIC", default_value = INPUT_TOPIC)]
    pub topic: String,
    /// Use this Redis (`redis://host:port/db`) instead of the in-process store.
    #[arg(
        long = "redis",
        env = "REDIS_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub redis_url: Option<String>,
    /// Use the Redis on this host (with REDIS_PORT), when REDIS_URL is not set.
    #[arg(long = "redis-host", env = "REDIS_HOST")]
    pub redis_host: Option<String>,
    #[arg(long = "redis-port", env = "REDIS_PORT", default_value_t = 6379)]
    pub redis_port: u16,
    /// Prefix of every Redis key.
    #[arg(long = "redis-prefix", env = "REDIS_PREFIX", default_value = DEFAULT_REDIS_PREFIX)]
    pub redis_prefix: String,
    /// Keep the in-process store's counts in this directory across restarts.
    #[arg(long = "data-dir", env = "DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the producer API.
    #[arg(long = "api-addr", env = "API_ADDR", default_value = "0.0.0.0:8000")]
    pub api_addr: SocketAddr,
    /// Address of the dashboard.
    #[arg(
        long = "dashboard-addr",
        env = "DASHBOARD_ADDR",
        default_value = "0.0.0.0:8501"
    )]
    pub dashboard_addr: SocketAddr,
    /// Serve the stream job's `/metrics` and `/health` here too (off unless set).
    #[arg(long = "metrics-addr", env = "METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Consumer group of the stream job, on Kafka.
    #[arg(long, env = "CONSUMER_GROUP", default_value = "wordfreq-stream-job")]
    pub consumer_group: String,
    #[command(flatten)]
    pub api: ApiSettings,
    #[command(flatten)]
    pub job: JobSettings,
    #[command(flatten)]
    pub dashboard: DashboardSettings,
    #[command(flatten)]
    pub log: LogArgs,
}

impl SystemArgs {
    /// The Redis to use, if any: REDIS_URL, else REDIS_HOST with REDIS_PORT.
    pub fn redis_url(&self) -> Option<String> {
        self.redis_url.clone().or_else(|| {
            self.redis_host
                .as_ref()
                .map(|host| format!("redis://{host}:{}/", self.redis_port))
        })
    }
}
