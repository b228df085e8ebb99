//! `wordfreq`: the all-in-one launcher and text tools.

use anyhow::Context;
use clap::{CommandFactory, Parser};
use wordfreq::cli::{Cli, run_text_tool};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Some(command) => {
            run_text_tool(command).with_context(|| format!("wordfreq {}", command.name()))?;
        }
        None => Cli::command().print_long_help().context("printing help")?,
    }
    Ok(())
}
