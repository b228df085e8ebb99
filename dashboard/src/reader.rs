//! Reading the counts for views: one read per view per store update, however many browsers ask
//! (they all ask at once when an update is pushed), and the last good read kept for when the store
//! is down, so the page can show it with its age.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use moka::future::Cache;
use wordfreq_domain::{TopWords, Trend, Windows, WordCounts, WordQuery, trending};
use wordfreq_store::{Stats, Store, StoreError, View};

use crate::params::WordsParams;

/// How many windows before the newest one trending words are measured against.
const TREND_BASELINE_WINDOWS: usize = 5;
/// Trending words are chosen among this many of the newest window's most frequent words.
const TREND_CANDIDATES: usize = 200;
/// How many trending words a view shows.
const TREND_LIMIT: usize = 10;
/// Words the cached reads may hold in all, whatever the views (a search with `limit=0` can hold
/// every word): about 20 MiB.
const CACHED_WORDS: u64 = 200_000;
/// A read not asked for again within this is dropped: once the data moves on, nobody asks for
/// the old version again.
const CACHE_IDLE: Duration = Duration::from_secs(5);

/// Everything a view shows, read at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub words: TopWords,
    pub stats: Stats,
    pub trending: Arc<Vec<Trend>>,
    pub read_at: DateTime<Utc>,
}

impl Snapshot {
    /// What it weighs in the caches: the words it holds, and one for the rest.
    fn weight(&self) -> u32 {
        u32::try_from(self.words.words.len() + 1).unwrap_or(u32::MAX)
    }
}

/// A read that may have failed after an earlier one succeeded.
#[derive(Debug, Clone)]
pub struct Read {
    pub snapshot: Arc<Snapshot>,
    /// Why the snapshot is not current: the store failed and this is the last good read.
    pub stale: Option<StoreError>,
}

/// Which read a cached snapshot answers: the view, as of a store update, in the newest window (a
/// sliding view moves on when a new window begins, even without updates).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ReadKey {
    params: WordsParams,
    generation: u64,
    newest_window: i64,
}

/// Reads views from the store.
pub struct Reader {
    store: Arc<dyn Store>,
    windows: Windows,
    current: Cache<ReadKey, Arc<Snapshot>>,
    trends: Cache<(u64, i64), Arc<Vec<Trend>>>,
    last_good: Cache<WordsParams, Arc<Snapshot>>,
}

impl Reader {
    pub fn new(store: Arc<dyn Store>, windows: Windows) -> Self {
        Self {
            store,
            windows,
            current: Cache::builder()
                .max_capacity(CACHED_WORDS)
                .weigher(|_, snapshot: &Arc<Snapshot>| snapshot.weight())
                .time_to_idle(CACHE_IDLE)
                .build(),
            trends: Cache::builder().max_capacity(16).build(),
            last_good: Cache::builder()
                .max_capacity(CACHED_WORDS)
                .weigher(|_, snapshot: &Arc<Snapshot>| snapshot.weight())
                .build(),
        }
    }

    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    pub fn store_handle(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    pub fn windows(&self) -> &Windows {
        &self.windows
    }

    /// The view as of store update `generation`; when the store fails, the last good read of the
    /// same view with the error, or the error if there is none.
    pub async fn read(&self, params: &WordsParams, generation: u64) -> Result<Read, StoreError> {
        let now_ms = Utc::now().timestamp_millis();
        let key = ReadKey {
            params: params.clone(),
            generation,
            newest_window: self.windows.window_of(now_ms).start_secs(),
        };
        // Concurrent readers of one key wait for a single read of the store.
        let read = self
            .current
            .try_get_with(key, self.read_store(params, generation, now_ms))
            .await;
        match read {
            Ok(snapshot) => {
                self.last_good
                    .insert(params.clone(), snapshot.clone())
                    .await;
                Ok(Read {
                    snapshot,
                    stale: None,
                })
            }
            Err(err) => match self.last_good.get(params).await {
                Some(snapshot) => Ok(Read {
                    snapshot,
                    stale: Some((*err).clone()),
                }),
                None => Err((*err).clone()),
            },
        }
    }

    async fn read_store(
        &self,
        params: &WordsParams,
        generation: u64,
        now_ms: i64,
    ) -> Result<Arc<Snapshot>, StoreError> {
        let view = params.window.view(&self.windows, now_ms);
        let query = params.query();
        let (words, stats, trending) = tokio::try_join!(
            self.store.top(&view, &query),
            self.store.stats(),
            self.trending(generation, now_ms),
        )?;
        Ok(Arc::new(Snapshot {
            words,
            stats,
            trending,
            read_at: Utc::now(),
        }))
    }

    /// The words rising fastest in the newest window, shared by every view.
    async fn trending(&self, generation: u64, now_ms: i64) -> Result<Arc<Vec<Trend>>, StoreError> {
        let newest = self.windows.window_of(now_ms);
        let key = (generation, newest.start_secs());
        let read = async {
            let size_ms = self.windows.size().as_millis() as i64;
            let earlier: Vec<i64> = (1..=TREND_BASELINE_WINDOWS as i64)
                .map(|back| newest.start_secs() - back * size_ms / 1000)
                .collect();
            let (newest_view, earlier_view) = (
                View::Windows(vec![newest.start_secs()]),
                View::Windows(earlier),
            );
            // The candidates are the newest window's most frequent words, looked up one by one
            // in the earlier windows: two small reads, however many words the windows hold.
            let candidates = self
                .store
                .top(
                    &newest_view,
                    &WordQuery::new(Some(TREND_CANDIDATES), 2, None),
                )
                .await?
                .words;
            let words: Vec<String> = candidates.iter().map(|(word, _)| word.clone()).collect();
            let before = self.store.count_words(&earlier_view, &words).await?;
            let mut newest_counts = WordCounts::new();
            let mut earlier_counts = WordCounts::new();
            for ((word, count), before) in candidates.iter().zip(before) {
                newest_counts.add(word, *count);
                earlier_counts.add(word, before);
            }
            let elapsed = (now_ms - newest.start_secs() * 1000) as f64 / size_ms as f64;
            Ok(Arc::new(trending(
                &newest_counts,
                elapsed,
                &earlier_counts,
                TREND_BASELINE_WINDOWS,
                TREND_LIMIT,
            )))
        };
        self.trends
            .try_get_with(key, read)
            .await
            .map_err(|err: Arc<StoreError>| (*err).clone())
    }
}

/// How old data last updated at `last_updated` (RFC 3339) is at `now`, if it ever was.
pub fn data_age(last_updated: Option<&str>, now: DateTime<Utc>) -> Option<Duration> {
    let updated = DateTime::parse_from_rfc3339(last_updated?).ok()?;
    (now - updated.with_timezone(&Utc)).to_std().ok()
}
