//! The query parameters of the page, the JSON API and the exports: what a view of the counts is
//! (the window, how many words, the filters and how it refreshes). A view lives in the URL's query
//! string, so it can be shared and reloaded. A value that cannot be read is refused naming its
//! parameter and what the parameter takes (serde's own messages, such as "invalid digit found in
//! string", name neither).

use std::str::FromStr;
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use wordfreq_domain::{Windows, WordQuery};
use wordfreq_store::View;

/// The longest search or table filter accepted, in characters.
pub const MAX_SEARCH_CHARS: usize = 100;
/// The page's "max words" range (the original's slider).
pub const PAGE_LIMITS: (usize, usize) = (10, 100);
/// The page's "min frequency" range.
pub const PAGE_MIN_COUNTS: (u64, u64) = (1, 10);
/// The page's refresh interval range, seconds.
pub const PAGE_INTERVALS: (u64, u64) = (1, 10);

/// Which counts a view shows: all-time, or the sliding "last N minutes" made of tumbling windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WindowChoice {
    #[default]
    #[serde(rename = "all")]
    AllTime,
    #[serde(rename = "1m")]
    Last1m,
    #[serde(rename = "5m")]
    Last5m,
    #[serde(rename = "15m")]
    Last15m,
    #[serde(rename = "60m")]
    Last60m,
}

impl WindowChoice {
    pub const ALL: [Self; 5] = [
        Self::AllTime,
        Self::Last1m,
        Self::Last5m,
        Self::Last15m,
        Self::Last60m,
    ];

    /// The query-string value.
    pub fn code(self) -> &'static str {
        match self {
            Self::AllTime => "all",
            Self::Last1m => "1m",
            Self::Last5m => "5m",
            Self::Last15m => "15m",
            Self::Last60m => "60m",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::AllTime => "All time",
            Self::Last1m => "Last minute",
            Self::Last5m => "Last 5 minutes",
            Self::Last15m => "Last 15 minutes",
            Self::Last60m => "Last hour",
        }
    }

    fn span(self) -> Option<Duration> {
        let minutes = match self {
            Self::AllTime => return None,
            Self::Last1m => 1,
            Self::Last5m => 5,
            Self::Last15m => 15,
            Self::Last60m => 60,
        };
        Some(Duration::from_secs(60 * minutes))
    }

    /// The store view at `now_ms`: the windows that cover the span, the newest partly elapsed.
    pub fn view(self, windows: &Windows, now_ms: i64) -> View {
        match self.span() {
            None => View::AllTime,
            Some(span) => View::Windows(
                windows
                    .recent(now_ms, span)
                    .map(|window| window.start_secs())
                    .collect(),
            ),
        }
    }
}

impl FromStr for WindowChoice {
    type Err = ();

    /// The query-string value, exactly as [`WindowChoice::code`] spells it.
    fn from_str(text: &str) -> Result<Self, ()> {
        Self::ALL
            .into_iter()
            .find(|choice| choice.code() == text)
            .ok_or(())
    }
}

/// How a page keeps itself current.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RefreshMode {
    /// Refreshed when the stream job flushes, pushed by server-sent events; no polling.
    #[default]
    Live,
    /// Polled every `interval` seconds, as the original's auto-refresh.
    Poll,
    /// Refreshed only by "Refresh now" (the original's auto-refresh off, or its pause button).
    Off,
}

impl RefreshMode {
    pub const ALL: [Self; 3] = [Self::Live, Self::Poll, Self::Off];

    /// The query-string value.
    pub fn code(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Poll => "poll",
            Self::Off => "off",
        }
    }
}

impl FromStr for RefreshMode {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        Self::ALL
            .into_iter()
            .find(|refresh| refresh.code() == text)
            .ok_or(())
    }
}

/// The most of a refused value an error message repeats: enough to recognise it, and a hostile
/// 100 kB value is not echoed back.
const SHOWN_CHARS: usize = 40;

