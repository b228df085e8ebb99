//! `load`: the closed loop with its results table, the open loop at a rate, the success-rate exit
//! code, and a producer API that is not there.

use std::time::Duration;

use simulate_users::texts::SENTENCES;

use crate::helpers::{Stack, closed_url, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_of_three_users_times_five_messages_prints_the_results_table() {
    let stack = Stack::without_job().await;
    let args = [
        "load",
        "--api-url",
        &stack.api_url,
        "--users",
        "3",
        "--messages",
        "5",
        "--delay-ms",
        "0..10",
    ];
    let run = run(&args).await;
    assert!(run.status.success(), "{}", run.output());
    for row in [
        "total           15",
        "successful      15",
        "failed          0",
        "success rate    100.0%",
        "latency mean",
        "latency p50",
        "latency p95",
        "latency p99",
        "throughput",
    ] {
        assert!(run.stdout.contains(row), "no `{row}` in\n{}", run.output());
    }
    let records: Vec<_> = stack.records().into_iter().flatten().collect();
    assert_eq!(records.len(), 15);
    let mut per_user = std::collections::BTreeMap::<String, usize>::new();
    for record in &records {
        assert!(SENTENCES.contains(&record.text.as_str()), "{}", record.text);
        *per_user.entry(record.user_id.clone()).or_default() += 1;
    }
    let expected: std::collections::BTreeMap<String, usize> = ["user_1", "user_2", "user_3"]
        .map(|user| (user.to_owned(), 5))
        .into();
    assert_eq!(per_user, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_against_a_closed_port_fails_fast_with_a_clear_message() {
    let url = closed_url();
    let run = run(&["load", "--api-url", &url, "--users", "2", "--messages", "2"]).await;
    run.assert_failed_within(Duration::from_secs(5));
    run.assert_warns(&[&format!(
        "the producer API at {url} is not reachable: cannot connect"
    )]);
    assert!(
        !run.stdout.contains("Results"),
        "nothing is sent: {}",
        run.output()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_submissions_below_the_success_rate_exit_non_zero_with_the_apis_detail() {
    let stack = Stack::with_api_key("sesame").await;
    let base = [
        "load",
        "--api-url",
        &stack.api_url,
        "--users",
        "2",
        "--messages",
        "3",
        "--delay-ms",
        "0",
    ];
    let refused = run(&base).await;
    assert!(!refused.status.success(), "{}", refused.output());
    refused.assert_says(&["success rate    0.0%"]);
    assert!(
        refused
            .stdout
            .contains("6 × 401: API key missing or not valid"),
        "{}",
        refused.output()
    );
    assert!(
        refused
            .stderr
            .contains("FAILED: success rate 0.0% is below 95%"),
        "{}",
        refused.output()
    );

    let mut with_key = base.to_vec();
    with_key.extend(["--api-key", "sesame"]);
    let accepted = run(&with_key).await;
    assert!(accepted.status.success(), "{}", accepted.output());
    accepted.assert_says(&["successful      6"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_loop_sends_rate_times_duration_texts_and_they_verify() {
    let stack = Stack::start().await;
    let args = [
        "load",
        "--api-url",
        &stack.api_url,
        "--dashboard-url",
        &stack.dashboard_url,
        "--rate",
        "40",
        "--duration",
        "1s",
        "--users",
        "4",
        "--verify",
        "--verify-timeout",
        "30s",
        "--verify-settle",
        "200ms",
    ];
    let run = run(&args).await;
    assert!(run.status.success(), "{}", run.output());
    run.assert_says(&[
        "40 texts/s for 1s (40 texts)",
        "total           40",
        "(target 40 req/s)",
        "counts          match",
    ]);
    assert_eq!(stack.records().iter().map(Vec::len).sum::<usize>(), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_that_accepts_but_never_answers_fails_within_the_http_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Holds every connection open without a word.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let run = run(&["load", "--api-url", &url, "--http-timeout", "500ms"]).await;
    silent.abort();
    run.assert_failed_within(Duration::from_secs(5));
    run.assert_warns(&[&format!(
        "the producer API at {url} is not reachable: no answer within 500ms"
    )]);
}
