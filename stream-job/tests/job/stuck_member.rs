//! A member the group leaves without partitions while records wait: `/health` says so (503, with
//! the reason) and the job rejoins the group, then counts. The broker is a stand-in that assigns
//! nothing until the member rejoins, as tansu 0.6.0 does to a member restarted at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use serde_json::Value;
use stream_job::{JobMetrics, JobSettings, StreamJob};
use tokio_util::sync::CancellationToken;
use wordfreq_bus::{BusError, ConsumerEvent, MemorySubscriber, Subscriber};
use wordfreq_store::View;

use crate::helpers::{Bed, WAIT, expected_counts, record_json, serve_metrics, submissions};

/// Assigns nothing until [`Subscriber::rejoin`] has been called twice (so the job stays stuck,
/// and unhealthy, past its first rejoin); then behaves as the in-process bus.
struct AssignsOnlyAfterRejoin {
    inner: MemorySubscriber,
    rejoins: u32,
    /// A rejoin the stand-in has yet to answer, as tansu does, with an empty assignment.
    unanswered: bool,
}

#[async_trait]
impl Subscriber for AssignsOnlyAfterRejoin {
    async fn next_event(&mut self) -> Result<ConsumerEvent, BusError> {
        if self.rejoins < 2 {
            if std::mem::take(&mut self.unanswered) {
                return Ok(ConsumerEvent::Assigned(Vec::new()));
            }
            std::future::pending::<()>().await;
        }
        self.inner.next_event().await
    }

    async fn seek(&mut self, partition: i32, offset: i64) -> Result<(), BusError> {
        self.inner.seek(partition, offset).await
    }

    async fn watermarks(&mut self, partition: i32) -> Result<(i64, i64), BusError> {
        self.inner.watermarks(partition).await
    }

    async fn topic_partitions(&mut self) -> Result<Vec<i32>, BusError> {
        self.inner.topic_partitions().await
    }

    async fn rejoin(&mut self) -> Result<(), BusError> {
        self.rejoins += 1;
        self.unanswered = true;
        Ok(())
    }

    fn commit(&mut self, next_offsets: &[(i32, i64)]) -> Result<(), BusError> {
        self.inner.commit(next_offsets)
    }
}

#[tokio::test]
async fn a_member_left_without_partitions_while_records_wait_is_unhealthy_then_rejoins_and_counts()
{
    let bed = Bed::in_process();
    let store = bed.store().await;
    let texts = submissions(300, 41, Utc::now().timestamp_millis());
    bed.produce(texts.iter().map(record_json).collect()).await;
    let metrics = Arc::new(JobMetrics::default());
    let stop = CancellationToken::new();
    let subscriber = AssignsOnlyAfterRejoin {
        inner: bed
            .memory_bus
            .as_ref()
            .unwrap()
            .subscribe(&bed.topic)
            .unwrap(),
        rejoins: 0,
        unanswered: false,
    };
    let job = StreamJob::new(
        Box::new(subscriber),
        store.clone(),
        bed.publisher.clone(),
        &bed.topic,
        JobSettings::default(),
        metrics.clone(),
        stop.clone(),
    )
    .unwrap();
    let started = Instant::now();
    let job = tokio::spawn(job.run());
    let health = format!(
        "http://{}/health",
        serve_metrics(metrics.clone(), store.clone()).await
    );

    // Unhealthy while it holds nothing and the records wait, with the reason.
    let unhealthy = loop {
        let response = reqwest::get(&health).await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        if status == 503 {
            break body;
        }
        assert_eq!(store.stats().await.unwrap().records_processed, 0);
        assert!(started.elapsed() < WAIT, "never unhealthy: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let reason = unhealthy["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("holds no partitions"), "{unhealthy}");
    assert!(reason.contains("300 records waiting"), "{unhealthy}");

    // Then it rejoins (twice: the first does not help), counts everything, and is healthy again, within 30 s of its start.
    bed.wait_for_records(&*store, 300).await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "counting resumed only {:?} after the start",
        started.elapsed()
    );
    let deadline = Instant::now() + WAIT;
    while reqwest::get(&health).await.unwrap().status() != 200 {
        assert!(
            Instant::now() < deadline,
            "not healthy again within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut scrape = String::new();
    prometheus_client::encoding::text::encode(&mut scrape, &metrics.registry).unwrap();
    assert!(
        scrape.contains("wordfreq_group_rejoins_total 2"),
        "{scrape}"
    );
    assert!(
        scrape.contains("wordfreq_assigned_partitions 3"),
        "{scrape}"
    );
    let (expected, _) = expected_counts(&texts);
    assert_eq!(store.counts(&View::AllTime).await.unwrap(), expected);
    stop.cancel();
    job.await.unwrap().unwrap();
}
