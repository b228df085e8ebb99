//! What the simulated users say: the sample sentences, a seeded picker of sentences, users and
//! pauses (so `--seed` repeats a run), and the marker words that let `--verify` see when each text
//! became visible.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::cli::DelayRange;

/// The sample sentences: `simulate` uses the first 10 (as the original's `simulate_users.py`),
/// `load` all 15 (as its `load_test.py`).
pub const SENTENCES: [&str; 15] = [
    "The quick brown fox jumps over the lazy dog by the river",
    "Python makes scripting data pipelines quick and readable",
    "Kafka keeps every event in an ordered and replayable log",
    "Streamlit turns a Python script into an interactive web page",
    "Docker packs each service and its dependencies into one image",
    "Machine learning models learn patterns from historical examples",
    "Analytics teams turn raw events into decisions and dashboards",
    "Cloud platforms rent compute and storage by the minute",
    "Big data needs partitioned storage and parallel processing",
    "Good UX lets users reach their goal without reading a manual",
    "Stream processing counts words while the text is still arriving",
    "Redis sorted sets rank the most frequent words in real time",
    "Rust gives the pipeline speed without a garbage collector",
    "Exactly once counting survives crashes, replays and restarts",
    "Load tests show how latency grows as the request rate rises",
];

/// How many of [`SENTENCES`] `simulate` picks from.
pub const SIMULATE_SENTENCES: usize = 10;

/// The user id of user `n` (from 1), as the original's.
pub fn user_id(n: u32) -> String {
    format!("user_{n}")
}

/// Picks sentences, users and pauses from a seeded stream: the same seed and stream give the same
/// choices in the same order, whatever else runs at the same time.
#[derive(Debug, Clone)]
pub struct TextPicker {
    rng: ChaCha8Rng,
    sentences: &'static [&'static str],
}

impl TextPicker {
    /// Stream `stream` of `seed`: each load user has its own, so concurrency does not change which
    /// user sends what.
    pub fn new(seed: u64, stream: u64, sentences: &'static [&'static str]) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Self { rng, sentences }
    }

    pub fn sentence(&mut self) -> &'static str {
        self.sentences[self.rng.random_range(0..self.sentences.len())]
    }

    /// One of `user_1` … `user_{users}`.
    pub fn user(&mut self, users: u32) -> String {
        user_id(self.rng.random_range(1..=users.max(1)))
    }

    pub fn delay(&mut self, range: DelayRange) -> Duration {
        Duration::from_millis(self.rng.random_range(range.millis()))
    }
}

/// Letters in a marker's run tag and in its sequence number.
const TAG_LETTERS: usize = 8;
const SEQUENCE_LETTERS: usize = 7;
/// The length of every marker word: `mk`, the run tag, the sequence number.
pub const MARKER_CHARS: usize = 2 + TAG_LETTERS + SEQUENCE_LETTERS;

/// Unique marker words for one run: `mk` + a random tag shared by the run + a sequence number in
/// letters. Only lowercase ASCII letters, so the tokenizer keeps them as they are; all of one
/// length, so no marker is a prefix of another; and the shared prefix lets one search read
/// exactly this run's markers.
#[derive(Debug)]
pub struct Markers {
    prefix: String,
    next: AtomicU64,
}

impl Markers {
    /// A fresh tag from the operating system's randomness, not the seed: a repeated run must not
    /// find the markers of the run it repeats already counted.
    pub fn new() -> Self {
        Self::with_tag(&letters(rand::random::<u64>(), TAG_LETTERS))
    }

    pub fn with_tag(tag: &str) -> Self {
        Self {
            prefix: format!("mk{tag}"),
            next: AtomicU64::new(0),
        }
    }

    /// What every marker of this run starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn next(&self) -> String {
        let sequence = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}{}", self.prefix, letters(sequence, SEQUENCE_LETTERS))
    }
}

impl Default for Markers {
    fn default() -> Self {
        Self::new()
    }
}

/// `value` in base 26 as exactly `width` lowercase letters (wrapping above 26^width).
fn letters(mut value: u64, width: usize) -> String {
    let mut out = vec![b'a'; width];
    for slot in out.iter_mut().rev() {
        *slot = b'a' + (value % 26) as u8;
        value /= 26;
    }
    String::from_utf8(out).expect("ASCII letters")
}

/// The text a user sends: the sentence, and its marker when verifying.
pub fn with_marker(sentence: &str, marker: Option<&str>) -> String {
    match marker {
        Some(marker) => format!("{sentence} {marker}"),
        None => sentence.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use wordfreq_domain::Tokenizer;

    use super::*;

    fn texts(seed: u64, stream: u64) -> Vec<(String, &'static str, Duration)> {
        let mut picker = TextPicker::new(seed, stream, &SENTENCES);
        let range = DelayRange {
            min_ms: 500,
            max_ms: 2000,
        };
        (0..50)
            .map(|_| (picker.user(10), picker.sentence(), picker.delay(range)))
            .collect()
    }

    #[test]
    fn the_same_seed_picks_the_same_users_texts_and_pauses() {
        assert_eq!(texts(42, 3), texts(42, 3));
    }

    #[test]
    fn another_seed_or_another_user_picks_differently() {
        assert_ne!(texts(42, 3), texts(43, 3));
        assert_ne!(texts(42, 3), texts(42, 4));
    }

    #[test]
    fn picks_stay_within_the_sentences_users_and_pauses_asked_for() {
        let mut picker = TextPicker::new(7, 0, &SENTENCES[..SIMULATE_SENTENCES]);
        let range = DelayRange {
            min_ms: 1000,
            max_ms: 5000,
        };
        let mut users = HashSet::new();
        for _ in 0..1000 {
            assert!(SENTENCES[..SIMULATE_SENTENCES].contains(&picker.sentence()));
            users.insert(picker.user(10));
            let delay = picker.delay(range).as_millis() as u64;
            assert!((1000..=5000).contains(&delay));
        }
        let expected: HashSet<String> = (1..=10).map(user_id).collect();
        assert_eq!(users, expected);
    }

    #[test]
    fn markers_are_unique_letters_of_one_length_that_the_tokenizer_keeps() {
        let markers = Markers::new();
        let tokenizer = Tokenizer::default();
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let marker = markers.next();
            assert_eq!(marker.chars().count(), MARKER_CHARS);
            assert!(marker.starts_with(markers.prefix()));
            assert!(marker.bytes().all(|byte| byte.is_ascii_lowercase()));
            assert_eq!(tokenizer.tokens(&marker), vec![marker.clone()]);
            assert!(seen.insert(marker));
        }
    }

    #[test]
    fn two_runs_get_different_marker_tags() {
        assert_ne!(Markers::new().prefix(), Markers::new().prefix());
    }

    #[test]
    fn sequence_letters_count_in_base_26() {
        assert_eq!(letters(0, 3), "aaa");
        assert_eq!(letters(1, 3), "aab");
        assert_eq!(letters(26, 3), "aba");
        assert_eq!(letters(26 * 26 * 26 - 1, 3), "zzz");
    }
}
