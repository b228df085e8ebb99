//! Debian's headless Chromium driven over WebDriver (chromedriver, with fantoccini): the browser
//! the dashboard's browser test and the compose tests load the page in.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use wordfreq_testkit::free_port;

/// Bound on starting the browser and on a page showing what is waited for.
const WAIT: Duration = Duration::from_secs(20);

/// chromedriver on a free port, with a Chromium session; both end when this is dropped.
pub struct Browser {
    driver: Child,
    pub client: Client,
    /// Where the browser saves downloads.
    pub downloads: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Self {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is not installed: run scripts/test.sh, which installs Debian's chromium and chromium-driver");
        let webdriver = format!("http://127.0.0.1:{port}");
        wait_until_answers(&format!("{webdriver}/status")).await;
        let downloads = tempfile::tempdir().unwrap();
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--no-first-run",
                    "--window-size=1280,1000",
                ],
                "prefs": {
                    "download.default_directory": downloads.path(),
                    "download.prompt_for_download": false,
                },
            }
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&webdriver)
            .await
            .expect("a Chromium session");
        Self {
            driver,
            client,
            downloads,
        }
    }

    /// Loads `url` and waits (bounded) until an element matching `css` is on the page.
    pub async fn open(&self, url: &str, css: &str) {
        self.client.goto(url).await.unwrap();
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("{url} showed no {css} within {WAIT:?}: {err}"));
    }

    /// Runs `script` in the page; what it returns.
    pub async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Saves a screenshot of the whole page at `width` to `path`.
    pub async fn screenshot(&self, width: u32, path: &Path) {
        // The width re-flows the page, so its height is measured at that width; the window is then
        // made tall enough that the whole page fits with no scroll bar.
        self.client.set_window_size(width, 1000).await.unwrap();
        let height = self
            .js("return document.documentElement.scrollHeight")
            .await;
        let height = height.as_u64().unwrap() as u32 + 200;
        self.client.set_window_size(width, height).await.unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

async fn wait_until_answers(url: &str) {
    let started = Instant::now();
    while reqwest::get(url).await.is_err() {
        assert!(
            started.elapsed() < WAIT,
            "{url} did not answer within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Where screenshots go: `target/screenshots/`.
pub fn screenshots_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
            PathBuf::from,
        )
        .join("screenshots")
}