/// "`name`: must be `takes`, got `value`": what every refused query value says.
pub fn refusal(name: &str, takes: &str, got: &str) -> String {
    let got = if got.is_empty() {
        "nothing".to_owned()
    } else if got.chars().count() > SHOWN_CHARS {
        format!("{}…", got.chars().take(SHOWN_CHARS).collect::<String>())
    } else {
        got.to_owned()
    };
    format!("{name}: must be {takes}, got {got}")
}

/// Reads one query-string value as `T`, or refuses it with [`refusal`].
pub fn parse_value<'de, D, T>(
    deserializer: D,
    name: &str,
    takes: impl FnOnce() -> String,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
{
    let text = String::deserialize(deserializer)?;
    text.parse()
        .map_err(|_| D::Error::custom(refusal(name, &takes(), &text)))
}

fn one_of(codes: impl IntoIterator<Item = &'static str>) -> String {
    format!(
        "one of {}",
        codes.into_iter().collect::<Vec<_>>().join(", ")
    )
}

fn window<'de, D: Deserializer<'de>>(deserializer: D) -> Result<WindowChoice, D::Error> {
    parse_value(deserializer, "window", || {
        one_of(WindowChoice::ALL.map(WindowChoice::code))
    })
}

fn refresh<'de, D: Deserializer<'de>>(deserializer: D) -> Result<RefreshMode, D::Error> {
    parse_value(deserializer, "refresh", || {
        one_of(RefreshMode::ALL.map(RefreshMode::code))
    })
}

fn limit<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    parse_value(deserializer, "limit", || {
        format!("a whole number from 0 (all words) to {}", usize::MAX)
    })
}

fn min_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    parse_value(deserializer, "min_count", || {
        format!("a whole number from 0 to {}", u64::MAX)
    })
}

/// The page's numbers parse as widely as the API's, then are clamped into its controls.
fn page_limit<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    let (low, high) = PAGE_LIMITS;
    parse_value(deserializer, "limit", || {
        format!(
            "a whole number from 0 to {} (the page keeps it within {low} to {high})",
            usize::MAX
        )
    })
}

fn page_min_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let (low, high) = PAGE_MIN_COUNTS;
    parse_value(deserializer, "min_count", || {
        format!(
            "a whole number from 0 to {} (the page keeps it within {low} to {high})",
            u64::MAX
        )
    })
}

fn interval<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let (low, high) = PAGE_INTERVALS;
    parse_value(deserializer, "interval", || {
        format!(
            "a whole number of seconds from 0 to {} (the page keeps it within {low} to {high})",
            u64::MAX
        )
    })
}

/// The query string of the JSON API and the exports: which words to show.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct WordsParams {
    #[serde(deserialize_with = "window")]
    pub window: WindowChoice,
    /// How many words; 0 means all of them.
    #[serde(deserialize_with = "limit")]
    pub limit: usize,
    #[serde(deserialize_with = "min_count")]
    pub min_count: u64,
    /// Only words containing this text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub q: String,
}

impl Default for WordsParams {
    fn default() -> Self {
        Self {
            window: WindowChoice::AllTime,
            limit: 20,
            min_count: 1,
            q: String::new(),
        }
    }
}

impl WordsParams {
    /// Refuses what no view can show, with a message for the caller.
    pub fn check(&self) -> Result<(), String> {
        let chars = self.q.chars().count();
        if chars > MAX_SEARCH_CHARS {
            return Err(format!(
                "q: must be a search of at most {MAX_SEARCH_CHARS} characters, got {chars}"
            ));
        }
        Ok(())
    }

    pub fn query(&self) -> WordQuery {
        WordQuery::new(
            (self.limit > 0).then_some(self.limit),
            self.min_count,
            Some(&self.q),
        )
    }
}

/// The page's query string: the words it shows, its table filter and how it refreshes.
// Spelled out rather than `#[serde(flatten)]`ing `WordsParams`: flattened fields reach
// serde_urlencoded as strings and numbers then fail to parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct PageParams {
    #[serde(deserialize_with = "window")]
    pub window: WindowChoice,
    /// The page's "max words".
    #[serde(deserialize_with = "page_limit")]
    pub limit: usize,
    #[serde(deserialize_with = "page_min_count")]
    pub min_count: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub q: String,
    /// The table's own filter, applied to the words shown.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub filter: String,
    #[serde(deserialize_with = "refresh")]
    pub refresh: RefreshMode,
    /// Seconds between polls when `refresh` is `poll`.
    #[serde(deserialize_with = "interval")]
    pub interval: u64,
}

