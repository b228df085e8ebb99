//! How the stream job scales (`cargo bench -p stream-job --bench scaling`), on one tansu broker and
//! one redis-server, with `stream-job` processes as deployed:
//!
//! 1. instances: a topic of 3, then 6 partitions, pre-filled with `SCALING_RECORDS` (default 1,000,000)
//!    records of 5–40 words, counted from the beginning by 1, 2 and 3 instances in one group (a
//!    fresh group and key prefix each time). Reported: records/s once the group has settled (every
//!    instance holds partitions), and CPU time per record summed over the instances;
//! 2. vocabulary: 10,000, 100,000 and 1,000,000 distinct words (`VOCABULARY`, comma-separated),
//!    each sent twice in records of 20 words, counted by one instance. Reported: Redis memory per
//!    distinct word in the all-time ranking and in one window's, and the job's peak RSS.
//!
//! Prints two tables and writes `target/bench/scaling.json`. docs/BENCHMARKS.md derives from these
//! what a day of retained windows costs.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{fill_topic, publish_all, record_of};
use serde_json::{Value, json};
use wordfreq_bus::{KafkaArgs, KafkaPublisher};
use wordfreq_store::keys::RedisKeys;
use wordfreq_store::{RedisStore, Store};
use wordfreq_testkit::{
    KafkaBroker, Rebalance, RedisServer, TestNames, bench_setting, inherit_only_stdio,
    write_bench_report,
};

/// Every wait here is bounded by this.
const PATIENCE: Duration = Duration::from_secs(600);
/// The kernel reports CPU times in clock ticks of 1/USER_HZ s, which is 100 on Linux x86-64.
const TICKS_PER_SECOND: f64 = 100.0;

/// One `stream-job` process, its partitions as its log shows them, killed when dropped.
struct Instance {
    child: Child,
    log: mpsc::Receiver<Value>,
    partitions: BTreeSet<i32>,
}

impl Instance {
    fn start(broker: &KafkaBroker, redis: &RedisServer, topic: &str, names: &TestNames) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stream-job"));
        command
            .env("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers())
            .env("KAFKA_TOPIC", topic)
            .env("REDIS_URL", redis.url())
            .env("REDIS_PREFIX", &names.redis_prefix)
            .env("CONSUMER_GROUP", &names.group)
            .env("METRICS_ADDR", "127.0.0.1:0")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "warn,stream_job=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        inherit_only_stdio(&mut command);
        let mut child = command.spawn().expect("starting stream-job");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (lines, log) = mpsc::channel();
        // A thread: reading the pipe blocks, and it ends when the process does.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines.send(serde_json::from_str(&line).unwrap_or(Value::String(line)));
            }
        });
        Self {
            child,
            log,
            partitions: BTreeSet::new(),
        }
    }

    /// Takes in the rebalances it has logged since last asked.
    fn catch_up(&mut self) {
        for line in self.log.try_iter() {
            if let Some(rebalance) = Rebalance::of(&line) {
                rebalance.apply_to(&mut self.partitions);
            }
        }
    }

    fn stat(&self) -> String {
        std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("/proc/<pid>/stat")
    }

    /// User plus system CPU time so far.
    fn cpu(&self) -> Duration {
        let stat = self.stat();
        // Fields after the command name (which may hold spaces, so it is skipped to its ')'):
        // state is the first, utime the 12th, stime the 13th.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_secs_f64(ticks as f64 / TICKS_PER_SECOND)
    }

    /// The peak resident set (VmHWM), in KiB.
    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/<pid>/status")
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn records_processed(store: &dyn Store) -> u64 {
    store
        .stats()
        .await
        .map(|s| s.records_processed)
        .unwrap_or(0)
}

