//! Reading counts back: which words a view shows (how many, how frequent at least, containing what)
//! and which words are trending. Both stores and the dashboard answer with these, so they agree.

use unicode_normalization::UnicodeNormalization;

use crate::aggregate::WordCounts;

/// Which words of a view to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordQuery {
    /// At most this many words; `None` shows every word.
    pub limit: Option<usize>,
    /// Words counted fewer times are left out.
    pub min_count: u64,
    /// Only words containing this text, already in the tokenizer's form (lowercase, NFC).
    contains: Option<String>,
}

impl Default for WordQuery {
    fn default() -> Self {
        Self::new(Some(20), 1, None)
    }
}

impl WordQuery {
    /// `contains` is trimmed and put in the tokenizer's form, so a search for "Café" finds "café";
    /// an empty search matches everything.
    pub fn new(limit: Option<usize>, min_count: u64, contains: Option<&str>) -> Self {
        let contains = contains
            .map(|text| text.trim().to_lowercase().nfc().collect::<String>())
            .filter(|text| !text.is_empty());
        Self {
            limit,
            min_count: min_count.max(1),
            contains,
        }
    }

    /// The search text, in the tokenizer's form.
    pub fn contains(&self) -> Option<&str> {
        self.contains.as_deref()
    }

    /// Whether `word`, counted `count` times, passes the minimum count and the search.
    pub fn matches(&self, word: &str, count: u64) -> bool {
        count >= self.min_count && self.contains().is_none_or(|needle| word.contains(needle))
    }

    /// The words of `counts` this query shows, ranked, with the whole view's totals.
    pub fn select(&self, counts: &WordCounts) -> TopWords {
        let matching = counts
            .iter()
            .filter(|&(word, count)| self.matches(word, count));
        TopWords::ranked(
            matching.map(|(word, count)| (word.to_owned(), count)),
            self.limit,
            counts.total(),
            counts.unique() as u64,
        )
    }
}

/// The words a query shows, count descending then word ascending, and the totals of the whole view
/// they were chosen from (before the minimum count, the search and the limit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopWords {
    pub words: Vec<(String, u64)>,
    pub total_words: u64,
    pub unique_words: u64,
}

impl TopWords {
    /// Ranks `candidates` as [`WordCounts::top`] does and keeps the first `limit`.
    pub fn ranked(
        candidates: impl IntoIterator<Item = (String, u64)>,
        limit: Option<usize>,
        total_words: u64,
        unique_words: u64,
    ) -> Self {
        let mut words: Vec<(String, u64)> = candidates.into_iter().collect();
        let by_rank = |a: &(String, u64), b: &(String, u64)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
        if let Some(limit) = limit
            && limit < words.len()
        {
            words.select_nth_unstable_by(limit, by_rank);
            words.truncate(limit);
        }
        words.sort_unstable_by(by_rank);
        Self {
            words,
            total_words,
            unique_words,
        }
    }
}

/// A word counted more often in the newest window than the windows before it would predict.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    pub word: String,
    /// Its count in the newest window so far.
    pub count: u64,
    /// What the windows before predict for the newest one so far: their mean count, scaled by how
    /// much of the newest window has passed.
    pub expected: f64,
    /// `count / expected`; `None` when the word is new (the windows before never saw it).
    pub ratio: Option<f64>,
}

/// A word must be counted this often in the newest window to trend, so one mention is not news.
const MIN_TREND_COUNT: u64 = 2;

/// The words whose count in the newest window rose most against the `earlier_windows` windows before
/// it (`earlier` is their union). `elapsed` is how much of the newest window has passed (0–1]: a
/// window a tenth old is compared with a tenth of the usual count. New words rank by count, above
/// none; the others by ratio, largest first, then by count.
pub fn trending(
    newest: &WordCounts,
    elapsed: f64,
    earlier: &WordCounts,
    earlier_windows: usize,
    limit: usize,
) -> Vec<Trend> {
    // A window only just begun says little: never scale below a tenth.
    let scale = elapsed.clamp(0.1, 1.0) / earlier_windows.max(1) as f64;
    let mut trends: Vec<Trend> = newest
        .iter()
        .filter(|&(_, count)| count >= MIN_TREND_COUNT)
        .filter_map(|(word, count)| {
            let before = earlier.get(word);
            let expected = before as f64 * scale;
            let ratio = (before > 0).then(|| count as f64 / expected);
            ratio.is_none_or(|ratio| ratio > 1.0).then(|| Trend {
                word: word.to_owned(),
                count,
                expected,
                ratio,
            })
        })
        .collect();
    trends.sort_by(|a, b| {
        let rise = |trend: &Trend| trend.ratio.unwrap_or(f64::INFINITY);
        rise(b)
            .total_cmp(&rise(a))
            .then(b.count.cmp(&a.count))
            .then_with(|| a.word.cmp(&b.word))
    });
    trends.truncate(limit);
    trends
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(words: &[(&str, u64)]) -> WordCounts {
        let mut counts = WordCounts::new();
        for &(word, count) in words {
            counts.add(word, count);
        }
        counts
    }

    #[test]
    fn a_query_ranks_by_count_then_word_and_reports_the_whole_views_totals() {
        let view = counts(&[("beta", 3), ("alpha", 3), ("gamma", 5), ("delta", 1)]);
        let top = WordQuery::new(Some(2), 1, None).select(&view);
        assert_eq!(top.words, [("gamma".into(), 5), ("alpha".into(), 3)]);
        assert_eq!((top.total_words, top.unique_words), (12, 4));
    }

    #[test]
    fn min_count_and_search_filter_and_the_search_is_put_in_the_tokenizers_form() {
        let view = counts(&[("café", 4), ("cafés", 1), ("tea", 9)]);
        let top = WordQuery::new(None, 2, Some("  CAFE\u{301} ")).select(&view);
        assert_eq!(top.words, [("café".into(), 4)]);
    }

    #[test]
    fn an_empty_search_matches_everything_and_min_count_is_at_least_one() {
        let query = WordQuery::new(None, 0, Some("   "));
        assert_eq!(query.contains(), None);
        assert_eq!(query.min_count, 1);
    }

    #[test]
    fn trending_puts_new_words_first_then_the_largest_rise() {
        let earlier = counts(&[("steady", 50), ("rising", 5), ("falling", 100)]);
        let newest = counts(&[("steady", 10), ("rising", 8), ("falling", 1), ("fresh", 3)]);
        let trends = trending(&newest, 1.0, &earlier, 5, 10);
        let words: Vec<&str> = trends.iter().map(|trend| trend.word.as_str()).collect();
        assert_eq!(words, ["fresh", "rising"]);
        assert_eq!(trends[0].ratio, None);
        assert_eq!(trends[1].ratio, Some(8.0));
    }

    #[test]
    fn trending_compares_a_young_window_with_the_same_share_of_the_earlier_ones() {
        let earlier = counts(&[("word", 10)]);
        let newest = counts(&[("word", 2)]);
        // Half a window in, 10 per window predicts 5: 2 is a fall.
        assert!(trending(&newest, 0.5, &earlier, 1, 10).is_empty());
        // A fifth of a window in, 2 is just what 10 per window predicts: still not a rise.
        assert!(trending(&newest, 0.2, &earlier, 1, 10).is_empty());
        assert_eq!(trending(&newest, 0.1, &earlier, 1, 10)[0].ratio, Some(2.0));
    }
}
