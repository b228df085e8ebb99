//! What every wordfreq binary shares: structured logging set-up, the one shutdown signal, the
//! metrics response, and the flags that more than one binary takes.

mod given;

pub use given::Given;

use clap::{Args, ValueEnum};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use wordfreq_domain::{DEFAULT_MIN_WORD_LENGTH, Tokenizer};

/// The tokenizer's settings, shared by every binary that counts.
#[derive(Debug, Clone, Args)]
pub struct TokenizerArgs {
    /// Drop tokens shorter than this many characters (the original's `length > 2`).
    #[arg(long, env = "MIN_WORD_LENGTH", default_value_t = DEFAULT_MIN_WORD_LENGTH)]
    pub min_word_length: usize,
    /// Words not to count, comma-separated; normalized like the text.
    #[arg(long, env = "STOPWORDS", value_delimiter = ',', default_value = "")]
    pub stopwords: Vec<String>,
}

impl TokenizerArgs {
    pub fn tokenizer(&self) -> Tokenizer {
        Tokenizer::new(self.min_word_length)
            .with_stopwords(self.stopwords.iter().filter(|word| !word.is_empty()))
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Logging flags, shared by the services.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Starts structured logging to stderr. The filter comes from `RUST_LOG`, defaulting to info for
/// this binary's crates and for HTTP request spans.
pub fn init_tracing(args: &LogArgs, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let registry = tracing_subscriber::registry().with(filter);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    // A second initialization (tests building several services in one process) is harmless.
    let _ = match args.log_format {
        LogFormat::Text => registry.with(fmt).try_init(),
        LogFormat::Json => registry.with(fmt.json().flatten_event(true)).try_init(),
    };
}

/// A metrics registry as `GET /metrics` answers it: the OpenMetrics text format, which Prometheus
/// reads.
pub fn metrics_response(
    registry: &prometheus_client::registry::Registry,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry)
        .expect("writing to a String cannot fail");
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Resolves on the first Ctrl-C or SIGTERM: the one shutdown signal every service waits on.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

/// Exits the process with an error `grace` after `shutdown_started` resolves, if it is still
/// running then. A shutdown flushes within seconds, but a broker that neither answers nor goes
/// away can hold librdkafka's close, and with it the process, forever; an orchestrator would
/// SIGKILL it after its own grace anyway, and this says why first. Nothing is lost by exiting: what
/// was not applied has no stored offset and is read again by the next owner of its partitions.
pub fn exit_if_still_running_after(
    shutdown_started: impl Future<Output = ()> + Send + 'static,
    grace: std::time::Duration,
) {
    tokio::spawn(async move {
        shutdown_started.await;
        tokio::time::sleep(grace).await;
        tracing::error!(
            grace_secs = grace.as_secs_f64(),
            "shutdown did not finish in time; exiting without it"
        );
        std::process::exit(1);
    });
}
