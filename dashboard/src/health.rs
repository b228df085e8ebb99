//! What the dashboard knows of the producer API's and the store's health, and how evidence becomes
//! it: the findings of a probe or of a submission proxied to the producer API, each dependency's
//! ordered by when the probe or call that found it began, and when the next probe comes (every
//! `HEALTH_INTERVAL`, and soon again after one failed: 250 ms, doubling up to the interval). Plain
//! data and rules; [`crate::live::Live`] holds the health and runs the probes.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;
use wordfreq_store::MemoryStatus;

use crate::api_client::{Accepted, SubmitError};

/// The first wait before probing again after a failed probe.
const FIRST_RETRY: Duration = Duration::from_millis(250);
/// The shortest probe interval, whatever `HEALTH_INTERVAL` says: a zero would probe in a busy loop.
const MIN_INTERVAL: Duration = Duration::from_millis(50);

/// Whether each dependency answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub producer_api: Result<(), String>,
    pub store: Result<(), String>,
    /// The store's memory against its limit and its eviction policy, as last read.
    pub store_memory: Option<MemoryStatus>,
}

impl Default for Health {
    /// Before the first check nothing is known to work.
    fn default() -> Self {
        let unknown = || Err("not checked yet".to_owned());
        Self {
            producer_api: unknown(),
            store: unknown(),
            store_memory: None,
        }
    }
}

impl Health {
    /// Whether a dependency is down: the next probe then comes soon.
    pub(crate) fn failing(&self) -> bool {
        self.producer_api.is_err() || self.store.is_err()
    }
}

/// What one probe or one proxied call showed of one dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The producer API is up, or why it is not.
    ProducerApi(Result<(), String>),
    /// The store is up, or why it is not, with its memory when that could be read.
    Store {
        health: Result<(), String>,
        memory: Option<MemoryStatus>,
    },
}

/// What a submission proxied to the producer API shows of it. Any HTTP answer proves it reachable,
/// so:
///
/// - 200: up.
/// - 503: down, with its detail: the API answers 503 when its broker is down (within its
///   `PRODUCE_TIMEOUT`), exactly when its own `/health` would fail the probe.
/// - every other answer, 4xx or 5xx (empty text 400, auth 401, too large 413, bad fields 422, rate
///   limited 429, the broker rejecting this one record 502): up. It is the API's verdict on this
///   request, given by a running API whose broker answers.
/// - no answer (refused, reset, timed out): down, with the reason.
pub fn producer_evidence(outcome: &Result<Accepted, SubmitError>) -> Result<(), String> {
    match outcome {
        Ok(_) => Ok(()),
        Err(SubmitError::Refused {
            status: 503,
            detail,
        }) => Err(format!("answered 503: {detail}")),
        Err(SubmitError::Refused { .. }) => Ok(()),
        Err(SubmitError::Unreachable { reason, .. }) => Err(reason.clone()),
    }
}

/// When each dependency's current health was found (when the probe or call that found it began).
#[derive(Debug, Default)]
pub(crate) struct FoundAt {
    producer_api: Option<Instant>,
    store: Option<Instant>,
}

impl FoundAt {
    /// Applies to `health` each finding at least as new as what its dependency's health rests on
    /// (the other dependency's is untouched): a probe that was under way when a submission reached
    /// the API must not undo what the submission showed.
    pub(crate) fn apply(
        &mut self,
        health: &mut Health,
        found_at: Instant,
        findings: impl IntoIterator<Item = Finding>,
    ) {
        for finding in findings {
            match finding {
                Finding::ProducerApi(producer_api) => {
                    if newest(&mut self.producer_api, found_at) {
                        health.producer_api = producer_api;
                    }
                }
                Finding::Store {
                    health: store,
                    memory,
                } => {
                    if newest(&mut self.store, found_at) {
                        health.store = store;
                        health.store_memory = memory;
                    }
                }
            }
        }
    }
}

