//! The counting loop: one `select!` over the shutdown signal, a flush ticker and the consumer.
//!
//! Delivery guarantee: exactly once into the store. Each flush is one [`FencedBatch`] whose offset
//! ranges must start where the store says the partitions stand; the store applies it whole or not
//! at all. On assignment, and after a rejected batch, every partition is sought to the store's
//! offset (or its earliest, if the store never saw it), so a crash, a replay or a zombie instance
//! can neither lose nor double a record. Dead letters and window results go to Kafka at least once,
//! before the batch that accounts for them. Kafka's committed offsets only mirror the store's, for
//! lag tools.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use wordfreq_bus::{
    BusError, ConsumerEvent, IncomingRecord, OutgoingRecord, Publisher, Subscriber,
};
use wordfreq_domain::names::{DEAD_LETTER_TOPIC, RESULTS_TOPIC};
use wordfreq_domain::record::format_timestamp;
use wordfreq_domain::{
    Batch, InvalidRecord, Timeliness, Tokenizer, Watermark, Window, Windows, decode_record,
};
use wordfreq_store::{Applied, EvictionPolicy, FencedBatch, OffsetRange, Store, StoreError, View};

use crate::config::JobSettings;
use crate::eviction::{Verdict, judge};
use crate::health::Problem;
use crate::metrics::JobMetrics;
use crate::positions::{Admit, Positions};
use crate::watchdog::{PartitionProgress, UNREAD_AFTER, UnreadWatch};

/// Top words published per closed window.
const RESULT_WORDS: usize = 100;
/// Waits between retries while a dependency is down grow to this.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Seeks and watermark queries are tried this many times before a partition is left unpositioned.
const BUS_ATTEMPTS: u32 = 4;
/// How often the consumer lag is measured (a broker round trip per partition).
const LAG_INTERVAL: Duration = Duration::from_secs(5);
/// How often the job looks whether partitions of its topic go unread.
const WATCH_INTERVAL: Duration = Duration::from_secs(2);
/// The least time between joining the group (at start or by a rejoin) and rejoining because
/// partitions go unread; doubled after each rejoin that did not help, up to [`MAX_REJOIN_WAIT`].
const MIN_REJOIN_WAIT: Duration = Duration::from_secs(4);
const MAX_REJOIN_WAIT: Duration = Duration::from_secs(60);
/// How often the store's memory and eviction policy are read again: a reconnect the client made
/// on its own, or a `CONFIG SET`, is seen within this.
const STORE_CHECK_INTERVAL: Duration = Duration::from_secs(10);

/// Why the job stopped.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("invalid setting: {0}")]
    Settings(String),
    /// The store may evict the keys exactly-once depends on.
    #[error("refusing to count into this store: {0}")]
    EvictingStore(String),
    #[error("shutting down")]
    ShuttingDown,
}

/// The job and everything it holds between flushes.
pub struct StreamJob {
    subscriber: Box<dyn Subscriber>,
    store: Arc<dyn Store>,
    publisher: Arc<dyn Publisher>,
    topic: String,
    settings: JobSettings,
    tokenizer: Tokenizer,
    windows: Windows,
    watermark: Watermark,
    positions: Positions,
    open: OpenBatch,
    /// Windows this instance counted in whose final result it has not published yet.
    unpublished: BTreeSet<Window>,
    instance: String,
    flushes: u64,
    stop: CancellationToken,
    metrics: Arc<JobMetrics>,
    /// When the missing input topic was last reported, so the log says it without flooding.
    topic_missing_logged: Option<Instant>,
    /// The store's eviction policy as last read, so a warning is logged once per change.
    store_policy: Option<EvictionPolicy>,
    /// The partitions the group last gave this instance.
    assigned: BTreeSet<i32>,
    /// Which of the topic's partitions go unread.
    unread: UnreadWatch,
    /// When this instance last joined the group, and how long to wait from then before rejoining.
    joined_at: Instant,
    rejoin_wait: Duration,
    /// Added to the rejoin wait, set at each join (see [`StreamJob::joined`]).
    rejoin_stagger: Duration,
    /// Set when a store call succeeded after failing (the client reconnected): the policy is read
    /// again before the next batch.
    store_recovered: AtomicBool,
}

