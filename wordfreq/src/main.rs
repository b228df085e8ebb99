//! `wordfreq`: the whole system in one process (no subcommand), or a text tool.

mod system;

use anyhow::Context;
use clap::Parser;
use wordfreq::cli::{Cli, Command, InitTopicsArgs, run_text_tool};
use wordfreq_bus::{TopicSpec, ensure_topics};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = || tokio::runtime::Runtime::new().context("starting the async runtime");
    match cli.command {
        Some(Command::InitTopics(args)) => runtime()?.block_on(init_topics(args)),
        Some(command) => {
            run_text_tool(&command).with_context(|| format!("wordfreq {}", command.name()))
        }
        None => runtime()?.block_on(system::run(cli.system)),
    }
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
