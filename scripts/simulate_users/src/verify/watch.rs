//! The polling side of `--verify`: the baseline read, the watcher that times each marker while the
//! load runs, and the checker that waits after the last answer until the counts match or time
//! runs out.

use std::collections::HashMap;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::expected::{Expected, Mismatch, Resolved, compare_resolved};
use super::verdict::{Verdict, Verification};
use crate::http::{DashboardClient, WordsRead};
use crate::outcome::Error;
use crate::report::Latencies;

/// Reading every count is the expensive read; while waiting it is made at most this often.
const FULL_READ_EVERY: Duration = Duration::from_secs(1);

/// How verification waits and polls.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Longest wait after the last answer.
    pub timeout: Duration,
    /// How long matching counts must stay matching.
    pub settle: Duration,
    pub poll: Duration,
}

/// Reads the dashboard before, during and after a run.
pub struct Verifier {
    dashboard: DashboardClient,
    baseline: WordsRead,
    prefix: Option<String>,
    timing: Timing,
    last_full_read: Option<Instant>,
    last_resolved: Option<Resolved>,
}

/// When each marker was first seen counted, by a task polling while the load runs.
pub struct MarkerWatch {
    stop: CancellationToken,
    task: JoinHandle<HashMap<String, Instant>>,
}

impl MarkerWatch {
    async fn finish(self) -> HashMap<String, Instant> {
        self.stop.cancel();
        self.task.await.unwrap_or_default()
    }
}

impl Verifier {
    /// Reads the baseline: every all-time count as it is before anything is sent. `prefix` is what
    /// this run's markers start with; `None` when texts carry no marker.
    pub async fn start(
        dashboard: DashboardClient,
        prefix: Option<&str>,
        timing: Timing,
    ) -> Result<Self, Error> {
        let baseline = dashboard.words(None).await?;
        Ok(Self {
            dashboard,
            baseline,
            prefix: prefix.map(str::to_owned),
            timing,
            last_full_read: None,
            last_resolved: None,
        })
    }

    pub fn dashboard_url(&self) -> &str {
        self.dashboard.url()
    }

