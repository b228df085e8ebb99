//! `load --verify`: the counts match when the pipeline counts exactly once, and a run fails,
//! saying what differs, when they never appear or when something else adds to them.

use std::time::Duration;

use serde_json::json;
use simulate_users::texts::SENTENCES;
use wordfreq_domain::{Tokenizer, WordCounts};

use crate::helpers::{Stack, closed_url, run};

fn verify_args<'a>(stack: &'a Stack, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "load",
        "--api-url",
        &stack.api_url,
        "--dashboard-url",
        &stack.dashboard_url,
        "--users",
        "3",
        "--messages",
        "5",
        "--delay-ms",
        "0..20",
        "--verify",
        "--verify-settle",
        "200ms",
    ];
    args.extend_from_slice(extra);
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_verified_load_matches_the_dashboards_counts_exactly() {
    let stack = Stack::start().await;
    let run = run(&verify_args(
        &stack,
        &["--seed", "7", "--verify-timeout", "30s"],
    ))
    .await;
    assert!(run.status.success(), "{}", run.output());
    run.assert_says(&[
        "counts          match",
        "markers seen    15 of 15",
        "visible p50",
        "visible p99",
    ]);

    // Checked again here, independently of the tool: what is on the log is what was counted.
    let records: Vec<_> = stack.records().into_iter().flatten().collect();
    assert_eq!(records.len(), 15);
    let tokenizer = Tokenizer::default();
    let mut sent = WordCounts::new();
    for record in &records {
        let (sentence, marker) = record.text.rsplit_once(' ').unwrap();
        assert!(SENTENCES.contains(&sentence), "{}", record.text);
        assert!(marker.starts_with("mk"), "{}", record.text);
        sent.add_text(&tokenizer, &record.text);
    }
    let words = stack.dashboard_json("/api/words?window=all&limit=0").await;
    let mut counted = WordCounts::new();
    for entry in words["words"].as_array().unwrap() {
        counted.add(
            entry["word"].as_str().unwrap(),
            entry["count"].as_u64().unwrap(),
        );
    }
    assert_eq!(counted, sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_that_never_appear_time_out_and_fail_naming_the_missing_words() {
    let stack = Stack::without_job().await;
    let run = run(&verify_args(&stack, &["--verify-timeout", "1s"])).await;
    run.assert_failed_within(Duration::from_secs(15));
    run.assert_says(&[
        "successful      15",
        "TIMED OUT after",
        "(missing ",
        "markers seen    0 of 15",
    ]);
    run.assert_warns(&["FAILED: the dashboard's counts are not what was sent"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_client_adding_the_same_words_is_reported_as_counted_twice() {
    let stack = Stack::start().await;
    // Another client sends every sentence the tool may send, all through the run: whatever the
    // tool sent, its words grow by more than it sent.
    let intruder = {
        let url = format!("{}/submit_text", stack.api_url);
        let text = SENTENCES.join(" ");
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            loop {
                let body = json!({"text": text, "user_id": "intruder"});
                http.post(&url).json(&body).send().await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let run = run(&verify_args(&stack, &["--verify-timeout", "30s"])).await;
    intruder.abort();
    assert!(!run.status.success(), "{}", run.output());
    run.assert_says(&["MISMATCH in", "(counted twice?)"]);
    run.assert_warns(&["FAILED: the dashboard's counts are not what was sent"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_that_cannot_be_read_stops_verify_before_anything_is_sent() {
    let stack = Stack::without_job().await;
    let url = closed_url();
    let args = [
        "load",
        "--api-url",
        &stack.api_url,
        "--dashboard-url",
        &url,
        "--verify",
    ];
    let run = run(&args).await;
    assert_eq!(run.status.code(), Some(1), "{}", run.output());
    assert!(
        run.elapsed < Duration::from_secs(5),
        "took {:?}",
        run.elapsed
    );
    run.assert_warns(&[&format!(
        "the dashboard at {url} cannot be read: cannot connect"
    )]);
    assert_eq!(stack.records().iter().map(Vec::len).sum::<usize>(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_markers_the_counts_are_still_verified_and_the_report_has_the_figures() {
    let stack = Stack::start().await;
    let report =
        std::env::temp_dir().join(format!("simulate-users-report-{}.json", std::process::id()));
    let report_arg = report.to_str().unwrap();
    let run = run(&verify_args(
        &stack,
        &["--no-markers", "--seed", "5", "--report", report_arg],
    ))
    .await;
    assert!(run.status.success(), "{}", run.output());
    run.assert_says(&["without markers", "counts          match"]);
    assert!(!run.stdout.contains("markers seen"), "{}", run.output());
    for record in stack.records().into_iter().flatten() {
        assert!(SENTENCES.contains(&record.text.as_str()), "{}", record.text);
    }

    let report_json = std::fs::read(&report).unwrap();
    std::fs::remove_file(&report).unwrap();
    let report: serde_json::Value = serde_json::from_slice(&report_json).unwrap();
    assert_eq!(
        (&report["passed"], &report["sent"], &report["accepted"]),
        (&json!(true), &json!(15), &json!(15))
    );
    assert_eq!(
        (&report["refused"], &report["uncertain"]),
        (&json!(0), &json!(0))
    );
    let verification = &report["verification"];
    assert_eq!(verification["verdict"], "matched");
    assert_eq!(verification["marked"], false);
    // The expected counts are every word the dashboard counted.
    let words = stack.dashboard_json("/api/words?window=all&limit=0").await;
    let counted: serde_json::Map<String, serde_json::Value> = words["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["word"].as_str().unwrap().to_owned(),
                entry["count"].clone(),
            )
        })
        .collect();
    assert_eq!(verification["expected"], serde_json::Value::Object(counted));
}
