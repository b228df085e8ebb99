//! Counts in the store equal `wordfreq count` over the same texts, word for word.

use chrono::Utc;
use wordfreq_store::View;

use crate::helpers::{Bed, expected_counts, record_json, submissions};

async fn counts_equal_wordfreq_count_all_time_and_per_window(bed: Bed) {
    let texts = submissions(3_000, 11, Utc::now().timestamp_millis());
    let (expected_all, expected_windows) = expected_counts(&texts);
    let store = bed.store().await;
    let (stop, job) = bed.spawn_job().await;

    bed.produce(texts.iter().map(record_json).collect()).await;
    bed.wait_for_records(&*store, 3_000).await;
    stop.cancel();
    job.await.unwrap();

    let all = store.counts(&View::AllTime).await.unwrap();
    assert_eq!(all, expected_all, "all-time counts differ");
    assert!(
        all.iter().any(|(word, _)| !word.is_ascii()),
        "the corpus has non-ASCII words"
    );
    let stats = store.stats().await.unwrap();
    assert_eq!(
        (
            stats.records_processed,
            stats.late_records,
            stats.invalid_records
        ),
        (3_000, 0, 0)
    );
    assert_eq!(stats.total_words, expected_all.total());
    for (start, expected) in &expected_windows {
        let window = store.counts(&View::Windows(vec![*start])).await.unwrap();
        assert_eq!(&window, expected, "window {start} differs");
    }
    assert!(expected_windows.len() >= 3);
}

#[tokio::test]
async fn on_kafka_and_redis_counts_equal_wordfreq_count_all_time_and_per_window() {
    counts_equal_wordfreq_count_all_time_and_per_window(Bed::real().await).await;
}

#[tokio::test]
async fn on_the_in_process_bus_and_store_counts_equal_wordfreq_count_all_time_and_per_window() {
    counts_equal_wordfreq_count_all_time_and_per_window(Bed::in_process()).await;
}

#[tokio::test]
async fn a_job_stopped_and_restarted_mid_stream_loses_and_doubles_nothing() {
    let mut bed = Bed::real().await;
    let texts = submissions(4_000, 12, Utc::now().timestamp_millis());
    let (expected_all, _) = expected_counts(&texts);
    let store = bed.store().await;
    let values: Vec<Vec<u8>> = texts.iter().map(record_json).collect();

    let (stop, job) = bed.spawn_job().await;
    bed.produce(values[..2_000].to_vec()).await;
    stop.cancel();
    job.await.unwrap();
    // Where to resume comes from Redis, not from the group. A fresh group keeps tansu 0.6.0's
    // coordinator out of it: it sometimes leaves a member that rejoins right after a leave without
    // partitions (rejoining is shown on the mock cluster, tests/job/group.rs).
    bed.group = format!("{}-restarted", bed.group);
    let (stop, job) = bed.spawn_job().await;
    bed.produce(values[2_000..].to_vec()).await;
    bed.wait_for_records(&*store, 4_000).await;
    stop.cancel();
    job.await.unwrap();

    assert_eq!(store.counts(&View::AllTime).await.unwrap(), expected_all);
}
