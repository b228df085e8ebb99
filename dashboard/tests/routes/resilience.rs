//! The dashboard on Redis from the test kit: one subscription however many browsers, the store
//! stopped and restarted under it, and words holding markup shown as text.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wordfreq_store::RedisStore;
use wordfreq_testkit::{RedisServer, TestNames};

use crate::helpers::{TestDashboard, WAIT, closed_url};
use crate::live::Events;

async fn on_redis(redis: &RedisServer, prefix: &str) -> TestDashboard {
    let store = RedisStore::connect(redis.url(), prefix).await.unwrap();
    TestDashboard::over(Arc::new(store), &closed_url())
}

async fn redis_command(redis: &RedisServer, args: &[&str]) -> redis::Value {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query_async(&mut connection).await.unwrap()
}

#[tokio::test]
async fn many_browsers_share_one_redis_subscription_and_all_get_the_refresh() {
    let redis = RedisServer::start();
    let prefix = TestNames::new("dash").redis_prefix;
    let dashboard = on_redis(&redis, &prefix).await;
    dashboard.state.start();
    let channel = format!("{prefix}updates");
    let deadline = Instant::now() + WAIT;
    while redis_command(&redis, &["PUBSUB", "NUMSUB", &channel]).await
        != redis::Value::Array(vec![
            redis::Value::BulkString(channel.clone().into_bytes()),
            redis::Value::Int(1),
        ])
    {
        assert!(Instant::now() < deadline, "the dashboard never subscribed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The first health check finds the store up and pushes a refresh of its own; once it is behind
    // us it cannot overwrite the batch's refresh before a browser reads it (a browser is told only
    // the latest refresh).
    let mut health = dashboard.state.live().health_changes();
    tokio::time::timeout(WAIT, health.wait_for(|health| health.store.is_ok()))
        .await
        .expect("the store's health was never checked")
        .unwrap();
    let mut browsers = Vec::new();
    for _ in 0..20 {
        browsers.push(Events::open(&dashboard).await);
    }
    dashboard.seed(&[("shared", 2)]).await;
    for browser in &mut browsers {
        browser.refresh_for("seed-0", WAIT).await;
    }
    let subscribers = redis_command(&redis, &["PUBSUB", "NUMSUB", &channel]).await;
    assert_eq!(
        subscribers,
        redis::Value::Array(vec![
            redis::Value::BulkString(channel.into_bytes()),
            redis::Value::Int(1),
        ]),
        "one subscription for 20 browsers"
    );
    dashboard.state.stopping().cancel();
}

#[tokio::test]
async fn with_redis_down_the_page_shows_its_last_data_and_the_error_and_recovers() {
    let mut redis = RedisServer::start();
    let prefix = TestNames::new("dash").redis_prefix;
    let dashboard = on_redis(&redis, &prefix).await;
    dashboard.seed(&[("kept", 3)]).await;
    let before = dashboard.get("/fragments/words").await;
    assert!(before.body.contains("title=\"kept\""));

    redis.stop();
    // A new generation, as a pushed refresh after the health change would make.
    dashboard
        .state
        .live()
        .set_health(dashboard::health::Health {
            producer_api: Err("down".into()),
            store: Err("down".into()),
            store_memory: None,
        });
    let during = dashboard.get("/fragments/words").await;
    assert_eq!(during.status, 200);
    assert!(
        during.body.contains("The word counts cannot be read now"),
        "{}",
        during.body
    );
    assert!(
        during.body.contains("title=\"kept\""),
        "the last data is still shown"
    );
    let api = dashboard.get("/api/words").await;
    assert_eq!(api.status, 503, "tools get an honest error, not stale data");
    assert!(
        api.json()["detail"]
            .as_str()
            .unwrap()
            .contains("unavailable")
    );
    let page = dashboard.get("/").await;
    assert_eq!(page.status, 200, "the page still renders");

    redis.restart();
    let deadline = Instant::now() + WAIT;
    loop {
        dashboard
            .state
            .live()
            .set_health(dashboard::health::Health {
                producer_api: Err("down".into()),
                store: Ok(()),
                store_memory: None,
            });
        let after = dashboard.get("/fragments/words").await;
        if !after.body.contains("cannot be read") {
            break;
        }
        assert!(Instant::now() < deadline, "never recovered: {}", after.body);
        dashboard
            .state
            .live()
            .set_health(dashboard::health::Health::default());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn words_holding_markup_are_shown_as_text_everywhere() {
    let redis = RedisServer::start();
    let prefix = TestNames::new("dash").redis_prefix;
    let dashboard = on_redis(&redis, &prefix).await;
    // The tokenizer never makes such a word, but the store holds whatever is written to it.
    let word = "<script>alert('w')</script>";
    redis_command(&redis, &["ZINCRBY", &format!("{prefix}all"), "3", word]).await;
    redis_command(
        &redis,
        &["HSET", &format!("{prefix}stats"), "total_words", "3"],
    )
    .await;
    let fragment = dashboard.get("/fragments/words").await;
    assert!(!fragment.body.contains("<script>"), "{}", fragment.body);
    assert!(
        fragment
            .body
            .contains("&#60;script&#62;alert(&#39;w&#39;)&#60;/script&#62;")
    );
    let page = dashboard.get("/").await;
    assert!(!page.body.contains("<script>alert"));
    let csv = dashboard.get("/export.csv").await;
    assert_eq!(csv.body, "word,count\n<script>alert('w')</script>,3\n");
}
