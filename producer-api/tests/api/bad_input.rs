//! Every kind of bad input gets its status and FastAPI's `{"detail": …}` shape, and nothing
//! reaches the topic.

use producer_api::ApiSettings;
use serde_json::{Value, json};

use crate::helpers::spawn_kafka_app;

async fn detail(response: reqwest::Response) -> Value {
    let body: Value = response.json().await.unwrap();
    body["detail"].clone()
}

#[tokio::test]
async fn bad_submissions_get_a_clear_error_and_nothing_is_sent_to_kafka() {
    let app = spawn_kafka_app(ApiSettings::default()).await;

    for empty in [
        json!({"text": ""}),
        json!({"text": "  \n\t "}),
        json!({"text": "", "user_id": "u"}),
    ] {
        let response = app.submit(empty.clone()).await;
        assert_eq!(response.status(), 400, "{empty}");
        assert_eq!(detail(response).await, "Text cannot be empty");
    }

    let validation_cases = [
        (json!({}), "missing", json!(["body", "text"])),
        (json!({"text": 5}), "string_type", json!(["body", "text"])),
        (
            json!({"text": null}),
            "string_type",
            json!(["body", "text"]),
        ),
        (
            json!({"text": "hi", "user_id": 7}),
            "string_type",
            json!(["body", "user_id"]),
        ),
        (
            json!({"text": "hi", "user_id": "u".repeat(129)}),
            "string_too_long",
            json!(["body", "user_id"]),
        ),
        (
            json!({"text": "hi", "user_id": "bell\u{7}"}),
            "string_pattern_mismatch",
            json!(["body", "user_id"]),
        ),
        (
            json!({"text": "a".repeat(100_001)}),
            "string_too_long",
            json!(["body", "text"]),
        ),
        (
            json!(["a", "list"]),
            "model_attributes_type",
            json!(["body"]),
        ),
    ];
    for (body, kind, loc) in validation_cases {
        let response = app.submit(body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
        let detail = detail(response).await;
        assert_eq!(
            (&detail[0]["type"], &detail[0]["loc"]),
            (&json!(kind), &loc),
            "{body}"
        );
        assert!(detail[0]["msg"].is_string());
    }

    let malformed = app
        .post_raw(
            "/submit_text",
            Some("application/json"),
            b"{\"text\": ".to_vec(),
        )
        .await;
    assert_eq!(malformed.status(), 422);
    assert_eq!(detail(malformed).await[0]["type"], "json_invalid");

    let too_big = format!(r#"{{"text": "{}"}}"#, "a".repeat(2 << 20)).into_bytes();
    let response = app
        .post_raw("/submit_text", Some("application/json"), too_big)
        .await;
    assert_eq!(response.status(), 413);
    assert!(
        detail(response)
            .await
            .as_str()
            .unwrap()
            .contains("1048576 bytes")
    );

    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let response = app
            .post_raw(
                "/submit_text",
                content_type,
                br#"{"text": "hello"}"#.to_vec(),
            )
            .await;
        assert_eq!(response.status(), 415, "{content_type:?}");
        assert_eq!(
            detail(response).await,
            "Content-Type must be application/json"
        );
    }

    assert_eq!(
        app.stored_count(),
        0,
        "a refused submission reached the topic"
    );
    // The text exactly at the limit is accepted: the limit is not off by one.
    assert_eq!(
        app.submit(json!({"text": "a".repeat(100_000)}))
            .await
            .status(),
        200
    );
    assert_eq!(app.stored_count(), 1);
}
