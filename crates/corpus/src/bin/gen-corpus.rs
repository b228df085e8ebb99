//! Writes a deterministic corpus to stdout, for benchmarks: `gen-corpus --size-mb 100 > corpus.txt`.

use std::io::{BufWriter, Write};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use wordfreq_corpus::{Corpus, Mix};

#[derive(Parser)]
#[command(about = "Write a deterministic text corpus (Zipf vocabulary) to stdout")]
struct Args {
    /// Size of the corpus in MiB.
    #[arg(long, default_value_t = 100)]
    size_mb: usize,
    /// Which words to use.
    #[arg(long, value_enum, default_value_t = Words::MostlyAscii)]
    words: Words,
    /// Seed of the generator; the same seed gives the same corpus.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum Words {
    /// English-like words with 3% non-ASCII words.
    MostlyAscii,
    /// Only non-ASCII words.
    NonAscii,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mix = match args.words {
        Words::MostlyAscii => Mix::default(),
        Words::NonAscii => Mix::NonAscii,
    };
    let mut corpus = Corpus::new(mix, args.seed);
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut line = String::new();
    let mut written = 0;
    while written < args.size_mb << 20 {
        line.clear();
        corpus.write_line(&mut line);
        out.write_all(line.as_bytes())
            .context("writing the corpus to stdout")?;
        written += line.len();
    }
    out.flush().context("writing the corpus to stdout")?;
    Ok(())
}
