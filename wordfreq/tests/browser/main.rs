//! The dashboard in a real browser (Debian's headless Chromium, driven over WebDriver with
//! fantoccini) against the real stack: tansu and Redis from the test kit, the producer API and the
//! stream job in this process. A person types and submits text and sees it counted without a
//! reload; changes max words and searches; downloads the CSV; and sees text submitted elsewhere
//! arrive by server-sent events. Full-page screenshots (desktop and phone width) are saved under
//! `target/screenshots/`.

mod chromium;
mod stack;

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::Value;

use crate::chromium::{Browser, screenshots_dir};
use crate::stack::Stack;

/// The bound on submit-to-visible in the page.
const VISIBLE_WITHIN: Duration = Duration::from_secs(2);
/// Bound on the other waits.
const WAIT: Duration = Duration::from_secs(20);
/// What the in-process services log with `TEST_LOG` set (and no `RUST_LOG`); nothing without it.
const TEST_LOG_FILTER: &str =
    "dashboard=debug,producer_api=debug,stream_job=info,wordfreq_store=debug,tower_http=debug";

impl Browser {
    /// The words of the table, of the bar chart.
    async fn shown(&self) -> (Vec<String>, Vec<String>) {
        let words = self
            .js(
                "const cells = sel => [...document.querySelectorAll(sel)].map(e => e.textContent);
                 return [cells('#word-table tbody tr td:nth-child(2)'), cells('.bars .word')];",
            )
            .await;
        let list = |value: &Value| -> Vec<String> {
            value
                .as_array()
                .unwrap()
                .iter()
                .map(|word| word.as_str().unwrap().to_owned())
                .collect()
        };
        (list(&words[0]), list(&words[1]))
    }

