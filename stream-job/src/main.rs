//! `stream-job`: parse flags, start logging, count on Kafka and Redis until SIGTERM.

use std::time::Duration;

use clap::Parser;
use stream_job::JobArgs;
use tokio_util::sync::CancellationToken;

/// How long a shutdown may take: the open batch's flush is bounded at 5 s, closing the Kafka
/// clients takes the rest. Under Docker's default 10 s stop grace.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = JobArgs::parse();
    wordfreq_service_kit::init_tracing(
        &args.log,
        "stream_job=info,wordfreq_bus=info,wordfreq_store=info",
    );
    let stop = CancellationToken::new();
    tokio::spawn({
        let stop = stop.clone();
        async move {
            wordfreq_service_kit::shutdown_signal().await;
            stop.cancel();
        }
    });
    wordfreq_service_kit::exit_if_still_running_after(
        stop.clone().cancelled_owned(),
        SHUTDOWN_GRACE,
    );
    stream_job::service::run(args, stop).await?;
    Ok(())
}