    /// Starts noting when markers become visible, until the verification takes over.
    pub fn watch(&self) -> MarkerWatch {
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let dashboard = self.dashboard.clone();
        let prefix = self.prefix.clone();
        let baseline = self.baseline.counts.clone();
        let poll = self.timing.poll;
        let task = tokio::spawn(async move {
            let mut seen = HashMap::new();
            let Some(prefix) = prefix else {
                stopped.cancelled().await;
                return seen;
            };
            let mut ticker = tokio::time::interval(poll);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    () = stopped.cancelled() => return seen,
                }
                // A failed read is retried at the next tick; the checker reports lasting failures.
                if let Ok(read) = dashboard.words(Some(&prefix)).await {
                    note_markers(&mut seen, &baseline, &read, Instant::now());
                }
            }
        });
        MarkerWatch { stop, task }
    }

    /// Waits (bounded by the timeout, or Ctrl-C) until the counts have grown by `expected`.
    pub async fn finish(
        mut self,
        watch: MarkerWatch,
        expected: &Expected,
        stop: &CancellationToken,
    ) -> Verification {
        let started = Instant::now();
        let deadline = started + self.timing.timeout;
        let mut seen = watch.finish().await;
        let mut last_error = None;
        let verdict = loop {
            match self.check(expected, &mut seen).await {
                Ok(Some(verdict)) => break verdict,
                Ok(None) => {}
                Err(err) => last_error = Some(err.to_string()),
            }
            if Instant::now() >= deadline {
                break match self.full_read(expected).await {
                    Ok(mismatches) if mismatches.is_empty() => {
                        // Matched at the last moment: too late to watch it settle, still true.
                        self.matched()
                    }
                    Ok(mismatches) => Verdict::TimedOut {
                        mismatches,
                        error: last_error,
                    },
                    Err(err) => Verdict::TimedOut {
                        mismatches: Vec::new(),
                        error: Some(err.to_string()),
                    },
                };
            }
            let next = (Instant::now() + self.timing.poll).min(deadline);
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = stop.cancelled() => break Verdict::Interrupted,
            }
        };
        let latencies: Vec<Duration> = expected
            .markers
            .iter()
            .filter_map(|(marker, sent_at)| Some(seen.get(marker)?.duration_since(*sent_at)))
            .collect();
        Verification {
            verdict,
            waited: started.elapsed(),
            markers_seen: latencies.len(),
            markers_expected: expected.markers.len(),
            visible: Latencies::of(latencies),
            uncertain_texts: expected.uncertain_texts(),
            marked: self.prefix.is_some(),
            resolved: self.last_resolved,
        }
    }

    /// One poll: the cheap marker search, and the full read only when that says the work may be
    /// done. `None` while still waiting.
    async fn check(
        &mut self,
        expected: &Expected,
        seen: &mut HashMap<String, Instant>,
    ) -> Result<Option<Verdict>, Error> {
        // Without markers there is no cheap read that says the work may be done: the full read
        // (of only the sentences' words, then) is made at its own pace.
        if let Some(prefix) = &self.prefix {
            let markers = self.dashboard.words(Some(prefix)).await?;
            note_markers(seen, &self.baseline.counts, &markers, Instant::now());
            let all_markers_seen = expected
                .markers
                .iter()
                .all(|(marker, _)| seen.contains_key(marker));
            let grown = markers
                .total_words
                .saturating_sub(self.baseline.total_words);
            if !all_markers_seen || grown < expected.sure().total() {
                return Ok(None);
            }
        }
        // Every marker counted means every stored text counted (a record's words are applied
        // together), so a word still short here is rare: no need to read everything every poll.
        if self
            .last_full_read
            .is_some_and(|at| at.elapsed() < FULL_READ_EVERY)
        {
            return Ok(None);
        }
        self.last_full_read = Some(Instant::now());
        let mismatches = self.full_read(expected).await?;
        if mismatches.first().is_some_and(Mismatch::is_final) {
            return Ok(Some(Verdict::Mismatched(mismatches)));
        }
        if !mismatches.is_empty() {
            return Ok(None);
        }
        // A duplicate applied just after the match (a replay, a second consumer) shows up here,
        // and so does an uncertain text stored late (then it is expected, and still matches).
        tokio::time::sleep(self.timing.settle).await;
        let mismatches = self.full_read(expected).await?;
        Ok(Some(if mismatches.is_empty() {
            self.matched()
        } else {
            Verdict::Mismatched(mismatches)
        }))
    }

    /// Reads every count and compares it with the expectation, resolved by this read.
    async fn full_read(&mut self, expected: &Expected) -> Result<Vec<Mismatch>, Error> {
        let now = self.dashboard.words(None).await?;
        let resolved = expected.resolve(&self.baseline.counts, &now.counts);
        let mismatches = compare_resolved(&self.baseline.counts, &now.counts, &resolved);
        self.last_resolved = Some(resolved);
        Ok(mismatches)
    }

    fn matched(&self) -> Verdict {
        let resolved = self
            .last_resolved
            .as_ref()
            .expect("a match follows a full read");
        Verdict::Matched {
            words: resolved.sure.unique(),
            occurrences: resolved.sure.total(),
            uncertain_stored: resolved.uncertain_stored,
        }
    }
}

/// Notes `at` as the time each marker in `read` that has grown since `baseline` was first seen.
fn note_markers(
    seen: &mut HashMap<String, Instant>,
    baseline: &HashMap<String, u64>,
    read: &WordsRead,
    at: Instant,
) {
    for (word, &count) in &read.counts {
        if count > baseline.get(word).copied().unwrap_or(0) {
            seen.entry(word.clone()).or_insert(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_is_seen_once_its_count_grows_and_keeps_its_first_time() {
        let mut seen = HashMap::new();
        let baseline = HashMap::from([("mkold".to_owned(), 1)]);
        let first = Instant::now();
        let read = WordsRead {
            counts: HashMap::from([("mkold".to_owned(), 1), ("mknew".to_owned(), 1)]),
            total_words: 2,
        };
        note_markers(&mut seen, &baseline, &read, first);
        note_markers(&mut seen, &baseline, &read, first + Duration::from_secs(1));
        assert_eq!(seen, HashMap::from([("mknew".to_owned(), first)]));
    }
}
