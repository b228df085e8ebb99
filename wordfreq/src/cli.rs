//! The `wordfreq` command line.

use std::io;

use clap::{Parser, Subcommand};
use wordfreq_service_kit::TokenizerArgs;

use wordfreq_bus::KafkaArgs;
use wordfreq_domain::names::INPUT_PARTITIONS;

use crate::system::SystemArgs;
use crate::text_tools::{self, TextToolError};

/// Real-time word frequency analytics. With no subcommand, runs the whole system in this process:
/// the producer API (:8000), the stream job and the dashboard (:8501), on an in-process log and
/// store, or on Kafka and Redis with --kafka and --redis.
#[derive(Debug, Parser)]
#[command(
    name = "wordfreq",
    version,
    about,
    args_conflicts_with_subcommands = true,
    // The services' flags, said as the launcher reads them: unset means in-process, not the
    // services' defaults.
    mut_arg("bootstrap_servers", |arg| arg
        .help("Use this Kafka (comma-separated host:port) instead of the in-process log")
        .hide_default_value(true)),
    mut_arg("url", |arg| arg
        .help("Use this Redis (`redis://host:port/db`) instead of the in-process store")),
    mut_arg("host", |arg| arg
        .help("Use the Redis on this host (with REDIS_PORT), when REDIS_URL is not set")
        .hide_default_value(true)),
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub system: SystemArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Text(TextTool),
    /// Create wordfreq's topics on a Kafka broker (the input, its dead letters, the compacted
    /// window results); topics that exist are left as they are.
    InitTopics(InitTopicsArgs),
}

/// The tokenizer over standard input, for scripts and for checking the rule by hand.
#[derive(Debug, Subcommand)]
pub enum TextTool {
    /// Read lines from stdin; write each line's tokens joined by one space, one line per line.
    Tokenize(TokenizerArgs),
    /// Read text from stdin; write `word<TAB>count` lines, count descending then word ascending.
    Count(TokenizerArgs),
}

/// Where and how to create the topics.
#[derive(Debug, Clone, clap::Args)]
pub struct InitTopicsArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Partitions of the input topic: at most this many stream jobs share the work.
    #[arg(long, env = "KAFKA_PARTITIONS", default_value_t = INPUT_PARTITIONS)]
    pub partitions: i32,
    /// Copies of each partition (1 for a single broker).
    #[arg(long, env = "KAFKA_REPLICATION_FACTOR", default_value_t = 1)]
    pub replication_factor: i32,
    /// How long the broker may take.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "15s")]
    pub timeout: std::time::Duration,
}

impl TextTool {
    /// The subcommand as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Tokenize(_) => "tokenize",
            Self::Count(_) => "count",
        }
    }

    /// Runs the tool over stdin and stdout. A closed stdout (`wordfreq count | head`) ends it
    /// quietly.
    pub fn run(&self) -> Result<(), TextToolError> {
        let stdout = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
        let result = match self {
            Self::Tokenize(args) => {
                text_tools::tokenize(&args.tokenizer(), io::stdin().lock(), stdout)
            }
            Self::Count(args) => {
                text_tools::count(&args.tokenizer(), io::stdin().lock()).and_then(|counts| {
                    text_tools::write_counts(&counts, stdout).map_err(TextToolError::from)
                })
            }
        };
        match result {
            Err(TextToolError::Io(err)) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}
