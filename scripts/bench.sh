#!/usr/bin/env bash
# Performance, the whole of it in one command: wordfreq against the original and against the
# machine's limits, on the same generated corpus and the same broker, RUNS times (default 3), then
# one table of medians and ratios against the targets (target/bench/bench.json). Each run starts a
# fresh tansu broker and redis-server shared by every part of it:
#   1. hot path: `wordfreq count` vs `wc -w`, a C counter, Python re + Counter and PySpark Structured
#      Streaming (scripts/bench-hotpath.sh);
#   2. ingestion: producer-api vs the original FastAPI producer under wrk, 64 connections
#      (scripts/bench-api.sh);
#   3. pipeline: stream job vs a bare consumer of the same pre-filled topic, and end-to-end latency
#      at 2,000 records/s (`cargo bench -p stream-job --bench pipeline`);
#   4. services: submit→visible p50/p99 at 2,000 records/s through the three services as processes,
#      and each one's peak RSS (scripts/bench-services.sh);
# and once, after the runs, how the job scales with instances, partitions and vocabulary
# (`cargo bench -p stream-job --bench scaling`, target/bench/scaling.json).
# Needs tansu and redis-server (scripts/test.sh installs them); installs hyperfine, wrk and the Python
# baselines' virtualenvs (PyPI) itself. About 5 minutes per run on this 2-core machine.
#
# Usage: scripts/bench.sh [--runs N] [--quick]
#   --runs N   how many runs the medians are taken over (default 3)
#   --quick    one short run with smaller inputs, to check the script itself (figures not comparable)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3 quick=false
while (($#)); do
    case $1 in
    --runs) runs=${2:?--runs needs a number}; shift ;;
    --quick) quick=true runs=1 ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
if $quick; then
    export RECORDS=100000 STEADY_SECS=5 DURATION=5 WARMUP=1
    services_duration=5s spark=--no-spark
else
    services_duration=30s spark=
fi

source scripts/bench/lib.sh
need_debian hyperfine
need_debian wrk
need_servers
step "building every release binary and the pipeline benchmark"
build_release
cargo bench --locked -p stream-job --bench pipeline --bench scaling --no-run

out=target/bench/runs
rm -rf "$out"
started=$(date +%s)
for run in $(seq 1 "$runs"); do
    mkdir -p "$out/$run/logs"
    # Fresh servers for each run, shared by all of its parts (unless the caller named its own).
    (
        trap stop_background EXIT
        shared_servers "$out/$run/logs"
        step "run $run of $runs: hot path"
        scripts/bench-hotpath.sh --no-criterion $spark
        cp target/bench/hotpath.json "$out/$run/"
        step "run $run of $runs: ingestion"
        scripts/bench-api.sh
        cp target/bench/api.json "$out/$run/"
        step "run $run of $runs: pipeline"
        WORDFREQ_TEST_KAFKA=$BENCH_BROKER WORDFREQ_TEST_REDIS=$BENCH_REDIS \
            cargo bench --locked -p stream-job --bench pipeline
        cp target/bench/pipeline.json "$out/$run/"
        step "run $run of $runs: services at 2,000 records/s"
        RUN_ID=$started-$run RATE=2000 DURATION=$services_duration scripts/bench-services.sh
        cp target/bench/services.json "$out/$run/"
    )
done

python3 scripts/bench/report.py "$out" target/bench/bench.json

if ! $quick; then
    # How it scales: once, after the runs (about 5 minutes); its own table and scaling.json.
    step "scaling: job instances and partitions, memory as vocabulary grows"
    cargo bench --locked -p stream-job --bench scaling
fi
