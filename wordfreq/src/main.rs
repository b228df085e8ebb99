//! `wordfreq`: the whole system in one process (no subcommand), or a text tool.

use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use wordfreq::cli::{Cli, Command, InitTopicsArgs};
use wordfreq::system::{System, SystemArgs, Wiring};
use wordfreq_bus::{TopicSpec, ensure_topics};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = || tokio::runtime::Runtime::new().context("starting the async runtime");
    match cli.command {
        Some(Command::InitTopics(args)) => runtime()?.block_on(init_topics(args)),
        Some(Command::Text(tool)) => tool
            .run()
            .with_context(|| format!("wordfreq {}", tool.name())),
        None => runtime()?.block_on(run_system(cli.system)),
    }
}

/// Runs until Ctrl-C or SIGTERM, then stops the API, lets the job count what it accepted, and
/// stops the rest.
async fn run_system(args: SystemArgs) -> anyhow::Result<()> {
    wordfreq_service_kit::init_tracing(
        &args.log,
        "wordfreq=info,producer_api=info,stream_job=info,dashboard=info,wordfreq_bus=info,wordfreq_store=info",
    );
    let started = Instant::now();
    let system = System::start(args, Wiring::default()).await?;
    let (api, dashboard) = (system.api_addr.port(), system.dashboard_addr.port());
    println!(
        "wordfreq is running ({} ms to start):",
        started.elapsed().as_millis()
    );
    println!("  dashboard     http://localhost:{dashboard}");
    println!("  producer API  http://localhost:{api}  (docs: http://localhost:{api}/docs)");
    println!("  on {}; Ctrl-C stops it", system.backends());
    wordfreq_service_kit::shutdown_signal().await;
    system.stop().await?;
    Ok(())
}

/// Creates the topics and says what it did, one line per topic.
async fn init_topics(args: InitTopicsArgs) -> anyhow::Result<()> {
    let topics = TopicSpec::system(&args.kafka.topic, args.partitions);
    let outcomes = ensure_topics(&args.kafka, &topics, args.replication_factor, args.timeout)
        .await
        .with_context(|| format!("creating topics on {}", args.kafka.bootstrap_servers))?;
    for (topic, created) in outcomes {
        println!("{topic}: {}", if created { "created" } else { "exists" });
    }
    Ok(())
}