/// Whether evidence that began `at` is at least as new as what `slot` holds; if so it becomes the
/// newest.
fn newest(slot: &mut Option<Instant>, at: Instant) -> bool {
    if slot.is_some_and(|newest| newest > at) {
        return false;
    }
    *slot = Some(at);
    true
}

/// When the next probe comes: `interval` after one that found both dependencies up; after one that
/// found one down, soon (250 ms, doubling with each failure in a row, up to `interval`), so a
/// dependency that comes up is seen up within a second or two, and one that stays down is not
/// asked many times a second.
#[derive(Debug)]
pub(crate) struct ProbeSchedule {
    interval: Duration,
    retry: Duration,
}

impl ProbeSchedule {
    pub(crate) fn new(interval: Duration) -> Self {
        let interval = interval.max(MIN_INTERVAL);
        Self {
            interval,
            retry: FIRST_RETRY.min(interval),
        }
    }

    /// The wait after a probe, given whether a dependency is (by the latest evidence) down.
    pub(crate) fn after_probe(&mut self, failing: bool) -> Duration {
        if failing {
            let wait = self.retry;
            self.retry = (self.retry * 2).min(self.interval);
            wait
        } else {
            self.retry = FIRST_RETRY.min(self.interval);
            self.interval
        }
    }

    /// The wait after a failure seen outside the probes (a submission that did not reach the API):
    /// it starts a new run of failures, so the retries start again from the first.
    pub(crate) fn after_outside_failure(&mut self) -> Duration {
        self.retry = FIRST_RETRY.min(self.interval);
        self.after_probe(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_client::KafkaMetadata;

    fn refused(status: u16) -> Result<Accepted, SubmitError> {
        Err(SubmitError::Refused {
            status,
            detail: format!("detail of {status}"),
        })
    }

    #[test]
    fn any_answer_from_the_producer_api_but_a_503_shows_it_up() {
        let accepted = Ok(Accepted {
            message: "Text submitted successfully".into(),
            kafka_metadata: KafkaMetadata {
                topic: "user_text".into(),
                partition: 1,
                offset: 0,
            },
        });
        assert_eq!(producer_evidence(&accepted), Ok(()));
        for status in [400, 401, 413, 415, 422, 429, 502] {
            assert_eq!(producer_evidence(&refused(status)), Ok(()), "{status}");
        }
        assert_eq!(
            producer_evidence(&refused(503)),
            Err("answered 503: detail of 503".into())
        );
        let unreachable = Err(SubmitError::Unreachable {
            url: "http://api".into(),
            reason: "connection refused or unreachable".into(),
        });
        assert_eq!(
            producer_evidence(&unreachable),
            Err("connection refused or unreachable".into())
        );
    }

    #[test]
    fn after_a_failed_probe_the_next_comes_in_250_ms_doubling_up_to_the_interval() {
        let mut schedule = ProbeSchedule::new(Duration::from_secs(5));
        let waits: Vec<u64> = (0..7)
            .map(|_| schedule.after_probe(true).as_millis() as u64)
            .collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 5000, 5000]);
        assert_eq!(schedule.after_probe(false), Duration::from_secs(5));
        assert_eq!(
            schedule.after_probe(true),
            Duration::from_millis(250),
            "a success ends the run of failures"
        );
    }

    #[test]
    fn a_failure_seen_outside_the_probes_starts_the_retries_again_from_the_first() {
        let mut schedule = ProbeSchedule::new(Duration::from_secs(3600));
        for _ in 0..10 {
            schedule.after_probe(true);
        }
        assert_eq!(schedule.after_outside_failure(), Duration::from_millis(250));
        assert_eq!(schedule.after_probe(true), Duration::from_millis(500));
    }

    #[test]
    fn a_short_or_zero_interval_never_makes_a_busy_loop() {
        let mut zero = ProbeSchedule::new(Duration::ZERO);
        assert_eq!(zero.after_probe(true), MIN_INTERVAL);
        assert_eq!(zero.after_probe(false), MIN_INTERVAL);
        let mut short = ProbeSchedule::new(Duration::from_millis(100));
        assert_eq!(short.after_probe(true), Duration::from_millis(100));
    }
}
