//! The default mode: one text at a time, a line each, a clean stop with a summary.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use simulate_users::texts::{SENTENCES, SIMULATE_SENTENCES};

use crate::helpers::{Stack, WAIT, closed_url, run, spawn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_subcommand_it_sends_texts_from_the_ten_users_and_prints_a_line_each() {
    let stack = Stack::without_job().await;
    let run = run(&[
        "--api-url",
        &stack.api_url,
        "--count",
        "4",
        "--delay-ms",
        "0..5",
    ])
    .await;
    assert!(run.status.success(), "{}", run.output());
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{}", run.output());
    for (n, line) in lines[1..5].iter().enumerate() {
        assert!(line.starts_with(&format!("#{}", n + 1)), "{line}");
        assert!(line.contains(" ok "), "{line}");
        assert!(line.contains("partition"), "{line}");
    }
    assert!(
        lines[5].starts_with("stopped after 4 submissions: 4 ok, 0 failed"),
        "{}",
        run.output()
    );
    let records: Vec<_> = stack.records().into_iter().flatten().collect();
    assert_eq!(records.len(), 4);
    for record in records {
        assert!(SENTENCES[..SIMULATE_SENTENCES].contains(&record.text.as_str()));
        let user: u32 = record
            .user_id
            .strip_prefix("user_")
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=10).contains(&user), "{}", record.user_id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_sends_the_same_texts_as_the_same_users() {
    let mut sent = Vec::new();
    for _ in 0..2 {
        let stack = Stack::without_job().await;
        let args = [
            "simulate",
            "--api-url",
            &stack.api_url,
            "--count",
            "8",
            "--delay-ms",
            "0",
            "--seed",
            "1234",
        ];
        let run = run(&args).await;
        assert!(run.status.success(), "{}", run.output());
        // Each user's texts land on one partition, in the order they were sent.
        let records: Vec<Vec<(String, String)>> = stack
            .records()
            .into_iter()
            .map(|partition| partition.into_iter().map(|r| (r.user_id, r.text)).collect())
            .collect();
        assert_eq!(records.iter().map(Vec::len).sum::<usize>(), 8);
        sent.push(records);
    }
    assert_eq!(sent[0], sent[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_the_simulation_cleanly_with_a_summary() {
    let stack = Stack::without_job().await;
    let mut running = spawn(&["--api-url", &stack.api_url, "--delay-ms", "0..5"]);
    // Waits for the third submission, so Ctrl-C lands in the middle of the run.
    loop {
        let line = running
            .next_line()
            .await
            .expect("the simulation runs until stopped");
        if line.starts_with("#3 ") {
            break;
        }
    }
    let pid = Pid::from_raw(running.child.id().unwrap() as i32);
    kill(pid, Signal::SIGINT).unwrap();
    let mut rest = Vec::new();
    while let Some(line) = running.next_line().await {
        rest.push(line);
    }
    let status = tokio::time::timeout(WAIT, running.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}: {rest:?}");
    let summary = rest.last().expect("a summary");
    assert!(summary.starts_with("stopped after "), "{rest:?}");
    assert!(summary.contains("0 failed"), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_api_that_is_not_there_is_a_clear_error_and_exit_1() {
    let url = closed_url();
    let run = run(&["--api-url", &url]).await;
    assert_eq!(run.status.code(), Some(1), "{}", run.output());
    assert!(
        run.elapsed < Duration::from_secs(5),
        "took {:?}",
        run.elapsed
    );
    run.assert_warns(&[&format!("the producer API at {url} is not reachable")]);
}
