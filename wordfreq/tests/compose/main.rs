//! The Docker deployment under faults, against the running containers that
//! `scripts/compose-test.sh` started (it passes their compose command as `WORDFREQ_COMPOSE`; run
//! alone these tests fail, they never skip). Each ends on exact counts: the words read through the
//! dashboard's JSON API against what the producer API accepted. They share one stack, so they run
//! one at a time (`--test-threads 1`) and each first waits until it is healthy again.

// The browser test's Chromium; the downloads it can save are not used here.
#[allow(dead_code)]
#[path = "../browser/chromium.rs"]
mod chromium;
mod stack;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::Value;

use crate::chromium::{Browser, screenshots_dir};
use crate::stack::{Fault, PRODUCE_TIMEOUT, RECOVERY, Stack, crash, docker, fresh_words};

/// What a killed or cut-off stream job's partitions must be counted again within.
const RESUME_WITHIN: Duration = Duration::from_secs(30);
/// How long a fault lasts where the issue says so.
const FAULT: Duration = Duration::from_secs(20);
/// What a cut-off stream job's partitions must be counted by the others within: the broker
/// notices it gone only when its session times out (10 s), and on tansu the others then rejoin for
/// its partitions (docs/RELIABILITY.md), which can take two rounds.
const HANDOVER_WITHIN: Duration = Duration::from_secs(50);

