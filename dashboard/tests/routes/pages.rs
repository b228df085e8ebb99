//! The page and its fragments: the view in the URL drives every control and what is shown.

use crate::helpers::TestDashboard;

#[tokio::test]
async fn the_page_has_every_part_of_the_originals_and_its_empty_state_hint() {
    let dashboard = TestDashboard::without_api();
    let page = dashboard.get("/").await;
    assert_eq!(page.status, 200);
    for part in [
        "Real-Time Word Frequency Dashboard",
        "id=\"submit-form\"",
        "name=\"user_id\" value=\"anonymous\"",
        "Auto-refresh",
        "Refresh now",
        "Max words",
        "Min frequency",
        "Search words",
        "System Health",
        "Unique words",
        "Total words",
        "Last updated",
        "Records processed",
        "The quick brown fox jumps over the lazy dog",
    ] {
        assert!(page.body.contains(part), "the page lacks {part:?}");
    }
    assert!(page.body.contains("sse-connect=\"/events?seen=0\""));
}

#[tokio::test]
async fn the_controls_show_the_view_in_the_url() {
    let dashboard = TestDashboard::without_api();
    let page = dashboard
        .get("/?window=15m&limit=50&min_count=3&q=fox&filter=ju&refresh=poll&interval=7")
        .await;
    for expected in [
        "<option value=\"15m\" selected>",
        "<option value=\"poll\" selected>",
        "name=\"limit\" type=\"range\" min=\"10\" max=\"100\" value=\"50\"",
        "name=\"min_count\" type=\"range\" min=\"1\" max=\"10\" value=\"3\"",
        "name=\"interval\" type=\"range\" min=\"1\" max=\"10\" value=\"7\"",
        "name=\"q\" type=\"search\" value=\"fox\"",
        "hx-trigger=\"every 7s, refresh-words from:body\"",
    ] {
        assert!(page.body.contains(expected), "the page lacks {expected:?}");
    }
}

#[tokio::test]
async fn a_hand_edited_url_is_brought_within_the_controls_and_an_unreadable_one_is_said_so() {
    let dashboard = TestDashboard::without_api();
    let clamped = dashboard.get("/?limit=9999&interval=0").await;
    assert!(
        clamped
            .body
            .contains("type=\"range\" min=\"10\" max=\"100\" value=\"100\"")
    );
    assert!(
        clamped
            .body
            .contains("type=\"range\" min=\"1\" max=\"10\" value=\"1\"")
    );
    let unreadable = dashboard.get("/?window=2m").await;
    assert_eq!(unreadable.status, 200);
    assert!(unreadable.body.contains("could not be read"));
    // The notice names the parameter and what it takes.
    assert!(
        unreadable
            .body
            .contains("window: must be one of all, 1m, 5m, 15m, 60m, got 2m"),
        "{}",
        unreadable.body
    );
    assert!(unreadable.body.contains("<option value=\"all\" selected>"));
    // The fragments the controls load refuse it the same way, in the API's shape.
    let fragment = dashboard.get("/fragments/words?interval=soon").await;
    assert_eq!(fragment.status, 422);
    let detail = fragment.json()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.starts_with("interval: must be a whole number of seconds")
            && detail.contains("the page keeps it within 1 to 10")
            && detail.ends_with("got soon"),
        "{detail}"
    );
}

#[tokio::test]
async fn the_words_fragment_shows_the_top_words_with_limit_min_count_and_search() {
    let dashboard = TestDashboard::without_api();
    let mut words: Vec<(String, u64)> = (1..=30).map(|n| (format!("word{n:02}"), n)).collect();
    words.push(("fox".into(), 40));
    let refs: Vec<(&str, u64)> = words.iter().map(|(w, c)| (w.as_str(), *c)).collect();
    dashboard.seed(&refs).await;

    let top = dashboard.get("/fragments/words?limit=10").await;
    assert_eq!(top.status, 200);
    assert_eq!(bar_words(&top.body).len(), 10);
    assert_eq!(bar_words(&top.body)[..3], ["fox", "word30", "word29"]);
    assert!(top.body.contains("id=\"unique-words\">31<"));
    assert!(top.body.contains("id=\"total-words\">505<"));

    let searched = dashboard.get("/fragments/words?limit=10&q=WORD0").await;
    assert_eq!(
        bar_words(&searched.body),
        [
            "word09", "word08", "word07", "word06", "word05", "word04", "word03", "word02",
            "word01"
        ]
    );
    let frequent = dashboard
        .get("/fragments/words?limit=100&min_count=10&q=word")
        .await;
    assert_eq!(bar_words(&frequent.body).len(), 21);
    let none = dashboard.get("/fragments/words?q=zebra").await;
    assert!(none.body.contains("No words match"));
}

