"""The table `scripts/bench.sh` prints: medians over its runs of every figure and ratio, each against
its target from issue 8, written also as JSON.

Usage: python3 report.py RUNS_DIR OUTPUT_JSON"""
import json
import pathlib
import statistics
import sys

runs_dir, output = pathlib.Path(sys.argv[1]), sys.argv[2]
runs = [
    {part: json.loads((run / f"{part}.json").read_text()) for part in ("hotpath", "api", "pipeline", "services")}
    for run in sorted(runs_dir.iterdir(), key=lambda path: int(path.name))
]


def median(pick):
    """The median over the runs that have this figure; None when none has it."""
    values = [value for value in map(pick, runs) if value is not None]
    return statistics.median(values) if values else None


rows = []  # (section, figure, value, target, met)


def row(section, figure, value, unit, target="", met=None):
    text = "n/a" if value is None else f"{value:,.1f} {unit}".strip()
    rows.append({"section": section, "figure": figure, "median": value, "unit": unit, "shown": text,
                 "target": target, "met": met})


corpus_mb = 104_857_600 / 1e6  # bench-data/*-100m.txt, as gen-corpus writes them (100 MiB)
for mix in ("mostly ASCII", "non-ASCII"):
    count = lambda key: median(lambda run: run["hotpath"]["count"][mix].get(key))
    row("hot path", f"wordfreq count, {mix}", corpus_mb / count("wordfreq_s"), "MB/s")
    row("hot path", f"  vs wc -w", count("ratio_vs_wc"), "x")
    vs_c = count("ratio_vs_c")
    row("hot path", f"  vs C word counter", vs_c, "x", ">= 1.5x", vs_c >= 1.5)
    row("hot path", f"  vs Python re + Counter", count("ratio_vs_python"), "x")
    vs_spark = count("ratio_vs_pyspark")
    row("hot path", f"  vs PySpark Structured Streaming", vs_spark, "x", ">= 50x",
        None if vs_spark is None else vs_spark >= 50)
    row("hot path", f"  peak RSS", median(lambda run: run["hotpath"]["count"]["peak_rss_kib"][mix]) / 1024, "MiB")

api = lambda name, pick: median(lambda run: pick(run["api"]["results"][name]))
for name in ("ours", "original"):
    row("ingestion (wrk, 64 connections)", f"{name}: requests/s", api(name, lambda r: r["requests_per_s"]), "/s")
    row("ingestion (wrk, 64 connections)", f"{name}: p99", api(name, lambda r: r["latency_ms"]["p99"]), "ms")
throughput = median(lambda run: run["api"]["ratios"]["throughput_ours_over_original"])
p99_ratio = median(lambda run: run["api"]["ratios"]["p99_ours_over_original"])
row("ingestion (wrk, 64 connections)", "ours / original, requests/s", throughput, "x", ">= 10x", throughput >= 10)
row("ingestion (wrk, 64 connections)", "ours / original, p99", p99_ratio, "x", "< 1x", p99_ratio < 1)
api_peak = median(lambda run: run["api"].get("ours_peak_rss_kib"))
if api_peak is not None:
    row("ingestion (wrk, 64 connections)", "ours: peak RSS under wrk", api_peak / 1024, "MiB", "< 100 MB",
        api_peak / 1024 * 1.048576 < 100)

pipeline = lambda key: median(lambda run: run["pipeline"][key])
pipeline_section = f"pipeline ({pipeline('records'):,.0f} records, 3 partitions)"
row(pipeline_section, "bare consumer", pipeline("bare_consumer_rate"), "records/s")
row(pipeline_section, "stream job into Redis", pipeline("job_rate"), "records/s")
share = pipeline("job_share_of_bare")
row(pipeline_section, "job / bare consumer", share * 100, "%", ">= 80%", share >= 0.8)
row(pipeline_section, "event -> flushed p99 at 2,000/s", pipeline("end_to_end_p99_ms_at_most"), "ms")

services = lambda pick: median(lambda run: pick(run["services"]))
counted = lambda q: services(lambda s: s.get("counted_ms_at_most", {}).get(q))
row("services at 2,000 records/s", "submit -> in Redis p50 (job, <=)", counted("p50"), "ms")
row("services at 2,000 records/s", "submit -> in Redis p99 (job, <=)", counted("p99"), "ms", "< 250 ms",
    None if counted("p99") is None else counted("p99") < 250)
row("services at 2,000 records/s", "submit -> seen on dashboard p50", services(lambda s: s["visible_ms"]["p50"]), "ms")
visible_p99 = services(lambda s: s["visible_ms"]["p99"])
row("services at 2,000 records/s", "submit -> seen on dashboard p99", visible_p99, "ms", "< 250 ms",
    None if visible_p99 is None else visible_p99 < 250)
exact = all(run["services"].get("exact") for run in runs)
rows.append({"section": "services at 2,000 records/s", "figure": "counts exact in every run", "median": None,
             "unit": "", "shown": "yes" if exact else "NO", "target": "exact", "met": exact})
for name in ("producer-api", "stream-job", "dashboard"):
    peak = services(lambda s: s["peak_rss_kib"][name]) / 1024
    row("services at 2,000 records/s", f"peak RSS {name}", peak, "MiB", "< 100 MB", peak * 1.048576 < 100)

print(f"\nwordfreq benchmarks: medians of {len(runs)} run(s)")
section = None
for r in rows:
    if r["section"] != section:
        section = r["section"]
        print(f"\n{section}")
    verdict = "" if r["met"] is None else ("met" if r["met"] else "NOT MET")
    print(f"  {r['figure']:<38} {r['shown']:>16}  {r['target']:<9} {verdict}")
json.dump({"runs": len(runs), "rows": rows, "per_run": runs}, open(output, "w"), indent=2)
print(f"\nwritten: {output}")
