//! Faults: the job killed mid-stream, and records it cannot use.

use std::collections::HashMap;
use std::future::Future;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use rdkafka::Offset;
use rdkafka::message::{Headers, Message};
use wordfreq_domain::names::DEAD_LETTER_TOPIC;
use wordfreq_store::View;
use wordfreq_testkit::{RedisServer, TestNames};

use crate::helpers::{
    Bed, JobProcess, WAIT, expected_counts, job_command, message, produce, random_delay,
    record_json, submissions,
};

/// The `stream-job` binary on the bed's broker, Redis, topic and group, as group member
/// `instance_id` (`""`: a dynamic member).
fn spawn_job_process(bed: &Bed, instance_id: &str) -> JobProcess {
    let mut command = job_command(bed, &bed.topic);
    command.env("GROUP_INSTANCE_ID", instance_id);
    JobProcess::spawn(command)
}

/// How soon after a restart counting must go on, whatever the broker's group coordinator does.
const RESUME_WITHIN: Duration = Duration::from_secs(30);

/// SIGKILLs every instance three times while records stream in, each time restarting them 0-300
/// ms later as a supervisor would, and requires counting to go on within [`RESUME_WITHIN`] of
/// each restart and the counts to be exact at the end.
async fn kill_and_restart_at_once_three_times(instance_ids: &[&str], seed: u64) {
    const RECORDS: u64 = 40_000;
    let bed = Bed::real().await;
    let texts = submissions(RECORDS as usize, seed, Utc::now().timestamp_millis());
    let (expected_all, _) = expected_counts(&texts);
    let store = bed.store().await;
    let mut jobs: Vec<JobProcess> = instance_ids
        .iter()
        .map(|id| spawn_job_process(&bed, id))
        .collect();
    // Sent at about 1,000 a second, so records arrive during and after every restart.
    let producing = tokio::spawn({
        let (publisher, topic) = (bed.publisher.clone(), bed.topic.clone());
        let values: Vec<Vec<u8>> = texts.iter().map(record_json).collect();
        async move {
            for chunk in values.chunks(500) {
                produce(publisher.clone(), topic.clone(), chunk.to_vec()).await;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    });
    let counted = || async {
        store
            .stats()
            .await
            .map_or(0, |stats| stats.records_processed)
    };
    for kill in 1..=3 {
        let target = counted().await + 500;
        wait_for_counted(
            &counted,
            target,
            WAIT,
            &format!("counting before kill {kill}"),
        )
        .await;
        tokio::time::sleep(random_delay()).await;
        for job in &mut jobs {
            job.kill();
        }
        tokio::time::sleep(random_delay()).await;
        let restarted = Instant::now();
        jobs = instance_ids
            .iter()
            .map(|id| spawn_job_process(&bed, id))
            .collect();
        let from = counted().await;
        let resumed = wait_for_counted(
            &counted,
            from + 300,
            RESUME_WITHIN,
            &format!("counting after restart {kill}"),
        )
        .await;
        eprintln!(
            "kill {kill}: {} instance(s) SIGKILLed after {from} records and restarted at once; \
             counting went on {:.1} s after the restart",
            instance_ids.len(),
            (resumed - restarted).as_secs_f64()
        );
    }
    producing.await.unwrap();
    bed.wait_for_records(&*store, RECORDS).await;
    let all = store.counts(&View::AllTime).await.unwrap();
    assert_eq!(all.total(), expected_all.total(), "total words differ");
    assert_eq!(all, expected_all, "counts differ word by word");
    assert_eq!(store.stats().await.unwrap().records_processed, RECORDS);
}

/// Waits (bounded) until `counted` reaches `target`; returns when it did.
async fn wait_for_counted<F, Fut>(counted: &F, target: u64, within: Duration, what: &str) -> Instant
where
    F: Fn() -> Fut,
    Fut: Future<Output = u64>,
{
    let deadline = Instant::now() + within;
    loop {
        let now = counted().await;
        if now >= target {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "no {what} within {within:?}: {now} of {target} records"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn one_static_member_sigkilled_and_restarted_at_once_three_times_resumes_and_counts_exactly()
{
    kill_and_restart_at_once_three_times(&["job-a"], 13).await;
}

#[tokio::test]
async fn two_static_members_sigkilled_and_restarted_at_once_three_times_resume_and_count_exactly() {
    kill_and_restart_at_once_three_times(&["job-a", "job-b"], 15).await;
}

/// Without static membership tansu 0.6.0 gives the restarted member no partitions; the job sees
/// its partitions go unread, and leaves and rejoins the group.
#[tokio::test]
async fn a_dynamic_member_sigkilled_and_restarted_at_once_three_times_resumes_and_counts_exactly() {
    kill_and_restart_at_once_three_times(&[""], 16).await;
}

#[tokio::test]
async fn bad_records_go_to_the_dead_letter_topic_with_their_reason_and_source_and_count_once() {
    let bed = Bed::real().await;
    let texts = submissions(500, 14, Utc::now().timestamp_millis());
    let (expected_all, _) = expected_counts(&texts);
    let poison: Vec<(Vec<u8>, &str)> = vec![
        (b"\xff\xfe not utf-8".to_vec(), "not_utf8"),
        (b"{not json".to_vec(), "not_json"),
        (b"[1, 2, 3]".to_vec(), "not_an_object"),
        (br#"{"user_id": "u"}"#.to_vec(), "missing_text"),
        (br#"{"text": 42}"#.to_vec(), "text_not_string"),
        (
            br#"{"text": "x", "timestamp": "yesterday"}"#.to_vec(),
            "bad_timestamp",
        ),
        (
            br#"{"text": "from the future", "timestamp": "2999-01-01T00:00:00Z"}"#.to_vec(),
            "absurd_timestamp",
        ),
    ];
    let mut values: Vec<Vec<u8>> = texts.iter().map(record_json).collect();
    for (index, (value, _)) in poison.iter().enumerate() {
        values.insert(index * 60, value.clone());
    }
    let store = bed.store().await;
    let (stop, job) = bed.spawn_job().await;

    bed.produce(values).await;
    bed.wait_for_records(&*store, 507).await;
    stop.cancel();
    job.await.unwrap();

    let stats = store.stats().await.unwrap();
    assert_eq!((stats.invalid_records, stats.records_processed), (7, 500));
    assert_eq!(store.counts(&View::AllTime).await.unwrap(), expected_all);

    let dead = read_dead_letters(&bed, 7);
    let mut reasons: Vec<&str> = dead
        .iter()
        .map(|headers| headers["reason"].as_str())
        .collect();
    reasons.sort_unstable();
    let mut expected: Vec<&str> = poison.iter().map(|(_, reason)| *reason).collect();
    expected.sort_unstable();
    assert_eq!(reasons, expected);
    for headers in &dead {
        assert_eq!(headers["source_topic"], bed.topic);
        assert!(
            headers["source_offset"].parse::<i64>().is_ok()
                && headers["source_partition"].parse::<i32>().is_ok()
        );
    }
}

/// The headers of the first `count` dead letters.
fn read_dead_letters(bed: &Bed, count: usize) -> Vec<HashMap<String, String>> {
    let consumer =
        bed.broker
            .as_ref()
            .unwrap()
            .reader(&[(DEAD_LETTER_TOPIC, 0, Offset::Beginning)]);
    let deadline = Instant::now() + WAIT;
    let mut letters = Vec::new();
    while letters.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} dead letters within {WAIT:?}",
            letters.len()
        );
        if let Some(message) = consumer.poll(Duration::from_millis(500)) {
            let message = message.unwrap();
            let headers = message.headers().expect("dead letters carry headers");
            letters.push(
                headers
                    .iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect(),
            );
        }
    }
    letters
}

#[tokio::test]
async fn two_jobs_that_both_believe_they_own_every_partition_still_count_each_record_once() {
    // The in-process bus gives each subscriber every partition: a standing split brain, where
    // every batch of one job is a zombie batch to the other. Only the fence keeps counts exact.
    let bed = Bed::in_process();
    let texts = submissions(3_000, 15, Utc::now().timestamp_millis());
    let (expected_all, _) = expected_counts(&texts);
    let store = bed.store().await;
    let (stop_one, one) = bed.spawn_job().await;
    let (stop_two, two) = bed.spawn_job().await;

    bed.produce(texts.iter().map(record_json).collect()).await;
    bed.wait_for_records(&*store, 3_000).await;
    stop_one.cancel();
    stop_two.cancel();
    one.await.unwrap();
    two.await.unwrap();

    assert_eq!(store.counts(&View::AllTime).await.unwrap(), expected_all);
    assert_eq!(store.stats().await.unwrap().records_processed, 3_000);
}

#[tokio::test]
async fn redis_stopped_mid_stream_and_restarted_leaves_the_counts_exact() {
    let mut bed = Bed::real_with_persistent_redis().await;
    let texts = submissions(6_000, 16, Utc::now().timestamp_millis());
    let (expected_all, _) = expected_counts(&texts);
    let values: Vec<Vec<u8>> = texts.iter().map(record_json).collect();
    let store = bed.store().await;
    let (stop, job) = bed.spawn_job().await;

    bed.produce(values[..3_000].to_vec()).await;
    bed.wait_for_records(&*store, 3_000).await;
    bed.redis.as_mut().unwrap().stop();
    bed.produce(values[3_000..].to_vec()).await;
    bed.redis.as_mut().unwrap().restart();
    bed.wait_for_records(&*store, 6_000).await;
    stop.cancel();
    job.await.unwrap();

    assert_eq!(store.counts(&View::AllTime).await.unwrap(), expected_all);
}

#[tokio::test]
async fn with_its_topic_missing_the_job_says_so_waits_and_counts_once_the_topic_exists() {
    let bed = Bed::real().await;
    let topic = TestNames::new("not-yet").topic;
    let (mut job, mut log) = JobProcess::spawn_logged(job_command(&bed, &topic));

    let said_so = log
        .wait_for("that the topic is missing", WAIT, |line| {
            let text = line.to_string();
            (text.contains("does not exist") && text.contains(&topic)).then_some(text)
        })
        .await;
    assert!(
        said_so.contains("waiting for it to be created"),
        "{said_so}"
    );

    bed.broker.as_ref().unwrap().create_topic(&topic, 3).await;
    let texts = submissions(500, 19, Utc::now().timestamp_millis());
    let (expected_all, _) = expected_counts(&texts);
    let store = bed.store().await;
    produce(
        bed.publisher.clone(),
        topic,
        texts.iter().map(record_json).collect(),
    )
    .await;
    bed.wait_for_records(&*store, 500).await;
    job.kill();
    assert_eq!(store.counts(&View::AllTime).await.unwrap(), expected_all);
}

#[tokio::test]
async fn stopped_while_its_broker_never_answers_the_job_still_exits_within_its_grace() {
    // Accepts connections (the kernel does, for a listener nobody accepts on) and never answers:
    // librdkafka's close can wait on such a broker for as long as it stays.
    let silent_broker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let redis = RedisServer::start();
    let names = TestNames::new("job");
    let mut command = Command::new(env!("CARGO_BIN_EXE_stream-job"));
    command
        .env(
            "KAFKA_BOOTSTRAP_SERVERS",
            silent_broker.local_addr().unwrap().to_string(),
        )
        .env("KAFKA_TOPIC", &names.topic)
        .env("REDIS_URL", redis.url())
        .env("REDIS_PREFIX", &names.redis_prefix)
        .env("CONSUMER_GROUP", &names.group)
        .env("METRICS_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info");
    let (mut job, mut log) = JobProcess::spawn_logged(command);
    log.wait_for("that it is starting", WAIT, |line| {
        (message(line) == "stream job starting").then_some(())
    })
    .await;
    let sigterm = Command::new("kill")
        .args(["-TERM", &job.0.id().to_string()])
        .status()
        .unwrap();
    assert!(sigterm.success());
    // The job's own grace (8 s), and some slack for a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(15);
    while job.0.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "stream-job still runs 15 s after SIGTERM; its last lines:\n{}",
            log.recent()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
