//! The broker down: fast honest 503s, never a hang, never a false 200; recovery without restart.

use std::time::{Duration, Instant};

use producer_api::ApiSettings;
use serde_json::{Value, json};

use crate::helpers::{TestApp, WAIT, spawn_app_without_broker, spawn_kafka_app};

const PRODUCE_TIMEOUT: Duration = Duration::from_secs(2);
/// Slack for scheduling on a loaded two-core machine running several brokers; the API itself
/// keeps a margin below each bound.
const SLACK: Duration = Duration::from_millis(500);

fn settings() -> ApiSettings {
    ApiSettings {
        produce_timeout: PRODUCE_TIMEOUT,
        ..ApiSettings::default()
    }
}

async fn assert_unavailable(app: &TestApp) {
    let started = Instant::now();
    let health = app.get("/health").await;
    assert_eq!(health.status(), 503);
    let body: Value = health.json().await.unwrap();
    assert_eq!(
        (&body["status"], &body["kafka_connected"]),
        (&json!("unhealthy"), &json!(false))
    );
    assert!(
        started.elapsed() < Duration::from_secs(2) + SLACK,
        "health took {:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let response = app.submit(json!({"text": "lost in the void"})).await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert!(elapsed < PRODUCE_TIMEOUT + SLACK, "submit took {elapsed:?}");
    let body: Value = response.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("Kafka"), "{body}");
}

#[tokio::test]
async fn the_api_starts_with_kafka_unreachable_and_answers_503_within_the_bounds() {
    let app = spawn_app_without_broker(settings()).await;
    assert_eq!(app.get("/").await.status(), 200);
    assert_unavailable(&app).await;
}

#[tokio::test]
async fn with_the_broker_stopped_it_answers_503_and_recovers_by_itself_when_the_broker_returns() {
    let mut app = spawn_kafka_app(settings()).await;
    assert_eq!(app.get("/health").await.status(), 200);
    assert_eq!(
        app.submit(json!({"text": "before the outage"}))
            .await
            .status(),
        200
    );

    app.broker.as_mut().unwrap().stop();
    assert_unavailable(&app).await;

    app.broker.as_mut().unwrap().restart();
    let deadline = Instant::now() + WAIT;
    loop {
        let response = app.submit(json!({"text": "after the outage"})).await;
        if response.status() == 200 {
            break;
        }
        assert_eq!(response.status(), 503);
        assert!(Instant::now() < deadline, "no recovery within {WAIT:?}");
    }
    assert_eq!(app.get("/health").await.status(), 200);
    let texts: Vec<Value> = app
        .read_topic()
        .into_iter()
        .map(|r| r.value["text"].clone())
        .collect();
    assert!(
        texts.contains(&json!("before the outage")) && texts.contains(&json!("after the outage"))
    );
}
