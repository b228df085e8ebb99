//! Live pushes over server-sent events: a refresh when the store applies a batch, the health panel
//! on connecting and when it changes, rapid batches folded together.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use dashboard::DashboardSettings;
use futures::StreamExt;
use tower::ServiceExt;
use wordfreq_store::MemoryStore;

use crate::helpers::{TestDashboard, WAIT, closed_url, settings};

/// An open `/events` stream, read as text.
pub struct Events(futures::stream::BoxStream<'static, String>);

impl Events {
    pub async fn open(dashboard: &TestDashboard) -> Self {
        Self::open_at(dashboard, "/events").await
    }

    pub async fn open_at(dashboard: &TestDashboard, uri: &str) -> Self {
        let response = dashboard::app(dashboard.state.clone())
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self(
            response
                .into_body()
                .into_data_stream()
                .map(|chunk| String::from_utf8(chunk.unwrap().to_vec()).unwrap())
                .boxed(),
        )
    }

    /// The next event named `name` (its data lines joined), waiting at most `within`.
    /// Seeds batches until one is pushed as a refresh: the dashboard's subscription to the store
    /// is then live, and that first batch has used up the push allowed at once.
    pub async fn wait_until_batches_are_pushed(&mut self, dashboard: &TestDashboard) {
        loop {
            dashboard.seed(&[("warm", 1)]).await;
            let refresh = self.next_named("refresh", WAIT).await;
            if refresh.contains("batch_id\":\"seed") {
                return;
            }
        }
    }

    pub async fn next_named(&mut self, name: &str, within: Duration) -> String {
        let deadline = tokio::time::Instant::now() + within;
        let mut text = String::new();
        loop {
            if let Some(event) = take_event(&mut text, name) {
                return event;
            }
            let chunk = tokio::time::timeout_at(deadline, self.0.next())
                .await
                .unwrap_or_else(|_| panic!("no {name} event within {within:?}"))
                .expect("the event stream ended");
            text.push_str(&chunk);
        }
    }

    /// The next refresh pushed for batch `batch_id`, waiting at most `within`. Refreshes for other
    /// causes (the store's health changing, the subscription lost) are passed over: the health
    /// check runs in the background, so its refresh may come before or after the batch's.
    pub async fn refresh_for(&mut self, batch_id: &str, within: Duration) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + within;
        let mut passed_over = Vec::new();
        loop {
            let next = tokio::time::timeout_at(deadline, self.next_named("refresh", within));
            let Ok(refresh) = next.await else {
                panic!("no refresh for {batch_id} within {within:?}; passed over {passed_over:?}");
            };
            let refresh: serde_json::Value = serde_json::from_str(&refresh).unwrap();
            if refresh["batch_id"] == batch_id {
                return refresh;
            }
            passed_over.push(refresh);
        }
    }
}

/// Removes whole events from `text` up to and including the first named `name`, returning its data.
fn take_event(text: &mut String, name: &str) -> Option<String> {
    while let Some(end) = text.find("\n\n") {
        let event: String = text.drain(..end + 2).collect();
        if event.lines().any(|line| line == format!("event: {name}")) {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|line| line.strip_prefix("data: ").or(line.strip_prefix("data:")))
                .collect();
            return Some(data.join("\n"));
        }
    }
    None
}

#[tokio::test]
async fn a_batch_applied_to_the_store_is_pushed_as_a_refresh() {
    let dashboard = TestDashboard::without_api();
    dashboard.state.start();
    let mut events = Events::open(&dashboard).await;
    // The subscription is made in the background: seed until a refresh for a batch arrives.
    let started = Instant::now();
    dashboard.seed(&[("hello", 1)]).await;
    let refresh = loop {
        let refresh: serde_json::Value =
            serde_json::from_str(&events.next_named("refresh", WAIT).await).unwrap();
        if refresh["batch_id"].is_string() {
            break refresh;
        }
        dashboard.seed(&[("hello", 1)]).await;
    };
    assert!(refresh["generation"].as_u64().unwrap() >= 1);
    assert!(started.elapsed() < WAIT);
    dashboard.state.stopping().cancel();
}

#[tokio::test]
async fn a_page_that_missed_a_refresh_before_its_stream_connected_gets_it_at_once() {
    let dashboard = TestDashboard::without_api();
    let page = dashboard.get("/").await.body;
    let seen = page
        .split("sse-connect=\"/events?seen=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page says which refresh it shows")
        .to_owned();
    // A refresh between the page's render and its stream's connection.
    dashboard.state.live().invalidate();
    let mut events = Events::open_at(&dashboard, &format!("/events?seen={seen}")).await;
    let refresh = events.next_named("refresh", WAIT).await;
    assert!(refresh.contains("\"generation\":1"), "{refresh}");
    // A page already current gets nothing until the next refresh.
    let mut current = Events::open_at(&dashboard, "/events?seen=1").await;
    assert!(
        tokio::time::timeout(
            Duration::from_millis(300),
            current.next_named("refresh", WAIT)
        )
        .await
        .is_err(),
        "a current page was told to refresh"
    );
}

