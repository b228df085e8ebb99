//! The hot path: tokenize + aggregate over generated corpora, in MB/s and words/s.
//!
//! `cargo bench -p wordfreq-domain --bench hot_path`; figures go to docs/BENCHMARKS.md.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wordfreq_corpus::{Corpus, Mix};
use wordfreq_domain::{Tokenizer, WordCounts};

const CORPUS_BYTES: usize = 8 << 20;

fn corpora() -> [(&'static str, String); 2] {
    [
        (
            "mostly_ascii",
            Corpus::new(Mix::default(), 1).text(CORPUS_BYTES),
        ),
        (
            "non_ascii",
            Corpus::new(Mix::NonAscii, 1).text(CORPUS_BYTES),
        ),
    ]
}

fn tokenize_and_aggregate(text: &str, tokenizer: &Tokenizer) -> WordCounts {
    let mut counts = WordCounts::new();
    counts.add_text(tokenizer, text);
    counts
}

fn hot_path(c: &mut Criterion) {
    let tokenizer = Tokenizer::default();
    for (name, text) in corpora() {
        let words = tokenize_and_aggregate(&text, &tokenizer).total();
        for (unit, throughput) in [
            ("bytes", Throughput::Bytes(text.len() as u64)),
            ("words", Throughput::Elements(words)),
        ] {
            let mut group = c.benchmark_group(format!("hot_path_{unit}"));
            group.throughput(throughput);
            group.sample_size(20);
            group.bench_with_input(
                BenchmarkId::new("tokenize_aggregate", name),
                &text,
                |b, text| {
                    b.iter(|| tokenize_and_aggregate(text, &tokenizer));
                },
            );
            group.bench_with_input(BenchmarkId::new("tokenize_only", name), &text, |b, text| {
                b.iter(|| {
                    let mut tokens = 0usize;
                    tokenizer.for_each_token(text, |token| tokens += token.len());
                    tokens
                });
            });
            group.finish();
        }
    }
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
