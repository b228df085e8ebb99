//! The in-process adapter: the same semantics as Redis under one lock, for the embedded mode.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use std::future::ready;
use std::io;
use std::path::Path;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use wordfreq_domain::{TopWords, WordCounts, WordQuery};

use crate::contract::{Applied, FencedBatch, Stats, Store, StoreError, Update, View};
use crate::eviction::MemoryStatus;
use crate::keys::RedisKeys;

/// Counts in memory.
pub struct MemoryStore {
    state: Mutex<State>,
    updates: broadcast::Sender<Update>,
}

#[derive(Default)]
struct State {
    /// `<topic>:<partition>` → next offset, as Redis keeps them.
    offsets: HashMap<String, i64>,
    all_time: WordCounts,
    /// Window start (Unix seconds) → counts and when they expire, as Redis's TTL.
    windows: BTreeMap<i64, (WordCounts, Instant)>,
    stats: Stats,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            updates: broadcast::channel(64).0,
        }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The in-process store's content on disk, so the embedded mode keeps its counts across restarts.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    offsets: HashMap<String, i64>,
    all_time: Vec<(String, u64)>,
    windows: Vec<SavedWindow>,
    stats: Stats,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedWindow {
    start: i64,
    /// Seconds of retention left when saved.
    expires_in: u64,
    words: Vec<(String, u64)>,
}

fn words_of(counts: &WordCounts) -> Vec<(String, u64)> {
    counts
        .iter()
        .map(|(word, count)| (word.to_owned(), count))
        .collect()
}

fn counts_of(words: Vec<(String, u64)>) -> WordCounts {
    let mut counts = WordCounts::new();
    for (word, count) in words {
        counts.add(&word, count);
    }
    counts
}

impl MemoryStore {
    /// Writes everything to `path` at once (a new file renamed over the old one), so a crash
    /// mid-write leaves the previous save whole.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let saved = {
            let state = self.state();
            let now = Instant::now();
            Saved {
                offsets: state.offsets.clone(),
                all_time: words_of(&state.all_time),
                windows: state
                    .windows
                    .iter()
                    .filter(|(_, (_, expires))| *expires > now)
                    .map(|(&start, (counts, expires))| SavedWindow {
                        start,
                        expires_in: (*expires - now).as_secs(),
                        words: words_of(counts),
                    })
                    .collect(),
                stats: state.stats.clone(),
            }
        };
        let partial = path.with_extension("partial");
        std::fs::write(&partial, serde_json::to_vec(&saved)?)?;
        std::fs::rename(partial, path)
    }

    /// A store with what `path` holds, or an empty one if there is no such file.
    pub fn load(path: &Path) -> io::Result<Self> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Self::new()),
            Err(err) => return Err(err),
        };
        let saved: Saved = serde_json::from_slice(&bytes).map_err(|err| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a saved store: {err}", path.display()),
            )
        })?;
        let now = Instant::now();
        let store = Self::new();
        *store.state() = State {
            offsets: saved.offsets,
            all_time: counts_of(saved.all_time),
            windows: saved
                .windows
                .into_iter()
                .map(|window| {
                    let expires = now + Duration::from_secs(window.expires_in);
                    (window.start, (counts_of(window.words), expires))
                })
                .collect(),
            stats: saved.stats,
        };
        Ok(store)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn apply(&self, batch: &FencedBatch) -> Result<Applied, StoreError> {
        let mut state = self.state();
        for range in &batch.ranges {
            let stored = state
                .offsets
                .get(&RedisKeys::offset_field(&range.topic, range.partition));
            if stored.is_some_and(|&stored| stored != range.from) {
                return Ok(Applied::Rejected {
                    topic: range.topic.clone(),
                    partition: range.partition,
                    stored: stored.copied(),
                    claimed: range.from,
                });
            }
        }
        for range in &batch.ranges {
            state.offsets.insert(
                RedisKeys::offset_field(&range.topic, range.partition),
                range.to,
            );
        }
        let counts = &batch.counts;
        state.all_time.merge(&counts.all_time());
        let now = Instant::now();
        let expires_at = now + Duration::from_secs(batch.window_retention_secs);
        state.windows.retain(|_, (_, expires)| *expires > now);
        for (window, window_counts) in counts.windows() {
            let entry = state
                .windows
                .entry(window.start_secs())
                .or_insert_with(|| (WordCounts::new(), expires_at));
            entry.0.merge(window_counts);
            entry.1 = expires_at;
        }
        let stats = &mut state.stats;
        stats.total_words += counts.total_words();
        stats.records_processed += counts.records();
        stats.invalid_records += counts.invalid_records();
        stats.late_records += counts.late_records();
        stats.batches += 1;
        stats.last_updated = Some(batch.flushed_at.clone());
        drop(state);
        // Nobody listening is fine: the announcement is only a hint to refresh.
        let _ = self.updates.send(Update::of(batch));
        Ok(Applied::Applied)
    }

    async fn offsets(&self, topic: &str) -> Result<HashMap<i32, i64>, StoreError> {
        Ok(self
            .state()
            .offsets
            .iter()
            .filter_map(|(field, &offset)| Some((RedisKeys::partition_of(field, topic)?, offset)))
            .collect())
    }

    async fn counts(&self, view: &View) -> Result<WordCounts, StoreError> {
        let state = self.state();
        Ok(match view {
            View::AllTime => state.all_time.clone(),
            View::Windows(starts) => state.union(starts),
        })
    }

    async fn top(&self, view: &View, query: &WordQuery) -> Result<TopWords, StoreError> {
        let state = self.state();
        Ok(match view {
            // Read under the lock rather than copy every word out first.
            View::AllTime => query.select(&state.all_time),
            View::Windows(starts) => query.select(&state.union(starts)),
        })
    }

    async fn count_words(&self, view: &View, words: &[String]) -> Result<Vec<u64>, StoreError> {
        let state = self.state();
        let now = Instant::now();
        let count = |word: &str| match view {
            View::AllTime => state.all_time.get(word),
            View::Windows(starts) => starts
                .iter()
                .filter_map(|start| state.windows.get(start))
                .filter(|(_, expires)| *expires > now)
                .map(|(counts, _)| counts.get(word))
                .sum(),
        };
        Ok(words.iter().map(|word| count(word)).collect())
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        Ok(self.state().stats.clone())
    }

    async fn check_health(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn memory(&self) -> Result<MemoryStatus, StoreError> {
        Ok(MemoryStatus::unlimited())
    }

    async fn updates(&self) -> Result<BoxStream<'static, Update>, StoreError> {
        // A listener that falls behind skips to the newest announcements: each is only a hint to
        // read again.
        let announcements = BroadcastStream::new(self.updates.subscribe());
        Ok(announcements
            .filter_map(|update| ready(update.ok()))
            .boxed())
    }
}

impl State {
    /// The counts of the unexpired windows among `starts`, added up.
    fn union(&self, starts: &[i64]) -> WordCounts {
        let now = Instant::now();
        let mut union = WordCounts::new();
        for start in starts {
            if let Some((counts, expires)) = self.windows.get(start)
                && *expires > now
            {
                union.merge(counts);
            }
        }
        union
    }
}
