//! Submissions reach the topic as the original's records, acknowledged and addressed truthfully.

use std::collections::HashSet;

use producer_api::ApiSettings;
use serde_json::{Value, json};

use crate::helpers::spawn_kafka_app;

#[tokio::test]
async fn a_submission_is_on_the_topic_with_its_key_json_and_the_reported_partition_and_offset() {
    let app = spawn_kafka_app(ApiSettings::default()).await;

    let response = app
        .submit(json!({"text": "  Hello Kafka world \n", "user_id": "user_7"}))
        .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "success");
    assert_eq!(body["message"], "Text submitted successfully");
    assert_eq!(body["kafka_metadata"]["topic"], app.topic.as_str());
    let records = app.read_topic();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(json!(record.partition), body["kafka_metadata"]["partition"]);
    assert_eq!(json!(record.offset), body["kafka_metadata"]["offset"]);
    assert_eq!(record.key, "user_7");
    assert_eq!(record.value["text"], "Hello Kafka world");
    assert_eq!(record.value["user_id"], "user_7");
    let timestamp = record.value["timestamp"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(timestamp).is_ok() && timestamp.ends_with('Z'),
        "{timestamp}"
    );
    assert_eq!(
        timestamp.len(),
        "2024-01-01T00:00:00.000Z".len(),
        "milliseconds: {timestamp}"
    );
    assert_eq!(
        record.value.as_object().unwrap().len(),
        3,
        "exactly the original's fields"
    );
}

#[tokio::test]
async fn a_submission_without_user_id_is_stored_as_anonymous() {
    let app = spawn_kafka_app(ApiSettings::default()).await;
    assert_eq!(app.submit(json!({"text": "who am I"})).await.status(), 200);
    let record = &app.read_topic()[0];
    assert_eq!(
        (record.key.as_str(), &record.value["user_id"]),
        ("anonymous", &json!("anonymous"))
    );
}

#[tokio::test]
async fn five_hundred_concurrent_submissions_get_five_hundred_distinct_offsets_all_readable() {
    let app = spawn_kafka_app(ApiSettings::default()).await;
    let submissions = (0..500).map(|n| {
        let app = &app;
        async move {
            let response = app.submit(json!({"text": format!("text number {n}"), "user_id": format!("user_{}", n % 10)})).await;
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            let meta = &body["kafka_metadata"];
            (meta["partition"].as_i64().unwrap(), meta["offset"].as_i64().unwrap(), n)
        }
    });
    let acknowledged = futures::future::join_all(submissions).await;

    let positions: HashSet<(i64, i64)> = acknowledged.iter().map(|&(p, o, _)| (p, o)).collect();
    assert_eq!(positions.len(), 500);
    let stored: HashSet<(i64, i64, String)> = app
        .read_topic()
        .into_iter()
        .map(|r| {
            (
                i64::from(r.partition),
                r.offset,
                r.value["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: HashSet<(i64, i64, String)> = acknowledged
        .iter()
        .map(|&(p, o, n)| (p, o, format!("text number {n}")))
        .collect();
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn a_bulk_request_reports_each_item_and_stores_only_the_good_ones() {
    let app = spawn_kafka_app(ApiSettings::default()).await;
    let items = json!({"items": [
        {"text": "first good text", "user_id": "a"},
        {"text": "   "},
        {"text": 42},
        {"text": "second good text"},
        "not an object",
    ]});

    let response = app.post_json("/submit_texts", &items).await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["succeeded"].as_u64(), body["failed"].as_u64()),
        (Some(2), Some(3))
    );
    let results = body["results"].as_array().unwrap();
    let statuses: Vec<(&str, Option<u64>)> = results
        .iter()
        .map(|r| (r["status"].as_str().unwrap(), r["status_code"].as_u64()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("success", None),
            ("error", Some(400)),
            ("error", Some(422)),
            ("success", None),
            ("error", Some(422))
        ]
    );
    assert_eq!(results[1]["detail"], "Text cannot be empty");
    assert_eq!(
        results[2]["detail"][0]["loc"],
        json!(["body", "items", 2, "text"])
    );
    let mut texts: Vec<String> = app
        .read_topic()
        .into_iter()
        .map(|r| r.value["text"].as_str().unwrap().to_owned())
        .collect();
    texts.sort();
    assert_eq!(texts, ["first good text", "second good text"]);
}

#[tokio::test]
async fn a_bulk_request_over_a_thousand_items_or_without_items_is_422() {
    let app = spawn_kafka_app(ApiSettings::default()).await;
    let too_many = json!({"items": vec![json!({"text": "hi there"}); 1001]});
    for body in [too_many, json!({"texts": []}), json!({"items": "no"})] {
        let response = app.post_json("/submit_texts", &body).await;
        assert_eq!(response.status(), 422);
    }
    assert_eq!(app.stored_count(), 0);
}
