//! The `simulate_users` binary: parse the flags, turn Ctrl-C into a clean stop, run, exit 0 only
//! when the run passed.

use std::process::ExitCode;

use clap::Parser;
use simulate_users::{Cli, Conclusion};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let stop = CancellationToken::new();
    let stopping = stop.clone();
    tokio::spawn(async move {
        wordfreq_service_kit::shutdown_signal().await;
        stopping.cancel();
        // The first Ctrl-C stops cleanly (bounded by the HTTP timeout); a second one does not wait.
        wordfreq_service_kit::shutdown_signal().await;
        eprintln!("interrupted again: exiting now");
        std::process::exit(130);
    });
    match simulate_users::run(cli, stop)
        .await
        .map_err(anyhow::Error::from)
    {
        Ok(Conclusion::Passed) => ExitCode::SUCCESS,
        Ok(Conclusion::Failed(reasons)) => {
            for reason in reasons {
                eprintln!("FAILED: {reason}");
            }
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
