#!/usr/bin/env bash
# Soak: wordfreq as separate release processes (tansu with SQLite storage, redis-server with AOF,
# producer-api, stream-job, dashboard) under `simulate_users load --rate RATE --duration DURATION
# --verify` for a long time, sampling every process's resident memory from /proc every
# SAMPLE_SECONDS. Passes when no submission failed, no service logged an error or a warning, no
# batch was rejected, and the counts in Redis are exactly what the API accepted.
#
#   scripts/soak.sh                          # 1,000 texts/s for 30 minutes
#   RATE=500 DURATION=2m scripts/soak.sh     # a short rehearsal
#
# Writes target/soak/ (or OUT): rss.csv (elapsed_s, service, rss_kib), simulate_users.json (its
# --report), soak.json (the figures: memory at start/middle/end, max and slope per service, errors,
# exactness), logs/, and bin/ (the binaries measured). Texts carry no marker words (--no-markers):
# one marker per text would add 1.8 million distinct words to the counts in 30 minutes and make
# memory grow by design. The ports are fixed (override with the variables below) and outside the
# range the test kit's free ports come from.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

RATE="${RATE:-1000}"
DURATION="${DURATION:-30m}"
SAMPLE_SECONDS="${SAMPLE_SECONDS:-10}"
OUT="${OUT:-target/soak}"
KAFKA_PORT="${SOAK_KAFKA_PORT:-19092}"
REDIS_PORT="${SOAK_REDIS_PORT:-16379}"
API_PORT="${SOAK_API_PORT:-18000}"
DASHBOARD_PORT="${SOAK_DASHBOARD_PORT:-18501}"
METRICS_PORT="${SOAK_METRICS_PORT:-19100}"

for tool in tansu redis-server redis-cli python3 curl; do
    command -v "$tool" >/dev/null || { echo "error: $tool is not on PATH (scripts/test.sh installs tansu and redis-server)" >&2; exit 1; }
done
for port in "$KAFKA_PORT" "$REDIS_PORT" "$API_PORT" "$DASHBOARD_PORT" "$METRICS_PORT"; do
    if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "error: port $port is in use; choose others with SOAK_*_PORT" >&2
        exit 1
    fi
done

rm -rf "$OUT"
mkdir -p "$OUT/logs" "$OUT/data/tansu" "$OUT/data/redis"
OUT="$(cd "$OUT" && pwd)"

echo "building the release binaries"
cargo build --quiet --release --bin wordfreq --bin producer-api --bin stream-job --bin dashboard --bin simulate_users
# Copied, so a rebuild during the soak (cargo replaces files in target/) cannot touch them.
mkdir -p "$OUT/bin"
for binary in wordfreq producer-api stream-job dashboard simulate_users; do
    cp "${CARGO_TARGET_DIR:-target}/release/$binary" "$OUT/bin/"
done
BIN="$OUT/bin"

names=()
pids=()
sampler=""
stop_all() {
    trap - EXIT INT TERM
    [[ -n "$sampler" ]] && kill "$sampler" 2>/dev/null || true
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
    "$@" >"$OUT/logs/$name.log" 2>&1 &
    names+=("$name")
    pids+=($!)
}

