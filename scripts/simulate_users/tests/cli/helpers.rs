//! What `simulate_users` runs against in these tests: the launcher's whole system in this
//! process (the real producer API, stream job and dashboard, each on a free port) over the
//! in-process log and store; and the binary itself, run as a process with a bounded wait.

use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use wordfreq::cli::Cli;
use wordfreq::system::{System, Wiring};
use wordfreq_bus::{MemoryBus, Retention};
use wordfreq_domain::TextRecord;
use wordfreq_domain::names::{INPUT_PARTITIONS, INPUT_TOPIC};
use wordfreq_testkit::free_port;

/// Bound on any wait in these tests.
pub const WAIT: Duration = Duration::from_secs(60);

/// The three services on the in-process log and store; stopped on drop.
pub struct Stack {
    pub api_url: String,
    pub dashboard_url: String,
    pub bus: Arc<MemoryBus>,
    _system: System,
}

impl Stack {
    /// The API, the stream job and the dashboard.
    pub async fn start() -> Self {
        Self::build(true, &[]).await
    }

    /// The API and the dashboard, no stream job: nothing sent is ever counted.
    pub async fn without_job() -> Self {
        Self::build(false, &[]).await
    }

    /// The API requiring `key`, the dashboard, no stream job.
    pub async fn with_api_key(key: &str) -> Self {
        Self::build(false, &["--api-keys", key]).await
    }

    async fn build(stream_job: bool, flags: &[&str]) -> Self {
        wordfreq_testkit::init_test_log(
            "wordfreq=debug,producer_api=debug,stream_job=debug,dashboard=debug",
        );
        let mut args = Cli::try_parse_from(
            [
                "wordfreq",
                "--api-addr",
                "127.0.0.1:0",
                "--dashboard-addr",
                "127.0.0.1:0",
            ]
            .iter()
            .chain(flags),
        )
        .unwrap()
        .system;
        args.dashboard.push_interval = Duration::from_millis(50);
        let wiring = Wiring {
            stream_job,
            // The tests read back every record the API put on the log.
            input_retention: Retention::Forever,
            ..Wiring::default()
        };
        let system = System::start(args, wiring).await.unwrap();
        Self {
            api_url: format!("http://{}", system.api_addr),
            dashboard_url: format!("http://{}", system.dashboard_addr),
            bus: system.memory_bus().expect("the in-process log").clone(),
            _system: system,
        }
    }

    /// Every record the API put on the log, partition by partition, each in log order.
    pub fn records(&self) -> Vec<Vec<TextRecord>> {
        (0..INPUT_PARTITIONS)
            .map(|partition| {
                self.bus
                    .read(INPUT_TOPIC, partition, 0, usize::MAX)
                    .iter()
                    .map(|record| serde_json::from_slice(&record.value).unwrap())
                    .collect()
            })
            .collect()
    }

    /// The dashboard's JSON at `path`.
    pub async fn dashboard_json(&self, path: &str) -> serde_json::Value {
        reqwest::get(format!("{}{path}", self.dashboard_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// An address where nothing listens.
pub fn closed_url() -> String {
    let port = free_port();
    format!("http://127.0.0.1:{port}")
}

/// The binary with `args` and none of the variables it reads from the developer's environment.
fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_simulate_users"));
    command.args(args).kill_on_drop(true);
    for (name, _) in std::env::vars() {
        let read = name.starts_with("SIMULATE_")
            || [
                "PRODUCER_API_URL",
                "PRODUCER_API_KEY",
                "DASHBOARD_URL",
                "MIN_WORD_LENGTH",
                "STOPWORDS",
            ]
            .contains(&name.as_str());
        if read {
            command.env_remove(name);
        }
    }
    command
}

/// A finished run of the binary.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// Asserts standard output says each of `parts`, showing both streams when it does not.
    pub fn assert_says(&self, parts: &[&str]) {
        for part in parts {
            assert!(
                self.stdout.contains(part),
                "{part:?} missing from\n{}",
                self.output()
            );
        }
    }

    /// Asserts standard error says each of `parts`, showing both streams when it does not.
    pub fn assert_warns(&self, parts: &[&str]) {
        for part in parts {
            assert!(
                self.stderr.contains(part),
                "{part:?} missing from\n{}",
                self.output()
            );
        }
    }

    /// Asserts the run failed within `bound`.
    pub fn assert_failed_within(&self, bound: Duration) {
        assert!(!self.status.success(), "{}", self.output());
        assert!(
            self.elapsed < bound,
            "took {:?}\n{}",
            self.elapsed,
            self.output()
        );
    }

    /// Both streams, for assertion messages.
    pub fn output(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.status.code(),
            self.stdout,
            self.stderr
        )
    }
}

/// Runs the binary to its end, bounded by [`WAIT`].
pub async fn run(args: &[&str]) -> Run {
    let started = Instant::now();
    let output = tokio::time::timeout(WAIT, command(args).output())
        .await
        .unwrap_or_else(|_| panic!("simulate_users {args:?} did not end within {WAIT:?}"))
        .unwrap();
    Run {
        status: output.status,
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
        elapsed: started.elapsed(),
    }
}

/// The binary running, its standard output read line by line.
pub struct Running {
    pub child: Child,
    pub stdout: Lines<BufReader<ChildStdout>>,
}

pub fn spawn(args: &[&str]) -> Running {
    let mut child = command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    Running { child, stdout }
}

impl Running {
    /// The next line of standard output, bounded by [`WAIT`]; `None` at its end.
    pub async fn next_line(&mut self) -> Option<String> {
        tokio::time::timeout(WAIT, self.stdout.next_line())
            .await
            .expect("a line of output within the wait")
            .unwrap()
    }
}
