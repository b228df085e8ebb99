//! Waiting out a dependency that is down. A store call is retried with capped exponential backoff
//! for as long as it takes: meanwhile nothing is consumed, so nothing is lost. A seek or a
//! watermark query on the bus is tried only a few times, since the partition may no longer be
//! ours; the partition's next record tries again. Every wait ends early when the job must stop.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;
use wordfreq_bus::{BusError, Subscriber};
use wordfreq_store::StoreError;

use crate::error::JobError;
use crate::metrics::JobMetrics;

/// The first wait between retries.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Waits between retries while a dependency is down grow to this.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Seeks and watermark queries are tried this many times before a partition is left unpositioned.
const BUS_ATTEMPTS: u32 = 4;

/// How the job waits and retries, and what it noticed while doing so.
pub(crate) struct Retry {
    /// Ends every wait: the job's stop signal, or on shutdown the bound of the last flush.
    stop: CancellationToken,
    metrics: Arc<JobMetrics>,
    /// Set when a store call succeeded after failing (the client reconnected): the policy is read
    /// again before the next batch.
    store_recovered: AtomicBool,
}

impl Retry {
    pub(crate) fn new(stop: CancellationToken, metrics: Arc<JobMetrics>) -> Self {
        Self {
            stop,
            metrics,
            store_recovered: AtomicBool::new(false),
        }
    }

    /// Makes `stop` end the waits from now on: on shutdown the job's own token is already
    /// cancelled, and a fresh one bounds the last flush instead.
    pub(crate) fn stop_on(&mut self, stop: CancellationToken) {
        self.stop = stop;
    }

    /// Whether the store answered again after failing since the last call.
    pub(crate) fn take_store_recovered(&self) -> bool {
        self.store_recovered.swap(false, Ordering::AcqRel)
    }

    /// Sleeps for `duration`, or returns [`JobError::ShuttingDown`] as soon as the job must stop.
    pub(crate) async fn pause(&self, duration: Duration) -> Result<(), JobError> {
        tokio::select! {
            () = self.stop.cancelled() => Err(JobError::ShuttingDown),
            () = tokio::time::sleep(duration) => Ok(()),
        }
    }

    /// Retries a store call with capped exponential backoff until it succeeds or the job stops;
    /// meanwhile nothing is consumed.
    pub(crate) async fn store<T, Call, Fut>(
        &self,
        what: &str,
        mut call: Call,
    ) -> Result<T, JobError>
    where
        Call: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut backoff = FIRST_BACKOFF;
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

    /// Seeks `partition` to `offset`, a few times if need be; `false` when it keeps failing.
    pub(crate) async fn seek(
        &self,
        subscriber: &mut dyn Subscriber,
        partition: i32,
        offset: i64,
    ) -> Result<bool, JobError> {
        let sought = self
            .bus("seeking", partition, subscriber, |subscriber| {
                subscriber.seek(partition, offset)
            })
            .await?;
        Ok(sought.is_some())
    }

    /// The earliest offset `partition` still holds, asked a few times if need be; `None` when the
    /// query keeps failing.
    pub(crate) async fn earliest_offset(
        &self,
        subscriber: &mut dyn Subscriber,
        partition: i32,
    ) -> Result<Option<i64>, JobError> {
        self.bus(
            "reading the partition's watermarks",
            partition,
            subscriber,
            |subscriber| {
                subscriber
                    .watermarks(partition)
                    .map(|marks| marks.map(|(low, _)| low))
                    .boxed()
            },
        )
        .await
    }

    /// Tries a bus call on `partition` up to [`BUS_ATTEMPTS`] times; `None` when it keeps failing
    /// (the partition may no longer be ours), rather than stalling the job on one partition.
    async fn bus<T>(
        &self,
        what: &str,
        partition: i32,
        subscriber: &mut dyn Subscriber,
        // A boxed future rather than an async closure: the latter's borrow of the closure makes
        // rustc unable to prove the job's future `Send`.
        mut call: impl for<'s> FnMut(&'s mut dyn Subscriber) -> BoxFuture<'s, Result<T, BusError>>,
    ) -> Result<Option<T>, JobError> {
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=BUS_ATTEMPTS {
            match call(&mut *subscriber).await {
                Ok(value) => return Ok(Some(value)),
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
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use tokio::time::Instant;

    use super::*;

    fn retry() -> Retry {
        Retry::new(CancellationToken::new(), Arc::new(JobMetrics::default()))
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_call_is_retried_with_doubling_waits_and_its_recovery_noted_once() {
        let retry = retry();
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let answer = retry
            .store("reading", || async {
                match calls.fetch_add(1, Ordering::Relaxed) {
                    0 | 1 => Err(StoreError::Unavailable("down".into())),
                    2 => Err(StoreError::Full("OOM".into())),
                    _ => Ok(7),
                }
            })
            .await
            .unwrap();
        assert_eq!(answer, 7);
        assert_eq!(started.elapsed(), Duration::from_millis(100 + 200 + 400));
        assert!(retry.take_store_recovered());
        assert!(!retry.take_store_recovered());
    }

    #[tokio::test(start_paused = true)]
    async fn the_waits_between_store_retries_stop_growing_at_the_cap() {
        let retry = retry();
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        retry
            .store("reading", || async {
                if calls.fetch_add(1, Ordering::Relaxed) < 8 {
                    Err(StoreError::Unavailable("down".into()))
                } else {
                    Ok(())
                }
            })
            .await
            .unwrap();
        // 0.1 + 0.2 + 0.4 + 0.8 + 1.6 + 3.2 s, then the 5 s cap twice.
        assert_eq!(started.elapsed(), Duration::from_millis(16_300));
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_that_stays_down_is_waited_on_until_the_job_must_stop() {
        let stop = CancellationToken::new();
        let retry = Retry::new(stop.clone(), Arc::new(JobMetrics::default()));
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            stop.cancel();
        });
        let outcome: Result<(), JobError> = retry
            .store("reading", || async {
                Err(StoreError::Unavailable("down".into()))
            })
            .await;
        assert!(matches!(outcome, Err(JobError::ShuttingDown)));
    }
}
