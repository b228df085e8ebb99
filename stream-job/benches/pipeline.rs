//! The pipeline, measured on one broker in one run (`cargo bench -p stream-job --bench pipeline`):
//!
//! 1. throughput: a topic pre-filled with `RECORDS` (default 1,000,000) records of 5–40 words, read
//!    by a bare rdkafka consumer (the broker's limit here) and counted into Redis by the stream job,
//!    each from the beginning; the job's rate as a share of the bare consumer's;
//! 2. latency: records produced at a steady `RATE` per second (default 2,000) for `STEADY_SECS`
//!    (default 20), stamped when sent; p50 and p99 of the job's end-to-end histogram (event time to
//!    the flush that made the record visible), read from its `/metrics` as Prometheus would.
//!
//! Prints a table and writes `target/bench/pipeline.json`. tansu and Redis come from the test kit.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{fill_topic, publish_all, record};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::json;
use stream_job::{JobMetrics, JobSettings, StreamJob};
use tokio_util::sync::CancellationToken;
use wordfreq_bus::{KafkaArgs, KafkaPublisher, KafkaSubscriber, OutgoingRecord, Publisher};
use wordfreq_corpus::{Corpus, Mix};
use wordfreq_store::{RedisStore, Store};
use wordfreq_testkit::{
    KafkaBroker, RedisServer, TestNames, bench_setting, percentile_ms, write_bench_report,
};

