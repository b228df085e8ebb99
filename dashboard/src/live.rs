//! Live pushes: one subscription to the store's updates per dashboard process, fanned out to every
//! browser over server-sent events, at most one refresh per push interval however often the stream
//! job flushes; and the health of the producer API and the store, pushed when it changes. Health
//! follows the latest evidence: probes (every `HEALTH_INTERVAL`, and soon again after one failed:
//! 250 ms, doubling up to the interval) and every submission proxied to the producer API.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, sleep, sleep_until};
use tokio_util::sync::CancellationToken;
use wordfreq_store::{MemoryStatus, Store};

use crate::producer::{Accepted, ProducerClient, SubmitError};

/// Longest wait before subscribing to the store's updates again after losing them.
const MAX_RESUBSCRIBE_DELAY: Duration = Duration::from_secs(5);

/// What browsers are told to refresh for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refresh {
    /// Counts the refreshes.
    pub generation: u64,
    /// The batch that caused it, or none when the health changed.
    pub batch_id: Option<String>,
}

/// The first wait before probing again after a failed probe.
const FIRST_RETRY: Duration = Duration::from_millis(250);

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

/// What a proxied submission says of the producer API: any HTTP answer but a 503 shows it up (a
/// 4xx is its verdict on the request; a 503 means its broker is down, as its `/health` would
/// say); no answer shows it down.
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

/// The state every browser connection follows.
pub struct Live {
    refresh: watch::Sender<Refresh>,
    health: watch::Sender<Health>,
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
            refresh: watch::Sender::new(Refresh {
                generation: 0,
                batch_id: None,
            }),
            health: watch::Sender::new(Health::default()),
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

    pub fn refreshes(&self) -> watch::Receiver<Refresh> {
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

    /// Records a health check; a change is pushed. A change of the store's health also refreshes
    /// the data (a store that came back has news, one that went away makes the page show its last
    /// data as stale); the producer API's alone does not, since the data does not depend on it and
    /// each refresh makes every browser read its view again.
    pub fn set_health(&self, health: Health) {
        let mut store_changed = false;
        self.health.send_if_modified(|current| {
            let changed = *current != health;
            store_changed = current.store != health.store;
            *current = health;
            changed
        });
        if store_changed {
            self.push(None);
        }
    }

    /// Records what a proxied submission showed of the producer API, at once (pushed to the
    /// browsers if it changes); evidence of an outage also brings the next probe forward.
    pub fn record_producer_evidence(&self, evidence: Result<(), String>) {
        let failed = evidence.is_err();
        let mut health = self.health();
        health.producer_api = evidence;
        self.set_health(health);
        if failed {
            self.probe_soon.notify_one();
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

    /// Checks the producer API and the store until `stop`: every `interval` while both answer,
    /// sooner after a failure (from 250 ms, doubling up to `interval`), so a dependency that
    /// comes up is seen up within a second or two.
    pub async fn watch_health(
        self: Arc<Self>,
        producer: ProducerClient,
        store: Arc<dyn Store>,
        interval: Duration,
        stop: CancellationToken,
    ) {
        let mut retry = FIRST_RETRY.min(interval);
        loop {
            let (producer_api, store_health, store_memory) = tokio::join!(
                producer.check_health(),
                store.check_health(),
                store.memory()
            );
            let health = Health {
                producer_api,
                store: store_health.map_err(|err| err.to_string()),
                store_memory: store_memory.ok(),
            };
            let wait = if health.failing() {
                let wait = retry;
                retry = (retry * 2).min(interval);
                wait
            } else {
                retry = FIRST_RETRY.min(interval);
                interval
            };
            self.set_health(health);
            tokio::select! {
                () = sleep(wait) => {}
                () = self.probe_soon.notified() => {
                    retry = FIRST_RETRY.min(interval);
                    tokio::select! {
                        () = sleep(retry) => {}
                        () = stop.cancelled() => return,
                    }
                }
                () = stop.cancelled() => return,
            }
        }
    }
}
