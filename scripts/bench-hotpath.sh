#!/usr/bin/env bash
# The hot path, measured in one run: criterion's tokenize + aggregate (MB/s and words/s) on 8 MiB
# generated corpora, then `wordfreq count` against `wc -w`, a straightforward C word counter
# (scripts/baselines/wordcount.c, built here), the original's rule in Python `re` + `Counter`
# (scripts/baselines/original_rule.py) and the original's engine, PySpark Structured Streaming over a
# file source (scripts/baselines/original_spark.py), on the same 100 MiB files (medians of 5 runs,
# 3 for Python, 1 for PySpark; peak memory). Prints a table and writes target/bench/hotpath.json.
# See docs/BENCHMARKS.md.
#
# Usage: scripts/bench-hotpath.sh [--no-criterion] [--no-spark]
set -euo pipefail
cd "$(dirname "$0")/.."

criterion=true spark=true
for arg in "$@"; do
    case $arg in
    --no-criterion) criterion=false ;;
    --no-spark) spark=false ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done
source scripts/bench/lib.sh
need_debian hyperfine
need_debian java openjdk-17-jre-headless
build_release
mkdir -p bench-data target/bench
ascii=bench-data/mostly-ascii-100m.txt
non_ascii=bench-data/non-ascii-100m.txt
[[ -s $ascii ]] || target/release/gen-corpus --size-mb 100 --words mostly-ascii >"$ascii"
[[ -s $non_ascii ]] || target/release/gen-corpus --size-mb 100 --words non-ascii >"$non_ascii"

cc -O2 -o target/bench/wordcount scripts/baselines/wordcount.c

if $criterion; then
    cargo bench --locked -p wordfreq-domain --bench hot_path -- --warm-up-time 1 --measurement-time 5 >target/bench/criterion.log 2>&1
fi

hyperfine --style basic --warmup 1 --runs 5 --export-json target/bench/count.json \
    -n "wordfreq count, mostly ASCII" "target/release/wordfreq count <$ascii >/dev/null" \
    -n "wc -w, mostly ASCII" "wc -w <$ascii >/dev/null" \
    -n "wordfreq count, non-ASCII" "target/release/wordfreq count <$non_ascii >/dev/null" \
    -n "wc -w, non-ASCII" "wc -w <$non_ascii >/dev/null" \
    -n "C word counter, mostly ASCII" "target/bench/wordcount <$ascii >/dev/null" \
    -n "C word counter, non-ASCII" "target/bench/wordcount <$non_ascii >/dev/null" >/dev/null
hyperfine --style basic --runs 3 --export-json target/bench/python.json \
    -n "Python re + Counter, mostly ASCII" "python3 scripts/baselines/original_rule.py <$ascii >/dev/null" \
    -n "Python re + Counter, non-ASCII" "python3 scripts/baselines/original_rule.py <$non_ascii >/dev/null" >/dev/null

# PySpark: each mix once, from a directory holding only that corpus, with a fresh checkpoint.
rm -f target/bench/spark-*.json
if $spark; then
    venv target/bench/pyspark-venv pyspark==3.5.7
    for mix in mostly-ascii non-ascii; do
        input=target/bench/spark-input/$mix
        rm -rf "$input" target/bench/spark-checkpoint && mkdir -p "$input"
        ln -s "$PWD/bench-data/$mix-100m.txt" "$input/corpus.txt"
        step "PySpark Structured Streaming, $mix (availableNow over a file source)"
        target/bench/pyspark-venv/bin/python scripts/baselines/original_spark.py "$input" \
            target/bench/spark-checkpoint 2>target/bench/spark-$mix.log | tail -1 >target/bench/spark-$mix.json
    done
fi

peak_kib() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
ascii_rss=$(peak_kib target/release/wordfreq count <"$ascii")
non_ascii_rss=$(peak_kib target/release/wordfreq count <"$non_ascii")

python3 - "$ascii" "$ascii_rss" "$non_ascii_rss" "$criterion" <<'PY'
import glob, json, os, statistics, sys

corpus, ascii_rss, non_ascii_rss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
mb = os.path.getsize(corpus) / 1e6
rows, report = [], {"locale": os.environ.get("LANG", "C"), "criterion": {}, "count": {}}

for path in sorted(glob.glob("target/criterion/hot_path_*/*/*/new/estimates.json")) if sys.argv[4] == "true" else []:
    bench_dir = os.path.dirname(os.path.dirname(path))
    spec = json.load(open(os.path.join(bench_dir, "new", "benchmark.json")))
    median_ns = json.load(open(path))["median"]["point_estimate"]
    (unit, amount), = spec["throughput"].items()
    per_second = amount / (median_ns / 1e9)
    name = spec["full_id"]
    value = f"{per_second / 1e6:8.1f} MB/s" if unit == "Bytes" else f"{per_second / 1e6:8.1f} M words/s"
    rows.append((name, value, ""))
    report["criterion"][name] = {"unit": unit, "per_second": per_second, "median_ns": median_ns}

results = {}
for export in ("target/bench/count.json", "target/bench/python.json"):
    results.update({r["command"]: statistics.median(r["times"]) for r in json.load(open(export))["results"]})
for mix in ("mostly ASCII", "non-ASCII"):
    ours, wc = results[f"wordfreq count, {mix}"], results[f"wc -w, {mix}"]
    c, python = results[f"C word counter, {mix}"], results[f"Python re + Counter, {mix}"]
    rows.append((f"wordfreq count, {mix} (100 MiB)", f"{mb / ours:8.1f} MB/s", f"{wc / ours:.2f}x wc -w, {c / ours:.2f}x C, {python / ours:.1f}x Python"))
    rows.append((f"wc -w, {mix} (100 MiB)", f"{mb / wc:8.1f} MB/s", ""))
    rows.append((f"C word counter, {mix} (100 MiB)", f"{mb / c:8.1f} MB/s", ""))
    rows.append((f"Python re + Counter, {mix} (100 MiB)", f"{mb / python:8.1f} MB/s", ""))
    report["count"][mix] = {
        "wordfreq_s": ours, "wc_s": wc, "c_s": c, "python_s": python,
        "ratio_vs_wc": wc / ours, "ratio_vs_c": c / ours, "ratio_vs_python": python / ours,
    }
    spark_file = f"target/bench/spark-{mix.lower().replace(' ', '-')}.json"
    if os.path.exists(spark_file):
        # The query's own time, from start() to its end; the JVM and session start are left out.
        spark = json.load(open(spark_file))["query_s"]
        rows.append((f"PySpark Structured Streaming, {mix} (100 MiB)", f"{mb / spark:8.1f} MB/s", f"ours {spark / ours:.0f}x faster"))
        report["count"][mix].update({"pyspark_s": spark, "ratio_vs_pyspark": spark / ours})
rows.append(("wordfreq count peak RSS, mostly ASCII", f"{ascii_rss / 1024:8.1f} MiB", ""))
rows.append(("wordfreq count peak RSS, non-ASCII", f"{non_ascii_rss / 1024:8.1f} MiB", ""))
report["count"]["peak_rss_kib"] = {"mostly ASCII": ascii_rss, "non-ASCII": non_ascii_rss}

width = max(len(r[0]) for r in rows)
for name, value, ratio in rows:
    print(f"{name:<{width}}  {value}  {ratio}")
json.dump(report, open("target/bench/hotpath.json", "w"), indent=2)
print("\nwritten: target/bench/hotpath.json")
PY
