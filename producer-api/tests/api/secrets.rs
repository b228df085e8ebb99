//! The Kafka password never reaches the output: not in the logs at the most verbose level
//! (librdkafka's own included), not in a refused configuration's error, not in `--help`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use wordfreq_testkit::free_port;

use crate::helpers::WAIT;

const CANARY: &str = "canary-kafka-password-7f3a";

/// `producer-api` against a port where no broker listens, with SASL settings and every log on.
fn command(api_port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_producer-api"));
    command
        .env(
            "KAFKA_BOOTSTRAP_SERVERS",
            format!("127.0.0.1:{}", free_port()),
        )
        .env("KAFKA_SECURITY_PROTOCOL", "sasl_plaintext")
        .env("KAFKA_SASL_MECHANISM", "PLAIN")
        .env("KAFKA_SASL_USERNAME", "counter")
        .env("KAFKA_SASL_PASSWORD", CANARY)
        .env("API_ADDR", format!("127.0.0.1:{api_port}"))
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[tokio::test]
async fn the_kafka_password_is_in_no_log_line_even_at_trace_level() {
    let port = free_port();
    let mut child = command(port).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    // Up and answering, and asked for its health, which makes librdkafka try (and log) its
    // connections; only then is SIGTERM handled.
    let client = reqwest::Client::new();
    let deadline = Instant::now() + WAIT;
    while client
        .get(format!("http://127.0.0.1:{port}/health"))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "not answering within {WAIT:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut log = Vec::new();
    let deadline = Instant::now() + WAIT;
    while !log
        .iter()
        .any(|line: &String| line.contains("producer API listening"))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(line) => log.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!("not listening within {WAIT:?}: {log:#?}");
            }
        }
    }
    kill(
        Pid::from_raw(i32::try_from(child.id()).unwrap()),
        Signal::SIGTERM,
    )
    .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap());
    let status = tokio::time::timeout(WAIT, status).await.unwrap().unwrap();
    assert!(status.success(), "{status:?}");
    log.extend(received.try_iter());
    assert!(
        log.iter()
            .any(|line| line.contains("Kafka does not answer")),
        "the startup check was logged: {log:#?}"
    );
    assert!(log.len() > 5, "trace level logs a lot: {log:#?}");
    for line in &log {
        assert!(!line.contains(CANARY), "the password is logged: {line}");
    }
}

#[tokio::test]
async fn a_refused_security_setting_names_the_variable_and_not_the_password() {
    let output = tokio::task::spawn_blocking(|| {
        command(free_port())
            .env("KAFKA_SECURITY_PROTOCOL", "sasl_ssl")
            .env_remove("KAFKA_SASL_MECHANISM")
            .output()
            .unwrap()
    });
    let output = tokio::time::timeout(WAIT, output).await.unwrap().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("KAFKA_SASL_MECHANISM"), "{stderr}");
    assert!(!stderr.contains(CANARY), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains(CANARY));
}

#[test]
fn help_shows_the_password_variable_but_not_its_value() {
    let output = command(free_port()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("KAFKA_SASL_PASSWORD"), "{help}");
    assert!(help.contains("KAFKA_SSL_KEY_PASSWORD"), "{help}");
    assert!(!help.contains(CANARY), "{help}");
    assert!(
        help.contains("counter"),
        "non-secret values are shown: {help}"
    );
}
