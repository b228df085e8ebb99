//! The submit form, proxied to a real producer API (on the in-process log): success, the API's own
//! errors shown inline, the API down, and markup shown as text.

use crate::helpers::TestDashboard;

#[tokio::test]
async fn a_submission_lands_on_the_topic_clears_the_text_area_and_refreshes_the_words() {
    let dashboard = TestDashboard::new().await;
    let reply = dashboard.submit("The quick brown fox", "user_7").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply
            .body
            .contains("Text submitted successfully (topic user_text, partition")
    );
    assert!(reply.body.contains("as <strong>user_7</strong>"));
    assert!(reply.body.contains("<textarea id=\"submit-text\""));
    assert!(reply.body.contains("hx-swap-oob=\"true\"></textarea>"));
    assert_eq!(reply.headers["hx-trigger"], "refresh-words");
    let bus = dashboard.bus.as_ref().unwrap();
    let on_topic: usize = (0..3)
        .map(|p| bus.end_offset("user_text", p) as usize)
        .sum();
    assert_eq!(on_topic, 1);
}

#[tokio::test]
async fn an_empty_user_id_is_anonymous_as_in_the_original() {
    let dashboard = TestDashboard::new().await;
    let reply = dashboard.submit("some words here", "  ").await;
    assert!(
        reply.body.contains("as <strong>anonymous</strong>"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn the_apis_error_detail_is_shown_inline_with_its_status() {
    let dashboard = TestDashboard::new().await;
    let reply = dashboard.submit("   ", "someone").await;
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("Not submitted:"), "{}", reply.body);
    assert!(reply.body.contains("empty"), "{}", reply.body);
    assert!(
        !reply.body.contains("hx-swap-oob"),
        "a failed submission keeps the text"
    );
    assert!(!reply.headers.contains_key("hx-trigger"));
}

#[tokio::test]
async fn with_the_api_down_the_submission_fails_fast_and_says_so() {
    let dashboard = TestDashboard::without_api();
    let started = std::time::Instant::now();
    let reply = dashboard.submit("hello there", "someone").await;
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert_eq!(reply.status, 503);
    assert!(reply.body.contains("is not reachable"), "{}", reply.body);
}

#[tokio::test]
async fn markup_in_a_user_id_is_shown_as_text() {
    let dashboard = TestDashboard::new().await;
    let markup = "<img src=x onerror=alert(1)>";
    let accepted = dashboard.submit("perfectly fine text", markup).await;
    assert!(
        accepted
            .body
            .contains("&#60;img src=x onerror=alert(1)&#62;"),
        "{}",
        accepted.body
    );
    assert!(!accepted.body.contains(markup));
}

#[tokio::test]
async fn markup_in_an_apis_error_detail_is_shown_as_text() {
    // An API whose error detail carries markup, as one that echoed its input would.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let api = axum::Router::new().route(
        "/submit_text",
        axum::routing::post(|| async {
            (
                axum::http::StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({"detail": "<script>alert('x')</script>"})),
            )
        }),
    );
    tokio::spawn(async move { axum::serve(listener, api).await });
    let dashboard = TestDashboard::over(
        std::sync::Arc::new(wordfreq_store::MemoryStore::new()),
        &url,
    );
    let refused = dashboard.submit("text", "someone").await;
    assert_eq!(refused.status, 400);
    assert!(
        refused
            .body
            .contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;"),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("<script>"));
}
