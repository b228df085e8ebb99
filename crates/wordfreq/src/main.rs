//! `wordfreq`: the whole system in one process (no subcommand), or a text tool.

mod system;

use anyhow::Context;
use clap::Parser;
use wordfreq::cli::{Cli, run_text_tool};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Some(command) => {
            run_text_tool(command).with_context(|| format!("wordfreq {}", command.name()))
        }
        None => tokio::runtime::Runtime::new()
            .context("starting the async runtime")?
            .block_on(system::run(cli.system)),
    }
}
