//! The rest of the surface: banner, OpenAPI, offline docs, metrics, and the in-process bus.

use producer_api::ApiSettings;
use serde_json::{Value, json};

use crate::helpers::spawn_memory_app;

#[tokio::test]
async fn the_banner_is_the_originals() {
    let app = spawn_memory_app(ApiSettings::default()).await;
    let body: Value = app.get("/").await.json().await.unwrap();
    assert_eq!(
        body,
        json!({"message": "Word Count Producer API is running"})
    );
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_fastapis_shape() {
    let app = spawn_memory_app(ApiSettings::default()).await;
    let missing = app.get("/nowhere").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<Value>().await.unwrap(),
        json!({"detail": "Not Found"})
    );
    let wrong_method = app.get("/submit_text").await;
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(
        wrong_method.json::<Value>().await.unwrap(),
        json!({"detail": "Method Not Allowed"})
    );
}

#[tokio::test]
async fn openapi_json_is_openapi_3_generated_with_every_route() {
    let app = spawn_memory_app(ApiSettings::default()).await;
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        spec["openapi"]
    );
    for path in ["/", "/health", "/submit_text", "/submit_texts"] {
        assert!(spec["paths"][path].is_object(), "{path} missing");
    }
    let submit = &spec["paths"]["/submit_text"]["post"];
    for status in ["200", "400", "413", "415", "422", "503"] {
        assert!(
            submit["responses"][status].is_object(),
            "{status} undocumented"
        );
    }
    assert!(spec["components"]["schemas"]["SubmitRequest"].is_object());
}

#[tokio::test]
async fn the_docs_page_and_its_assets_are_served_from_the_binary_with_no_external_url() {
    let app = spawn_memory_app(ApiSettings::default()).await;
    let page = app.get("/docs").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    for asset in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "swagger-initializer.js",
    ] {
        let response = app.get(&format!("/docs/{asset}")).await;
        assert_eq!(response.status(), 200, "{asset}");
        let text = response.text().await.unwrap();
        if asset == "swagger-initializer.js" {
            assert!(text.contains("/openapi.json"), "{text}");
        }
    }
    for line in html
        .lines()
        .filter(|line| line.contains("src=") || line.contains("href="))
    {
        assert!(
            !line.contains("http://") && !line.contains("https://"),
            "external asset: {line}"
        );
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_time_the_produce() {
    let app = spawn_memory_app(ApiSettings::default()).await;
    assert_eq!(
        app.submit(json!({"text": "measure me"})).await.status(),
        200
    );
    assert_eq!(app.submit(json!({"text": ""})).await.status(), 400);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for expected in [
        r#"http_requests_total{route="/submit_text",method="POST",status="200"} 1"#,
        r#"http_requests_total{route="/submit_text",method="POST",status="400"} 1"#,
        "kafka_produce_duration_seconds_count 1",
        r#"http_request_duration_seconds_bucket{le="#,
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected} in\n{metrics}"
        );
    }
}

#[tokio::test]
async fn an_unknown_method_does_not_create_a_new_metrics_series() {
    let app = spawn_memory_app(ApiSettings::default()).await;
    for method in ["FOO1", "FOO2"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        app.client
            .request(method, app.url("/health"))
            .send()
            .await
            .unwrap();
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(!metrics.contains("FOO1") && !metrics.contains("FOO2"));
    assert!(metrics.contains(r#"method="OTHER""#), "{metrics}");
}

#[tokio::test]
async fn on_the_in_process_bus_a_submission_is_stored_in_the_log() {
    let app = spawn_memory_app(ApiSettings::default()).await;
    let body: Value = app
        .submit(json!({"text": "embedded text", "user_id": "u1"}))
        .await
        .json()
        .await
        .unwrap();
    let meta = &body["kafka_metadata"];
    let partition = i32::try_from(meta["partition"].as_i64().unwrap()).unwrap();
    let stored = app.memory.as_ref().unwrap().read(
        "user_text",
        partition,
        meta["offset"].as_i64().unwrap(),
        1,
    );
    let value: Value = serde_json::from_slice(&stored[0].value).unwrap();
    assert_eq!(
        (&value["text"], &value["user_id"]),
        (&json!("embedded text"), &json!("u1"))
    );
    assert_eq!(stored[0].key.as_deref(), Some(&b"u1"[..]));
}