/// Waits, bounded, until the store has counted `records`.
async fn wait_for_records(store: &dyn Store, records: u64) {
    let deadline = Instant::now() + PATIENCE;
    while records_processed(store).await < records {
        assert!(
            Instant::now() < deadline,
            "{records} records not counted within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `instances` jobs count the `records` of `topic` from the beginning: (records/s after the group
/// settled, CPU per record over all instances).
async fn count_with(
    broker: &KafkaBroker,
    redis: &RedisServer,
    topic: &str,
    partitions: i32,
    instances: usize,
    records: u64,
) -> (f64, Duration) {
    let names = TestNames::new("scaling");
    let store = RedisStore::connect(redis.url(), &names.redis_prefix)
        .await
        .unwrap();
    let mut jobs: Vec<Instance> = (0..instances)
        .map(|_| Instance::start(broker, redis, topic, &names))
        .collect();
    // Settled: each instance holds partitions, none twice, all of them together.
    let deadline = Instant::now() + PATIENCE;
    loop {
        jobs.iter_mut().for_each(Instance::catch_up);
        let held: usize = jobs.iter().map(|job| job.partitions.len()).sum();
        let union: BTreeSet<i32> = jobs.iter().flat_map(|job| job.partitions.clone()).collect();
        if jobs.iter().all(|job| !job.partitions.is_empty())
            && held == union.len()
            && union.len() == partitions as usize
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the group did not settle: {:?}",
            jobs.iter().map(|job| &job.partitions).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let settled_at = Instant::now();
    let counted_before = records_processed(&store).await;
    wait_for_records(&store, records).await;
    let rate = (records - counted_before) as f64 / settled_at.elapsed().as_secs_f64();
    let cpu: Duration = jobs.iter().map(Instance::cpu).sum();
    (rate, cpu / records as u32)
}

/// Word `n` of a vocabulary: lowercase letters only, so the tokenizer keeps it as it is.
fn word(n: u64) -> String {
    let mut word = String::from("v");
    let mut rest = n;
    for _ in 0..5 {
        word.push(char::from(b'a' + (rest % 26) as u8));
        rest /= 26;
    }
    word
}

/// Redis memory of the key `key` (`MEMORY USAGE … SAMPLES 0`: exact).
async fn memory_usage(redis: &RedisServer, key: &str) -> u64 {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .arg("SAMPLES")
        .arg(0)
        .query_async::<Option<u64>>(&mut connection)
        .await
        .unwrap()
        .unwrap_or(0)
}

/// Every key that starts with `prefix`.
async fn keys(redis: &RedisServer, prefix: &str) -> Vec<String> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .unwrap()
}

#[tokio::main]
async fn main() {
    let records = bench_setting("SCALING_RECORDS", 1_000_000, 2_000);
    let vocabulary: Vec<u64> = std::env::var("VOCABULARY")
        .ok()
        .map(|sizes| {
            sizes
                .split(',')
                .map(|size| size.trim().parse().unwrap())
                .collect()
        })
        .unwrap_or_else(|| {
            if std::env::args().any(|arg| arg == "--bench") {
                vec![10_000, 100_000, 1_000_000]
            } else {
                vec![1_000]
            }
        });
    let broker = KafkaBroker::start();
    let redis = RedisServer::start();
    let args = |topic: &str| KafkaArgs {
        bootstrap_servers: broker.bootstrap_servers().to_owned(),
        topic: topic.to_owned(),
        ..KafkaArgs::default()
    };

    let mut instance_rows = Vec::new();
    for partitions in [3, 6] {
        let topic = TestNames::new("scaling").topic;
        broker.create_topic(&topic, partitions).await;
        let publisher =
            KafkaPublisher::new(&args(&topic), "bench", Duration::from_secs(30)).unwrap();
        eprintln!("pre-filling {records} records into {partitions} partitions");
        fill_topic(&publisher, &topic, records).await;
        for instances in 1..=3 {
            eprintln!("{instances} instance(s) on {partitions} partitions");
            let (rate, cpu) =
                count_with(&broker, &redis, &topic, partitions, instances, records).await;
            instance_rows.push(json!({
                "partitions": partitions, "instances": instances, "records_per_s": rate,
                "cpu_us_per_record": cpu.as_secs_f64() * 1e6,
            }));
        }
    }

    let mut vocabulary_rows = Vec::new();
    for &words in &vocabulary {
        let names = TestNames::new("vocabulary");
        broker.create_topic(&names.topic, 3).await;
        let publisher =
            KafkaPublisher::new(&args(&names.topic), "bench", Duration::from_secs(30)).unwrap();
        // Every word twice, 20 to a record, all in the current window.
        let texts: Vec<String> = (0..words * 2)
            .collect::<Vec<_>>()
            .chunks(20)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|&n| word(n % words))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let sent = texts.len() as u64;
        let now = Utc::now().timestamp_millis();
        eprintln!("{words} distinct words in {sent} records");
        for (chunk_start, chunk) in (0u64..).step_by(20_000).zip(texts.chunks(20_000)) {
            let values = chunk
                .iter()
                .zip(chunk_start..)
                .map(|(text, n)| record_of(text, n, now))
                .collect();
            publish_all(&publisher, &names.topic, values).await;
        }
        let store = RedisStore::connect(redis.url(), &names.redis_prefix)
            .await
            .unwrap();
        let job = Instance::start(&broker, &redis, &names.topic, &names);
        wait_for_records(&store, sent).await;
        let job_peak_rss_kib = job.peak_rss_kib();
        drop(job);
        // The all-time ranking and each window's; the rest (stats, offsets, totals) is small.
        let redis_keys = RedisKeys::new(&names.redis_prefix);
        let window_key_prefix = redis_keys.window(0).trim_end_matches('0').to_owned();
        let all_time = memory_usage(&redis, &redis_keys.all_time()).await;
        let mut windows = Vec::new();
        for key in keys(&redis, &window_key_prefix).await {
            windows.push((memory_usage(&redis, &key).await, key));
        }
        let window_bytes = windows.iter().map(|(bytes, _)| *bytes).max().unwrap_or(0);
        vocabulary_rows.push(json!({
            "distinct_words": words, "records": sent,
            "all_time_bytes": all_time, "all_time_bytes_per_word": all_time as f64 / words as f64,
            "window_keys": windows.len(), "one_window_bytes": window_bytes,
            "one_window_bytes_per_word": window_bytes as f64 / words as f64,
            "job_peak_rss_kib": job_peak_rss_kib,
        }));
    }

    println!(
        "stream job scaling ({records} records of 5-40 words; tansu + Redis on this 2-core machine)"
    );
    println!("  partitions  instances   records/s   CPU per record");
    for row in &instance_rows {
        println!(
            "  {:>10}  {:>9}  {:>10.0}   {:>8.1} us",
            row["partitions"],
            row["instances"],
            row["records_per_s"].as_f64().unwrap(),
            row["cpu_us_per_record"].as_f64().unwrap()
        );
    }
    println!("memory as vocabulary grows (each word twice, one window)");
    println!("  distinct words   all-time ranking         one window            job peak RSS");
    for row in &vocabulary_rows {
        println!(
            "  {:>14}   {:>8.1} MiB ({:>3.0} B/word)   {:>8.1} MiB ({:>3.0} B/word)   {:>6.1} MiB",
            row["distinct_words"].as_u64().unwrap(),
            row["all_time_bytes"].as_f64().unwrap() / 1048576.0,
            row["all_time_bytes_per_word"].as_f64().unwrap(),
            row["one_window_bytes"].as_f64().unwrap() / 1048576.0,
            row["one_window_bytes_per_word"].as_f64().unwrap(),
            row["job_peak_rss_kib"].as_f64().unwrap() / 1024.0,
        );
    }
    write_bench_report(
        "scaling",
        &json!({ "records": records, "instances": instance_rows, "vocabulary": vocabulary_rows }),
    );
}
