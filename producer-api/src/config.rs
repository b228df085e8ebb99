//! The producer API's flags; each has an environment variable and a default.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser};
use wordfreq_bus::KafkaArgs;
use wordfreq_service_kit::LogArgs;

/// Accepts text over HTTP and writes it to Kafka, answering once the broker has it.
#[derive(Debug, Clone, Parser)]
#[command(name = "producer-api", version, about)]
pub struct ApiArgs {
    /// Address to listen on.
    #[arg(long = "addr", env = "API_ADDR", default_value = "0.0.0.0:8000")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub settings: ApiSettings,
    #[command(flatten)]
    pub log: LogArgs,
}

/// Everything about the API but where it listens and which bus it writes to; the embedded mode
/// takes these too.
#[derive(Debug, Clone, Args)]
pub struct ApiSettings {
    /// Longest wait for the broker's acknowledgement of a submission before answering 503.
    #[arg(long, env = "PRODUCE_TIMEOUT", value_parser = humantime::parse_duration, default_value = "5s")]
    pub produce_timeout: Duration,
    /// Longest accepted text, in characters (422 above).
    #[arg(long, env = "MAX_TEXT_CHARS", default_value_t = 100_000)]
    pub max_text_chars: usize,
    /// Largest accepted request body, in bytes (413 above).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Origins allowed to call the API from a browser, comma-separated; `*` allows any.
    #[arg(
        long,
        env = "CORS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = "*"
    )]
    pub cors_allowed_origins: Vec<String>,
    /// API keys, comma-separated. When set, submissions need one in `X-API-Key` or as a bearer
    /// token; health, docs and metrics stay open.
    #[arg(
        long,
        env = "API_KEYS",
        value_delimiter = ',',
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub api_keys: Vec<String>,
    /// Submissions allowed per second per client (API key, else IP address); 0 means no limit.
    #[arg(long, env = "RATE_LIMIT_PER_SEC", default_value_t = 0)]
    pub rate_limit_per_sec: u32,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            produce_timeout: Duration::from_secs(5),
            max_text_chars: 100_000,
            max_body_bytes: 1 << 20,
            cors_allowed_origins: vec!["*".into()],
            api_keys: Vec::new(),
            rate_limit_per_sec: 0,
        }
    }
}