#[tokio::test]
async fn the_table_filter_narrows_the_table_and_not_the_charts() {
    let dashboard = TestDashboard::without_api();
    dashboard
        .seed(&[("apple", 3), ("grape", 2), ("melon", 1)])
        .await;
    let filtered = dashboard.get("/fragments/words?filter=ap").await;
    assert_eq!(bar_words(&filtered.body), ["apple", "grape", "melon"]);
    assert_eq!(table_words(&filtered.body), ["apple", "grape"]);
    let nothing = dashboard.get("/fragments/words?filter=zzz").await;
    assert!(
        nothing
            .body
            .contains("No word in the table matches the filter.")
    );
}

#[tokio::test]
async fn the_window_selector_shows_only_the_recent_windows() {
    let dashboard = TestDashboard::without_api();
    let now = chrono::Utc::now().timestamp_millis();
    dashboard.seed_at(&[("recent", 2)], now).await;
    dashboard.seed_at(&[("older", 5)], now - 10 * 60_000).await;
    let last_minute = dashboard.get("/fragments/words?window=1m").await;
    assert_eq!(bar_words(&last_minute.body), ["recent"]);
    let last_15 = dashboard.get("/fragments/words?window=15m").await;
    assert_eq!(bar_words(&last_15.body), ["older", "recent"]);
    let all = dashboard.get("/fragments/words?window=all").await;
    assert_eq!(bar_words(&all.body), ["older", "recent"]);
}

#[tokio::test]
async fn trending_words_show_their_rise_against_the_windows_before() {
    let dashboard = TestDashboard::without_api();
    let now = chrono::Utc::now().timestamp_millis();
    dashboard
        .seed_at(&[("steady", 50), ("rising", 1)], now - 60_000)
        .await;
    dashboard
        .seed_at(&[("steady", 1), ("rising", 30), ("brandnew", 4)], now)
        .await;
    let fragment = dashboard.get("/fragments/words").await;
    let trending = &fragment.body[fragment
        .body
        .find("Trending in the newest window")
        .expect("a trending section")..];
    let trending = &trending[..trending.find("</table>").unwrap()];
    assert!(trending.contains("<td>brandnew</td><td>4</td><td>0.0</td><td>new</td>"));
    assert!(trending.contains("<td>rising</td><td>30</td>"));
    assert!(
        !trending.contains("<td>steady</td>"),
        "a falling word does not trend"
    );
    assert!(
        trending.find("brandnew") < trending.find("rising"),
        "new words come first"
    );
}

#[tokio::test]
async fn the_main_fragment_puts_the_view_in_the_address_bar() {
    let dashboard = TestDashboard::without_api();
    let reply = dashboard
        .get("/fragments/main?window=5m&limit=30&refresh=off")
        .await;
    assert_eq!(
        reply.headers["hx-push-url"],
        "/?window=5m&limit=30&min_count=1&refresh=off&interval=3"
    );
    assert!(
        reply.body.trim_start().starts_with("<section id=\"live\""),
        "the controls replace #live"
    );
    assert!(
        reply
            .body
            .contains("hx-trigger=\"refresh-words from:body\"")
    );
    let live = dashboard.get("/fragments/main").await;
    assert!(
        live.body
            .contains("hx-trigger=\"sse:refresh, refresh-words from:body\"")
    );
    // A refresh swaps only what is inside #live, which stays in place.
    let refreshed = dashboard.get("/fragments/words").await;
    assert!(
        refreshed
            .body
            .trim_start()
            .starts_with("<div id=\"words\">"),
        "{}",
        refreshed.body
    );
    assert!(!refreshed.body.contains("hx-trigger=\"sse:"));
    assert!(!refreshed.headers.contains_key("hx-push-url"));
}

#[tokio::test]
async fn the_pie_chart_has_a_legend_with_counts_and_shares() {
    let dashboard = TestDashboard::without_api();
    dashboard.seed(&[("alpha", 3), ("beta", 1)]).await;
    let fragment = dashboard.get("/fragments/words").await;
    assert!(
        fragment
            .body
            .contains("1. alpha <span class=\"count\">3 (75.0%)</span>")
    );
    assert!(
        fragment
            .body
            .contains("2. beta <span class=\"count\">1 (25.0%)</span>")
    );
}

#[tokio::test]
async fn the_health_fragment_says_the_api_is_offline_when_it_is() {
    let dashboard = TestDashboard::without_api();
    let health = dashboard.get("/fragments/health").await;
    assert!(health.body.contains("Producer API:"));
    assert!(health.body.contains("offline"));
}

/// The words of the bar chart, in order.
pub fn bar_words(html: &str) -> Vec<String> {
    between_all(html, "<span class=\"word\" title=\"", "\"")
}

/// The words of the table, in order.
pub fn table_words(html: &str) -> Vec<String> {
    let table = &html[html.find("id=\"word-table\"").expect("a table")..];
    table
        .split("<tr><td>")
        .skip(1)
        .filter_map(|row| row.split("</td><td>").nth(1).map(str::to_owned))
        .collect()
}

fn between_all(html: &str, start: &str, end: &str) -> Vec<String> {
    html.split(start)
        .skip(1)
        .map(|rest| rest[..rest.find(end).unwrap()].to_owned())
        .collect()
}