/// The batch being gathered.
#[derive(Default)]
struct OpenBatch {
    counts: Batch,
    /// Partition → (the position the batch started from, the next offset after its last record).
    ranges: BTreeMap<i32, (i64, i64)>,
    dead_letters: Vec<OutgoingRecord>,
    /// Event times of the good records, for the end-to-end latency.
    event_times_ms: Vec<i64>,
}

impl OpenBatch {
    fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    fn records(&self) -> u64 {
        self.counts.records() + self.counts.invalid_records()
    }
}

/// The final result of a closed window on `word_counts`.
#[derive(Debug, Serialize)]
struct WindowResult<'a> {
    window_start: String,
    window_end: String,
    words: Vec<WordCount<'a>>,
    total_words: u64,
}

#[derive(Debug, Serialize)]
struct WordCount<'a> {
    word: &'a str,
    count: u64,
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
            tokenizer: settings.tokenizer.tokenizer(),
            windows,
            watermark: Watermark::new(settings.allowed_lateness, settings.idle_timeout),
            settings,
            positions: Positions::default(),
            open: OpenBatch::default(),
            unpublished: BTreeSet::new(),
            instance: format!("{}-{}", std::process::id(), Utc::now().timestamp_millis()),
            flushes: 0,
            stop,
            metrics,
            topic_missing_logged: None,
            store_policy: None,
            assigned: BTreeSet::new(),
            unread: UnreadWatch::default(),
            joined_at: Instant::now(),
            rejoin_wait: MIN_REJOIN_WAIT,
            rejoin_stagger: Duration::ZERO,
            store_recovered: AtomicBool::new(false),
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
        self.joined(Instant::now());
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
                _ = lag_ticker.tick() => self.measure_lag().await,
                _ = store_ticker.tick() => self.check_store_memory().await?,
                _ = watch_ticker.tick() => self.watch_partitions().await?,
                event = self.subscriber.next_event() => {
                    match event {
                        Ok(event) => self.handle(event).await?,
                        Err(BusError::Rejected(why)) => self.wait_for_topic(&why).await?,
                        Err(err) => {
                            tracing::warn!(error = %err, "consumer error; retrying");
                            self.pause(Duration::from_millis(500)).await?;
                        }
                    }
                    if self.open.records() >= self.settings.batch_max_records {
                        self.flush().await?;
                    }
                }
            }
            if self.store_recovered.swap(false, Ordering::AcqRel) {
                self.check_store_memory().await?;
            }
        }
        self.flush_before_exit().await;
        Ok(())
    }

    async fn handle(&mut self, event: ConsumerEvent) -> Result<(), JobError> {
        match event {
            ConsumerEvent::Assigned(partitions) => {
                tracing::info!(?partitions, "partitions assigned");
                self.assigned.extend(partitions.iter().copied());
                // The group just rebalanced: it gets time to settle before any rejoin.
                self.joined(Instant::now());
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
                self.joined(Instant::now());
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

    /// Looks whether partitions of the topic that this instance does not hold go unread (records
    /// waiting, the store's offset standing still). While it holds none, that makes it unhealthy;
    /// past the rejoin wait it leaves the group and joins again, whatever the broker's group
    /// coordinator got wrong (see docs/ARCHITECTURE.md, "Consumer group membership"). A store
    /// that is down or full stops every instance alike, so it is not taken for a group fault.
    async fn watch_partitions(&mut self) -> Result<(), JobError> {
        let Ok(partitions) = self.subscriber.topic_partitions().await else {
            return Ok(());
        };
        if partitions.is_empty() || self.metrics.health.has(Problem::StoreFull) {
            return Ok(());
        }
        let Ok(stored) = self.store.offsets(&self.topic).await else {
            return Ok(());
        };
        let mut progress = BTreeMap::new();
        for partition in partitions {
            if let Ok((low, end)) = self.subscriber.watermarks(partition).await {
                let counted = stored.get(&partition).copied().unwrap_or(low).max(low);
                progress.insert(partition, PartitionProgress { counted, end });
            }
        }
        let orphans: Vec<(i32, i64)> = self
            .unread
            .look(Instant::now(), &progress)
            .into_iter()
            .filter(|(partition, _)| !self.assigned.contains(partition))
            .collect();
        if orphans.is_empty() {
            self.metrics.health.clear(Problem::NoPartitions);
            if self.joined_at.elapsed() >= MAX_REJOIN_WAIT {
                self.rejoin_wait = MIN_REJOIN_WAIT;
            }
            return Ok(());
        }
        let waiting: i64 = orphans.iter().map(|(_, records)| records).sum();
        let orphaned: Vec<i32> = orphans.iter().map(|(partition, _)| *partition).collect();
        if self.assigned.is_empty() {
            self.metrics.health.set(
                Problem::NoPartitions,
                format!(
                    "this instance holds no partitions while partitions {orphaned:?} of {} go \
                     unread ({waiting} records waiting, none counted for {} s); rejoining the \
                     consumer group",
                    self.topic,
                    UNREAD_AFTER.as_secs()
                ),
            );
        }
        if self.joined_at.elapsed() < self.rejoin_wait + self.rejoin_stagger {
            return Ok(());
        }
        tracing::warn!(
            unread = ?orphaned,
            waiting,
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
        self.unread.reset();
        self.joined(Instant::now());
        self.rejoin_wait = (self.rejoin_wait * 2).min(MAX_REJOIN_WAIT);
        Ok(())
    }

    /// Notes that the group assigned or revoked partitions of this instance at `now` (or that it
    /// joined), and how much longer than the rejoin wait it will wait from then, so the instances
    /// of a group do not all leave at once (one LeaveGroup makes the coordinator rebalance
    /// everyone; several in a row keep it rebalancing): 2 s per partition held, so an instance
    /// holding none goes first, and up to 2 s at random between equals.
    fn joined(&mut self, now: Instant) {
        self.joined_at = now;
        let held = u32::try_from(self.assigned.len()).unwrap_or(u32::MAX);
        let random_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.subsec_nanos() % 2_000);
        self.rejoin_stagger = Duration::from_secs(2).saturating_mul(held)
            + Duration::from_millis(u64::from(random_ms));
    }

    /// Seeks `partitions` to where the store says they stand (earliest, for one it never saw). A
    /// partition that cannot be sought is left unpositioned: its next record tries again.
    async fn position(&mut self, partitions: &[i32]) -> Result<(), JobError> {
        let stored = self
            .retry("reading offsets", || self.store.offsets(&self.topic))
            .await?;
        for &partition in partitions {
            let next = match stored.get(&partition) {
                Some(&next) => next,
                None => match self
                    .retry_bus("reading the partition's watermarks", partition, None)
                    .await?
                {
                    Some(earliest) => earliest,
                    None => continue,
                },
            };
            self.positions.set(partition, next);
            if self
                .retry_bus("seeking", partition, Some(next))
                .await?
                .is_none()
            {
                self.positions.remove(partition);
            }
        }
        Ok(())
    }

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
                if self
                    .retry_bus("seeking", partition, Some(resume_at))
                    .await?
                    .is_none()
                {
                    self.positions.remove(partition);
                }
                Ok(())
            }
            Admit::Count => {
                let next = record.offset + 1;
                let from = before.unwrap_or(record.offset);
                self.open
                    .ranges
                    .entry(partition)
                    .and_modify(|range| range.1 = next)
                    .or_insert((from, next));
                self.count(record);
                Ok(())
            }
        }
    }

    fn count(&mut self, record: IncomingRecord) {
        let now = now_ms();
        let broker_ms = record.timestamp_ms.unwrap_or(now);
        let decoded =
            decode_record(record.value.as_deref().unwrap_or_default()).and_then(|decoded| {
                let event_ms = decoded.event_time_ms(broker_ms)?;
                Ok((decoded.text, event_ms))
            });
        match decoded {
            Ok((text, event_ms)) => {
                let window = self.windows.window_of(event_ms);
                let timeliness = if self.watermark.is_late(&self.windows, event_ms) {
                    Timeliness::Late
                } else {
                    self.unpublished.insert(window);
                    Timeliness::OnTime
                };
                self.watermark.observe(record.partition, event_ms, now);
                self.open
                    .counts
                    .add_record(&self.tokenizer, &text, window, timeliness);
                self.open.event_times_ms.push(event_ms);
            }
            Err(invalid) => {
                self.open.counts.add_invalid();
                self.open.dead_letters.push(dead_letter(&record, &invalid));
            }
        }
    }

    /// Applies the open batch, then publishes the results of windows that closed.
    async fn flush(&mut self) -> Result<(), JobError> {
        if !self.open.is_empty() {
            self.publish_dead_letters().await?;
            let open = std::mem::take(&mut self.open);
            self.flushes += 1;
            let batch = FencedBatch {
                id: format!("{}-{}", self.instance, self.flushes),
                ranges: open
                    .ranges
                    .iter()
                    .map(|(&partition, &(from, to))| OffsetRange {
                        topic: self.topic.clone(),
                        partition,
                        from,
                        to,
                    })
                    .collect(),
                counts: open.counts,
                flushed_at: format_timestamp(Utc::now()),
                window_retention_secs: self.settings.window_retention.as_secs(),
            };
            let started = Instant::now();
            match self
                .retry("applying a batch", || self.store.apply(&batch))
                .await?
            {
                Applied::Applied => {
                    let counts = &batch.counts;
                    self.metrics.applied(
                        counts.records(),
                        counts.invalid_records(),
                        counts.late_records(),
                        started.elapsed(),
                        &open.event_times_ms,
                        now_ms(),
                    );
                    tracing::debug!(batch = %batch.id, records = batch.counts.records(), "batch applied");
                    let next: Vec<(i32, i64)> =
                        open.ranges.iter().map(|(&p, &(_, to))| (p, to)).collect();
                    if let Err(err) = self.subscriber.commit(&next) {
                        tracing::debug!(error = %err, "committing offsets to Kafka (for lag tools) failed");
                    }
                }
                Applied::Rejected {
                    partition,
                    stored,
                    claimed,
                    ..
                } => {
                    tracing::warn!(batch = %batch.id, partition, ?stored, claimed, "batch rejected: another instance counted these records; re-seeking");
                    self.metrics.rejected();
                    let partitions: Vec<i32> = self.positions.partitions().collect();
                    self.position(&partitions).await?;
                }
            }
        }
        self.publish_closed_windows().await;
        Ok(())
    }

    /// Reads the store's memory and eviction policy: stops the job on a store that may evict any
    /// key, warns (once per policy) on one that may evict windows or cannot say.
    async fn check_store_memory(&mut self) -> Result<(), JobError> {
        let status = self
            .retry("reading the store's memory policy", || self.store.memory())
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
        self.pause(Duration::from_secs(1)).await
    }

    /// Sets each assigned partition's lag: records in it not yet counted. A failed query skips a
    /// partition until the next measurement.
    async fn measure_lag(&mut self) {
        let positioned: Vec<(i32, i64)> = self
            .positions
            .partitions()
            .filter_map(|partition| Some((partition, self.positions.next(partition)?)))
            .collect();
        for (partition, next) in positioned {
            if let Ok((_, high)) = self.subscriber.watermarks(partition).await {
                self.metrics.set_lag(partition, (high - next).max(0));
            }
        }
    }

    async fn publish_dead_letters(&mut self) -> Result<(), JobError> {
        while !self.open.dead_letters.is_empty() {
            let sends = self
                .open
                .dead_letters
                .iter()
                .map(|record| self.publisher.publish(record.clone()));
            let outcomes = futures::future::join_all(sends).await;
            let mut outcomes = outcomes.into_iter();
            self.open
                .dead_letters
                .retain(|_| outcomes.next().is_some_and(|outcome| outcome.is_err()));
            if !self.open.dead_letters.is_empty() {
                tracing::warn!(
                    pending = self.open.dead_letters.len(),
                    "dead letters not acknowledged; retrying"
                );
                self.pause(Duration::from_millis(500)).await?;
            }
        }
        Ok(())
    }

    /// Publishes the final top words of each window this instance counted in that the watermark
    /// has closed. A failure is retried at the next flush.
    async fn publish_closed_windows(&mut self) {
        let Some(watermark) = self.watermark.advance(now_ms()) else {
            return;
        };
        let closed: Vec<Window> = self
            .unpublished
            .iter()
            .copied()
            .take_while(|window| window.is_closed_by(watermark))
            .collect();
        for window in closed {
            match self.publish_window(window).await {
                Ok(()) => {
                    self.unpublished.remove(&window);
                }
                Err(err) => {
                    tracing::warn!(window = window.start_secs(), error = %err, "publishing a window result failed");
                    return;
                }
            }
        }
    }

    async fn publish_window(&self, window: Window) -> Result<(), String> {
        let counts = self
            .store
            .counts(&View::Windows(vec![window.start_secs()]))
            .await
            .map_err(|err| err.to_string())?;
        let as_time = |ms: i64| {
            DateTime::<Utc>::from_timestamp_millis(ms)
                .map(format_timestamp)
                .unwrap_or_default()
        };
        let result = WindowResult {
            window_start: as_time(window.start_ms),
            window_end: as_time(window.end_ms),
            words: counts
                .top(RESULT_WORDS)
                .into_iter()
                .map(|(word, count)| WordCount { word, count })
                .collect(),
            total_words: counts.total(),
        };
        let value = serde_json::to_vec(&result).expect("a window result always serializes");
        let record = OutgoingRecord::new(RESULTS_TOPIC, window.start_secs().to_string(), value);
        self.publisher
            .publish(record)
            .await
            .map(drop)
            .map_err(|err| err.to_string())
    }

    /// On shutdown: one bounded attempt to apply what is open. What cannot be applied is not lost:
    /// its offsets were not stored, so the next owner of the partitions reads it again.
    async fn flush_before_exit(&mut self) {
        if self.open.is_empty() {
            return;
        }
        // The stop token is already cancelled; a fresh one bounds the retries instead.
        let bound = CancellationToken::new();
        self.stop = bound.clone();
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

    /// Retries a store call with capped exponential backoff until it succeeds or the job stops;
    /// meanwhile nothing is consumed.
    async fn retry<T, Call, Fut>(&self, what: &str, mut call: Call) -> Result<T, JobError>
    where
        Call: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut backoff = Duration::from_millis(100);
        let mut failed = false;
        loop {
            match call().await {
                Ok(value) => {
                    if failed {
                        self.store_recovered.store(true, Ordering::Release);
                        self.metrics.store_full(None);
                    }
                    return Ok(value);
                }
                Err(StoreError::Full(reason)) => {
                    // Nothing was written: the batch is kept whole and tried again.
                    tracing::warn!(error = %reason, retry_in = ?backoff, "{what} refused: the store is full (maxmemory); keeping the batch");
                    self.metrics.store_full(Some(&reason));
                }
                Err(err) => {
                    tracing::warn!(error = %err, retry_in = ?backoff, "{what} failed; the store is unavailable");
                }
            }
            failed = true;
            self.pause(backoff).await?;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Retries a seek (`Some(offset)`) or a query of the earliest offset (`None`) a few times;
    /// `None` when it keeps failing (the partition may no longer be ours), rather than stalling
    /// the job on one partition.
    async fn retry_bus(
        &mut self,
        what: &str,
        partition: i32,
        seek_to: Option<i64>,
    ) -> Result<Option<i64>, JobError> {
        let mut backoff = Duration::from_millis(100);
        for attempt in 1..=BUS_ATTEMPTS {
            let outcome: Result<i64, BusError> = match seek_to {
                Some(offset) => self
                    .subscriber
                    .seek(partition, offset)
                    .await
                    .map(|()| offset),
                None => self
                    .subscriber
                    .watermarks(partition)
                    .await
                    .map(|(low, _)| low),
            };
            match outcome {
                Ok(offset) => return Ok(Some(offset)),
                Err(err) if attempt < BUS_ATTEMPTS => {
                    tracing::warn!(partition, error = %err, retry_in = ?backoff, "{what} failed");
                    self.pause(backoff).await?;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(err) => {
                    tracing::warn!(partition, error = %err, "{what} keeps failing; the partition's next record tries again");
                }
            }
        }
        Ok(None)
    }

    async fn pause(&self, duration: Duration) -> Result<(), JobError> {
        tokio::select! {
            () = self.stop.cancelled() => Err(JobError::ShuttingDown),
            () = tokio::time::sleep(duration) => Ok(()),
        }
    }
}

/// The record as it goes to the dead-letter topic: untouched, with why and where from in headers.
fn dead_letter(record: &IncomingRecord, invalid: &InvalidRecord) -> OutgoingRecord {
    OutgoingRecord {
        topic: DEAD_LETTER_TOPIC.to_owned(),
        key: record.key.clone(),
        value: record.value.clone().unwrap_or_default(),
        headers: vec![
            ("reason".into(), invalid.reason().as_bytes().to_vec()),
            ("error".into(), invalid.to_string().into_bytes()),
            ("source_topic".into(), record.topic.as_bytes().to_vec()),
            (
                "source_partition".into(),
                record.partition.to_string().into_bytes(),
            ),
            (
                "source_offset".into(),
                record.offset.to_string().into_bytes(),
            ),
        ],
    }
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}
