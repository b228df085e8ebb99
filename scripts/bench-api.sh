#!/usr/bin/env bash
# Ingestion, side by side (issue 3): the ORIGINAL Python producer API (FastAPI + kafka-python, re-created
# in scripts/original-producer/) and OUR producer-api, both against the same tansu broker in one run,
# loaded by wrk with the same script (scripts/bench-api/submit.lua). Prints requests/s, p50, p99 and
# errors for each and the ratios ours/original; writes target/bench/api.json. Loopback only.
#
# Usage: scripts/bench-api.sh [--original-only]
#   --original-only   measure only the original (skips building and running ours)
# Environment: DURATION (seconds per measured run, default 20), CONNECTIONS (default 64),
#   WARMUP (seconds, default 3), TIMEOUT (wrk per-request timeout in seconds, default 10).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-64}
WARMUP=${WARMUP:-3}
# wrk's default timeout is 2 s, and a request slower than that is counted as a timeout and left out of
# the latency figures, which would hide the original's tail. 10 s matches its own future.get(timeout=10).
TIMEOUT=${TIMEOUT:-10}
THREADS=2

original_only=false
for arg in "$@"; do
    case $arg in
    --original-only) original_only=true ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
bench_dir=target/bench
logs=$bench_dir/logs
venv=$bench_dir/original-venv
mkdir -p "$logs"

step() { printf '\n==> %s\n' "$*"; }

# --- tools -----------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
    step "installing wrk from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if ! command -v tansu >/dev/null; then
    echo "error: tansu (the Kafka wire-compatible broker) is not on PATH; scripts/test.sh installs it" \
        "(cargo install tansu --version 0.6.0 --locked --features dynostore,libsql)" >&2
    exit 1
fi

# --- the original's virtualenv ---------------------------------------------------------------
# Reinstalled only when requirements.txt changes: a stamp keeps the hash of the file it was built from.
requirements=scripts/original-producer/requirements.txt
stamp=$venv/.requirements.sha256
wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ ! -x $venv/bin/python || ! -f $stamp || $(cat "$stamp") != "$wanted" ]]; then
    step "virtualenv for the original: $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    echo "$wanted" >"$stamp"
fi

# --- our producer-api --------------------------------------------------------------------------
if ! $original_only; then
    step "cargo build --release -p producer-api"
    cargo build --release --locked -p producer-api
fi

# --- processes, cleaned up on every exit ------------------------------------------------------
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback port: bind port 0 and let the kernel choose. Another process could take it before
# we bind it again, which on this machine is unlikely enough.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_until SECONDS WHAT COMMAND...: retry COMMAND every 0.2 s until it succeeds, bounded.
wait_until() {
    local seconds=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            echo "error: $what not ready after ${seconds}s; logs in $logs/" >&2
            exit 1
        fi
        sleep 0.2
    done
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$1/health"; }

# --- the broker ------------------------------------------------------------------------------
# In-memory storage: nothing is written to disk, and each run starts from an empty broker.
broker_port=$(free_port)
broker=127.0.0.1:$broker_port
step "tansu broker on $broker"
tansu broker --listener-url "tcp://$broker" --advertised-listener-url "tcp://$broker" \
    --storage-engine memory://tansu/ >"$logs/tansu.log" 2>&1 &
pids+=($!)
wait_until 30 "tansu broker" port_open "$broker_port"
tansu topic create --broker "tcp://$broker" --partitions 3 user_text >>"$logs/tansu.log" 2>&1

# --- the APIs --------------------------------------------------------------------------------
names=() ports=()

original_port=$(free_port)
step "original producer API (uvicorn, 1 worker) on 127.0.0.1:$original_port"
KAFKA_BOOTSTRAP_SERVERS=$broker "$venv/bin/uvicorn" app:app --app-dir scripts/original-producer \
    --host 127.0.0.1 --port "$original_port" --workers 1 >"$logs/original.log" 2>&1 &
pids+=($!)
wait_until 30 "original producer API" healthy "$original_port"
names+=(original) ports+=("$original_port")

if ! $original_only; then
    ours_port=$(free_port)
    step "our producer-api on 127.0.0.1:$ours_port"
    KAFKA_BOOTSTRAP_SERVERS=$broker KAFKA_TOPIC=user_text API_ADDR=127.0.0.1:$ours_port \
        target/release/producer-api >"$logs/ours.log" 2>&1 &
    pids+=($!)
    wait_until 30 "our producer-api" healthy "$ours_port"
    names+=(ours) ports+=("$ours_port")
fi

# --- load ------------------------------------------------------------------------------------
# Sequential, so each API has the machine's two cores (shared with wrk and the broker) to itself.
for i in "${!names[@]}"; do
    name=${names[$i]} url="http://127.0.0.1:${ports[$i]}/submit_text"
    # The warm-up opens the producer's connections and fills its metadata caches; its figures are dropped.
    step "$name: warm-up ${WARMUP}s, then wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s $url"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" --timeout "${TIMEOUT}s" \
        -s scripts/bench-api/submit.lua "$url" >"$logs/$name-warmup.txt"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout "${TIMEOUT}s" --latency \
        -s scripts/bench-api/submit.lua "$url" | tee "$logs/$name-wrk.txt"
    # submit.lua's done() prints the one line that starts with '{'.
    grep '^{' "$logs/$name-wrk.txt" >"$bench_dir/api-$name.json"
done

# --- report ----------------------------------------------------------------------------------
python3 - "$DURATION" "$CONNECTIONS" "$THREADS" "$WARMUP" "${names[@]}" <<'PY'
import json, sys

duration, connections, threads, warmup = (int(a) for a in sys.argv[1:5])
names = sys.argv[5:]
results = {name: json.load(open(f"target/bench/api-{name}.json")) for name in names}


def errors(r):
    return r["non_2xx"] + sum(r["socket_errors"].values())


print(f"\n{'API':<10} {'requests/s':>11} {'p50 ms':>9} {'p99 ms':>9} {'requests':>9} {'errors':>7}")
for name, r in results.items():
    lat = r["latency_ms"]
    print(f"{name:<10} {r['requests_per_s']:>11.1f} {lat['p50']:>9.2f} {lat['p99']:>9.2f}"
          f" {r['requests']:>9} {errors(r):>7}")

report = {
    "load": {"tool": "wrk", "threads": threads, "connections": connections, "duration_s": duration,
             "warmup_s": warmup, "script": "scripts/bench-api/submit.lua", "broker": "tansu, memory storage",
             "topic": "user_text, 3 partitions"},
    "results": results,
}
if "ours" in results and "original" in results:
    ours, original = results["ours"], results["original"]
    report["ratios"] = {
        # Higher is better for throughput; lower is better for p99.
        "throughput_ours_over_original": ours["requests_per_s"] / original["requests_per_s"],
        "p99_ours_over_original": ours["latency_ms"]["p99"] / original["latency_ms"]["p99"],
    }
    print(f"\nours/original: throughput {report['ratios']['throughput_ours_over_original']:.2f}x,"
          f" p99 {report['ratios']['p99_ours_over_original']:.3f}x")

json.dump(report, open("target/bench/api.json", "w"), indent=2)
print("\nwritten: target/bench/api.json")
PY