async fn wait_for(store: &dyn Store, records: u64) {
    while store
        .stats()
        .await
        .map(|s| s.records_processed)
        .unwrap_or(0)
        < records
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A quantile from a Prometheus histogram's cumulative buckets, as the upper bound of the bucket
/// that holds it.
fn quantile(metrics_text: &str, name: &str, q: f64) -> Option<f64> {
    let prefix = format!("{name}_bucket{{le=\"");
    let buckets: Vec<(f64, u64)> = metrics_text
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .filter_map(|rest| {
            let (le, count) = rest.split_once("\"} ")?;
            Some((le.parse().ok()?, count.trim().parse().ok()?))
        })
        .collect();
    let total = buckets.last()?.1;
    let target = (total as f64 * q).ceil() as u64;
    buckets
        .iter()
        .find(|(_, cumulative)| *cumulative >= target && total > 0)
        .map(|(le, _)| *le)
}

#[tokio::main]
async fn main() {
    let records = bench_setting("RECORDS", 1_000_000, 2_000);
    let rate = bench_setting("RATE", 2_000, 200);
    let steady_secs = bench_setting("STEADY_SECS", 20, 1);
    let broker = KafkaBroker::start();
    let redis = RedisServer::start();
    let names = TestNames::new("bench");
    broker.create_topic(&names.topic, 3).await;
    let args = KafkaArgs {
        bootstrap_servers: broker.bootstrap_servers().to_owned(),
        topic: names.topic.clone(),
        ..KafkaArgs::default()
    };
    let publisher = Arc::new(KafkaPublisher::new(&args, "bench", Duration::from_secs(30)).unwrap());

    eprintln!("pre-filling {records} records");
    let started = Instant::now();
    fill_topic(&publisher, &names.topic, records).await;
    let mut corpus = Corpus::new(Mix::default(), 2);
    let fill_rate = records as f64 / started.elapsed().as_secs_f64();

    eprintln!("bare consumer");
    let consumer: StreamConsumer = broker
        .client_config()
        .set("group.id", TestNames::new("bare").group)
        .set("enable.auto.commit", "false")
        // As the job's consumer, so the two are compared on equal terms.
        .set("fetch.wait.max.ms", "50")
        .create()
        .unwrap();
    let mut all = TopicPartitionList::new();
    for partition in 0..3 {
        all.add_partition_offset(&names.topic, partition, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&all).unwrap();
    let started = Instant::now();
    let mut read = 0;
    while read < records {
        consumer.recv().await.unwrap();
        read += 1;
    }
    let bare_rate = records as f64 / started.elapsed().as_secs_f64();
    drop(consumer);

    eprintln!("stream job");
    let store: Arc<dyn Store> = Arc::new(
        RedisStore::connect(redis.url(), &names.redis_prefix)
            .await
            .unwrap(),
    );
    let run_job = |metrics: Arc<JobMetrics>| {
        let stop = CancellationToken::new();
        let subscriber = KafkaSubscriber::new(&args, &names.group, "bench").unwrap();
        let publisher =
            Arc::new(KafkaPublisher::new(&args, "bench-job", Duration::from_secs(5)).unwrap());
        let settings = JobSettings {
            trigger_interval: Duration::from_millis(bench_setting("TRIGGER_MS", 100, 100)),
            ..JobSettings::default()
        };
        let job = StreamJob::new(
            Box::new(subscriber),
            store.clone(),
            publisher,
            &names.topic,
            settings,
            metrics,
            stop.clone(),
        )
        .unwrap();
        (stop, tokio::spawn(job.run()))
    };
    let started = Instant::now();
    let (stop, job) = run_job(Arc::new(JobMetrics::default()));
    wait_for(&*store, records).await;
    let job_rate = records as f64 / started.elapsed().as_secs_f64();
    stop.cancel();
    job.await.unwrap().unwrap();

    eprintln!("steady {rate}/s for {steady_secs} s");
    let metrics = Arc::new(JobMetrics::default());
    let (stop, job) = run_job(metrics.clone());
    // Measure a running job, not its joining the group: wait for one probe record to be counted.
    let probe = record(&mut corpus, 0, Utc::now().timestamp_millis());
    publish_all(&publisher, &names.topic, vec![probe]).await;
    wait_for(&*store, records + 1).await;
    let probed = records + 1;
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    let per_tick = rate / 100;
    let mut sent = 0;
    let sending_until = Instant::now() + Duration::from_secs(steady_secs);
    let mut in_flight = Vec::new();
    while Instant::now() < sending_until {
        ticker.tick().await;
        let now = Utc::now().timestamp_millis();
        for _ in 0..per_tick {
            let outgoing = OutgoingRecord::new(
                &names.topic,
                format!("user_{}", sent % 100),
                record(&mut corpus, sent, now),
            );
            // Spawned, so each record is sent now, not when its acknowledgement is awaited.
            let publisher = publisher.clone();
            in_flight.push(tokio::spawn(async move {
                let sent_at = Instant::now();
                publisher.publish(outgoing).await.map(|_| sent_at.elapsed())
            }));
            sent += 1;
        }
    }
    let mut acks: Vec<Duration> = futures::future::join_all(in_flight)
        .await
        .into_iter()
        .map(|outcome| outcome.unwrap().unwrap())
        .collect();
    acks.sort_unstable();
    let (ack_p50, ack_p99) = (percentile_ms(&acks, 0.50), percentile_ms(&acks, 0.99));
    wait_for(&*store, probed + sent).await;
    stop.cancel();
    job.await.unwrap().unwrap();
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &metrics.registry).unwrap();
    let p50 = quantile(&text, "wordfreq_end_to_end_seconds", 0.50).unwrap_or(f64::NAN) * 1000.0;
    let p99 = quantile(&text, "wordfreq_end_to_end_seconds", 0.99).unwrap_or(f64::NAN) * 1000.0;

    println!("pipeline benchmark ({records} records of 5-40 words, tansu + Redis on this machine)");
    println!("  pre-fill (idempotent producer, acks=all)  {fill_rate:>10.0} records/s");
    println!("  bare rdkafka consumer                     {bare_rate:>10.0} records/s");
    println!(
        "  stream job into Redis                     {job_rate:>10.0} records/s  ({:.0}% of the bare consumer)",
        100.0 * job_rate / bare_rate
    );
    println!(
        "  end to end at {rate}/s for {steady_secs} s ({sent} records): p50 <= {p50:.0} ms, p99 <= {p99:.0} ms (bucket upper bounds)"
    );
    println!(
        "    of which the broker's acknowledgement of the same records: p50 {ack_p50:.0} ms, p99 {ack_p99:.0} ms"
    );
    let report = json!({
        "records": records, "fill_rate": fill_rate, "bare_consumer_rate": bare_rate, "job_rate": job_rate,
        "job_share_of_bare": job_rate / bare_rate, "steady_rate": rate, "steady_secs": steady_secs,
        "steady_records": sent, "end_to_end_p50_ms_at_most": p50, "end_to_end_p99_ms_at_most": p99,
        "produce_ack_p50_ms": ack_p50, "produce_ack_p99_ms": ack_p99,
    });
    write_bench_report("pipeline", &report);
}
