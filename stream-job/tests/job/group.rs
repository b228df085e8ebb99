//! Instances of the `stream-job` binary sharing a consumer group, and the broker going away, on
//! librdkafka's mock cluster: tansu 0.6.0's coordinator neither rebalances when a member joins
//! nor assigns anything to a member that joins next to a dead one (docs/ARCHITECTURE.md).

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::Value;
use wordfreq_bus::Publisher;
use wordfreq_store::{Store, View};
use wordfreq_testkit::MockKafka;

use crate::helpers::{
    Bed, JobLog, JobProcess, Submission, WAIT, expected_counts, job_command, message, produce,
    random_delay, record_json, submissions,
};

/// The job topic's partitions (`Bed` creates it with three).
const PARTITIONS: [i32; 3] = [0, 1, 2];
/// The group's first rebalance waits 3 s for members; a later one (a member that joined late)
/// waits the session timeout less a second.
const SPLIT_WITHIN: Duration = Duration::from_secs(30);
/// The killed member's session (10 s) expires, then the rebalance waits 9 s for members to rejoin.
const TAKEOVER_WITHIN: Duration = Duration::from_secs(40);

/// One `stream-job` process and what its log has shown so far.
struct Member {
    name: &'static str,
    process: JobProcess,
    log: JobLog,
    killed: bool,
    /// Its partitions as its rebalances so far left them.
    assigned: BTreeSet<i32>,
    /// Records in the batches it applied to the store.
    applied: u64,
}

impl Member {
    fn start(bed: &Bed, name: &'static str) -> Self {
        let (process, log) = JobProcess::spawn_logged(member_command(bed));
        Self {
            name,
            process,
            log,
            killed: false,
            assigned: BTreeSet::new(),
            applied: 0,
        }
    }

    fn kill(&mut self) {
        self.process.kill();
        self.killed = true;
    }

    /// Takes in what it has logged since last asked.
    fn catch_up(&mut self) {
        for line in self.log.new_lines() {
            match message(&line) {
                "partitions assigned" => self.assigned.extend(partitions(&line)),
                "partitions revoked" => {
                    for partition in partitions(&line) {
                        self.assigned.remove(&partition);
                    }
                }
                "batch applied" => self.applied += line["records"].as_u64().unwrap_or(0),
                _ => {}
            }
        }
    }

    fn holds_every_partition(&self) -> bool {
        self.assigned == BTreeSet::from(PARTITIONS)
    }

    fn describe(&self) -> String {
        format!(
            "{}{}: partitions {:?}, {} records applied; its last lines:\n{}",
            self.name,
            if self.killed { " (killed)" } else { "" },
            self.assigned,
            self.applied,
            self.log.recent()
        )
    }
}

/// The job as a group member: assignments (info) and applied batches (debug) in its log.
fn member_command(bed: &Bed) -> Command {
    let mut command = job_command(bed, &bed.topic);
    command
        .env("RUST_LOG", "warn,stream_job=debug")
        // Partitions that move in a takeover are counted some 20 s late, after the survivor's
        // watermark has passed their records, and in an outage every partition may idle past
        // IDLE_TIMEOUT, when the watermark follows the clock: with the default 30 s such records
        // would rightly be late, kept out of their windows. A lateness longer than the test keeps
        // each record in its window, so per-window counts can be compared exactly.
        .env("ALLOWED_LATENESS", "1h");
    command
}

/// The partitions a rebalance line lists (`"[0, 2]"`, as the job logs them).
fn partitions(line: &Value) -> Vec<i32> {
    let listed = line["partitions"]
        .as_str()
        .unwrap_or_else(|| panic!("a rebalance line lists its partitions: {line}"));
    listed
        .trim_matches(['[', ']'])
        .split(',')
        .filter(|item| !item.trim().is_empty())
        .map(|item| item.trim().parse().expect("a partition number"))
        .collect()
}

