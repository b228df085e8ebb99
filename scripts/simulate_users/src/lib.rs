//! `simulate_users`: traffic for wordfreq's producer API, replacing the original's
//! `simulate_users.py` and `load_test.py`.
//!
//! - `simulate` (the default): one text at a time from `user_1` … `user_10`, forever.
//! - `load`: N users × M messages at once (closed loop), or `--rate R --duration D` on a fixed
//!   schedule (open loop); a results table; non-zero exit below `--min-success-rate`.
//! - `load --verify`: the dashboard's all-time counts must grow by exactly the words sent, and each
//!   text's marker word times how long it took to become visible.
//!
//! Every HTTP call is bounded; a service that does not answer is a clear error within seconds.

use tokio_util::sync::CancellationToken;

pub mod cli;
pub mod http;
pub mod load;
mod outcome;
pub mod report;
pub mod sent;
pub mod simulate;
pub mod summary;
pub mod texts;
pub mod verify;

pub use crate::cli::{Cli, Command};
pub use crate::outcome::{Conclusion, Error};

/// Runs the mode `cli` asks for until it ends or `stop` is cancelled (Ctrl-C).
pub async fn run(cli: Cli, stop: CancellationToken) -> Result<Conclusion, Error> {
    match cli.into_command() {
        Command::Simulate(args) => simulate::run(args, stop).await,
        Command::Load(args) => load::run(args, stop).await,
    }
}
