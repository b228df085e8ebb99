//! Live pushes: one subscription to the store's updates per dashboard process, fanned out to every
//! browser over server-sent events, at most one refresh per push interval however often the stream
//! job flushes; and the health of the producer API and the store, pushed when it changes. Health
//! follows the latest evidence: probes (every `HEALTH_INTERVAL`, and soon again after one failed:
//! 250 ms, doubling up to the interval) and every submission proxied to the producer API; how
//! evidence is judged and when the next probe comes is in [`crate::health`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, sleep, sleep_until};
use tokio_util::sync::CancellationToken;
use wordfreq_store::Store;

use crate::api_client::{Accepted, ProducerApiClient, SubmitError};
use crate::health::{Finding, FoundAt, Health, ProbeSchedule, producer_evidence};

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
    /// (the other's is untouched) unless newer evidence is already in (`FoundAt::apply`): a probe
    /// that was under way when a submission reached the API must not undo what the submission
    /// showed. A change is pushed. A change of the store's health also refreshes the data (a store
    /// that came back has news, one that went away makes the page show its last data as stale); the
    /// producer API's alone does not, since the data does not depend on it and each refresh makes
    /// every browser read its view again.
    pub fn record(&self, found_at: Instant, findings: impl IntoIterator<Item = Finding>) {
        // Held across the update, so two recordings cannot interleave their order checks.
        let mut newest_found = self.found_at.lock().unwrap_or_else(PoisonError::into_inner);
        let mut store_changed = false;
        self.health.send_if_modified(|health| {
            let before = health.clone();
            newest_found.apply(health, found_at, findings);
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
