//! The job's `/metrics` and `/health`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};
use stream_job::JobMetrics;

use crate::helpers::{Bed, WAIT, record_json, serve_metrics, submissions};

#[tokio::test]
async fn metrics_count_records_batches_and_end_to_end_latency_and_health_asks_the_store() {
    let bed = Bed::in_process();
    let store = bed.store().await;
    let metrics = Arc::new(JobMetrics::default());
    let (stop, job) = bed.spawn_job_with(metrics.clone()).await;
    let mut values: Vec<Vec<u8>> = submissions(495, 17, Utc::now().timestamp_millis())
        .iter()
        .map(record_json)
        .collect();
    values.extend((0..5).map(|_| b"not json".to_vec()));

    bed.produce(values).await;
    bed.wait_for_records(&*store, 500).await;
    let addr = serve_metrics(metrics, store).await;
    let scrape = || async {
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };

    // Every assigned partition gets a lag gauge, and with everything counted it reads 0. (This does
    // not show a non-zero lag being measured: the first measurement may precede the records.)
    let deadline = Instant::now() + WAIT;
    let mut text = scrape().await;
    while !(0..3).all(|p| text.contains(&format!("wordfreq_consumer_lag{{partition=\"{p}\"}} 0"))) {
        assert!(
            Instant::now() < deadline,
            "no lag measured within {WAIT:?}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        text = scrape().await;
    }
    stop.cancel();
    job.await.unwrap();
    for expected in [
        "wordfreq_records_total 495",
        "wordfreq_invalid_records_total 5",
        "wordfreq_late_records_total 0",
        r#"wordfreq_batches_total{outcome="applied"}"#,
        "wordfreq_end_to_end_seconds_count 495",
        "wordfreq_flush_duration_seconds_count",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    let health = reqwest::get(format!("http://{addr}/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({"status": "healthy", "store_connected": true})
    );
}
