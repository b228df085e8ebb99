//! Counting words: a word → count map, and a batch's counts per window as the stream job flushes
//! them.

use std::collections::BTreeMap;

use compact_str::CompactString;
use hashbrown::HashMap;

use crate::tokenizer::Tokenizer;
use crate::window::Window;

/// Word counts. Looking a word up hashes it once and allocates only for a word not seen before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WordCounts {
    counts: HashMap<CompactString, u64>,
    total: u64,
}

impl WordCounts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts `word` `times` more times.
    pub fn add(&mut self, word: &str, times: u64) {
        *self.counts.entry_ref(word).or_insert(0) += times;
        self.total += times;
    }

    /// Counts every token of `text`; returns how many there were.
    pub fn add_text(&mut self, tokenizer: &Tokenizer, text: &str) -> u64 {
        let before = self.total;
        tokenizer.for_each_token(text, |word| self.add(word, 1));
        self.total - before
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &WordCounts) {
        for (word, &count) in &other.counts {
            self.add(word, count);
        }
    }

    /// How often `word` was counted.
    pub fn get(&self, word: &str) -> u64 {
        self.counts.get(word).copied().unwrap_or(0)
    }

    /// The sum of all counts.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The number of distinct words.
    pub fn unique(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Every word and its count, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.counts.iter().map(|(word, &count)| (&**word, count))
    }

    /// The `limit` most frequent words, count descending then word ascending (code point order),
    /// the order in which the dashboard, `wordfreq count` and `word_counts` list them.
    pub fn top(&self, limit: usize) -> Vec<(&str, u64)> {
        let mut ranked: Vec<(&str, u64)> = self.iter().collect();
        let by_rank = |a: &(&str, u64), b: &(&str, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0));
        if limit < ranked.len() {
            ranked.select_nth_unstable_by(limit, by_rank);
            ranked.truncate(limit);
        }
        ranked.sort_unstable_by(by_rank);
        ranked
    }

    /// All words, ranked as [`WordCounts::top`].
    pub fn ranked(&self) -> Vec<(&str, u64)> {
        self.top(usize::MAX)
    }
}

/// Whether a record arrived in time for its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeliness {
    OnTime,
    /// Its window had closed: it counts all-time only.
    Late,
}

/// What one flush of the stream job adds: counts per open window, counts of late records (all-time
/// only) and the record tallies that travel with them in the same atomic update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    windows: BTreeMap<Window, WordCounts>,
    late: WordCounts,
    records: u64,
    late_records: u64,
    invalid_records: u64,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts a good record's words in `window` (if on time) and all-time.
    pub fn add_record(
        &mut self,
        tokenizer: &Tokenizer,
        text: &str,
        window: Window,
        timeliness: Timeliness,
    ) {
        self.records += 1;
        match timeliness {
            Timeliness::OnTime => {
                self.windows
                    .entry(window)
                    .or_default()
                    .add_text(tokenizer, text);
            }
            Timeliness::Late => {
                self.late_records += 1;
                self.late.add_text(tokenizer, text);
            }
        }
    }

    /// Counts a record that could not be used.
    pub fn add_invalid(&mut self) {
        self.invalid_records += 1;
    }

    /// Counts per window, for on-time records.
    pub fn windows(&self) -> &BTreeMap<Window, WordCounts> {
        &self.windows
    }

    /// The all-time increments: every window's counts plus the late records'.
    pub fn all_time(&self) -> WordCounts {
        let mut all = self.late.clone();
        for counts in self.windows.values() {
            all.merge(counts);
        }
        all
    }

    /// Words counted in this batch, on time and late.
    pub fn total_words(&self) -> u64 {
        self.late.total() + self.windows.values().map(WordCounts::total).sum::<u64>()
    }

    /// Good records counted (on time and late).
    pub fn records(&self) -> u64 {
        self.records
    }

    pub fn late_records(&self) -> u64 {
        self.late_records
    }

    pub fn invalid_records(&self) -> u64 {
        self.invalid_records
    }

    /// Whether the batch holds nothing at all.
    pub fn is_empty(&self) -> bool {
        self.records == 0 && self.invalid_records == 0
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::window::Windows;

    #[test]
    fn counting_text_adds_each_token_once_and_keeps_the_total() {
        let mut counts = WordCounts::new();
        assert_eq!(
            counts.add_text(&Tokenizer::default(), "the cat and the hat"),
            5
        );
        assert_eq!(counts.get("the"), 2);
        assert_eq!(counts.get("dog"), 0);
        assert_eq!((counts.total(), counts.unique()), (5, 4));
    }

    #[test]
    fn top_ranks_by_count_descending_then_word_ascending() {
        let mut counts = WordCounts::new();
        for (word, times) in [("pear", 2), ("apple", 2), ("zebra", 5), ("fig", 1)] {
            counts.add(word, times);
        }
        assert_eq!(counts.top(3), [("zebra", 5), ("apple", 2), ("pear", 2)]);
        assert_eq!(counts.ranked().len(), 4);
        assert_eq!(counts.top(0), []);
    }

    #[test]
    fn merging_adds_counts_word_by_word() {
        let mut left = WordCounts::new();
        left.add("one", 1);
        let mut right = WordCounts::new();
        right.add("one", 2);
        right.add("two", 3);
        left.merge(&right);
        assert_eq!((left.get("one"), left.get("two"), left.total()), (3, 3, 6));
    }

    #[test]
    fn a_batch_counts_on_time_records_per_window_and_late_ones_all_time_only() {
        let windows = Windows::new(Duration::from_secs(60)).unwrap();
        let tokenizer = Tokenizer::default();
        let mut batch = Batch::new();
        batch.add_record(
            &tokenizer,
            "red fox",
            windows.window_of(1_000),
            Timeliness::OnTime,
        );
        batch.add_record(
            &tokenizer,
            "red hen",
            windows.window_of(61_000),
            Timeliness::OnTime,
        );
        batch.add_record(
            &tokenizer,
            "red owl",
            windows.window_of(0),
            Timeliness::Late,
        );
        batch.add_invalid();

        let first = &batch.windows()[&windows.window_of(0)];
        assert_eq!((first.get("red"), first.get("owl")), (1, 0));
        assert_eq!(batch.windows()[&windows.window_of(60_000)].get("hen"), 1);
        let all = batch.all_time();
        assert_eq!((all.get("red"), all.get("owl"), all.total()), (3, 1, 6));
        assert_eq!(batch.total_words(), 6);
        assert_eq!(
            (
                batch.records(),
                batch.late_records(),
                batch.invalid_records()
            ),
            (3, 1, 1)
        );
    }
}
