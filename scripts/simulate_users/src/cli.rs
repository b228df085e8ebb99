//! The flags of `simulate_users`; each has an environment variable and a default, so compose and CI
//! only set variables.

use std::fmt;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use wordfreq_service_kit::TokenizerArgs;

/// Submits texts to the producer API as users would, or as a load test.
///
/// With no subcommand it runs `simulate`: one text at a time, forever, until Ctrl-C.
/// `load` sends N users × M messages at once (closed loop), or, with `--rate`, a steady rate for
/// `--duration` whatever the answers (open loop); both print a results table and can `--verify` that
/// the dashboard counted exactly what was sent.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "simulate_users",
    version,
    about,
    long_about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub simulate: SimulateArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// One text at a time from 10 users, a random pause between them, until Ctrl-C (the default).
    Simulate(SimulateArgs),
    /// A load test: N users × M messages at once, or a steady `--rate` for `--duration`; prints a
    /// results table and exits non-zero below `--min-success-rate` or on a `--verify` mismatch.
    Load(LoadArgs),
}

impl Cli {
    /// The mode to run: `simulate` when no subcommand was given.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Simulate(self.simulate))
    }
}

/// Where the producer API is and how to talk to it.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// The producer API's base URL.
    #[arg(
        long,
        env = "PRODUCER_API_URL",
        default_value = "http://localhost:8000"
    )]
    pub api_url: String,
    /// Sent as `X-API-Key` with every submission, when the API requires keys (its API_KEYS).
    #[arg(long, env = "PRODUCER_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Longest wait for any one HTTP answer; a down service fails fast, a hung one within this.
    #[arg(long, env = "SIMULATE_HTTP_TIMEOUT", value_parser = humantime::parse_duration, default_value = "10s")]
    pub http_timeout: Duration,
    /// Seed of the texts, users and pauses, to repeat a run; random (and printed) when not set.
    #[arg(long, env = "SIMULATE_SEED")]
    pub seed: Option<u64>,
}

/// `simulate`: the original `simulate_users.py`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Pause between submissions in milliseconds: `MIN..MAX` (random within, inclusive) or `MS`.
    #[arg(long, env = "SIMULATE_DELAY_MS", default_value = "1000..5000")]
    pub delay_ms: DelayRange,
    /// Stop after this many submissions; 0 runs until Ctrl-C.
    #[arg(long, env = "SIMULATE_COUNT", default_value_t = 0)]
    pub count: u64,
}

/// `load`: the original `load_test.py`, plus an open-loop rate and a check of the counts.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Users sending at once (`user_1` … `user_N`); with `--rate`, the user ids cycled through.
    #[arg(long, env = "SIMULATE_USERS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub users: u32,
    /// Messages each user sends, one after another (ignored with `--rate`).
    #[arg(long, env = "SIMULATE_MESSAGES", default_value_t = 20)]
    pub messages: u32,
    /// Each user's pause between its messages in milliseconds: `MIN..MAX` or `MS` (ignored with
    /// `--rate`).
    #[arg(long, env = "SIMULATE_LOAD_DELAY_MS", default_value = "500..2000")]
    pub delay_ms: DelayRange,
    /// Open loop: send this many texts per second, on schedule, whatever the answers.
    #[arg(long, env = "SIMULATE_RATE", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// How long to send at `--rate`.
    #[arg(long, env = "SIMULATE_DURATION", value_parser = humantime::parse_duration, default_value = "30s")]
    pub duration: Duration,
    /// With `--rate`, a send due while this many are unanswered is not made and counts as failed,
    /// so a stalled API cannot exhaust sockets.
    #[arg(long, env = "SIMULATE_MAX_IN_FLIGHT", default_value_t = 1000)]
    pub max_in_flight: usize,
    /// Exit non-zero when fewer than this percentage of submissions succeed.
    #[arg(long, env = "SIMULATE_MIN_SUCCESS_RATE", default_value_t = 95.0)]
    pub min_success_rate: f64,
    /// Also write the run's figures as JSON to this file: what was sent, accepted and refused (with
    /// the reasons), latencies, the verdict and, when verified, the exact counts expected.
    #[arg(long, env = "SIMULATE_REPORT")]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub verify: VerifyArgs,
}

