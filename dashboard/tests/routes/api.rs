//! The JSON API and the exports: the pinned shapes, every query parameter, and clear errors.

use serde_json::json;

use crate::helpers::TestDashboard;

async fn seeded() -> TestDashboard {
    let dashboard = TestDashboard::without_api();
    dashboard
        .seed(&[
            ("quick", 5),
            ("brown", 3),
            ("fox", 3),
            ("lazy", 1),
            ("dog", 2),
        ])
        .await;
    dashboard
}

#[tokio::test]
async fn api_words_answers_the_pinned_shape_ranked_with_the_views_totals() {
    let dashboard = seeded().await;
    let reply = dashboard.get("/api/words?window=all&limit=3").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({
            "window": "all",
            "words": [
                {"word": "quick", "count": 5},
                {"word": "brown", "count": 3},
                {"word": "fox", "count": 3},
            ],
            "total_words": 14,
            "unique_words": 5,
        })
    );
}

#[tokio::test]
async fn api_words_limit_zero_is_every_word_and_min_count_and_q_filter() {
    let dashboard = seeded().await;
    let every = dashboard.get("/api/words?limit=0").await.json();
    assert_eq!(every["words"].as_array().unwrap().len(), 5);
    let frequent = dashboard.get("/api/words?limit=0&min_count=3").await.json();
    assert_eq!(frequent["words"].as_array().unwrap().len(), 3);
    let searched = dashboard.get("/api/words?q=O").await.json();
    let words: Vec<&str> = searched["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["word"].as_str().unwrap())
        .collect();
    assert_eq!(words, ["brown", "fox", "dog"]);
    let default = dashboard.get("/api/words").await.json();
    assert_eq!(default["window"], "all");
}

#[tokio::test]
async fn api_words_sliding_windows_count_only_recent_words() {
    let dashboard = TestDashboard::without_api();
    let now = chrono::Utc::now().timestamp_millis();
    dashboard.seed_at(&[("recent", 2)], now).await;
    dashboard
        .seed_at(&[("hourago", 4)], now - 50 * 60_000)
        .await;
    for (window, expected) in [("1m", 2), ("5m", 2), ("15m", 2), ("60m", 6), ("all", 6)] {
        let reply = dashboard
            .get(&format!("/api/words?window={window}"))
            .await
            .json();
        assert_eq!(reply["total_words"], expected, "window {window}");
        assert_eq!(reply["window"], window);
    }
}

#[tokio::test]
async fn a_query_no_view_can_answer_is_a_422_with_a_detail() {
    let dashboard = seeded().await;
    let long = format!("q={}", "a".repeat(101));
    for (query, detail) in [
        (
            "window=2m",
            "window: must be one of all, 1m, 5m, 15m, 60m, got 2m",
        ),
        (
            "limit=-1",
            &format!(
                "limit: must be a whole number from 0 (all words) to {}, got -1",
                usize::MAX
            ),
        ),
        ("limit=many", "got many"),
        (
            "min_count=x",
            &format!(
                "min_count: must be a whole number from 0 to {}, got x",
                u64::MAX
            ),
        ),
        (
            &long,
            "q: must be a search of at most 100 characters, got 101",
        ),
        (
            "window=all&window=1m",
            "window: must be given once, got it more than once",
        ),
    ] {
        let reply = dashboard.get(&format!("/api/words?{query}")).await;
        assert_eq!(reply.status, 422, "{query}");
        let answered = reply.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(answered.contains(detail), "{query}: {}", reply.body);
    }
    let export = dashboard.get("/export.csv?window=2m").await;
    assert_eq!(export.status, 422);
    assert!(
        export.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("window: ")
    );
}

#[tokio::test]
async fn a_malformed_seen_on_events_is_a_422_with_a_detail_like_every_other_query() {
    let dashboard = seeded().await;
    let reply = dashboard.get("/events?seen=-1").await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let detail = reply.json()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.starts_with("seen: must be a whole number from 0 to") && detail.ends_with("got -1"),
        "{detail}"
    );
}

#[tokio::test]
async fn api_stats_answers_the_stats_hash_and_the_data_age() {
    let dashboard = seeded().await;
    let stats = dashboard.get("/api/stats").await.json();
    assert_eq!(stats["total_words"], 14);
    // One record per seeded word.
    assert_eq!(stats["records_processed"], 5);
    assert_eq!(stats["batches"], 1);
    assert_eq!(stats["invalid_records"], 0);
    assert_eq!(stats["late_records"], 0);
    assert!(stats["last_updated"].is_string());
    assert!(stats["data_age_seconds"].as_f64().unwrap() < 60.0);
}

#[tokio::test]
async fn the_csv_export_is_what_the_view_shows_named_with_a_timestamp() {
    let dashboard = seeded().await;
    let reply = dashboard.get("/export.csv?limit=2").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "text/csv; charset=utf-8");
    let disposition = reply.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"word_frequencies_")
            && disposition.ends_with(".csv\"")
            && disposition.len()
                == "attachment; filename=\"word_frequencies_20261124_101010.csv\"".len(),
        "{disposition}"
    );
    assert_eq!(reply.body, "word,count\nquick,5\nbrown,3\n");
}

#[tokio::test]
async fn the_json_export_is_the_api_answer_with_when_it_was_exported() {
    let dashboard = seeded().await;
    let reply = dashboard.get("/export.json?limit=1&min_count=2").await;
    assert!(
        reply.headers["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with(".json\"")
    );
    let export = reply.json();
    assert_eq!(export["words"], json!([{"word": "quick", "count": 5}]));
    assert!(export["exported_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn api_health_is_503_with_the_reason_while_a_dependency_is_down() {
    let dashboard = TestDashboard::without_api();
    dashboard.state.start();
    let deadline = std::time::Instant::now() + crate::helpers::WAIT;
    let body = loop {
        let reply = dashboard.get("/api/health").await;
        let body = reply.json();
        if body["redis"]["status"] == "connected" {
            assert_eq!(reply.status, 503);
            break body;
        }
        assert!(std::time::Instant::now() < deadline, "no health check ran");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["producer_api"]["status"], "offline");
    assert!(body["producer_api"]["detail"].is_string());
    dashboard.state.stopping().cancel();
}

#[tokio::test]
async fn api_health_is_200_when_the_producer_api_and_the_store_answer() {
    let dashboard = TestDashboard::new().await;
    dashboard.state.start();
    let deadline = std::time::Instant::now() + crate::helpers::WAIT;
    loop {
        let reply = dashboard.get("/api/health").await;
        if reply.status == 200 {
            assert_eq!(
                reply.json(),
                json!({
                    "status": "healthy",
                    "producer_api": {"status": "online"},
                    "redis": {"status": "connected"},
                    // The in-process store: no server to measure, nothing evicted.
                    "redis_memory": {"used_bytes": null, "max_bytes": null, "policy": {"kind": "no_eviction"}},
                })
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never healthy: {}",
            reply.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    dashboard.state.stopping().cancel();
}

#[tokio::test]
async fn an_unknown_path_is_a_json_404() {
    let reply = TestDashboard::without_api().get("/nope").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json(), json!({"detail": "Not Found"}));
}
