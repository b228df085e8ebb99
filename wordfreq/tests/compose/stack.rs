//! The running deployment, as the compose tests drive it: the compose command `scripts/compose-test.sh`
//! started it with (`WORDFREQ_COMPOSE`), the `docker` CLI for the faults, and the producer API and
//! the dashboard on the ports the compose file publishes.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Where the compose file publishes the producer API and the dashboard.
const API_URL: &str = "http://127.0.0.1:8000";
const DASHBOARD_URL: &str = "http://127.0.0.1:8501";
/// The producer API's `PRODUCE_TIMEOUT` (the compose file leaves its default).
pub const PRODUCE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long anything may take to come back after a fault (health checks run every 5–10 s).
pub const RECOVERY: Duration = Duration::from_secs(90);

/// The stack `WORDFREQ_COMPOSE` names.
pub struct Stack {
    compose: Vec<String>,
    http: reqwest::Client,
}

impl Stack {
    /// The stack as `up` makes it (one stream job; whatever an earlier test stopped, started
    /// again), once every service's container says healthy.
    pub async fn healthy() -> Self {
        let compose = std::env::var("WORDFREQ_COMPOSE").unwrap_or_else(|_| {
            panic!(
                "WORDFREQ_COMPOSE is not set: run these tests with scripts/compose-test.sh, which \
                 starts the stack and names its compose command"
            )
        });
        let stack = Self {
            compose: compose.split_whitespace().map(str::to_owned).collect(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        };
        stack.compose(&["up", "-d", "--no-build", "--scale", "stream-job=1"]);
        stack.wait_until_healthy(RECOVERY).await;
        stack
    }

    /// Runs the compose command with `args`; panics with its output if it fails.
    pub fn compose(&self, args: &[&str]) -> String {
        let (program, base) = self.compose.split_first().unwrap();
        run(Command::new(program).args(base).args(args))
    }

    /// The ids of `service`'s running containers.
    pub fn containers(&self, service: &str) -> Vec<String> {
        self.compose(&["ps", "-q", service])
            .lines()
            .map(str::to_owned)
            .filter(|id| !id.is_empty())
            .collect()
    }

    /// The one container of `service`.
    pub fn container(&self, service: &str) -> String {
        let containers = self.containers(service);
        assert_eq!(containers.len(), 1, "{service}: {containers:?}");
        containers[0].clone()
    }

    /// Waits (bounded) until every container of the project is running and, where it has a
    /// health check, healthy; kafka-init has exited 0.
    pub async fn wait_until_healthy(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let states = self.states();
            let waiting: Vec<&String> = states
                .iter()
                .filter(|(_, state)| !matches!(state.as_str(), "healthy" | "exited 0"))
                .map(|(name, _)| name)
                .collect();
            if waiting.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not healthy within {within:?}: {states:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Each container of the project (running or not) by name: "healthy", "starting",
    /// "unhealthy", "running" (no health check), "paused", or "exited <code>".
    pub fn states(&self) -> BTreeMap<String, String> {
        let ids = self.compose(&["ps", "-a", "-q"]);
        let ids: Vec<&str> = ids.lines().filter(|id| !id.is_empty()).collect();
        if ids.is_empty() {
            return BTreeMap::new();
        }
        let format = "{{.Name}} {{.State.Status}} {{.State.ExitCode}} \
                      {{if .State.Health}}{{.State.Health.Status}}{{end}}";
        docker(&[&["inspect", "-f", format][..], &ids].concat())
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let (name, status, code) = (fields.first()?, fields.get(1)?, fields.get(2)?);
                let state = match (*status, fields.get(3)) {
                    ("running", Some(health)) => (*health).to_owned(),
                    ("exited", _) => format!("exited {code}"),
                    (status, _) => status.to_owned(),
                };
                Some((name.trim_start_matches('/').to_owned(), state))
            })
            .collect()
    }

    /// Scales the stream job to `instances` containers and waits until they split the topic's
    /// partitions among them, each holding at least one.
    pub async fn scale_stream_jobs(&self, instances: usize) -> BTreeMap<String, u64> {
        self.compose(&[
            "up",
            "-d",
            "--no-recreate",
            "--scale",
            &format!("stream-job={instances}"),
            "stream-job",
        ]);
        let deadline = Instant::now() + RECOVERY;
        loop {
            let held = self.partitions_held();
            if held.len() == instances
                && held.values().all(|&n| n >= 1)
                && held.values().sum::<u64>() == 3
            {
                return held;
            }
            assert!(
                Instant::now() < deadline,
                "{instances} stream jobs did not split the 3 partitions within {RECOVERY:?}: {held:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Partitions each running stream-job container holds, read from its metrics (inside the
    /// container: the metrics port is not published, so the job can be scaled).
    pub fn partitions_held(&self) -> BTreeMap<String, u64> {
        self.containers("stream-job")
            .into_iter()
            .filter_map(|id| {
                Some((
                    id.clone(),
                    stream_job_metric(&id, "wordfreq_assigned_partitions")?,
                ))
            })
            .collect()
    }

    /// `POST /submit_text` of `text` from `user_id`.
    async fn post_text(&self, text: &str, user_id: &str) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(format!("{API_URL}/submit_text"))
            .json(&serde_json::json!({"text": text, "user_id": user_id}))
            .send()
            .await
    }

    /// Submits `text` to the producer API; the status, or None for no answer.
    pub async fn submit(&self, text: &str, user_id: &str) -> Option<u16> {
        let response = self.post_text(text, user_id).await.ok()?;
        Some(response.status().as_u16())
    }

    /// Submits `text`, which must be accepted; the partition the API says it went to.
    pub async fn accepted(&self, text: &str, user_id: &str) -> i32 {
        let response = self
            .post_text(text, user_id)
            .await
            .unwrap_or_else(|err| panic!("{text}: {err}"));
        assert_eq!(response.status().as_u16(), 200, "{text}");
        let body: Value = response.json().await.unwrap();
        let partition = body["kafka_metadata"]["partition"].as_i64();
        i32::try_from(partition.unwrap_or_else(|| panic!("no partition in {body}"))).unwrap()
    }

    /// Each of `words`' all-time count on the dashboard's JSON API (0 for a word it has not).
    pub async fn counts(&self, words: &[String]) -> Result<BTreeMap<String, u64>, String> {
        let mut counts = BTreeMap::new();
        for word in words {
            let response = self
                .http
                .get(format!("{DASHBOARD_URL}/api/words"))
                .query(&[("q", word.as_str()), ("limit", "0")])
                .send()
                .await
                .map_err(|err| err.to_string())?;
            if !response.status().is_success() {
                return Err(format!("/api/words answered {}", response.status()));
            }
            let body: Value = response.json().await.map_err(|err| err.to_string())?;
            let count = body["words"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|entry| entry["word"] == word.as_str())
                .and_then(|entry| entry["count"].as_u64())
                .unwrap_or(0);
            counts.insert(word.clone(), count);
        }
        Ok(counts)
    }

    /// Waits (bounded) until the dashboard shows exactly `expected`; fails at once on a count
    /// above it (counted twice). Returns how long it took.
    pub async fn wait_for_counts(
        &self,
        expected: &BTreeMap<String, u64>,
        within: Duration,
    ) -> Duration {
        let started = Instant::now();
        let words: Vec<String> = expected.keys().cloned().collect();
        loop {
            let counts = self.counts(&words).await;
            if let Ok(counts) = &counts {
                for (word, &count) in counts {
                    assert!(
                        count <= expected[word],
                        "{word} counted {count} times, expected {}",
                        expected[word]
                    );
                }
                if counts == expected {
                    return started.elapsed();
                }
            }
            assert!(
                started.elapsed() < within,
                "within {within:?} the dashboard did not show {expected:?}: {counts:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// `GET` of a dashboard path: the status and the body.
    pub async fn dashboard(&self, path: &str) -> Option<(u16, String)> {
        let response = self
            .http
            .get(format!("{DASHBOARD_URL}{path}"))
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        Some((status, response.text().await.ok()?))
    }

    pub fn dashboard_url(&self) -> &'static str {
        DASHBOARD_URL
    }

    /// The compose project's network.
    pub fn network(&self) -> String {
        let id = self.container("redis");
        docker(&[
            "inspect",
            "-f",
            "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}",
            &id,
        ])
        .split_whitespace()
        .next()
        .expect("redis is on a network")
        .to_owned()
    }
}

/// A fault that lasts until it is dropped, so a failing assertion does not leave it in place for
/// the tests after: `docker <undo> <args>` on drop (`unpause`, `network connect`).
pub struct Fault {
    undo: Vec<String>,
}

impl Fault {
    /// Runs `docker <args>` now and `docker <undo>` when dropped.
    pub fn start(args: &[&str], undo: &[&str]) -> Self {
        docker(args);
        Self {
            undo: undo.iter().map(|arg| (*arg).to_owned()).collect(),
        }
    }

    /// Ends the fault now.
    pub fn end(self) {}
}

impl Drop for Fault {
    // No panic here (it may run while a failed assertion unwinds): a failed undo is said, and the
    // next test's `Stack::healthy` finds what it left.
    fn drop(&mut self) {
        match Command::new("docker").args(&self.undo).output() {
            Ok(output) if output.status.success() => {}
            failed => eprintln!("docker {:?} failed: {failed:?}", self.undo),
        }
    }
}

/// Kills the main process of container `id` with SIGKILL from the host, as a crash or the OOM
/// killer would. (`docker kill` would not do: Docker counts it as a manual stop, and the restart
/// policy leaves such a container stopped.)
pub fn crash(id: &str) {
    let pid = docker(&["inspect", "-f", "{{.State.Pid}}", id]);
    run(Command::new("kill").args(["-KILL", pid.trim()]));
}

/// The metrics of the stream job in container `id`, read inside it (it ships curl for its health
/// check); None while it does not answer.
fn stream_job_metrics(id: &str) -> Option<String> {
    let output = Command::new("docker")
        .args(["exec", id, "curl", "-fsS", "--max-time", "2"])
        .arg("http://127.0.0.1:9100/metrics")
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The value of the unlabelled metric `name` in `metrics`.
fn metric_value(metrics: &str, name: &str) -> Option<u64> {
    metrics
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|value| value.parse::<f64>().ok())
        .map(|value| value as u64)
}

/// A metric of the stream job in container `id`; None while it does not answer.
pub fn stream_job_metric(id: &str, name: &str) -> Option<u64> {
    metric_value(&stream_job_metrics(id)?, name)
}

/// The partitions the stream job in container `id` holds, once its metrics say which: those its
/// consumer-lag metric has a series for (set every 5 s; removed when it loses a partition), as
/// many as it says it holds. Panics if they do not within 15 s.
pub async fn partitions_of(id: &str) -> BTreeSet<i32> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let metrics = stream_job_metrics(id).unwrap_or_default();
        let partitions: BTreeSet<i32> = metrics
            .lines()
            .filter_map(|line| line.strip_prefix("wordfreq_consumer_lag{partition=\""))
            .filter_map(|rest| rest.split('"').next()?.parse().ok())
            .collect();
        let held = metric_value(&metrics, "wordfreq_assigned_partitions");
        if !partitions.is_empty() && held == Some(partitions.len() as u64) {
            return partitions;
        }
        assert!(
            Instant::now() < deadline,
            "{id}: lag of {partitions:?}, holding {held:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Runs `docker` with `args`; panics with its output if it fails.
pub fn docker(args: &[&str]) -> String {
    run(Command::new("docker").args(args))
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("docker runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Words no other test and no earlier run submitted: `prefix` and letters from the clock (the
/// tokenizer keeps letters; digits would do too, but letters read better on the dashboard).
pub fn fresh_words(prefix: &str, count: usize) -> Vec<String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let stamp: String = format!("{nanos:x}")
        .chars()
        .rev()
        .take(10)
        .map(|digit| (b'a' + digit.to_digit(16).unwrap() as u8) as char)
        .collect();
    (0..count)
        .map(|n| {
            let suffix: String = format!("{n:x}")
                .chars()
                .map(|digit| (b'a' + digit.to_digit(16).unwrap() as u8) as char)
                .collect();
            format!("{prefix}{stamp}{suffix}")
        })
        .collect()
}
