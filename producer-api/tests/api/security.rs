//! API keys, rate limits and CORS. The bus plays no part here, so these run on the in-process log.

use producer_api::ApiSettings;
use serde_json::json;

use crate::helpers::spawn_memory_app;

fn with_keys() -> ApiSettings {
    ApiSettings {
        api_keys: vec!["key-one".into(), "key-two".into()],
        ..ApiSettings::default()
    }
}

#[tokio::test]
async fn with_api_keys_set_a_submission_needs_a_valid_key_in_either_header() {
    let app = spawn_memory_app(with_keys()).await;
    let body = json!({"text": "secret words"});
    let post = || app.client.post(app.url("/submit_text")).json(&body);

    let missing = post().send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        post()
            .header("x-api-key", "key-three")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        post().bearer_auth("nope").send().await.unwrap().status(),
        401
    );
    assert_eq!(
        post()
            .header("x-api-key", "key-one")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        post().bearer_auth("key-two").send().await.unwrap().status(),
        200
    );
    let bulk = app
        .client
        .post(app.url("/submit_texts"))
        .json(&json!({"items": [body]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bulk.status(), 401);
    assert_eq!(app.stored_in_memory(), 2);
}

#[tokio::test]
async fn health_docs_metrics_and_the_banner_stay_open_with_api_keys_set() {
    let app = spawn_memory_app(with_keys()).await;
    for path in ["/", "/health", "/docs/", "/openapi.json", "/metrics"] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn over_the_rate_limit_a_client_gets_429_with_retry_after() {
    let app = spawn_memory_app(ApiSettings {
        rate_limit_per_sec: 2,
        ..ApiSettings::default()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = app.submit(json!({"text": "quick quick"})).await;
        if response.status() == 429 {
            let retry_after: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(retry_after >= 1);
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(&statuses[..2], [200, 200]);
    assert!(statuses[2..].contains(&429), "{statuses:?}");
    // Health is not rate limited.
    assert_eq!(app.get("/health").await.status(), 200);
}

#[tokio::test]
async fn a_bulk_request_is_charged_one_submission_per_text() {
    let app = spawn_memory_app(ApiSettings {
        rate_limit_per_sec: 5,
        ..ApiSettings::default()
    })
    .await;
    let items = |n: usize| json!({"items": vec![json!({"text": "bulk words"}); n]});
    assert_eq!(
        app.post_json("/submit_texts", &items(4)).await.status(),
        200
    );
    // Five per second: the four above and one more; these two would make seven.
    let over = app.post_json("/submit_texts", &items(2)).await;
    assert_eq!(over.status(), 429);
    assert!(over.headers().contains_key("retry-after"));
    // More texts than the quota allows in any second can never pass.
    assert_eq!(
        app.post_json("/submit_texts", &items(50)).await.status(),
        429
    );
    assert_eq!(app.stored_in_memory(), 4);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_memory_app(with_keys()).await;
    let response = app
        .client
        .post(app.url("/submit_text"))
        .header("authorization", "bearer key-one")
        .json(&json!({"text": "lowercase scheme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn cors_is_open_to_any_origin_by_default_as_in_the_original() {
    let app = spawn_memory_app(ApiSettings::default()).await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/submit_text"))
        .header("origin", "https://anywhere.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins_when_set() {
    let app = spawn_memory_app(ApiSettings {
        cors_allowed_origins: vec!["https://good.example".into()],
        ..ApiSettings::default()
    })
    .await;
    let from = |origin: &'static str| {
        app.client
            .get(app.url("/health"))
            .header("origin", origin)
            .send()
    };
    let good = from("https://good.example").await.unwrap();
    assert_eq!(
        good.headers()["access-control-allow-origin"],
        "https://good.example"
    );
    let bad = from("https://evil.example").await.unwrap();
    assert!(!bad.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn each_api_key_has_its_own_rate_limit_and_a_refused_key_is_not_charged_to_anyone() {
    let app = spawn_memory_app(ApiSettings {
        rate_limit_per_sec: 1,
        ..with_keys()
    })
    .await;
    let post = |key: &'static str| {
        app.client
            .post(app.url("/submit_text"))
            .header("x-api-key", key)
            .json(&json!({"text": "metered words"}))
            .send()
    };
    // Wrong keys first: refused before the limiter, so they use up nobody's quota.
    for _ in 0..3 {
        assert_eq!(post("key-zero").await.unwrap().status(), 401);
    }
    assert_eq!(post("key-one").await.unwrap().status(), 200);
    assert_eq!(post("key-one").await.unwrap().status(), 429);
    // The other key's quota is untouched by the first key's.
    assert_eq!(post("key-two").await.unwrap().status(), 200);
    assert_eq!(app.stored_in_memory(), 2);
}
