#!/usr/bin/env bash
# The services under a steady load, as deployed: producer-api, stream-job and dashboard as separate
# release processes on one tansu broker and one redis-server, driven by
# `simulate_users load --rate RATE --duration DURATION --verify`, which stamps every text with a
# marker word and polls the dashboard until each is counted. Reports submit→visible p50/p99 (from
# sending a text to its marker first seen counted on the dashboard), whether the counts came out
# exact, and each service's peak RSS (VmHWM) over the run; writes target/bench/services.json. See
# docs/BENCHMARKS.md.
#
# Usage: scripts/bench-services.sh
# Environment: RATE (records/s, default 2000), DURATION (default 30s), POLL (dashboard poll interval
#   while verifying, default 50ms: each poll reads every marker seen so far, which loads Redis), BENCH_BROKER / BENCH_REDIS (running servers to use instead of
#   starting them), RUN_ID (names this run's topic, group and Redis prefix; default the time).
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-2000}
DURATION=${DURATION:-30s}
POLL=${POLL:-50ms}
RUN_ID=${RUN_ID:-$(date +%s)}
case ${1:-} in
-h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
"") ;;
*) echo "error: unknown argument: $1 (try --help)" >&2; exit 2 ;;
esac

bench_dir=target/bench
logs=$bench_dir/logs/services-$RUN_ID
mkdir -p "$logs"
source scripts/bench/lib.sh

build_release
shared_servers "$logs"

# A topic, group and key prefix of this run's own, so runs on one broker and Redis do not mix.
export KAFKA_BOOTSTRAP_SERVERS=$BENCH_BROKER KAFKA_TOPIC=bench_${RUN_ID}_user_text
export REDIS_URL=$BENCH_REDIS REDIS_PREFIX="{bench_$RUN_ID}:" CONSUMER_GROUP=bench-$RUN_ID
target/release/wordfreq init-topics >"$logs/init-topics.log" 2>&1

api_port=$(free_port) dashboard_port=$(free_port) metrics_port=$(free_port)
API_ADDR=127.0.0.1:$api_port background "$logs/producer-api.log" target/release/producer-api
api_pid=${bench_pids[-1]}
METRICS_ADDR=127.0.0.1:$metrics_port background "$logs/stream-job.log" target/release/stream-job
job_pid=${bench_pids[-1]}
DASHBOARD_ADDR=127.0.0.1:$dashboard_port PRODUCER_API_URL=http://127.0.0.1:$api_port \
    background "$logs/dashboard.log" target/release/dashboard
dashboard_pid=${bench_pids[-1]}
wait_until 30 "producer-api" healthy "$api_port"
wait_until 30 "dashboard" port_open "$dashboard_port"
wait_until 30 "stream-job" port_open "$metrics_port"

step "simulate_users load --rate $RATE --duration $DURATION --verify"
target/release/simulate_users load --api-url "http://127.0.0.1:$api_port" --seed 1 \
    --rate "$RATE" --duration "$DURATION" --verify --dashboard-url "http://127.0.0.1:$dashboard_port" \
    --poll-interval "$POLL" --report "$bench_dir/services-simulate.json" | tee "$logs/simulate_users.txt"

# The job's own view of the same records: API receipt (the record's timestamp) to the flush that
# made it visible in Redis, as Prometheus would read it; no polling in it.
curl -fsS --max-time 5 "http://127.0.0.1:$metrics_port/metrics" >"$logs/job-metrics.txt"
peak_api=$(peak_rss_kib "$api_pid") peak_job=$(peak_rss_kib "$job_pid")
peak_dashboard=$(peak_rss_kib "$dashboard_pid")
stop_background

python3 - "$RATE" "$DURATION" "$peak_api" "$peak_job" "$peak_dashboard" "$logs/simulate_users.txt" "$logs/job-metrics.txt" <<'PY'
import json, re, sys

rate, duration = float(sys.argv[1]), sys.argv[2]
peaks = dict(zip(("producer-api", "stream-job", "dashboard"), (int(kib) for kib in sys.argv[3:6])))
simulated = json.load(open("target/bench/services-simulate.json"))
# The percentiles of submit -> visible, as simulate_users prints them ("visible p50   234.8 ms").
printed = open(sys.argv[6]).read()
visible = {q: float(m.group(1)) for q in ("p50", "p99")
           if (m := re.search(rf"visible {q}\s+([0-9.]+) ms", printed))}
verification = simulated.get("verification") or {}


def quantile_ms(metrics, name, q):
    """A quantile of a Prometheus histogram: the upper bound of the bucket that holds it."""
    buckets = [(float(m.group(1)), int(float(m.group(2))))
               for m in re.finditer(rf'^{name}_bucket{{le="([^"]+)"}} (\S+)$', metrics, re.M)]
    total = buckets[-1][1] if buckets else 0
    return next((le * 1000 for le, count in buckets if total and count >= total * q), None)


metrics = open(sys.argv[7]).read()
counted = {q: quantile_ms(metrics, "wordfreq_end_to_end_seconds", float(f"0.{q[1:]}")) for q in ("p50", "p99")}
report = {
    "rate": rate, "duration": duration,
    "visible_ms": visible,
    "counted_ms_at_most": counted,
    "exact": verification.get("verdict") == "matched",
    "accepted": simulated.get("accepted"), "sent": simulated.get("sent"),
    "peak_rss_kib": peaks,
    "simulate_users": {k: v for k, v in simulated.items() if k != "verification"},
}
print(f"\nsubmit -> visible on the dashboard at {rate:.0f}/s for {duration}: p50 {visible.get('p50')} ms,"
      f" p99 {visible.get('p99')} ms; counts {'exact' if report['exact'] else 'NOT exact'}")
print(f"submit -> counted in Redis (the job's histogram): p50 <= {counted['p50']} ms, p99 <= {counted['p99']} ms")
for name, kib in peaks.items():
    print(f"peak RSS {name:<13} {kib / 1024:6.1f} MiB")
json.dump(report, open("target/bench/services.json", "w"), indent=2)
print("written: target/bench/services.json")
PY