impl Default for PageParams {
    fn default() -> Self {
        let words = WordsParams::default();
        Self {
            window: words.window,
            limit: words.limit,
            min_count: words.min_count,
            q: words.q,
            filter: String::new(),
            refresh: RefreshMode::Live,
            interval: 3,
        }
    }
}

impl PageParams {
    /// Brings a shared or hand-edited URL within the page's controls rather than refusing it: the
    /// page always shows something sensible.
    pub fn within_controls(mut self) -> Self {
        self.limit = self.limit.clamp(PAGE_LIMITS.0, PAGE_LIMITS.1);
        self.min_count = self.min_count.clamp(PAGE_MIN_COUNTS.0, PAGE_MIN_COUNTS.1);
        self.interval = self.interval.clamp(PAGE_INTERVALS.0, PAGE_INTERVALS.1);
        for text in [&mut self.q, &mut self.filter] {
            *text = text.chars().take(MAX_SEARCH_CHARS).collect();
        }
        self
    }

    /// The words the page shows, as the JSON API and the exports ask for them.
    pub fn words(&self) -> WordsParams {
        WordsParams {
            window: self.window,
            limit: self.limit,
            min_count: self.min_count,
            q: self.q.clone(),
        }
    }

    /// The query string that reproduces this view.
    pub fn to_query(&self) -> String {
        serde_urlencoded::to_string(self).expect("a view always encodes")
    }

    /// The words query string of the view, for the JSON API and the exports.
    pub fn words_query(&self) -> String {
        serde_urlencoded::to_string(self.words()).expect("a view always encodes")
    }

    /// Whether the table shows `word`.
    pub fn table_shows(&self, word: &str) -> bool {
        let filter = self.filter.trim().to_lowercase();
        filter.is_empty() || word.contains(&filter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_survives_the_round_trip_through_its_url() {
        let params = PageParams {
            window: WindowChoice::Last15m,
            limit: 50,
            min_count: 3,
            q: "café & co".into(),
            filter: "x".into(),
            refresh: RefreshMode::Poll,
            interval: 7,
        };
        let back: PageParams = serde_urlencoded::from_str(&params.to_query()).unwrap();
        assert_eq!(back, params);
    }

    #[test]
    fn an_empty_query_string_is_the_default_view() {
        let params: PageParams = serde_urlencoded::from_str("").unwrap();
        assert_eq!(params, PageParams::default());
        assert_eq!(
            params.to_query(),
            "window=all&limit=20&min_count=1&refresh=live&interval=3"
        );
    }

    #[test]
    fn a_hand_edited_url_is_brought_within_the_controls() {
        let params: PageParams =
            serde_urlencoded::from_str("limit=5000&min_count=0&interval=99").unwrap();
        let params = params.within_controls();
        assert_eq!(
            (params.limit, params.min_count, params.interval),
            (100, 1, 10)
        );
    }

    #[test]
    fn every_window_and_refresh_is_read_back_from_the_value_it_is_written_as() {
        for window in WindowChoice::ALL {
            let written = serde_json::to_value(window).unwrap();
            assert_eq!(written, window.code());
            assert_eq!(window.code().parse(), Ok(window));
        }
        for refresh in RefreshMode::ALL {
            assert_eq!(serde_json::to_value(refresh).unwrap(), refresh.code());
            assert_eq!(refresh.code().parse(), Ok(refresh));
        }
        assert_eq!("ALL".parse::<WindowChoice>(), Err(()));
    }

    #[test]
    fn sliding_views_are_the_windows_that_cover_them() {
        let windows = Windows::new(Duration::from_secs(60)).unwrap();
        assert_eq!(
            WindowChoice::Last5m.view(&windows, 600_500),
            View::Windows(vec![600, 540, 480, 420, 360])
        );
        assert_eq!(WindowChoice::AllTime.view(&windows, 0), View::AllTime);
    }
}
