//! Late records and window results.

use std::time::{Duration, Instant};

use chrono::Utc;
use wordfreq_domain::Windows;
use wordfreq_domain::names::RESULTS_TOPIC;
use wordfreq_store::View;

use crate::helpers::{Bed, Submission, WAIT, record_json};

fn at(event_ms: i64, text: &str) -> Submission {
    Submission {
        text: text.to_owned(),
        event_ms,
    }
}

#[tokio::test]
async fn a_late_record_counts_all_time_and_as_late_but_leaves_its_closed_window_and_result_alone() {
    let bed = Bed::in_process();
    let store = bed.store().await;
    let bus = bed.memory_bus.clone().unwrap();
    let windows = Windows::new(Duration::from_secs(60)).unwrap();
    let now = Utc::now().timestamp_millis();
    let old = windows.window_of(now - 300_000);
    // Old records, then current ones on every partition: the watermark passes the old window.
    let mut first: Vec<Submission> = (0..30)
        .map(|_| at(old.start_ms + 1_000, "early bird words"))
        .collect();
    first.extend((0..60).map(|_| at(now, "present tense words")));
    let (stop, job) = bed.spawn_job().await;
    bed.produce(first.iter().map(record_json).collect()).await;
    bed.wait_for_records(&*store, 90).await;

    // The old window's final result appears once the watermark has closed it.
    let deadline = Instant::now() + WAIT;
    while bus.read(RESULTS_TOPIC, 0, 0, 10).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no result for the closed window within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let closed_before = store
        .counts(&View::Windows(vec![old.start_secs()]))
        .await
        .unwrap();

    bed.produce(vec![record_json(&at(old.start_ms + 2_000, "tardy tardy"))])
        .await;
    bed.wait_for_records(&*store, 91).await;
    stop.cancel();
    job.await.unwrap();

    let stats = store.stats().await.unwrap();
    assert_eq!(stats.late_records, 1);
    assert_eq!(store.counts(&View::AllTime).await.unwrap().get("tardy"), 2);
    assert_eq!(
        store
            .counts(&View::Windows(vec![old.start_secs()]))
            .await
            .unwrap(),
        closed_before
    );
    assert_eq!(closed_before.get("early"), 30);

    let results = bus.read(RESULTS_TOPIC, 0, 0, 10);
    assert_eq!(results.len(), 1, "one result per closed window");
    assert_eq!(
        results[0].key.as_deref(),
        Some(old.start_secs().to_string().as_bytes())
    );
    let result: serde_json::Value = serde_json::from_slice(&results[0].value).unwrap();
    assert_eq!(result["total_words"], 90);
    assert_eq!(
        result["words"][0],
        serde_json::json!({"word": "bird", "count": 30})
    );
    assert_eq!(result["words"].as_array().unwrap().len(), 3);
    assert!(result["window_start"].as_str().unwrap().ends_with('Z'));
}
