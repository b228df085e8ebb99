//! The dashboard's flags; each has an environment variable and a default.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser};
use wordfreq_service_kit::LogArgs;
use wordfreq_store::RedisArgs;

/// Shows the live word counts and submits text through the producer API.
#[derive(Debug, Clone, Parser)]
#[command(name = "dashboard", version, about)]
pub struct DashboardArgs {
    /// Address to listen on.
    #[arg(long = "addr", env = "DASHBOARD_ADDR", default_value = "0.0.0.0:8501")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub redis: RedisArgs,
    /// The stream job's window length: the sliding views are made of these windows.
    #[arg(long, env = "WINDOW_SIZE", value_parser = humantime::parse_duration, default_value = "60s")]
    pub window_size: Duration,
    #[command(flatten)]
    pub settings: DashboardSettings,
    #[command(flatten)]
    pub log: LogArgs,
}

/// Everything about the dashboard but where it listens and which store it reads; the embedded mode
/// takes these too.
#[derive(Debug, Clone, Args)]
pub struct DashboardSettings {
    /// Where the producer API is, for submissions and its health.
    #[arg(
        long = "producer-api-url",
        env = "PRODUCER_API_URL",
        default_value = "http://localhost:8000"
    )]
    pub producer_api_url: String,
    /// API key sent with submissions, when the producer API requires one (its API_KEYS).
    #[arg(
        long = "producer-api-key",
        env = "PRODUCER_API_KEY",
        hide_env_values = true
    )]
    pub producer_api_key: Option<String>,
    /// The stream job's window length: the sliding views are made of these windows. Set from
    /// `DashboardArgs` (the embedded mode passes the job's own), so one process has one WINDOW_SIZE.
    #[arg(skip = Duration::from_secs(60))]
    pub window_size: Duration,
    /// How often the health of the producer API and the store is checked and pushed to browsers.
    #[arg(long, env = "HEALTH_INTERVAL", value_parser = humantime::parse_duration, default_value = "5s")]
    pub health_interval: Duration,
    /// Live browsers are sent at most one refresh per this interval, however often the job flushes.
    #[arg(long, env = "PUSH_INTERVAL", value_parser = humantime::parse_duration, default_value = "250ms")]
    pub push_interval: Duration,
}

impl Default for DashboardSettings {
    fn default() -> Self {
        Self {
            producer_api_url: "http://localhost:8000".into(),
            producer_api_key: None,
            window_size: Duration::from_secs(60),
            health_interval: Duration::from_secs(5),
            push_interval: Duration::from_millis(250),
        }
    }
}
