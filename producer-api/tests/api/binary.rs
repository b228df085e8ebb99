//! The `producer-api` binary as operators run it: flags from the environment, JSON logs, and a
//! graceful SIGTERM that finishes in-flight work and flushes the producer.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use wordfreq_testkit::{KafkaBroker, TestNames, free_port};

use crate::helpers::WAIT;

/// Kills the child if the test ends early, so a failed assertion leaves no server behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_from_its_environment_logs_json_and_flushes_on_sigterm() {
    let broker = KafkaBroker::start();
    let topic = TestNames::new("binary").topic;
    broker.create_topic(&topic, 3).await;
    let port = free_port();
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_producer-api"))
            .env("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers())
            .env("KAFKA_TOPIC", &topic)
            .env("API_ADDR", format!("127.0.0.1:{port}"))
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");

    let deadline = Instant::now() + WAIT;
    while client
        .get(url("/health"))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(
            Instant::now() < deadline,
            "producer-api not healthy within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let response = client
        .post(url("/submit_text"))
        .json(&json!({"text": "logged and flushed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    kill(
        Pid::from_raw(i32::try_from(child.0.id()).unwrap()),
        Signal::SIGTERM,
    )
    .unwrap();
    let status = tokio::task::spawn_blocking(move || {
        let stderr = BufReader::new(child.0.stderr.take().unwrap());
        let lines: Vec<String> = stderr.lines().map(Result::unwrap).collect();
        (child.0.wait().unwrap(), lines)
    });
    let (status, lines) = tokio::time::timeout(WAIT, status)
        .await
        .expect("exit within the bound")
        .unwrap();

    assert!(status.success(), "{status:?}");
    let logs: Vec<Value> = lines
        .iter()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON log line: {line}"))
        })
        .collect();
    let messages: Vec<&str> = logs
        .iter()
        .filter_map(|log| log["message"].as_str())
        .collect();
    for expected in [
        "producer API listening",
        "SIGTERM received, shutting down",
        "producer flushed",
    ] {
        assert!(
            messages.contains(&expected),
            "no {expected:?} in {messages:?}"
        );
    }
}
