//! The dashboard, measured in one run (`cargo bench -p dashboard --bench dashboard`):
//!
//! 1. render: `GET /fragments/words?limit=100` (metrics, both charts, trending, the table) from
//!    Redis holding `WORDS` (default 100,000) distinct words all-time and 10,000 in each of the
//!    last six windows, every request a fresh read (no cache), against the floor of the same data
//!    read raw from Redis (`ZREVRANGE … 0 99` and `HGETALL stats`);
//! 2. fan-out: `CLIENTS` (default 200) browsers on `/events` of a `dashboard` process; the time from
//!    a batch applied to Redis to each client's `refresh`, over `ROUNDS` (default 20) batches,
//!    against one plain Redis subscriber of the same channel; and the dashboard process's CPU,
//!    idle with every client connected and while pushing.
//!
//! Prints a table and writes `target/bench/dashboard.json`. Redis comes from the test kit.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use chrono::Utc;
use dashboard::{AppState, DashboardSettings, app};
use futures::{FutureExt, StreamExt};
use serde_json::json;
use tower::ServiceExt;
use wordfreq_domain::{Batch, Timeliness, Tokenizer, Windows};
use wordfreq_store::{FencedBatch, OffsetRange, RedisStore, Store};
use wordfreq_testkit::{
    RedisServer, TestNames, bench_setting, free_port, percentile_ms, write_bench_report,
};

/// The raw reads' answers: the top words with their scores, and the stats hash.
type TopRows = Vec<(String, f64)>;
type StatsFields = Vec<(String, String)>;

async fn redis_connection(redis: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// `count` distinct words with counts 1..=1000 into `key`, in pipelined chunks; their sum.
async fn fill(connection: &mut redis::aio::MultiplexedConnection, key: &str, count: u64) -> u64 {
    let total = (0..count).map(|n| n * 7919 % 1000 + 1).sum();
    for chunk in (0..count).collect::<Vec<_>>().chunks(5_000) {
        let mut pipe = redis::pipe();
        for &n in chunk {
            pipe.cmd("ZADD")
                .arg(key)
                .arg(n * 7919 % 1000 + 1)
                .arg(format!("word{n:06}"))
                .ignore();
        }
        pipe.query_async::<()>(connection).await.unwrap();
    }
    total
}

/// The batch after `applied` one-record batches on one partition: one word in the newest window.
fn batch(applied: i64, now_ms: i64) -> FencedBatch {
    let window = Windows::new(Duration::from_secs(60))
        .unwrap()
        .window_of(now_ms);
    let mut counts = Batch::new();
    counts.add_record(
        &Tokenizer::default(),
        "benchmark",
        window,
        Timeliness::OnTime,
    );
    FencedBatch {
        id: format!("bench-{applied}"),
        ranges: vec![OffsetRange {
            topic: "bench".into(),
            partition: 0,
            from: applied,
            to: applied + 1,
        }],
        counts,
        flushed_at: wordfreq_domain::record::format_timestamp(Utc::now()),
        window_retention_secs: 3600,
    }
}

/// CPU seconds (user + system) `pid` has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // Linux reports in clock ticks of 1/100 s on every platform this runs on.
    ticks / 100.0
}