    /// Waits at most `within` until `ready` holds for the table and chart words; the time it took.
    async fn wait_for_words(
        &self,
        within: Duration,
        what: &str,
        ready: impl Fn(&[String], &[String]) -> bool,
    ) -> Duration {
        let started = Instant::now();
        loop {
            let (table, chart) = self.shown().await;
            if ready(&table, &chart) {
                return started.elapsed();
            }
            if started.elapsed() >= within {
                let page = self
                    .js("const r = new XMLHttpRequest(); r.open('GET', '/api/stats', false); r.send();
                         return [document.getElementById('submit-result').innerText,
                                 document.querySelector('.refreshed').innerText, r.responseText]")
                    .await;
                panic!(
                    "{what} not shown within {within:?}; table {table:?}, chart {chart:?}, page says {page}"
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits (bounded) until the page's event stream is open.
    async fn wait_for_live_stream(&self) {
        let started = Instant::now();
        let open = "const data = document.body['htmx-internal-data'];
                    return !!(data && data.sseEventSource && data.sseEventSource.readyState === 1)";
        while self.js(open).await != true {
            assert!(
                started.elapsed() < WAIT,
                "the page's event stream did not open"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_submits_text_sees_it_counted_live_narrows_the_view_and_downloads_it() {
    wordfreq_testkit::init_test_log(TEST_LOG_FILTER);
    let stack = Stack::start().await;
    let browser = Browser::start().await;
    stack.warm_up(Duration::from_secs(60)).await;
    let client = &browser.client;
    browser
        .open(
            &format!("{}/?limit=20", stack.dashboard_url),
            "#health li.up",
        )
        .await;
    // Marks this page load: a reload would lose it.
    browser.js("window.__sameLoad = true; return null").await;
    browser.wait_for_live_stream().await;

    // 1. Type text and submit it: the words appear in the table and the chart without a reload.
    let text = "zebra zebra zebra quokka quokka narwhal";
    client
        .find(Locator::Id("submit-text"))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
    let user_id = client.find(Locator::Id("user-id")).await.unwrap();
    user_id.clear().await.unwrap();
    user_id.send_keys("<b>tester</b>").await.unwrap();
    client
        .find(Locator::Id("submit-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let took = browser
        .wait_for_words(VISIBLE_WITHIN, "the submitted words", |table, chart| {
            ["zebra", "quokka", "narwhal"]
                .iter()
                .all(|word| table.iter().any(|w| w == word) && chart.iter().any(|w| w == word))
        })
        .await;
    eprintln!("submitted words visible after {took:?}");
    let (table, _) = browser.shown().await;
    assert_eq!(table[..3], ["zebra", "quokka", "narwhal"]);
    let outcome = client.find(Locator::Id("submit-result")).await.unwrap();
    let outcome = outcome.text().await.unwrap();
    assert!(outcome.contains("Text submitted successfully"), "{outcome}");
    assert!(
        outcome.contains("<b>tester</b>"),
        "markup in the user id shows as text: {outcome}"
    );
    let cleared = browser
        .js("return document.getElementById('submit-text').value")
        .await;
    assert_eq!(cleared, "", "the text area clears on success");
    assert_eq!(browser.js("return window.__sameLoad === true").await, true);

    // 2. Text submitted elsewhere (straight to the API) arrives by server-sent events.
    let words: Vec<String> = (0..30).map(|n| format!("filler{n:02}")).collect();
    stack.submit(&words.join(" "), "elsewhere").await;
    stack
        .submit("ocelot ocelot ocelot ocelot", "elsewhere")
        .await;
    let took = browser
        .wait_for_words(VISIBLE_WITHIN, "words submitted to the API", |table, _| {
            table.first().is_some_and(|w| w == "ocelot")
        })
        .await;
    eprintln!("words submitted elsewhere visible after {took:?}");
    let stream_state = browser
        .js(
            "const source = document.body['htmx-internal-data'].sseEventSource;
             return source ? [source.url, source.readyState] : null",
        )
        .await;
    assert!(
        stream_state[0].as_str().unwrap().contains("/events?seen=") && stream_state[1] == 1,
        "the page follows /events: {stream_state}"
    );
    assert_eq!(browser.js("return window.__sameLoad === true").await, true);
    // While live and nothing changes, the page asks for nothing: there is no polling to see.
    let fetches = "return performance.getEntriesByType('resource')
                   .filter(e => e.name.includes('/fragments/')).length";
    let before = browser.js(fetches).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        browser.js(fetches).await,
        before,
        "the page polled while live"
    );

    // 3. Max words: the chart and table shrink to it, and the view goes into the address.
    browser
        .js(
            "const limit = document.getElementById('limit'); limit.value = 10;
             limit.dispatchEvent(new Event('change', {bubbles: true})); return null",
        )
        .await;
    browser
        .wait_for_words(WAIT, "ten words", |table, chart| {
            table.len() == 10 && chart.len() == 10
        })
        .await;
    let url = client.current_url().await.unwrap();
    assert!(url.query().unwrap().contains("limit=10"), "{url}");

    // 4. Search: only matching words.
    client
        .find(Locator::Id("search"))
        .await
        .unwrap()
        .send_keys("ze")
        .await
        .unwrap();
    browser
        .wait_for_words(WAIT, "only zebra", |table, chart| {
            table == ["zebra"] && chart == ["zebra"]
        })
        .await;
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .query()
            .unwrap()
            .contains("q=ze")
    );

    // 5. Download the CSV of what is shown.
    client
        .find(Locator::Css("a[href^='/export.csv']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let csv = wait_for_download(browser.downloads.path(), "csv").await;
    assert_eq!(csv, "word,count\nzebra,3\n");

    // 6. Screenshots of the whole page, desktop and phone width, with everything shown.
    browser
        .open(
            &format!("{}/?limit=20", stack.dashboard_url),
            ".pie-chart svg path",
        )
        .await;
    let dir = screenshots_dir();
    browser
        .screenshot(1280, &dir.join("dashboard-desktop.png"))
        .await;
    browser
        .screenshot(390, &dir.join("dashboard-phone.png"))
        .await;
    let overflow = browser
        .js("const page = document.documentElement; return page.scrollWidth > page.clientWidth")
        .await;
    assert_eq!(overflow, false, "nothing is wider than a phone screen");
    eprintln!("screenshots in {}", dir.display());
    browser.client.clone().close().await.unwrap();
}

/// The text of the first finished download named `word_frequencies_*.<extension>`.
async fn wait_for_download(dir: &Path, extension: &str) -> String {
    let started = Instant::now();
    loop {
        let finished = std::fs::read_dir(dir).unwrap().flatten().find(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with("word_frequencies_") && name.ends_with(&format!(".{extension}"))
        });
        if let Some(file) = finished {
            return std::fs::read_to_string(file.path()).unwrap();
        }
        assert!(started.elapsed() < WAIT, "no download within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Started together, the dashboard may probe the producer API before it listens. Once the API is
/// up, a submission from the page succeeds and the health panel says online, not offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_started_before_the_producer_api_shows_it_online_once_it_answers() {
    wordfreq_testkit::init_test_log(TEST_LOG_FILTER);
    let mut stack = Stack::start_before_the_api().await;
    let browser = Browser::start().await;
    let client = &browser.client;
    browser.open(&stack.dashboard_url, "#health li.down").await;
    // Read in one script: the panel is swapped whole when the event stream connects, so an
    // element found first may be gone by the time its text is asked for.
    let before = browser
        .js("return document.getElementById('health').innerText")
        .await;
    let before = before.as_str().unwrap_or_default();
    assert!(before.contains("Producer API: offline"), "{before}");

    stack.start_api().await;
    client
        .find(Locator::Id("submit-text"))
        .await
        .unwrap()
        .send_keys("late starters still count")
        .await
        .unwrap();
    client
        .find(Locator::Id("submit-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let (outcome, health) = loop {
        let state = browser
            .js(
                "const text = id => (document.getElementById(id) || {}).textContent || '';
                 return [text('submit-result'), text('health')];",
            )
            .await;
        let (outcome, health) = (
            state[0].as_str().unwrap_or_default().to_owned(),
            state[1].as_str().unwrap_or_default().to_owned(),
        );
        if outcome.contains("Text submitted successfully") && health.contains("online") {
            break (outcome, health);
        }
        assert!(
            Instant::now() < deadline,
            "within {WAIT:?} the page did not show the success and the API online: \
             outcome {outcome:?}, health {health:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        !health.contains("offline"),
        "side by side: {outcome} / {health}"
    );
}
