#!/usr/bin/env bash
# Ingestion, side by side (issue 3): the ORIGINAL Python producer API (FastAPI + kafka-python, re-created
# in scripts/original-producer/) and OUR producer-api, both against the same tansu broker in one run,
# loaded by wrk with the same script (scripts/bench/submit.lua). Prints requests/s, p50, p99 and
# errors for each and the ratios ours/original; writes target/bench/api.json. Loopback only.
#
# Usage: scripts/bench-api.sh [--original-only]
#   --original-only   measure only the original (skips building and running ours)
# Environment: DURATION (seconds per measured run, default 20), CONNECTIONS (default 64),
#   WARMUP (seconds, default 3), TIMEOUT (wrk per-request timeout in seconds, default 10),
#   BENCH_BROKER (host:port of a running broker to use instead of starting one).
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
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

bench_dir=target/bench
logs=$bench_dir/logs
venv=$bench_dir/original-venv
mkdir -p "$logs"
source scripts/bench/lib.sh

need_debian wrk
need_servers
# Reinstalled only when requirements.txt changes.
mapfile -t requirements < <(grep -v '^#' scripts/original-producer/requirements.txt | grep .)
venv "$venv" "${requirements[@]}"

if ! $original_only; then
    build_release
fi

# The broker: BENCH_BROKER when scripts/bench.sh shares its own, else one started here.
shared_servers "$logs"
broker=$BENCH_BROKER
tansu topic create --broker "tcp://$broker" --partitions 3 user_text >>"$logs/tansu.log" 2>&1 || true

# --- the APIs --------------------------------------------------------------------------------
names=() ports=()

original_port=$(free_port)
step "original producer API (uvicorn, 1 worker) on 127.0.0.1:$original_port"
KAFKA_BOOTSTRAP_SERVERS=$broker background "$logs/original.log" "$venv/bin/uvicorn" app:app \
    --app-dir scripts/original-producer --host 127.0.0.1 --port "$original_port" --workers 1
wait_until 30 "original producer API" healthy "$original_port"
names+=(original) ports+=("$original_port")

if ! $original_only; then
    ours_port=$(free_port)
    step "our producer-api on 127.0.0.1:$ours_port"
    KAFKA_BOOTSTRAP_SERVERS=$broker KAFKA_TOPIC=user_text API_ADDR=127.0.0.1:$ours_port \
        background "$logs/ours.log" target/release/producer-api
    ours_pid=${bench_pids[-1]}
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
        -s scripts/bench/submit.lua "$url" >"$logs/$name-warmup.txt"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout "${TIMEOUT}s" --latency \
        -s scripts/bench/submit.lua "$url" | tee "$logs/$name-wrk.txt"
    # submit.lua's done() prints the one line that starts with '{'.
    grep '^{' "$logs/$name-wrk.txt" >"$bench_dir/api-$name.json"
done

# Peak memory of ours under that load, read before it is stopped.
OURS_PEAK_RSS_KIB=$($original_only || peak_rss_kib "$ours_pid")
export OURS_PEAK_RSS_KIB

# --- report ----------------------------------------------------------------------------------
python3 - "$DURATION" "$CONNECTIONS" "$THREADS" "$WARMUP" "${names[@]}" <<'PY'
import json, os, sys

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
             "warmup_s": warmup, "script": "scripts/bench/submit.lua", "broker": "tansu, SQLite storage",
             "topic": "user_text, 3 partitions"},
    "results": results,
}
if os.environ.get("OURS_PEAK_RSS_KIB"):
    report["ours_peak_rss_kib"] = int(os.environ["OURS_PEAK_RSS_KIB"])
    print(f"ours: peak RSS {report['ours_peak_rss_kib'] / 1024:.1f} MiB")
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
