#!/usr/bin/env bash
# Runs wordfreq as separate services on this machine, the way a deployment runs them: a tansu
# broker (Kafka wire protocol, SQLite in DATA_DIR) and redis-server, the topics made by
# kafka-init.sh, then producer-api (:8000), stream-job (metrics on :9100) and dashboard (:8501),
# each a process of its own with its logs in DATA_DIR/logs. Ctrl-C stops them all.
#
# Needs tansu and redis-server on PATH (scripts/test.sh installs both). Data survives restarts
# (DATA_DIR, default target/services); delete the directory to start from nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

DATA_DIR="${DATA_DIR:-target/services}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
REDIS_PORT="${REDIS_PORT:-6379}"
mkdir -p "$DATA_DIR/logs"
DATA_DIR="$(cd "$DATA_DIR" && pwd)"

for tool in tansu redis-server; do
    command -v "$tool" >/dev/null || { echo "error: $tool is not on PATH; scripts/test.sh installs it" >&2; exit 1; }
done

pids=()
stop_all() {
    trap - EXIT INT TERM
    echo "stopping"
    # Services first (they flush), then Redis and the broker.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    done
}
trap stop_all EXIT INT TERM

start() { # name, command...
    local name=$1
    shift
    "$@" >"$DATA_DIR/logs/$name.log" 2>&1 &
    pids+=($!)
}

wait_for_port() { # port, what
    for _ in $(seq 1 200); do
        (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "error: $2 did not listen on port $1 within 20 s; see $DATA_DIR/logs" >&2
    exit 1
}

echo "building the release binaries"
cargo build --quiet --release --bin wordfreq --bin producer-api --bin stream-job --bin dashboard

mkdir -p "$DATA_DIR/tansu"
start tansu bash -c "cd '$DATA_DIR/tansu' && exec tansu broker \
    --listener-url tcp://127.0.0.1:$KAFKA_PORT --advertised-listener-url tcp://127.0.0.1:$KAFKA_PORT \
    --storage-engine sqlite://tansu.db"
start redis redis-server --port "$REDIS_PORT" --dir "$DATA_DIR" --appendonly yes --save ""
wait_for_port "$KAFKA_PORT" tansu
wait_for_port "$REDIS_PORT" redis-server

export KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
PATH="$PWD/target/release:$PATH" scripts/kafka-init.sh

start producer-api target/release/producer-api
start stream-job target/release/stream-job
start dashboard target/release/dashboard
wait_for_port 8000 producer-api
wait_for_port 8501 dashboard

cat <<INFO
wordfreq is running as separate services:
  dashboard     http://localhost:8501
  producer API  http://localhost:8000  (docs: http://localhost:8000/docs)
  stream job    http://localhost:9100/metrics
  Kafka $KAFKA_BOOTSTRAP_SERVERS (tansu), Redis $REDIS_URL; logs in $DATA_DIR/logs
Ctrl-C stops everything.
INFO
wait -n "${pids[@]}"
echo "a service exited; see $DATA_DIR/logs" >&2
