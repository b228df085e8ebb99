//! The counting loop: one `select!` over the shutdown signal, a flush ticker and the consumer, and
//! what the loop does when the group rebalances.
//!
//! Delivery guarantee: exactly once into the store. Each flush is one [`FencedBatch`] whose offset
//! ranges must start where the store says the partitions stand; the store applies it whole or not
//! at all. On assignment, and after a rejected batch, every partition is sought to the store's
//! offset (or its earliest, if the store never saw it), so a crash, a replay or a zombie instance
//! can neither lose nor double a record. Dead letters and window results go to Kafka at least once,
//! before the batch that accounts for them. Kafka's committed offsets only mirror the store's, for
//! lag tools.
//!
//! [`FencedBatch`]: wordfreq_store::FencedBatch

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use wordfreq_bus::{BusError, ConsumerEvent, IncomingRecord, Publisher, Subscriber};
use wordfreq_domain::{Watermark, Windows};
use wordfreq_store::{EvictionPolicy, Store};

use crate::batch::{Batcher, Outcome, now_ms};
use crate::config::JobSettings;
use crate::error::JobError;
use crate::eviction::{Verdict, judge};
use crate::health::Problem;
use crate::lag::{measure_lag, partition_progress};
use crate::metrics::JobMetrics;
use crate::outputs::{WindowResults, publish_dead_letters};
use crate::positions::{Admit, Positions};
use crate::rejoin::Rejoin;
use crate::retry::Retry;

/// How often the consumer lag is measured (a broker round trip per partition).
const LAG_INTERVAL: Duration = Duration::from_secs(5);
/// How often the job looks whether partitions of its topic go unread.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);
/// How often the store's memory and eviction policy are read again: a reconnect the client made
/// on its own, or a `CONFIG SET`, is seen within this.
const STORE_CHECK_INTERVAL: Duration = Duration::from_secs(10);

/// The job and everything it holds between flushes.
pub struct StreamJob {
    subscriber: Box<dyn Subscriber>,
    store: Arc<dyn Store>,
    publisher: Arc<dyn Publisher>,
    topic: String,
    settings: JobSettings,
    watermark: Watermark,
    positions: Positions,
    batch: Batcher,
    results: WindowResults,
    retry: Retry,
    stop: CancellationToken,
    metrics: Arc<JobMetrics>,
    /// When the missing input topic was last reported, so the log says it without flooding.
    topic_missing_logged: Option<Instant>,
    /// The store's eviction policy as last read, so a warning is logged once per change.
    store_policy: Option<EvictionPolicy>,
    /// The partitions the group last gave this instance.
    assigned: BTreeSet<i32>,
    rejoin: Rejoin,
}

impl StreamJob {
    pub fn new(
        subscriber: Box<dyn Subscriber>,
        store: Arc<dyn Store>,
        publisher: Arc<dyn Publisher>,
        topic: impl Into<String>,
        settings: JobSettings,
        metrics: Arc<JobMetrics>,
        stop: CancellationToken,
    ) -> Result<Self, JobError> {
        let windows = Windows::new(settings.window_size)
            .map_err(|err| JobError::Settings(err.to_string()))?;
        Ok(Self {
            subscriber,
            store,
            publisher,
            topic: topic.into(),
            batch: Batcher::new(settings.tokenizer.tokenizer(), windows),
            watermark: Watermark::new(settings.allowed_lateness, settings.idle_timeout),
            settings,
            positions: Positions::default(),
            results: WindowResults::default(),
            retry: Retry::new(stop.clone(), metrics.clone()),
            stop,
            metrics,
            topic_missing_logged: None,
            store_policy: None,
            assigned: BTreeSet::new(),
            rejoin: Rejoin::new(Instant::now()),
        })
    }

