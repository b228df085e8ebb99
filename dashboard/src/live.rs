//! Live pushes: one subscription to the store's updates per dashboard process, fanned out to every
//! browser over server-sent events, at most one refresh per push interval however often the stream
//! job flushes; and the health of the producer API and the store, pushed when it changes. Health
//! follows the latest evidence: probes (every `HEALTH_INTERVAL`, and soon again after one failed:
//! 250 ms, doubling up to the interval) and every submission proxied to the producer API.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, sleep, sleep_until};
use tokio_util::sync::CancellationToken;
use wordfreq_store::{MemoryStatus, Store};

use crate::api_client::{Accepted, ProducerApiClient, SubmitError};

/// Longest wait before subscribing to the store's updates again after losing them.
const MAX_RESUBSCRIBE_DELAY: Duration = Duration::from_secs(5);

/// The `refresh` event every browser is sent: what it is told to refresh for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefreshEvent {
    /// Counts the refreshes.
    pub generation: u64,
    /// The batch that caused it, or none when the health changed.
    pub batch_id: Option<String>,
}

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
    fn failing(&self) -> bool {
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
struct FoundAt {
    producer_api: Option<Instant>,
    store: Option<Instant>,
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
struct ProbeSchedule {
    interval: Duration,
    retry: Duration,
}

impl ProbeSchedule {
    fn new(interval: Duration) -> Self {
        let interval = interval.max(MIN_INTERVAL);
        Self {
            interval,
            retry: FIRST_RETRY.min(interval),
        }
    }

    /// The wait after a probe, given whether a dependency is (by the latest evidence) down.
    fn after_probe(&mut self, failing: bool) -> Duration {
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
    fn after_outside_failure(&mut self) -> Duration {
        self.retry = FIRST_RETRY.min(self.interval);
        self.after_probe(true)
    }
}

/// The state every browser connection follows.
pub struct Live {
    refresh: watch::Sender<RefreshEvent>,
    health: watch::Sender<Health>,
    /// Orders the evidence; locked only while recording it.
    found_at: Mutex<FoundAt>,
    /// Wakes the health probe early (after evidence that a dependency went down).
    probe_soon: Notify,
    /// Counts the store updates and refreshes seen; reads are cached per data version. It moves on
    /// with every update, not only with the (folded) pushes, so a read made after an update never
    /// gets the counts from before it: tools polling the JSON API see a batch as soon as it lands.
    data_version: AtomicU64,
}

impl Default for Live {
    fn default() -> Self {
        Self {
            refresh: watch::Sender::new(RefreshEvent {
                generation: 0,
                batch_id: None,
            }),
            health: watch::Sender::new(Health::default()),
            found_at: Mutex::default(),
            probe_soon: Notify::new(),
            data_version: AtomicU64::new(0),
        }
    }
}

impl Live {
    /// The current refresh generation.
    pub fn generation(&self) -> u64 {
        self.refresh.borrow().generation
    }

    /// The version of the data reads are cached under.
    pub fn data_version(&self) -> u64 {
        self.data_version.load(Ordering::Acquire)
    }

    fn data_changed(&self) {
        self.data_version.fetch_add(1, Ordering::AcqRel);
    }

    pub fn health(&self) -> Health {
        self.health.borrow().clone()
    }

    pub fn refreshes(&self) -> watch::Receiver<RefreshEvent> {
        self.refresh.subscribe()
    }

    pub fn health_changes(&self) -> watch::Receiver<Health> {
        self.health.subscribe()
    }

    /// Starts a new generation without an update: the next reads go to the store (benchmarks
    /// measure uncached reads this way).
    pub fn invalidate(&self) {
        self.push(None);
    }

    fn push(&self, batch_id: Option<String>) {
        self.data_changed();
        self.refresh.send_modify(|refresh| {
            refresh.generation += 1;
            refresh.batch_id = batch_id;
        });
    }

    /// Records a whole health check as of now (both dependencies); see [`Live::record`].
    pub fn set_health(&self, health: Health) {
        self.record(
            Instant::now(),
            [
                Finding::ProducerApi(health.producer_api),
                Finding::Store {
                    health: health.store,
                    memory: health.store_memory,
                },
            ],
        );
    }

    /// Records what a submission proxied to the producer API, sent at `sent_at`, showed of it
    /// ([`producer_evidence`]), at once: pushed to the browsers if it changes, whatever the probe
    /// interval. Evidence that the API is down also brings the next probe forward.
    pub fn record_submission(&self, sent_at: Instant, outcome: &Result<Accepted, SubmitError>) {
        let evidence = producer_evidence(outcome);
        let failed = evidence.is_err();
        self.record(sent_at, [Finding::ProducerApi(evidence)]);
        if failed {
            self.probe_soon.notify_one();
        }
    }

    /// The one place evidence becomes health. Each finding replaces its own dependency's health
    /// (the other's is untouched) unless newer evidence is already in: a probe that was under way
    /// when a submission reached the API must not undo what the submission showed. A change is
    /// pushed. A change of the store's health also refreshes the data (a store that came back has
    /// news, one that went away makes the page show its last data as stale); the producer API's
    /// alone does not, since the data does not depend on it and each refresh makes every browser
    /// read its view again.
    pub fn record(&self, found_at: Instant, findings: impl IntoIterator<Item = Finding>) {
        // Held across the update, so two recordings cannot interleave their order checks.
        let mut newest_found = self.found_at.lock().unwrap_or_else(PoisonError::into_inner);
        let mut store_changed = false;
        self.health.send_if_modified(|health| {
            let before = health.clone();
            for finding in findings {
                match finding {
                    Finding::ProducerApi(producer_api) => {
                        if newest(&mut newest_found.producer_api, found_at) {
                            health.producer_api = producer_api;
                        }
                    }
                    Finding::Store {
                        health: store,
                        memory,
                    } => {
                        if newest(&mut newest_found.store, found_at) {
                            health.store = store;
                            health.store_memory = memory;
                        }
                    }
                }
            }
            store_changed = health.store != before.store;
            *health != before
        });
        drop(newest_found);
        if store_changed {
            self.push(None);
        }
    }

    /// Follows the store's updates until `stop`, resubscribing (with capped backoff) whenever the
    /// subscription is lost, and pushes at most one refresh per `push_interval`.
    pub async fn follow_updates(
        self: Arc<Self>,
        store: Arc<dyn Store>,
        push_interval: Duration,
        stop: CancellationToken,
    ) {
        let mut delay = Duration::from_millis(100);
        while !stop.is_cancelled() {
            match store.updates().await {
                Ok(updates) => {
                    delay = Duration::from_millis(100);
                    tracing::info!("following the store's updates");
                    self.relay(updates, push_interval, &stop).await;
                    if !stop.is_cancelled() {
                        tracing::warn!("lost the store's updates; subscribing again");
                        // Updates may have been missed while unsubscribed.
                        self.push(None);
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, retry_in = ?delay, "cannot follow the store's updates");
                }
            }
            tokio::select! {
                () = sleep(delay) => {}
                () = stop.cancelled() => {}
            }
            delay = (delay * 2).min(MAX_RESUBSCRIBE_DELAY);
        }
    }

    /// Relays one subscription: the first update after a quiet spell is pushed at once, the ones
    /// that follow within `push_interval` are folded into one push at its end.
    async fn relay(
        &self,
        mut updates: futures::stream::BoxStream<'static, wordfreq_store::Update>,
        push_interval: Duration,
        stop: &CancellationToken,
    ) {
        let mut held: Option<String> = None;
        let mut next_push = Instant::now();
        loop {
            tokio::select! {
                update = updates.next() => {
                    let Some(update) = update else { return };
                    self.data_changed();
                    if held.is_none() && Instant::now() >= next_push {
                        self.push(Some(update.batch_id));
                        next_push = Instant::now() + push_interval;
                    } else {
                        held = Some(update.batch_id);
                    }
                }
                () = sleep_until(next_push), if held.is_some() => {
                    self.push(held.take());
                    next_push = Instant::now() + push_interval;
                }
                () = stop.cancelled() => return,
            }
        }
    }

    /// Checks the producer API and the store until `stop`, on one schedule ([`ProbeSchedule`]):
    /// every `interval` while both answer, from 250 ms doubling up to `interval` while either does
    /// not. A submission that fails to reach the API starts the fast retries too.
    pub async fn watch_health(
        self: Arc<Self>,
        producer_api: ProducerApiClient,
        store: Arc<dyn Store>,
        interval: Duration,
        stop: CancellationToken,
    ) {
        let mut schedule = ProbeSchedule::new(interval);
        loop {
            let begun = Instant::now();
            let probe = async {
                tokio::join!(
                    producer_api.check_health(),
                    store.check_health(),
                    store.memory()
                )
            };
            // A probe of an API that accepts connections but does not answer takes its timeout.
            let (producer_api, store_health, store_memory) = tokio::select! {
                results = probe => results,
                () = stop.cancelled() => return,
            };
            self.record(
                begun,
                [
                    Finding::ProducerApi(producer_api),
                    Finding::Store {
                        health: store_health.map_err(|err| err.to_string()),
                        memory: store_memory.ok(),
                    },
                ],
            );
            // The latest evidence decides, not this probe alone: a submission that reached the API
            // while it ran counts.
            let mut next = Instant::now() + schedule.after_probe(self.health().failing());
            loop {
                tokio::select! {
                    () = sleep_until(next) => break,
                    // Only ever brings the probe forward, so failed submissions in a row cannot
                    // keep putting it off.
                    () = self.probe_soon.notified() => {
                        next = next.min(Instant::now() + schedule.after_outside_failure());
                    }
                    () = stop.cancelled() => return,
                }
            }
        }
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

    #[test]
    fn evidence_older_than_what_is_known_is_dropped_and_each_dependency_keeps_its_own() {
        let live = Live::default();
        let earlier = Instant::now();
        let later = earlier + Duration::from_millis(10);
        // A submission sent after a probe began reached the API; the probe ends later, failed.
        live.record(later, [Finding::ProducerApi(Ok(()))]);
        live.record(
            earlier,
            [
                Finding::ProducerApi(Err("connection refused".into())),
                Finding::Store {
                    health: Ok(()),
                    memory: None,
                },
            ],
        );
        let health = live.health();
        assert_eq!(health.producer_api, Ok(()), "the older probe undid it");
        assert_eq!(health.store, Ok(()), "the store had no newer evidence");
        // A finding about the producer API leaves the store's health as it is.
        live.record(later, [Finding::ProducerApi(Err("gone".into()))]);
        let health = live.health();
        assert_eq!(health.producer_api, Err("gone".into()));
        assert_eq!(health.store, Ok(()));
    }
}