/// A text of the page with its layout's white space collapsed to single spaces.
fn normalized(text: &Value) -> String {
    text.as_str()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What [`submit_each`] sent.
struct Sent {
    /// The counts its texts must reach.
    counts: BTreeMap<String, u64>,
    /// The partitions the producer API put them in.
    partitions: BTreeSet<i32>,
}

/// Submits one text per word, each from its own user (so the texts spread over the partitions);
/// every one must be accepted.
async fn submit_each(stack: &Stack, words: &[String]) -> Sent {
    let mut partitions = BTreeSet::new();
    for (n, word) in words.iter().enumerate() {
        partitions.insert(
            stack
                .accepted(&format!("{word} {word}"), &format!("user_{n}"))
                .await,
        );
    }
    Sent {
        counts: words.iter().map(|word| (word.clone(), 2)).collect(),
        partitions,
    }
}

/// After a fault: `count` new texts are counted, and what was counted before (`expected`) stays
/// exactly as it was.
async fn counting_goes_on(
    stack: &Stack,
    prefix: &str,
    count: usize,
    expected: &BTreeMap<String, u64>,
) {
    let more = submit_each(stack, &fresh_words(prefix, count)).await.counts;
    stack.wait_for_counts(&more, RECOVERY).await;
    stack.wait_for_counts(expected, Duration::ZERO).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_text_is_counted_on_the_dashboard_and_the_page_loads_in_chromium() {
    let stack = Stack::healthy().await;
    // Three words with one stem (fresh_words' suffix is one letter here), so one search shows
    // them all.
    let words = fresh_words("submitted", 3);
    let stem = &words[0][..words[0].len() - 1];
    stack
        .accepted(&format!("{0} {1} {0}", words[0], words[1]), "compose")
        .await;
    let expected = BTreeMap::from([(words[0].clone(), 2), (words[1].clone(), 1)]);
    stack.wait_for_counts(&expected, RECOVERY).await;

    // The page in Chromium, scripts run: it shows the counted words and the producer API online,
    // and a text typed into its form is counted too.
    let browser = Browser::start().await;
    let url = format!("{}/?q={stem}", stack.dashboard_url());
    browser.open(&url, "#submit-text").await;
    let client = &browser.client;
    let form = client.find(Locator::Id("submit-text")).await.unwrap();
    form.send_keys(&words[2]).await.unwrap();
    let button = client.find(Locator::Id("submit-button")).await.unwrap();
    button.click().await.unwrap();
    let deadline = Instant::now() + RECOVERY;
    loop {
        let page = browser
            .js("const text = id => (document.getElementById(id) || {}).textContent || '';
                 const words = [...document.querySelectorAll('#word-table tbody tr td:nth-child(2)')]
                     .map(cell => cell.textContent);
                 return [document.title, text('health'), text('submit-result'), words];")
            .await;
        let shown: Vec<&str> = page[3]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if words.iter().all(|word| shown.contains(&word.as_str()))
            && normalized(&page[1]).contains("Producer API: online")
            && page[2]
                .as_str()
                .unwrap()
                .contains("Text submitted successfully")
        {
            assert!(
                page[0].as_str().unwrap().contains("Word Frequency"),
                "{page}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "within {RECOVERY:?} the page did not show {words:?}, the success and the API online: {page}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    browser
        .screenshot(1280, &screenshots_dir().join("compose-dashboard.png"))
        .await;
    let expected = BTreeMap::from([
        (words[0].clone(), 2),
        (words[1].clone(), 1),
        (words[2].clone(), 1),
    ]);
    stack.wait_for_counts(&expected, RECOVERY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_stream_jobs_split_the_partitions_and_count_each_text_once() {
    let stack = Stack::healthy().await;
    let held = stack.scale_stream_jobs(3).await;
    assert!(held.values().all(|&partitions| partitions == 1), "{held:?}");

    let words = fresh_words("scaled", 30);
    let expected = submit_each(&stack, &words).await.counts;
    stack.wait_for_counts(&expected, RECOVERY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_stream_job_is_restarted_by_its_policy_and_counting_resumes_within_30_s() {
    let stack = Stack::healthy().await;
    let before = stack.containers("stream-job");
    let victim = &before[0];
    let restarts = |id: &str| {
        docker(&["inspect", "-f", "{{.RestartCount}}", id])
            .trim()
            .to_owned()
    };
    let restarts_before = restarts(victim);

    crash(victim);
    let killed = Instant::now();
    // Texts for every partition, sent while it is down and restarting.
    let words = fresh_words("killed", 30);
    let expected = submit_each(&stack, &words).await.counts;
    stack.wait_for_counts(&expected, RECOVERY).await;
    let resumed = killed.elapsed();
    assert_ne!(
        restarts(victim),
        restarts_before,
        "the restart policy did not restart it"
    );
    assert!(
        resumed <= RESUME_WITHIN,
        "counting resumed {resumed:?} after the kill (bound {RESUME_WITHIN:?})"
    );
    println!("counting resumed {resumed:.1?} after the SIGKILL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_redis_keeps_its_counts_through_its_append_only_file() {
    let stack = Stack::healthy().await;
    let words = fresh_words("persisted", 10);
    let expected = submit_each(&stack, &words).await.counts;
    stack.wait_for_counts(&expected, RECOVERY).await;

    docker(&["restart", &stack.container("redis")]);
    stack.wait_until_healthy(RECOVERY).await;
    stack.wait_for_counts(&expected, RECOVERY).await;
    counting_goes_on(&stack, "afterrestart", 5, &expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_broker_gets_503s_within_the_produce_timeout_and_the_api_recovers_by_itself() {
    let stack = Stack::healthy().await;
    let broker = stack.container("kafka");
    let pause = Fault::start(&["pause", &broker], &["unpause", &broker]);
    let paused = Instant::now();
    let words = fresh_words("paused", 200);
    let mut told: BTreeMap<String, Option<u16>> = BTreeMap::new();
    let mut slowest = Duration::ZERO;
    for (n, word) in words.iter().enumerate() {
        if paused.elapsed() >= FAULT {
            break;
        }
        let sent = Instant::now();
        let status = stack.submit(word, &format!("user_{n}")).await;
        slowest = slowest.max(sent.elapsed());
        told.insert(word.clone(), status);
    }
    pause.end();
    println!(
        "{} texts while paused, slowest answer {slowest:.1?}",
        told.len()
    );

    let accepted = told.values().filter(|status| **status == Some(200)).count();
    assert_eq!(
        accepted, 0,
        "told 200 for texts a paused broker cannot have stored: {told:?}"
    );
    assert!(told.values().all(|status| *status == Some(503)), "{told:?}");
    // The bound: the produce timeout, and a second for the answer to travel.
    assert!(
        slowest <= PRODUCE_TIMEOUT + Duration::from_secs(1),
        "slowest 503 took {slowest:?}"
    );

    // Recovers by itself: accepted again, and counted.
    let deadline = Instant::now() + RECOVERY;
    let recovered = fresh_words("unpaused", 1).remove(0);
    while stack.submit(&recovered, "user_after").await != Some(200) {
        assert!(
            Instant::now() < deadline,
            "the API did not recover within {RECOVERY:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stack
        .wait_for_counts(&BTreeMap::from([(recovered, 1)]), RECOVERY)
        .await;
    // A 503 says "not stored as far as we know": such a text may still have reached the broker
    // and is then counted, but once at most.
    let counts = stack.counts(&words).await.unwrap();
    assert!(counts.values().all(|&count| count <= 1), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_job_cut_off_for_20_s_hands_its_partitions_over_and_nothing_is_counted_twice() {
    let stack = Stack::healthy().await;
    stack.scale_stream_jobs(3).await;
    let network = stack.network();
    let jobs = stack.containers("stream-job");
    let cut = &jobs[0];
    let its_partitions = stack::partitions_of(cut).await;

    let cut_off = Fault::start(
        &["network", "disconnect", &network, cut],
        &["network", "connect", &network, cut],
    );
    let disconnected = Instant::now();
    let words = fresh_words("cutoff", 30);
    let Sent {
        counts: expected,
        partitions: sent_to,
    } = submit_each(&stack, &words).await;
    assert!(
        its_partitions.is_subset(&sent_to),
        "no text went to the cut-off job's partitions {its_partitions:?}: {sent_to:?}"
    );
    // Counted while the job is still cut off (it reaches neither the broker nor Redis), so the
    // connected two took its partitions over: the group moved them.
    stack.wait_for_counts(&expected, HANDOVER_WITHIN).await;
    println!(
        "the cut-off job's partitions {its_partitions:?} were counted by the others {:.1?} after the cut",
        disconnected.elapsed()
    );
    if let Some(rest) = FAULT.checked_sub(disconnected.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    cut_off.end();
    let reconnected = Instant::now();

    // Back in the group, the three split the partitions again; the counts stay exact, also for
    // what the cut-off job had read but not yet stored when it was cut off.
    stack.scale_stream_jobs(3).await;
    println!(
        "the three split the partitions again {:.1?} after the reconnect",
        reconnected.elapsed()
    );
    counting_goes_on(&stack, "reconnected", 30, &expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_stopped_the_dashboard_shows_its_last_data_and_the_outage_and_recovers() {
    let stack = Stack::healthy().await;
    let words = fresh_words("lastseen", 1);
    let expected = submit_each(&stack, &words).await.counts;
    stack.wait_for_counts(&expected, RECOVERY).await;
    let view = format!("/?q={}", words[0]);
    let (_, before) = stack.dashboard(&view).await.expect("the dashboard answers");
    assert!(before.contains(&words[0]));

    let redis = stack.container("redis");
    docker(&["stop", &redis]);
    let deadline = Instant::now() + RECOVERY;
    loop {
        let health = stack.dashboard("/api/health").await;
        if let Some((503, body)) = &health
            && body.contains("disconnected")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the outage was not reported: {health:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (status, page) = stack.dashboard(&view).await.expect("the dashboard answers");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&words[0]), "the last data is gone: {page}");
    assert!(
        page.contains("<strong>disconnected</strong>"),
        "the outage is not shown: {page}"
    );

    docker(&["start", &redis]);
    stack.wait_until_healthy(RECOVERY).await;
    let (status, _) = stack.dashboard("/api/health").await.unwrap();
    assert_eq!(status, 200);
    stack.wait_for_counts(&expected, RECOVERY).await;
}