#[tokio::main]
async fn main() {
    let words = bench_setting("WORDS", 100_000, 2_000);
    let renders = bench_setting("RENDERS", 1_000, 20);
    let clients = bench_setting("CLIENTS", 200, 10);
    let rounds = bench_setting("ROUNDS", 20, 3);

    let redis = RedisServer::start();
    let prefix = TestNames::new("dashbench").redis_prefix;
    let mut connection = redis_connection(&redis).await;
    eprintln!("filling {words} words");
    let total = fill(&mut connection, &format!("{prefix}all"), words).await;
    redis::cmd("HSET")
        .arg(format!("{prefix}stats"))
        .arg("total_words")
        .arg(total)
        .query_async::<()>(&mut connection)
        .await
        .unwrap();
    let windows = Windows::new(Duration::from_secs(60)).unwrap();
    let newest = windows
        .window_of(Utc::now().timestamp_millis())
        .start_secs();
    for back in 0..6 {
        let start = newest - 60 * back;
        let total = fill(&mut connection, &format!("{prefix}win:{start}"), words / 10).await;
        redis::cmd("SET")
            .arg(format!("{prefix}wintotal:{start}"))
            .arg(total)
            .query_async::<()>(&mut connection)
            .await
            .unwrap();
    }
    let store: Arc<dyn Store> = Arc::new(RedisStore::connect(redis.url(), &prefix).await.unwrap());
    store
        .apply(&batch(0, Utc::now().timestamp_millis()))
        .await
        .unwrap();

    // 1. Render, uncached, against the raw read floor.
    let state = AppState::new(store.clone(), DashboardSettings::default()).unwrap();
    let router = app(state.clone());
    let mut render_times = Vec::new();
    let mut floor_times = Vec::new();
    for _ in 0..renders {
        state.live().invalidate();
        let started = Instant::now();
        let response = router
            .clone()
            .oneshot(
                Request::get("/fragments/words?limit=100")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        render_times.push(started.elapsed());
        assert!(body.len() > 10_000, "a full fragment");

        let started = Instant::now();
        let _: (TopRows, StatsFields) = redis::pipe()
            .cmd("ZREVRANGE")
            .arg(format!("{prefix}all"))
            .arg(0)
            .arg(99)
            .arg("WITHSCORES")
            .cmd("HGETALL")
            .arg(format!("{prefix}stats"))
            .query_async(&mut connection)
            .await
            .unwrap();
        floor_times.push(started.elapsed());
    }
    render_times.sort_unstable();
    floor_times.sort_unstable();

    // 2. Fan-out to many browsers from a dashboard process.
    let port = free_port();
    let mut process = Command::new(env!("CARGO_BIN_EXE_dashboard"))
        .env("REDIS_URL", redis.url())
        .env("REDIS_PREFIX", &prefix)
        .env("DASHBOARD_ADDR", format!("127.0.0.1:{port}"))
        .env("PRODUCER_API_URL", "http://127.0.0.1:9")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http.get(format!("{base}/api/stats")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the dashboard did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Each client, like the page, fetches its fragment when told to refresh, and reports the batch,
    // when the event came and when the fresh fragment had arrived.
    let (receipts, mut received) =
        tokio::sync::mpsc::unbounded_channel::<(String, Instant, Instant)>();
    for _ in 0..clients {
        let response = http.get(format!("{base}/events")).send().await.unwrap();
        let receipts = receipts.clone();
        let (http, fragment) = (http.clone(), format!("{base}/fragments/words?limit=20"));
        tokio::spawn(async move {
            let mut response = response;
            let mut text = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                let at = Instant::now();
                text.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = text.find("\n\n") {
                    let event: String = text.drain(..end + 2).collect();
                    if let Some(start) = event.find("\"batch_id\":\"") {
                        let id = &event[start + 12..];
                        let id = id[..id.find('"').unwrap()].to_owned();
                        let page = http.get(&fragment).send().await.unwrap();
                        assert!(page.status().is_success());
                        page.bytes().await.unwrap();
                        let _ = receipts.send((id, at, Instant::now()));
                    }
                }
            }
        });
    }
    // One plain subscriber of the same channel: the floor of any push.
    let mut plain = redis::Client::open(redis.url())
        .unwrap()
        .get_async_pubsub()
        .await
        .unwrap();
    plain.subscribe(format!("{prefix}updates")).await.unwrap();
    let mut plain = plain.into_on_message();

    // Warm up until every client has had a refresh: all are connected and subscribed.
    let mut applied = 1;
    'warm: loop {
        store
            .apply(&batch(applied, Utc::now().timestamp_millis()))
            .await
            .unwrap();
        let id = format!("bench-{applied}");
        applied += 1;
        let mut seen = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while let Ok(Some((batch_id, _, _))) =
            tokio::time::timeout_at(deadline, received.recv()).await
        {
            if batch_id == id {
                seen += 1;
                if seen == clients {
                    break 'warm;
                }
            }
        }
        let _ = plain.next().await;
    }
    while plain.next().now_or_never().flatten().is_some() {}

    let idle_from = (cpu_seconds(process.id()), Instant::now());
    tokio::time::sleep(Duration::from_secs(if rounds > 5 { 5 } else { 1 })).await;
    let idle_cpu = (cpu_seconds(process.id()) - idle_from.0) / idle_from.1.elapsed().as_secs_f64();

    let busy_from = (cpu_seconds(process.id()), Instant::now());
    let mut latencies = Vec::new();
    let mut page_latencies = Vec::new();
    let mut round_max = Vec::new();
    let mut plain_latencies = Vec::new();
    for _ in 0..rounds {
        let sent = Instant::now();
        store
            .apply(&batch(applied, Utc::now().timestamp_millis()))
            .await
            .unwrap();
        let id = format!("bench-{applied}");
        applied += 1;
        let _ = plain.next().await;
        plain_latencies.push(sent.elapsed());
        let mut seen = 0;
        let mut slowest = Duration::ZERO;
        while seen < clients {
            let (batch_id, at, page_at) =
                tokio::time::timeout(Duration::from_secs(10), received.recv())
                    .await
                    .expect("every client gets every refresh")
                    .unwrap();
            if batch_id == id {
                seen += 1;
                latencies.push(at - sent);
                page_latencies.push(page_at - sent);
                slowest = slowest.max(page_at - sent);
            }
        }
        round_max.push(slowest);
        // Apart by more than the push interval, so each batch is its own push.
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let busy_cpu = (cpu_seconds(process.id()) - busy_from.0) / busy_from.1.elapsed().as_secs_f64();
    let _ = process.kill();
    let _ = process.wait();
    latencies.sort_unstable();
    page_latencies.sort_unstable();
    round_max.sort_unstable();
    plain_latencies.sort_unstable();

    let (render_p50, render_p99) = (
        percentile_ms(&render_times, 0.5),
        percentile_ms(&render_times, 0.99),
    );
    let (floor_p50, floor_p99) = (
        percentile_ms(&floor_times, 0.5),
        percentile_ms(&floor_times, 0.99),
    );
    let (push_p50, push_p99) = (
        percentile_ms(&latencies, 0.5),
        percentile_ms(&latencies, 0.99),
    );
    let (page_p50, page_p99) = (
        percentile_ms(&page_latencies, 0.5),
        percentile_ms(&page_latencies, 0.99),
    );
    let slowest_round = percentile_ms(&round_max, 1.0);
    let plain_p50 = percentile_ms(&plain_latencies, 0.5);
    println!("dashboard benchmark (Redis from the test kit on this machine)");
    println!(
        "  render #words, top 100 of {words} words, uncached ({renders} requests): p50 {render_p50:.2} ms, p99 {render_p99:.2} ms"
    );
    println!(
        "    raw Redis read of the same top 100 + stats:                  p50 {floor_p50:.2} ms, p99 {floor_p99:.2} ms (render/raw at p50: {:.1}x)",
        render_p50 / floor_p50
    );
    println!(
        "  {clients} SSE clients, {rounds} batches: batch applied -> client has the refresh event: p50 {push_p50:.1} ms, p99 {push_p99:.1} ms"
    );
    println!(
        "    -> client has its fresh fragment: p50 {page_p50:.1} ms, p99 {page_p99:.1} ms, slowest client of any batch {slowest_round:.1} ms"
    );

    println!(
        "    one plain Redis subscriber of the same channel:            p50 {plain_p50:.2} ms"
    );
    println!(
        "  dashboard process CPU: {:.1}% of a core idle with {clients} clients, {:.1}% while pushing",
        idle_cpu * 100.0,
        busy_cpu * 100.0
    );
    let report = json!({
        "words": words, "renders": renders, "render_p50_ms": render_p50, "render_p99_ms": render_p99,
        "raw_read_p50_ms": floor_p50, "raw_read_p99_ms": floor_p99, "clients": clients, "rounds": rounds,
        "push_p50_ms": push_p50, "push_p99_ms": push_p99, "fragment_p50_ms": page_p50, "fragment_p99_ms": page_p99, "slowest_client_ms": slowest_round,
        "plain_subscriber_p50_ms": plain_p50, "idle_cpu_share": idle_cpu, "busy_cpu_share": busy_cpu,
    });
    write_bench_report("dashboard", &report);
}
