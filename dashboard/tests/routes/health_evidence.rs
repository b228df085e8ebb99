//! Health follows the latest evidence: a producer API that comes up after the dashboard is seen up
//! within a second or two (probes back off from 250 ms after a failure), and a proxied submission
//! that reaches the API, or fails to, updates the panel at once, whatever the probe interval; the
//! panel shows the store's memory against its limit and its eviction policy. A submission the API
//! answers 503 (its broker is down) shows it down; any other answer shows it up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use dashboard::DashboardSettings;
use serde_json::json;
use tokio::net::TcpListener;
use wordfreq_store::MemoryStore;

use crate::helpers::{TestDashboard, WAIT, settings, spawn_producer_api_on};
use wordfreq_testkit::free_port;

/// A dashboard whose producer API will be at a reserved port where nothing listens yet, with a
/// probe interval far longer than any test: only the fast retries or the evidence can move it.
fn dashboard_before_its_api() -> (TestDashboard, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let settings = DashboardSettings {
        health_interval: Duration::from_secs(3600),
        ..settings(&format!("http://{addr}"))
    };
    (
        TestDashboard::with_settings(Arc::new(MemoryStore::new()), settings),
        addr,
    )
}

async fn producer_status(dashboard: &TestDashboard) -> String {
    dashboard.get("/api/health").await.json()["producer_api"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn wait_for_producer_status(dashboard: &TestDashboard, status: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while producer_status(dashboard).await != status {
        assert!(
            Instant::now() < deadline,
            "the producer API not {status} within {within:?}: {}",
            dashboard.get("/api/health").await.body
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (bounded) until the producer API's health detail is `detail`.
async fn wait_for_producer_detail(dashboard: &TestDashboard, detail: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let health = dashboard.get("/api/health").await.json();
        if health["producer_api"]["detail"] == detail {
            return;
        }
        assert!(Instant::now() < deadline, "never {detail:?}: {health}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_producer_api_started_after_the_dashboard_is_seen_up_within_two_seconds() {
    let (dashboard, addr) = dashboard_before_its_api();
    dashboard.state.start();
    // The first probe finds nothing there (before it, the API is "offline", "not checked yet").
    wait_for_producer_detail(&dashboard, "connection refused or unreachable").await;
    let (_url, _bus, api) = spawn_producer_api_on(&addr).await;
    let started = Instant::now();
    wait_for_producer_status(&dashboard, "online", Duration::from_secs(2)).await;
    eprintln!("seen up {:?} after the API started", started.elapsed());
    api.cancel();
    dashboard.state.stopping().cancel();
}

#[tokio::test]
async fn a_proxied_submission_that_reaches_the_api_or_fails_to_updates_its_health_at_once() {
    // No probes at all: only the submissions can change what the dashboard knows.
    let (dashboard, addr) = dashboard_before_its_api();
    assert_eq!(
        producer_status(&dashboard).await,
        "offline",
        "not checked yet"
    );
    let (_url, _bus, api) = spawn_producer_api_on(&addr).await;

    let reply = dashboard.submit("the api is up now", "someone").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(producer_status(&dashboard).await, "online");
    // The API's own refusal of a request shows it up too.
    let refused = dashboard.submit("   ", "someone").await;
    assert_eq!(refused.status, 400);
    assert_eq!(producer_status(&dashboard).await, "online");

    api.cancel();
    let deadline = Instant::now() + WAIT;
    let reply = loop {
        let reply = dashboard.submit("the api is gone", "someone").await;
        if reply.status == 503 {
            break reply;
        }
        // The listener closes a moment after the cancellation.
        assert!(
            Instant::now() < deadline,
            "the API still answers: {}",
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(reply.body.contains("is not reachable"), "{}", reply.body);
    let health = dashboard.get("/api/health").await.json();
    assert_eq!(health["producer_api"]["status"], "offline", "{health}");
    // The reason the submission failed (a refused connection, or a kept-alive one closed).
    assert!(
        health["producer_api"]["detail"]
            .as_str()
            .is_some_and(|detail| !detail.is_empty() && detail != "not checked yet"),
        "{health}"
    );
}

#[tokio::test]
async fn the_health_panel_shows_the_stores_memory_against_maxmemory_and_the_policy() {
    let redis = wordfreq_testkit::RedisServer::start();
    let mut connection = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let () = redis::cmd("CONFIG")
        .arg(
            &[
                "SET",
                "maxmemory",
                "104857600",
                "maxmemory-policy",
                "volatile-lru",
            ][..],
        )
        .query_async(&mut connection)
        .await
        .unwrap();
    let store = wordfreq_store::RedisStore::connect(redis.url(), "{health-test}:")
        .await
        .unwrap();
    let dashboard = TestDashboard::over(Arc::new(store), &crate::helpers::closed_url());
    dashboard.state.start();
    let deadline = Instant::now() + WAIT;
    let panel = loop {
        let panel = dashboard.get("/fragments/health").await.body;
        if panel.contains("Redis memory") {
            break panel;
        }
        assert!(Instant::now() < deadline, "no memory line: {panel}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(panel.contains("of 100.0 MiB ("), "{panel}");
    assert!(panel.contains("maxmemory-policy volatile-lru"), "{panel}");
    assert!(
        panel.contains("class=\"warn\""),
        "an evicting policy is a warning: {panel}"
    );
    let health = dashboard.get("/api/health").await.json();
    assert_eq!(health["redis_memory"]["max_bytes"], 104_857_600, "{health}");
    assert_eq!(
        health["redis_memory"]["policy"]["policy"], "volatile-lru",
        "{health}"
    );
    dashboard.state.stopping().cancel();
}

/// A stand-in producer API answering every submission with the status `answer` holds.
async fn spawn_stub_api(answer: Arc<AtomicU16>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let submit = move || {
        let code = answer.load(Ordering::SeqCst);
        async move {
            (
                StatusCode::from_u16(code).unwrap(),
                Json(json!({"detail": format!("stub answered {code}")})),
            )
        }
    };
    let stub = Router::new().route("/submit_text", post(submit));
    tokio::spawn(async move { axum::serve(listener, stub).await });
    url
}

#[tokio::test]
async fn a_submission_answered_503_shows_the_api_down_and_any_other_answer_shows_it_up() {
    let answer = Arc::new(AtomicU16::new(0));
    let url = spawn_stub_api(answer.clone()).await;
    // Not started: no probes, so only the submissions move the health.
    let dashboard = TestDashboard::over(Arc::new(MemoryStore::new()), &url);
    for (code, shown) in [
        (429, "online"),
        (503, "offline"),
        (422, "online"),
        (503, "offline"),
        (401, "online"),
        (400, "online"),
    ] {
        answer.store(code, Ordering::SeqCst);
        let reply = dashboard.submit("some text", "someone").await;
        assert_eq!(reply.status, code, "{}", reply.body);
        let health = dashboard.get("/api/health").await.json();
        assert_eq!(
            health["producer_api"]["status"], shown,
            "after a {code}: {health}"
        );
        if code == 503 {
            assert_eq!(
                health["producer_api"]["detail"], "answered 503: stub answered 503",
                "{health}"
            );
        }
    }
}
