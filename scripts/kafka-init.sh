#!/usr/bin/env bash
# Creates wordfreq's topics on the Kafka at KAFKA_BOOTSTRAP_SERVERS (default localhost:9092):
# `user_text` with KAFKA_PARTITIONS partitions (default 3), `user_text.dlq`, and the compacted
# `word_counts`. Idempotent: topics that exist are left as they are. Extra arguments go to
# `wordfreq init-topics` (see its --help). Uses `wordfreq` from PATH, else builds it with cargo.
set -euo pipefail

if command -v wordfreq >/dev/null 2>&1; then
    exec wordfreq init-topics "$@"
fi
cd "$(dirname "$0")/.."
exec cargo run --quiet --release --bin wordfreq -- init-topics "$@"