/// Waits (bounded) until `done` holds for the members, as their logs show them; fails at once if
/// a member not killed exits.
async fn wait_until(
    what: &str,
    within: Duration,
    members: &mut [&mut Member],
    done: impl Fn(&[&mut Member]) -> bool,
) {
    let deadline = Instant::now() + within;
    loop {
        for member in members.iter_mut() {
            member.catch_up();
        }
        if done(members) {
            return;
        }
        let report = || {
            members
                .iter()
                .map(|member| member.describe())
                .collect::<Vec<_>>()
                .join("\n\n")
        };
        assert!(
            !members
                .iter()
                .any(|member| member.log.ended() && !member.killed),
            "an instance exited while waiting for {what}:\n{}",
            report()
        );
        assert!(
            Instant::now() < deadline,
            "no {what} within {within:?}:\n{}",
            report()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Counts in the store equal `wordfreq count` over `texts`, all-time and per window, and every
/// record was counted once and on time.
async fn assert_counts_exact(store: &dyn Store, texts: &[Submission]) {
    let (expected_all, expected_windows) = expected_counts(texts);
    let all = store.counts(&View::AllTime).await.unwrap();
    assert_eq!(all.total(), expected_all.total(), "total words differ");
    assert_eq!(all, expected_all, "all-time counts differ word by word");
    for (start, expected) in &expected_windows {
        let window = store.counts(&View::Windows(vec![*start])).await.unwrap();
        assert_eq!(&window, expected, "window {start} differs");
    }
    let stats = store.stats().await.unwrap();
    assert_eq!(
        (
            stats.records_processed,
            stats.late_records,
            stats.invalid_records
        ),
        (texts.len() as u64, 0, 0)
    );
}

#[tokio::test]
async fn two_instances_split_the_partitions_and_when_one_is_killed_the_other_takes_over_exactly() {
    const RECORDS: usize = 20_000;
    let started = Instant::now();
    let kafka = MockKafka::start();
    let bed = Bed::on_mock_kafka(&kafka);
    let texts = submissions(RECORDS, 21, Utc::now().timestamp_millis());
    let values: Vec<Vec<u8>> = texts.iter().map(record_json).collect();
    let (before_kill, after_kill) = values.split_at(RECORDS * 2 / 3);
    let store = bed.store().await;

    let mut a = Member::start(&bed, "A");
    let mut b = Member::start(&bed, "B");
    wait_until(
        "split of the partitions between the two instances",
        SPLIT_WITHIN,
        &mut [&mut a, &mut b],
        |members| {
            let (a, b) = (&members[0].assigned, &members[1].assigned);
            !a.is_empty()
                && !b.is_empty()
                && a.is_disjoint(b)
                && a.union(b).copied().collect::<BTreeSet<_>>() == BTreeSet::from(PARTITIONS)
        },
    )
    .await;
    eprintln!(
        "split {:?} after the start: A {:?}, B {:?}",
        started.elapsed(),
        a.assigned,
        b.assigned
    );

    let producing = tokio::spawn(produce(
        bed.publisher.clone(),
        bed.topic.clone(),
        before_kill.to_vec(),
    ));
    // Both counting, and the kill at a moment nobody chose, most often with records in flight.
    wait_until(
        "records counted by both instances",
        WAIT,
        &mut [&mut a, &mut b],
        |members| members.iter().all(|member| member.applied > 0),
    )
    .await;
    tokio::time::sleep(random_delay()).await;
    b.kill();
    let killed = Instant::now();
    eprintln!(
        "SIGKILL to B (partitions {:?}, {} records applied) with {} of {RECORDS} counted",
        b.assigned,
        b.applied,
        store.stats().await.unwrap().records_processed
    );
    producing.await.unwrap();
    // Nobody reads B's partitions until the takeover; these land on them too.
    produce(
        bed.publisher.clone(),
        bed.topic.clone(),
        after_kill.to_vec(),
    )
    .await;

    wait_until(
        "takeover of every partition by A",
        TAKEOVER_WITHIN,
        &mut [&mut a],
        |members| members[0].holds_every_partition(),
    )
    .await;
    eprintln!(
        "A holds every partition {:?} after the kill",
        killed.elapsed()
    );
    bed.wait_for_records(&*store, RECORDS as u64).await;
    eprintln!(
        "all counted {:?} after the kill, {:?} after the start",
        killed.elapsed(),
        started.elapsed()
    );
    a.catch_up();
    assert!(!a.log.ended(), "A exited:\n{}", a.describe());
    assert_counts_exact(&*store, &texts).await;
}

#[tokio::test]
async fn the_job_across_a_broker_outage_resumes_and_counts_exactly() {
    const RECORDS: usize = 8_000;
    let started = Instant::now();
    let kafka = MockKafka::start();
    let bed = Bed::on_mock_kafka(&kafka);
    let texts = submissions(RECORDS, 22, Utc::now().timestamp_millis());
    let values: Vec<Vec<u8>> = texts.iter().map(record_json).collect();
    let (before_outage, after_outage) = values.split_at(RECORDS / 2);
    let store = bed.store().await;

    let mut job = Member::start(&bed, "the job");
    wait_until(
        "assignment of every partition",
        SPLIT_WITHIN,
        &mut [&mut job],
        |members| members[0].holds_every_partition(),
    )
    .await;
    // All acknowledged before the outage: a record whose delivery is cut short would be neither
    // surely stored nor surely not, and the expected counts would be unknown.
    produce(
        bed.publisher.clone(),
        bed.topic.clone(),
        before_outage.to_vec(),
    )
    .await;
    wait_until("records counted", WAIT, &mut [&mut job], |members| {
        members[0].applied > 0
    })
    .await;
    kafka.broker_down();
    eprintln!(
        "broker down {:?} after the start, with {} of {RECORDS} counted",
        started.elapsed(),
        store.stats().await.unwrap().records_processed
    );
    // The outage lasts until the job has found the broker gone and been refused a reconnection.
    job.log
        .wait_for("a refused reconnection", WAIT, |line| {
            message(line).contains("Connection refused").then_some(())
        })
        .await;
    assert!(
        bed.publisher.check_health().await.is_err(),
        "the broker still answers while down"
    );
    kafka.broker_up();
    let up = Instant::now();
    eprintln!("broker up {:?} after the start", started.elapsed());
    wait_for_broker(&*bed.publisher).await;
    produce(
        bed.publisher.clone(),
        bed.topic.clone(),
        after_outage.to_vec(),
    )
    .await;

    bed.wait_for_records(&*store, RECORDS as u64).await;
    eprintln!(
        "all counted {:?} after the broker came back, {:?} after the start",
        up.elapsed(),
        started.elapsed()
    );
    job.catch_up();
    assert!(!job.log.ended(), "the job exited:\n{}", job.describe());
    assert_counts_exact(&*store, &texts).await;
}

/// Waits (bounded) until the broker answers `publisher`.
async fn wait_for_broker(publisher: &dyn Publisher) {
    let deadline = Instant::now() + WAIT;
    while let Err(err) = publisher.check_health().await {
        assert!(
            Instant::now() < deadline,
            "the broker did not answer within {WAIT:?} of coming back: {err}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