wait_for_port() { # port, what
    for _ in $(seq 1 300); do
        (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "error: $2 did not listen on port $1 within 30 s; see $OUT/logs" >&2
    exit 1
}

start tansu bash -c "cd '$OUT/data/tansu' && exec tansu broker \
    --listener-url tcp://127.0.0.1:$KAFKA_PORT --advertised-listener-url tcp://127.0.0.1:$KAFKA_PORT \
    --storage-engine sqlite://tansu.db"
start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$OUT/data/redis" \
    --appendonly yes --appendfsync everysec --save ""
wait_for_port "$KAFKA_PORT" tansu
wait_for_port "$REDIS_PORT" redis-server

export KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
export LOG_FORMAT=json RUST_LOG=info
"$BIN/wordfreq" init-topics >"$OUT/logs/init-topics.log" 2>&1

start producer-api env API_ADDR="127.0.0.1:$API_PORT" "$BIN/producer-api"
start stream-job env METRICS_ADDR="127.0.0.1:$METRICS_PORT" "$BIN/stream-job"
start dashboard env DASHBOARD_ADDR="127.0.0.1:$DASHBOARD_PORT" \
    PRODUCER_API_URL="http://127.0.0.1:$API_PORT" "$BIN/dashboard"
wait_for_port "$API_PORT" producer-api
wait_for_port "$METRICS_PORT" stream-job
wait_for_port "$DASHBOARD_PORT" dashboard

# One line per process per sample: seconds since the start, the process, its VmRSS in KiB. The
# bash wrapper of tansu exec'd the broker, so every pid is the service itself.
sample() {
    local started=$SECONDS
    echo "elapsed_s,service,rss_kib" >"$OUT/rss.csv"
    while true; do
        for i in "${!pids[@]}"; do
            local rss
            rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/${pids[i]}/status" 2>/dev/null || true)
            [[ -n "$rss" ]] && echo "$((SECONDS - started)),${names[i]},$rss" >>"$OUT/rss.csv"
        done
        sleep "$SAMPLE_SECONDS"
    done
}
sample &
sampler=$!

echo "soak: $RATE texts/s for $DURATION; every process's memory every ${SAMPLE_SECONDS}s into $OUT/rss.csv"
started_at=$(date -u +%FT%TZ)
set +e
"$BIN/simulate_users" load --rate "$RATE" --duration "$DURATION" --users 100 \
    --verify --no-markers --verify-timeout 120s --verify-settle 3s \
    --api-url "http://127.0.0.1:$API_PORT" --dashboard-url "http://127.0.0.1:$DASHBOARD_PORT" \
    --report "$OUT/simulate_users.json" 2>&1 | tee "$OUT/logs/simulate_users.log"
load_status=${PIPESTATUS[0]}
set -e
finished_at=$(date -u +%FT%TZ)
sleep "$SAMPLE_SECONDS" # one more sample after the load, at rest

# Every service still running? A crash during the soak is a failure whatever the counts say.
alive=()
for i in "${!pids[@]}"; do
    kill -0 "${pids[i]}" 2>/dev/null && alive+=("${names[i]}")
done
curl -s "http://127.0.0.1:$METRICS_PORT/metrics" >"$OUT/stream-job-metrics.txt" || true
curl -s "http://127.0.0.1:$API_PORT/metrics" >"$OUT/producer-api-metrics.txt" || true
redis-cli -p "$REDIS_PORT" --raw HGETALL '{wordfreq}:stats' >"$OUT/redis-stats.txt" || true
redis-cli -p "$REDIS_PORT" INFO memory >"$OUT/redis-memory.txt" || true
kill "$sampler" 2>/dev/null || true
sampler=""

python3 - "$OUT" "$RATE" "$DURATION" "$started_at" "$finished_at" "$load_status" "${alive[*]}" <<'PY'
import csv, json, os, re, sys
out, rate, duration, started_at, finished_at, load_status, alive = sys.argv[1:8]
services = ["tansu", "redis", "producer-api", "stream-job", "dashboard"]

samples = {}
with open(os.path.join(out, "rss.csv")) as f:
    for row in csv.DictReader(f):
        samples.setdefault(row["service"], []).append((int(row["elapsed_s"]), int(row["rss_kib"])))

def slope_mib_per_hour(points):
    # Least squares over the second half of the run: start-up (caches, pools, the first windows)
    # is over by then, so what remains is growth.
    points = points[len(points) // 2:]
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(r for _, r in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    if var == 0:
        return None
    cov = sum((t - mx) * (r - my) for t, r in points)
    return round(cov / var * 3600 / 1024, 2)

memory = {}
for service in services:
    points = samples.get(service, [])
    if not points:
        continue
    mib = lambda kib: round(kib / 1024, 1)
    memory[service] = {
        "start_mib": mib(points[0][1]),
        "middle_mib": mib(points[len(points) // 2][1]),
        "end_mib": mib(points[-1][1]),
        "max_mib": mib(max(r for _, r in points)),
        "slope_second_half_mib_per_hour": slope_mib_per_hour(points),
        "samples": len(points),
    }

log_problems = {}
for service in services:
    path = os.path.join(out, "logs", service + ".log")
    if service in ("tansu", "redis") or not os.path.exists(path):
        continue
    counts = {"ERROR": 0, "WARN": 0}
    examples = []
    with open(path, errors="replace") as f:
        for line in f:
            try:
                level = json.loads(line).get("level", "")
            except ValueError:
                continue
            if level in counts:
                counts[level] += 1
                if len(examples) < 5:
                    examples.append(line.strip()[:300])
    log_problems[service] = {"errors": counts["ERROR"], "warnings": counts["WARN"], "examples": examples}

def metric(name, labels=""):
    path = os.path.join(out, "stream-job-metrics.txt")
    text = open(path).read() if os.path.exists(path) else ""
    pattern = re.escape(name) + (re.escape(labels) if labels else r"(?:\{[^}]*\})?") + r" (\S+)"
    values = [float(v) for v in re.findall(r"^" + pattern + r"$", text, re.M)]
    return sum(values) if values else None

# HGETALL --raw: field and value on alternate lines.
lines = open(os.path.join(out, "redis-stats.txt")).read().splitlines()
stats = dict(zip(lines[0::2], lines[1::2]))

load = json.load(open(os.path.join(out, "simulate_users.json")))
verification = load.get("verification") or {}
records_processed = int(stats.get("records_processed", -1))
exact = (verification.get("verdict") == "matched"
         and records_processed == load["accepted"] + (verification.get("uncertain_stored") or 0))
rejected = metric("wordfreq_batches_total", '{outcome="rejected"}') or 0
errors = sum(p["errors"] for p in log_problems.values())
warnings = sum(p["warnings"] for p in log_problems.values())
missing = [s for s in ["tansu", "redis", "producer-api", "stream-job", "dashboard"] if s not in alive.split()]
passed = (int(load_status) == 0 and exact and load["accepted"] == load["sent"]
          and errors == 0 and warnings == 0 and rejected == 0 and not missing)
summary = {
    "passed": passed,
    "rate": float(rate), "duration": duration,
    "started_at": started_at, "finished_at": finished_at,
    "sent": load["sent"], "accepted": load["accepted"],
    "refused": load["refused"], "uncertain": load["uncertain"],
    "failure_reasons": load["failure_reasons"],
    "latency_ms": load["latency_ms"],
    "verdict": verification.get("verdict"),
    "verify_confirmed_after_s": verification.get("waited_s"),
    "expected_occurrences": verification.get("expected_occurrences"),
    "redis_records_processed": records_processed,
    "redis_total_words": int(stats.get("total_words", -1)),
    "exact": exact,
    "batches_applied": metric("wordfreq_batches_total", '{outcome="applied"}'),
    "batches_rejected": rejected,
    "log_errors": errors, "log_warnings": warnings, "log_problems": log_problems,
    "services_not_running_at_end": missing,
    "memory": memory,
}
json.dump(summary, open(os.path.join(out, "soak.json"), "w"), indent=2)

print(f"\nsoak {'PASSED' if passed else 'FAILED'}: {load['sent']} sent, {load['accepted']} accepted, "
      f"{load['refused'] + load['uncertain']} failed; counts {verification.get('verdict')}, "
      f"records_processed {records_processed}; {errors} errors and {warnings} warnings logged; "
      f"{int(rejected)} batches rejected")
print(f"{'process':<14}{'start':>9}{'middle':>9}{'end':>9}{'max':>9}  slope (2nd half)")
for service, m in memory.items():
    slope = m["slope_second_half_mib_per_hour"]
    print(f"{service:<14}{m['start_mib']:>8}M{m['middle_mib']:>8}M{m['end_mib']:>8}M{m['max_mib']:>8}M  "
          f"{'n/a' if slope is None else f'{slope:+} MiB/h'}")
if missing:
    print("not running at the end: " + ", ".join(missing))
print(f"figures in {out}/soak.json, memory samples in {out}/rss.csv")
sys.exit(0 if passed else 1)
PY