    /// Runs until the stop token is cancelled, then flushes what it holds (bounded) and returns.
    pub async fn run(mut self) -> Result<(), JobError> {
        self.check_store_memory().await?;
        let mut store_ticker = tokio::time::interval(STORE_CHECK_INTERVAL);
        store_ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        store_ticker.reset();
        let mut watch_ticker = tokio::time::interval(WATCH_INTERVAL);
        watch_ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        self.rejoin.joined(Instant::now(), self.assigned.len());
        let mut ticker = tokio::time::interval(self.settings.trigger_interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut lag_ticker = tokio::time::interval(LAG_INTERVAL);
        lag_ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let stop = self.stop.clone();
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                _ = ticker.tick() => self.flush().await?,
                _ = lag_ticker.tick() => {
                    measure_lag(&mut *self.subscriber, &self.positions, &self.metrics).await;
                }
                _ = store_ticker.tick() => self.check_store_memory().await?,
                _ = watch_ticker.tick() => self.watch_partitions().await?,
                event = self.subscriber.next_event() => {
                    match event {
                        Ok(event) => self.handle(event).await?,
                        Err(BusError::Rejected(why)) => self.wait_for_topic(&why).await?,
                        Err(err) => {
                            tracing::warn!(error = %err, "consumer error; retrying");
                            self.retry.pause(Duration::from_millis(500)).await?;
                        }
                    }
                    if self.batch.records() >= self.settings.batch_max_records {
                        self.flush().await?;
                    }
                }
            }
            if self.retry.take_store_recovered() {
                self.check_store_memory().await?;
            }
        }
        self.flush_before_exit().await;
        self.subscriber.close().await;
        Ok(())
    }

    async fn handle(&mut self, event: ConsumerEvent) -> Result<(), JobError> {
        match event {
            ConsumerEvent::Assigned(partitions) => {
                tracing::info!(?partitions, "partitions assigned");
                self.assigned.extend(partitions.iter().copied());
                // The group just rebalanced: it gets time to settle before any rejoin.
                self.rejoin.joined(Instant::now(), self.assigned.len());
                self.metrics.set_assigned_partitions(self.assigned.len());
                if !self.assigned.is_empty() {
                    self.metrics.health.clear(Problem::NoPartitions);
                }
                let now = now_ms();
                for &partition in &partitions {
                    self.watermark.assign(partition, now);
                }
                self.position(&partitions).await
            }
            ConsumerEvent::Revoked(partitions) => {
                tracing::info!(?partitions, "partitions revoked");
                // A rebalance is under way: no rejoin until it has had time to finish.
                self.rejoin.joined(Instant::now(), self.assigned.len());
                // Forgotten first, so a rejected flush re-positions only what is still ours;
                // their records stay in the open batch, still ours to try: the fence settles it.
                self.forget(&partitions);
                self.flush().await
            }
            ConsumerEvent::Record(record) => self.take(record).await,
        }
    }

    /// Drops what the job holds for partitions no longer its own.
    fn forget(&mut self, partitions: &[i32]) {
        for &partition in partitions {
            self.assigned.remove(&partition);
            self.positions.remove(partition);
            self.watermark.revoke(partition);
            self.metrics.forget_partition(partition);
        }
        self.metrics.set_assigned_partitions(self.assigned.len());
    }

    /// Looks whether partitions of the topic that this instance does not hold go unread, and past
    /// the rejoin wait leaves the group and joins again (see [`Rejoin`]).
    async fn watch_partitions(&mut self) -> Result<(), JobError> {
        let Some(progress) = partition_progress(
            &mut *self.subscriber,
            &*self.store,
            &self.topic,
            &self.metrics.health,
        )
        .await
        else {
            return Ok(());
        };
        let Some(orphans) = self.rejoin.look(
            Instant::now(),
            &progress,
            &self.assigned,
            &self.topic,
            &self.metrics.health,
        ) else {
            return Ok(());
        };
        tracing::warn!(
            unread = ?orphans.partitions,
            waiting = orphans.waiting,
            held = ?self.assigned,
            "partitions go unread and none of them is ours; leaving the consumer group and joining again"
        );
        self.flush().await?;
        let held: Vec<i32> = self.assigned.iter().copied().collect();
        tracing::info!(partitions = ?held, reason = "rejoining", "partitions revoked");
        self.forget(&held);
        if let Err(err) = self.subscriber.rejoin().await {
            tracing::warn!(error = %err, "rejoining the consumer group failed; trying again later");
        }
        self.metrics.rejoined();
        self.rejoin.rejoined(Instant::now());
        Ok(())
    }

    /// Seeks `partitions` to where the store says they stand (earliest, for one it never saw). A
    /// partition that cannot be sought is left unpositioned: its next record tries again.
    async fn position(&mut self, partitions: &[i32]) -> Result<(), JobError> {
        let stored = self
            .retry
            .store("reading offsets", || self.store.offsets(&self.topic))
            .await?;
        for &partition in partitions {
            let next = match stored.get(&partition) {
                Some(&next) => next,
                None => match self
                    .retry
                    .earliest_offset(&mut *self.subscriber, partition)
                    .await?
                {
                    Some(earliest) => earliest,
                    None => continue,
                },
            };
            self.positions.set(partition, next);
            if !self
                .retry
                .seek(&mut *self.subscriber, partition, next)
                .await?
            {
                self.positions.remove(partition);
            }
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(partition = record.partition, offset = record.offset))]
    async fn take(&mut self, record: IncomingRecord) -> Result<(), JobError> {
        let partition = record.partition;
        // A batch's range starts at the position before its first record: the store's offset.
        let mut before = self.positions.next(partition);
        let mut admit = self.positions.admit(partition, record.offset);
        if admit == Admit::Unpositioned {
            self.position(&[partition]).await?;
            before = self.positions.next(partition);
            admit = self.positions.admit(partition, record.offset);
        }
        match admit {
            Admit::Skip | Admit::Unpositioned => Ok(()),
            Admit::SeekBack { resume_at } => {
                tracing::info!(
                    partition,
                    resume_at,
                    seen = record.offset,
                    "records missing; seeking back"
                );
                if !self
                    .retry
                    .seek(&mut *self.subscriber, partition, resume_at)
                    .await?
                {
                    self.positions.remove(partition);
                }
                Ok(())
            }
            Admit::Count => {
                let from = before.unwrap_or(record.offset);
                if let Some(window) = self.batch.count(record, from, &mut self.watermark) {
                    self.results.counted_in(window);
                }
                Ok(())
            }
        }
    }

    /// Applies the open batch, then publishes the results of windows that closed.
    #[tracing::instrument(skip_all, fields(records = self.batch.records()))]
    async fn flush(&mut self) -> Result<(), JobError> {
        if !self.batch.is_empty() {
            publish_dead_letters(self.batch.dead_letters(), &*self.publisher, &self.retry).await?;
            let sealed = self.batch.seal(&self.topic, self.settings.window_retention);
            match sealed
                .apply(&*self.store, &self.retry, &self.metrics)
                .await?
            {
                Outcome::Applied { next_offsets } => {
                    if let Err(err) = self.subscriber.commit(&next_offsets) {
                        tracing::debug!(error = %err, "committing offsets to Kafka (for lag tools) failed");
                    }
                }
                Outcome::Rejected => {
                    let partitions: Vec<i32> = self.positions.partitions().collect();
                    self.position(&partitions).await?;
                }
            }
        }
        if let Some(watermark) = self.watermark.advance(now_ms()) {
            self.results
                .publish_closed(watermark, &*self.store, &*self.publisher)
                .await;
        }
        Ok(())
    }

    /// Reads the store's memory and eviction policy: stops the job on a store that may evict any
    /// key, warns (once per policy) on one that may evict windows or cannot say.
    async fn check_store_memory(&mut self) -> Result<(), JobError> {
        let status = self
            .retry
            .store("reading the store's memory policy", || self.store.memory())
            .await?;
        self.metrics.store_memory(&status);
        if self.store_policy.as_ref() == Some(&status.policy) {
            return Ok(());
        }
        match judge(&status.policy, self.settings.window_retention) {
            Verdict::Run => {
                tracing::info!(policy = %status.policy, "store eviction policy checked");
            }
            Verdict::Warn(message) => tracing::warn!(policy = %status.policy, "{message}"),
            Verdict::Refuse(message) => {
                tracing::error!(policy = %status.policy, "{message}");
                return Err(JobError::EvictingStore(message));
            }
        }
        self.store_policy = Some(status.policy);
        Ok(())
    }

    /// The input topic is missing: say so plainly (once, then every 30 s) and wait for it.
    async fn wait_for_topic(&mut self, why: &str) -> Result<(), JobError> {
        let now = Instant::now();
        if self
            .topic_missing_logged
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(30))
        {
            tracing::warn!(topic = %self.topic, "{why}; waiting for it to be created (scripts/kafka-init.sh creates it)");
            self.topic_missing_logged = Some(now);
        }
        self.retry.pause(Duration::from_secs(1)).await
    }

    /// On shutdown: one bounded attempt to apply what is open. What cannot be applied is not lost:
    /// its offsets were not stored, so the next owner of the partitions reads it again.
    async fn flush_before_exit(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        // The stop token is already cancelled; a fresh one bounds the retries instead.
        let bound = CancellationToken::new();
        self.retry.stop_on(bound.clone());
        let deadline = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            bound.cancel();
        });
        match self.flush().await {
            Ok(()) => tracing::info!("flushed the open batch before exit"),
            Err(err) => {
                tracing::warn!(error = %err, "could not flush before exit; the records will be counted again by the next owner");
            }
        }
        deadline.abort();
    }
}
