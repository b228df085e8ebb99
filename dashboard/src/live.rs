//! Live pushes: one subscription to the store's updates per dashboard process, fanned out to every
//! browser over server-sent events, at most one refresh per push interval however often the stream
//! job flushes; and the health of the producer API and the store, checked on a timer and pushed
//! when it changes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::{Instant, sleep, sleep_until};
use tokio_util::sync::CancellationToken;
use wordfreq_store::Store;

use crate::producer::ProducerClient;

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

/// Whether each dependency answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub producer_api: Result<(), String>,
    pub store: Result<(), String>,
}

impl Default for Health {
    /// Before the first check nothing is known to work.
    fn default() -> Self {
        let unknown = || Err("not checked yet".to_owned());
        Self {
            producer_api: unknown(),
            store: unknown(),
        }
    }
}

/// The state every browser connection follows.
pub struct Live {
    refresh: watch::Sender<Refresh>,
    health: watch::Sender<Health>,
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

    /// Checks the producer API and the store every `interval` until `stop`.
    pub async fn watch_health(
        self: Arc<Self>,
        producer: ProducerClient,
        store: Arc<dyn Store>,
        interval: Duration,
        stop: CancellationToken,
    ) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = stop.cancelled() => return,
            }
            let (producer_api, store) = tokio::join!(producer.check_health(), store.check_health());
            self.set_health(Health {
                producer_api,
                store: store.map_err(|err| err.to_string()),
            });
        }
    }
}