/// `--verify`: did the dashboard count exactly what was sent?
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Check the dashboard's all-time counts grew by exactly the words sent, and time how long
    /// submissions take to become visible (each text carries a unique marker word).
    #[arg(long, env = "SIMULATE_VERIFY")]
    pub verify: bool,
    /// Verify the counts without a marker word in each text. Each marker is a word of its own, so
    /// a long run (1,000 texts/s for 30 minutes adds 1.8 million) would grow the counts without
    /// bound; without them, latencies are not timed and a text without a clear answer can only be
    /// allowed, not told stored or not.
    #[arg(long, env = "SIMULATE_NO_MARKERS")]
    pub no_markers: bool,
    /// The dashboard's base URL, read by `--verify`.
    #[arg(long, env = "DASHBOARD_URL", default_value = "http://localhost:8501")]
    pub dashboard_url: String,
    /// Longest wait, after the last answer, for the counts to match.
    #[arg(long, env = "SIMULATE_VERIFY_TIMEOUT", value_parser = humantime::parse_duration, default_value = "60s")]
    pub verify_timeout: Duration,
    /// Once the counts match, how long they must stay so (a late duplicate shows up here).
    #[arg(long, env = "SIMULATE_VERIFY_SETTLE", value_parser = humantime::parse_duration, default_value = "1s")]
    pub verify_settle: Duration,
    /// How often the dashboard is read while verifying.
    #[arg(long, env = "SIMULATE_POLL_INTERVAL", value_parser = humantime::parse_duration, default_value = "100ms")]
    pub poll_interval: Duration,
    /// The tokenizer the stream job counts with (MIN_WORD_LENGTH, STOPWORDS): the expected counts
    /// come from the same rule.
    #[command(flatten)]
    pub tokenizer: TokenizerArgs,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text.parse().map_err(|err| format!("{err}"))?;
    if rate.is_finite() && rate > 0.0 {
        Ok(rate)
    } else {
        Err("the rate must be a positive number of texts per second".into())
    }
}

/// A pause chosen at random within `min..=max` milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayRange {
    pub min_ms: u64,
    pub max_ms: u64,
}

impl DelayRange {
    pub fn millis(&self) -> RangeInclusive<u64> {
        self.min_ms..=self.max_ms
    }
}

impl FromStr for DelayRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number = |part: &str| {
            part.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{text}` is not MS or MIN..MAX in whole milliseconds"))
        };
        let (min_ms, max_ms) = match text.split_once("..") {
            Some((min, max)) => (number(min)?, number(max.trim_start_matches('='))?),
            None => {
                let fixed = number(text)?;
                (fixed, fixed)
            }
        };
        if min_ms > max_ms {
            return Err(format!("`{text}`: the minimum is above the maximum"));
        }
        Ok(Self { min_ms, max_ms })
    }
}

impl fmt::Display for DelayRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min_ms == self.max_ms {
            write!(f, "{}", self.min_ms)
        } else {
            write!(f, "{}..{}", self.min_ms, self.max_ms)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delay_is_a_range_or_a_fixed_number_of_milliseconds() {
        let range = |min_ms, max_ms| DelayRange { min_ms, max_ms };
        assert_eq!("500..2000".parse(), Ok(range(500, 2000)));
        assert_eq!("0..=5".parse(), Ok(range(0, 5)));
        assert_eq!("250".parse(), Ok(range(250, 250)));
        assert!("2000..500".parse::<DelayRange>().is_err());
        assert!("fast".parse::<DelayRange>().is_err());
        assert!("1.5..2".parse::<DelayRange>().is_err());
    }

    #[test]
    fn no_subcommand_means_simulate() {
        let cli = Cli::try_parse_from(["simulate_users", "--count", "3"]).unwrap();
        match cli.into_command() {
            Command::Simulate(args) => assert_eq!(args.count, 3),
            Command::Load(_) => panic!("expected simulate"),
        }
    }

    #[test]
    fn a_rate_must_be_positive() {
        assert!(Cli::try_parse_from(["simulate_users", "load", "--rate", "0"]).is_err());
        assert!(Cli::try_parse_from(["simulate_users", "load", "--rate", "-3"]).is_err());
        assert!(Cli::try_parse_from(["simulate_users", "load", "--rate", "2.5"]).is_ok());
    }

    #[test]
    fn the_flags_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
