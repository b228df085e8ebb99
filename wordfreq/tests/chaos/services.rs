//! The services as separate processes, each logging to a file of its own, and what the stream-job
//! instances' logs say about their partitions.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use wordfreq_testkit::Rebalance;

use crate::workspace::binary;

/// The input topic's partitions (`wordfreq init-topics` makes three).
pub const PARTITIONS: [i32; 3] = [0, 1, 2];

/// A service process, SIGKILLed when dropped so a failed assertion leaves none behind.
pub struct Service {
    pub name: String,
    child: Option<Child>,
    pub log: PathBuf,
}

impl Service {
    /// Starts binary `program` with only the environment given (nothing inherited may point
    /// elsewhere), its stderr appended to `<dir>/<name>.log`.
    pub fn start(program: &str, name: &str, dir: &Path, env: &[(&str, &str)]) -> Self {
        let log = dir.join(format!("{name}.log"));
        let file = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap_or_else(|err| panic!("opening {}: {err}", log.display()));
        let child = Command::new(binary(program))
            .env_remove("KAFKA_BOOTSTRAP_SERVERS")
            .env_remove("REDIS_URL")
            .env_remove("REDIS_HOST")
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .env("LOG_FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|err| panic!("starting {program}: {err}"));
        Self {
            name: name.to_owned(),
            child: Some(child),
            log,
        }
    }

    /// SIGKILL, as a crash or an OOM killer would, and reap it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = Pid::from_raw(i32::try_from(child.id()).expect("pids fit in i32"));
            let _ = kill(pid, Signal::SIGKILL);
            let _ = child.wait();
        }
    }

    /// Whether it is running (false once killed or if it exited by itself).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// The last lines of its log, for a failure message.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// How many lines of its log are at `level` (`WARN`, `ERROR`).
    pub fn lines_at(&self, level: &str) -> usize {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["level"] == level)
            .count()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One stream-job process and the partitions its log says it holds.
pub struct Job {
    pub service: Service,
    /// How far its log has been read.
    read: u64,
    /// What its rebalances so far left it.
    pub assigned: BTreeSet<i32>,
    /// How many assignments it has logged: a new one means the group rebalanced.
    pub assignments: u32,
    /// Batches it found already counted by someone else (the fence at work).
    pub rejected: u32,
    /// The group member it runs as (its `GROUP_INSTANCE_ID` slot), taken again by a restart.
    pub slot: String,
}

impl Job {
    pub fn start(name: &str, dir: &Path, env: &[(&str, &str)]) -> Self {
        Self {
            service: Service::start("stream-job", name, dir, env),
            read: 0,
            assigned: BTreeSet::new(),
            assignments: 0,
            rejected: 0,
            slot: String::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.service.name
    }

    /// Takes in what it has logged since last asked.
    pub fn catch_up(&mut self) {
        let Ok(mut file) = File::open(&self.service.log) else {
            return;
        };
        let mut text = String::new();
        if file.seek(SeekFrom::Start(self.read)).is_err() || file.read_to_string(&mut text).is_err()
        {
            return;
        }
        // Only whole lines: the rest is still being written.
        let Some(end) = text.rfind('\n') else {
            return;
        };
        self.read += end as u64 + 1;
        for line in text[..end].lines() {
            let Ok(line) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if let Some(rebalance) = Rebalance::of(&line) {
                rebalance.apply_to(&mut self.assigned);
                if matches!(rebalance, Rebalance::Assigned(_)) {
                    self.assignments += 1;
                }
            } else if line["message"]
                .as_str()
                .is_some_and(|message| message.starts_with("batch rejected"))
            {
                self.rejected += 1;
            }
        }
    }

    pub fn describe(&self) -> String {
        format!("{} {:?}", self.name(), self.assigned)
    }
}

/// Waits (bounded) until `done` holds for the running instances as their logs show them; fails
/// at once, with their logs, if one of them exits by itself.
pub async fn wait_for_jobs(
    what: &str,
    within: Duration,
    jobs: &mut [Job],
    done: impl Fn(&[Job]) -> bool,
) {
    let deadline = Instant::now() + within;
    loop {
        for job in jobs.iter_mut() {
            job.catch_up();
        }
        if done(jobs) {
            return;
        }
        let report = |jobs: &[Job]| {
            jobs.iter()
                .map(|job| {
                    format!(
                        "{}; its log ends:\n{}",
                        job.describe(),
                        job.service.log_tail(15)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n\n")
        };
        for job in jobs.iter_mut() {
            assert!(
                job.service.is_running(),
                "{} exited while waiting for {what}:\n{}",
                job.name(),
                job.service.log_tail(30)
            );
        }
        assert!(
            Instant::now() < deadline,
            "no {what} within {within:?}:\n{}",
            report(jobs)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the instances between them hold every partition, each once.
pub fn every_partition_held_once(jobs: &[Job]) -> bool {
    let mut held = Vec::new();
    for job in jobs {
        held.extend(job.assigned.iter().copied());
    }
    held.sort_unstable();
    held == PARTITIONS
}

/// Whether `url` answers 200 now (within 3 s).
pub async fn answers_ok(url: &str) -> bool {
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
    else {
        return false;
    };
    client
        .get(url)
        .send()
        .await
        .is_ok_and(|response| response.status().is_success())
}

/// Waits (bounded) until `url` answers 200.
pub async fn wait_until_ok(url: &str, within: Duration) {
    let deadline = Instant::now() + within;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .expect("an HTTP client");
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} did not answer 200 within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
