//! A Redis that evicts or fills up: the job refuses `allkeys-*`, warns on `volatile-*` and when
//! it cannot check, and keeps its batch through `OOM` refusals until there is room again.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::Value;
use stream_job::{JobError, JobMetrics, JobSettings, StreamJob};
use tokio_util::sync::CancellationToken;
use wordfreq_bus::Subscriber;
use wordfreq_store::{EvictionPolicy, Store, View};
use wordfreq_testkit::RedisServer;

use crate::helpers::{
    Bed, JobProcess, WAIT, expected_counts, job_command, record_json, serve_metrics, submissions,
};

async fn connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn config_set(url: &str, name: &str, value: &str) {
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query_async(&mut connection(url).await)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_redis_that_may_evict_any_key_is_refused_at_start_naming_the_setting_the_loss_and_the_fix()
 {
    let redis = RedisServer::start();
    config_set(redis.url(), "maxmemory-policy", "allkeys-lru").await;
    let started = Instant::now();
    // No broker is needed to refuse: the check comes before the first Kafka request.
    let mut job = Command::new(env!("CARGO_BIN_EXE_stream-job"))
        .env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
        .env("REDIS_URL", redis.url())
        .env("METRICS_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = job.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "stream-job still runs on an allkeys-lru Redis"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut job.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "exit status {status}:\n{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?} to refuse",
        started.elapsed()
    );
    for needed in [
        "maxmemory-policy",
        "allkeys-lru",
        "offsets",
        "counted twice",
        "noeviction",
    ] {
        assert!(stderr.contains(needed), "{needed:?} not in:\n{stderr}");
    }
}

#[tokio::test]
async fn a_redis_switched_to_allkeys_while_the_job_runs_stops_it_within_the_check_interval() {
    let bed = Bed::in_process_on_redis(RedisServer::start());
    let url = bed.redis.as_ref().unwrap().url().to_owned();
    let store = bed.store().await;
    let (stop, job) = spawn_job_with_result(&bed, Arc::new(JobMetrics::default())).await;
    let values: Vec<Vec<u8>> = submissions(100, 31, Utc::now().timestamp_millis())
        .iter()
        .map(record_json)
        .collect();
    bed.produce(values).await;
    bed.wait_for_records(&*store, 100).await;

    config_set(&url, "maxmemory-policy", "allkeys-random").await;
    let outcome = tokio::time::timeout(Duration::from_secs(30), job)
        .await
        .expect("the job still runs 30 s after the policy became allkeys-random")
        .unwrap();
    stop.cancel();
    match outcome {
        Err(JobError::EvictingStore(message)) => {
            assert!(message.contains("allkeys-random"), "{message}");
        }
        other => panic!("expected the job to refuse the store, got {other:?}"),
    }
}

#[tokio::test]
async fn on_a_volatile_policy_the_job_warns_about_window_retention_and_counts_exactly() {
    let bed = Bed::real().await;
    config_set(
        bed.redis.as_ref().unwrap().url(),
        "maxmemory-policy",
        "volatile-lru",
    )
    .await;
    let (_job, mut log) = JobProcess::spawn_logged(job_command(&bed, &bed.topic));
    let warning = log
        .wait_for("the eviction-policy warning", WAIT, |line| {
            (line["level"] == "WARN" && line["policy"] == "volatile-lru")
                .then(|| line["message"].as_str().unwrap_or_default().to_owned())
        })
        .await;
    assert!(warning.contains("WINDOW_RETENTION (1day)"), "{warning}");
    count_exactly(&bed, 300, 32).await;
}

#[tokio::test]
async fn where_redis_refuses_config_and_info_the_job_says_it_could_not_check_and_counts() {
    let server = RedisServer::start();
    // An ACL user without CONFIG and INFO, as some hosted offerings give.
    let () = redis::cmd("ACL")
        .arg(
            &[
                "SETUSER", "counter", "on", ">secret", "~*", "&*", "+@all", "-config", "-info",
            ][..],
        )
        .query_async(&mut connection(server.url()).await)
        .await
        .unwrap();
    let bed = Bed::real_on(server).await;
    let mut command = job_command(&bed, &bed.topic);
    command
        .env("REDIS_USERNAME", "counter")
        .env("REDIS_PASSWORD", "secret");
    let (_job, mut log) = JobProcess::spawn_logged(command);
    log.wait_for("the could-not-check warning", WAIT, |line| {
        (line["level"] == "WARN"
            && line["message"].as_str().is_some_and(|message| {
                message.contains("could not check Redis's maxmemory-policy")
            }))
        .then_some(())
    })
    .await;
    count_exactly(&bed, 300, 33).await;
}

#[tokio::test]
async fn a_full_redis_refusing_writes_holds_the_batch_reports_it_and_loses_nothing_once_raised() {
    let bed = Bed::in_process_on_redis(RedisServer::start());
    let url = bed.redis.as_ref().unwrap().url().to_owned();
    let store = bed.store().await;
    let metrics = Arc::new(JobMetrics::default());
    let (stop, job) = spawn_job_with_result(&bed, metrics.clone()).await;
    let health = serve_health(metrics.clone(), store.clone()).await;
    let texts = submissions(700, 34, Utc::now().timestamp_millis());
    let values: Vec<Vec<u8>> = texts.iter().map(record_json).collect();
    bed.produce(values[..200].to_vec()).await;
    bed.wait_for_records(&*store, 200).await;
    assert_eq!(get_health(&health).await.0, 200);

    // Fill Redis to a limit just above what it holds, until it refuses writes.
    let memory = store.memory().await.unwrap();
    assert_eq!(memory.policy, EvictionPolicy::NoEviction);
    let used = memory.used_bytes.expect("Redis reports used_memory");
    config_set(&url, "maxmemory", &(used + 2_000_000).to_string()).await;
    let mut connection = connection(&url).await;
    let filler = "x".repeat(64 * 1024);
    let mut refused = false;
    for n in 0..1_000 {
        let set: redis::RedisResult<()> = redis::cmd("SET")
            .arg(format!("filler:{n}"))
            .arg(&filler)
            .query_async(&mut connection)
            .await;
        if let Err(err) = set {
            assert_eq!(err.code(), Some("OOM"), "{err}");
            refused = true;
            break;
        }
    }
    assert!(refused, "Redis never refused a write");

    bed.produce(values[200..].to_vec()).await;
    let body = wait_for_health(&health, 503, "the health check to report the full store").await;
    let reason = body["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("full"), "{body}");
    assert!(reason.contains("maxmemory"), "{body}");
    let scrape = metrics_text(&metrics);
    assert!(scrape.contains("wordfreq_store_full 1"), "{scrape}");
    assert!(
        !scrape.contains("wordfreq_store_refused_writes_total 0"),
        "{scrape}"
    );
    assert_eq!(
        store.stats().await.unwrap().records_processed,
        200,
        "a refused batch changed the counts"
    );

    config_set(&url, "maxmemory", "0").await;
    bed.wait_for_records(&*store, 700).await;
    wait_for_health(&health, 200, "the health check to be healthy again").await;
    assert!(metrics_text(&metrics).contains("wordfreq_store_full 0"));
    let (expected, _) = expected_counts(&texts);
    assert_eq!(store.counts(&View::AllTime).await.unwrap(), expected);
    stop.cancel();
    job.await.unwrap().unwrap();
}

/// Produces `records` more texts through the bed's topic and waits until all are counted, word
/// for word.
async fn count_exactly(bed: &Bed, records: usize, seed: u64) {
    let texts = submissions(records, seed, Utc::now().timestamp_millis());
    let store = bed.store().await;
    bed.produce(texts.iter().map(record_json).collect()).await;
    bed.wait_for_records(&*store, records as u64).await;
    let (expected, _) = expected_counts(&texts);
    assert_eq!(store.counts(&View::AllTime).await.unwrap(), expected);
}

/// A job on the bed whose outcome the test reads.
async fn spawn_job_with_result(
    bed: &Bed,
    metrics: Arc<JobMetrics>,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<Result<(), JobError>>,
) {
    let stop = CancellationToken::new();
    let subscriber: Box<dyn Subscriber> = Box::new(
        bed.memory_bus
            .as_ref()
            .expect("an in-process bed")
            .subscribe(&bed.topic)
            .unwrap(),
    );
    let job = StreamJob::new(
        subscriber,
        bed.store().await,
        bed.publisher.clone(),
        &bed.topic,
        JobSettings::default(),
        metrics,
        stop.clone(),
    )
    .unwrap();
    (stop, tokio::spawn(job.run()))
}

async fn serve_health(metrics: Arc<JobMetrics>, store: Arc<dyn Store>) -> String {
    format!("http://{}/health", serve_metrics(metrics, store).await)
}

async fn get_health(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn wait_for_health(url: &str, status: u16, what: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (now, body) = get_health(url).await;
        if now == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "no {what} within {WAIT:?}: {now} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn metrics_text(metrics: &JobMetrics) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &metrics.registry).unwrap();
    text
}