#[tokio::test]
async fn a_change_of_health_is_pushed_as_the_rendered_panel() {
    let dashboard = TestDashboard::without_api();
    let mut events = Events::open(&dashboard).await;
    let first = events.next_named("health", WAIT).await;
    assert!(first.contains("not checked yet"), "{first}");
    dashboard.state.start();
    let panel = events.next_named("health", WAIT).await;
    assert!(panel.contains("id=\"health\""), "{panel}");
    assert!(panel.contains("Producer API:"));
    assert!(panel.contains("<strong>offline</strong>"), "{panel}");
    assert!(
        panel.contains("<strong>connected</strong>"),
        "the in-process store was checked: {panel}"
    );
    dashboard.state.stopping().cancel();
}

#[tokio::test]
async fn a_page_whose_health_changed_before_its_stream_connected_gets_the_current_panel_at_once() {
    let dashboard = TestDashboard::without_api();
    let page = dashboard.get("/").await.body;
    assert!(page.contains("not checked yet"), "{page}");
    // A change between the page's render and its stream's connection (a submission's evidence).
    dashboard
        .state
        .live()
        .set_health(dashboard::health::Health {
            producer_api: Ok(()),
            store: Ok(()),
            store_memory: None,
        });
    let mut events = Events::open(&dashboard).await;
    let panel = events.next_named("health", WAIT).await;
    assert!(panel.contains("<strong>online</strong>"), "{panel}");
    assert!(!panel.contains("offline"), "{panel}");
}

#[tokio::test]
async fn only_a_change_of_the_stores_health_refreshes_the_data() {
    let dashboard = TestDashboard::without_api();
    let live = dashboard.state.live();
    let health =
        |producer_api: Result<(), &str>, store: Result<(), &str>| dashboard::health::Health {
            producer_api: producer_api.map_err(str::to_owned),
            store: store.map_err(str::to_owned),
            store_memory: None,
        };
    live.set_health(health(Err("down"), Ok(())));
    let before = live.generation();
    assert_eq!(before, 1, "the store's first check is news");
    let mut events = Events::open(&dashboard).await;
    let first = events.next_named("health", WAIT).await;
    assert!(first.contains("<strong>offline</strong>"), "{first}");
    // The data does not depend on the producer API: its panel changes, the data is not read again.
    live.set_health(health(Ok(()), Ok(())));
    let panel = events.next_named("health", WAIT).await;
    assert!(panel.contains("<strong>online</strong>"), "{panel}");
    assert_eq!(live.generation(), before, "a producer API change refreshed");
    live.set_health(health(Ok(()), Err("gone")));
    let refresh = events.next_named("refresh", WAIT).await;
    assert!(refresh.contains("\"batch_id\":null"), "{refresh}");
    assert_eq!(live.generation(), before + 1);
}

#[tokio::test]
async fn many_batches_in_quick_succession_are_folded_into_fewer_refreshes() {
    let dashboard = TestDashboard::without_api();
    dashboard.state.start();
    let mut events = Events::open(&dashboard).await;
    events.wait_until_batches_are_pushed(&dashboard).await;
    let before = dashboard.state.live().generation();
    for _ in 0..50 {
        dashboard.seed(&[("burst", 1)]).await;
    }
    // The last batch is always pushed, at the latest one push interval (50 ms here) later.
    let deadline = Instant::now() + WAIT;
    loop {
        let refresh = events.next_named("refresh", WAIT).await;
        let refresh: serde_json::Value = serde_json::from_str(&refresh).unwrap();
        let stored = dashboard.store.stats().await.unwrap().batches;
        if refresh["batch_id"] == format!("seed-{}", stored - 1) {
            break;
        }
        assert!(Instant::now() < deadline, "the last batch was never pushed");
    }
    let pushes = dashboard.state.live().generation() - before;
    assert!((1..50).contains(&pushes), "{pushes} pushes for 50 batches");
    dashboard.state.stopping().cancel();
}

#[tokio::test]
async fn a_read_after_an_update_sees_it_while_the_push_for_it_is_held_back() {
    // A push interval longer than the test: after the first push, every update's push is held.
    let dashboard = TestDashboard::with_settings(
        Arc::new(MemoryStore::new()),
        DashboardSettings {
            push_interval: Duration::from_secs(3600),
            ..settings(&closed_url())
        },
    );
    dashboard.state.start();
    let mut events = Events::open(&dashboard).await;
    events.wait_until_batches_are_pushed(&dashboard).await;
    let pushed = dashboard.state.live().generation();
    // Read once before the update, so the view without it is cached.
    let before = dashboard.get("/api/words?q=fresh").await.json();
    assert_eq!(before["words"], serde_json::json!([]));
    dashboard.seed(&[("fresh", 1)]).await;
    // Polled as a tool would: reads may come before the update reaches the dashboard.
    let deadline = Instant::now() + WAIT;
    loop {
        let words = dashboard.get("/api/words?q=fresh").await.json();
        if words["words"]
            .as_array()
            .is_some_and(|words| !words.is_empty())
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the JSON API still serves the counts from before the update"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        dashboard.state.live().generation(),
        pushed,
        "the update was pushed, so this test did not test a held push"
    );
    dashboard.state.stopping().cancel();
}

#[tokio::test]
async fn the_event_stream_ends_when_the_dashboard_stops() {
    let dashboard = TestDashboard::without_api();
    let mut events = Events::open(&dashboard).await;
    dashboard.state.stopping().cancel();
    let end = tokio::time::timeout(WAIT, async { while events.0.next().await.is_some() {} }).await;
    assert!(end.is_ok(), "the event stream outlived the dashboard");
}
