"""The original's engine, a baseline for `scripts/bench.sh`: PySpark Structured Streaming (local mode)
running the original's transformation over a file source with `trigger(availableNow=True)`, so it
reads every file in the input directory once and stops.

The transformation is the original's, step for step: drop empty text, delete every character
outside `[a-zA-Z0-9\\s]`, lowercase, split on `\\s+`, drop empty words and words of 2 characters or
fewer, group by word and count (output mode complete). The sink is `foreachBatch`, which keeps the
batch's row count, as the original's sink read the whole result to write it to Redis.

Usage: python original_spark.py INPUT_DIR CHECKPOINT_DIR
Prints one JSON line: {"query_s": seconds from start() to the end of the query, "session_s": seconds
to build the Spark session, "distinct_words": rows of the final result}."""
import json
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql.functions import col, explode, length, lower, regexp_replace, split

input_dir, checkpoint_dir = sys.argv[1], sys.argv[2]

started = time.monotonic()
spark = (
    SparkSession.builder.appName("wordfreq-original-baseline")
    .master("local[*]")
    # Local mode on a 2-core machine: as many shuffle partitions as cores, not Spark's 200.
    .config("spark.sql.shuffle.partitions", "2")
    .config("spark.ui.enabled", "false")
    .config("spark.ui.showConsoleProgress", "false")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
session_s = time.monotonic() - started

lines = spark.readStream.format("text").load(input_dir)
words = (
    lines.filter(col("value").isNotNull() & (col("value") != ""))
    .select(explode(split(lower(regexp_replace(col("value"), r"[^a-zA-Z0-9\s]", "")), r"\s+")).alias("word"))
    .filter((col("word") != "") & (length(col("word")) > 2))
    .groupBy("word")
    .count()
)

distinct_words = []


def keep_size(batch, _batch_id):
    distinct_words.append(batch.count())


started = time.monotonic()
query = (
    words.writeStream.outputMode("complete")
    .foreachBatch(keep_size)
    .option("checkpointLocation", checkpoint_dir)
    .trigger(availableNow=True)
    .start()
)
query.awaitTermination()
query_s = time.monotonic() - started
spark.stop()

print(json.dumps({"query_s": query_s, "session_s": session_s, "distinct_words": distinct_words[-1] if distinct_words else 0}))
