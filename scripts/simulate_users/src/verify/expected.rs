//! What the counts should grow by, told from what became of each text, and every word whose
//! growth is outside it. Pure: no I/O, no clock but the send times it is given.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use tokio::time::Instant;
use wordfreq_domain::{Tokenizer, WordCounts};

use crate::http::Outcome;

/// What the dashboard's all-time counts should grow by.
#[derive(Debug, Clone)]
pub struct Expected {
    tokenizer: Tokenizer,
    /// From texts the API stored.
    sure: WordCounts,
    /// From texts without a marker that may or may not have been stored.
    maybe: WordCounts,
    /// Texts with a marker that may or may not have been stored: `(marker, text)`. Whether each
    /// was is read from the counts (`resolve`).
    uncertain_marked: Vec<(String, String)>,
    /// Marker words of stored texts and when each text was sent; the watcher times them.
    pub(super) markers: Vec<(String, Instant)>,
    uncertain_texts: usize,
}

/// An expectation made exact by what the counts say of each uncertain text with a marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// What must have been added: the stored texts and the uncertain ones found stored.
    pub sure: WordCounts,
    /// What may have been added on top (uncertain texts without a marker).
    pub maybe: WordCounts,
    /// Uncertain texts (no clear answer) whose marker was counted: stored although the client was
    /// not told so.
    pub uncertain_stored: usize,
}

impl Expected {
    pub fn new(tokenizer: Tokenizer) -> Self {
        Self {
            tokenizer,
            sure: WordCounts::new(),
            maybe: WordCounts::new(),
            uncertain_marked: Vec::new(),
            markers: Vec::new(),
            uncertain_texts: 0,
        }
    }

    /// Accounts for one text, by what became of it.
    pub fn add(&mut self, text: &str, outcome: &Outcome, marker: Option<(&str, Instant)>) {
        match outcome {
            Outcome::Stored(_) => {
                self.sure.add_text(&self.tokenizer, text);
                if let Some((marker, sent_at)) = marker {
                    self.markers.push((marker.to_owned(), sent_at));
                }
            }
            Outcome::Unknown { .. } => {
                match marker {
                    Some((marker, _)) => self
                        .uncertain_marked
                        .push((marker.to_owned(), text.to_owned())),
                    None => {
                        self.maybe.add_text(&self.tokenizer, text);
                    }
                }
                self.uncertain_texts += 1;
            }
            Outcome::Refused { .. } => {}
        }
    }

    /// Counts that must appear.
    pub fn sure(&self) -> &WordCounts {
        &self.sure
    }

    /// Counts that may appear on top.
    pub fn maybe(&self) -> &WordCounts {
        &self.maybe
    }

    /// Texts that got no clear answer.
    pub fn uncertain_texts(&self) -> usize {
        self.uncertain_texts
    }

    /// The expectation once the counts have grown from `baseline` to `now`: each uncertain text
    /// whose marker grew was stored, so its words must be there; one whose marker did not was not
    /// (yet), so its words must not.
    pub fn resolve(&self, baseline: &HashMap<String, u64>, now: &HashMap<String, u64>) -> Resolved {
        let mut sure = self.sure.clone();
        let mut uncertain_stored = 0;
        for (marker, text) in &self.uncertain_marked {
            let count = |counts: &HashMap<String, u64>| counts.get(marker).copied().unwrap_or(0);
            if count(now) > count(baseline) {
                sure.add_text(&self.tokenizer, text);
                uncertain_stored += 1;
            }
        }
        Resolved {
            sure,
            maybe: self.maybe.clone(),
            uncertain_stored,
        }
    }
}

/// A word whose growth is not what was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub word: String,
    /// What it must have grown by.
    pub sure: u64,
    /// What it may have grown by on top.
    pub maybe: u64,
    /// What it grew by (negative when it went down).
    pub grown: i64,
}

impl Mismatch {
    /// Counts never go down, so a word above its expectation stays wrong: no point waiting.
    pub fn is_final(&self) -> bool {
        self.grown < 0 || self.grown > (self.sure + self.maybe) as i64
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expected = if self.maybe == 0 {
            format!("+{}", self.sure)
        } else {
            format!("+{}..+{}", self.sure, self.sure + self.maybe)
        };
        let word = &self.word;
        let grown = self.grown;
        if grown < 0 {
            write!(f, "{word}: went down by {} (store reset?)", -grown)
        } else if self.sure + self.maybe == 0 {
            write!(
                f,
                "{word}: not sent by this run, grew +{grown} (another client?)"
            )
        } else if grown > (self.sure + self.maybe) as i64 {
            write!(
                f,
                "{word}: expected {expected}, grew +{grown} (counted twice?)"
            )
        } else {
            let missing = self.sure as i64 - grown;
            write!(
                f,
                "{word}: expected {expected}, grew +{grown} (missing {missing})"
            )
        }
    }
}

/// Every word whose growth from `baseline` to `now` is outside what `expected` allows, definite
/// mismatches first, then by word.
pub fn compare(
    baseline: &HashMap<String, u64>,
    now: &HashMap<String, u64>,
    expected: &Expected,
) -> Vec<Mismatch> {
    compare_resolved(baseline, now, &expected.resolve(baseline, now))
}

pub(super) fn compare_resolved(
    baseline: &HashMap<String, u64>,
    now: &HashMap<String, u64>,
    expected: &Resolved,
) -> Vec<Mismatch> {
    let words: BTreeSet<&str> = baseline
        .keys()
        .chain(now.keys())
        .map(String::as_str)
        .chain(expected.sure.iter().map(|(word, _)| word))
        .collect();
    let mut mismatches: Vec<Mismatch> = words
        .into_iter()
        .filter_map(|word| {
            let count = |counts: &HashMap<String, u64>| counts.get(word).copied().unwrap_or(0);
            let grown = count(now) as i64 - count(baseline) as i64;
            let sure = expected.sure.get(word);
            let maybe = expected.maybe.get(word);
            let fits = grown >= sure as i64 && grown <= (sure + maybe) as i64;
            (!fits).then(|| Mismatch {
                word: word.to_owned(),
                sure,
                maybe,
                grown,
            })
        })
        .collect();
    mismatches.sort_by_key(|mismatch| !mismatch.is_final());
    mismatches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> HashMap<String, u64> {
        pairs
            .iter()
            .map(|&(word, count)| (word.to_owned(), count))
            .collect()
    }

    fn stored() -> Outcome {
        Outcome::Stored(None)
    }

    fn unknown() -> Outcome {
        Outcome::Unknown {
            status: Some(503),
            detail: "timed out".into(),
        }
    }

    fn refused() -> Outcome {
        Outcome::Refused {
            status: Some(400),
            detail: "empty".into(),
        }
    }

    #[test]
    fn expected_counts_are_the_tokenizers_counts_of_the_stored_texts() {
        let mut expected = Expected::new(Tokenizer::default());
        expected.add("The fox, the FOX and a dog", &stored(), None);
        expected.add("Don't panic: fox", &stored(), None);
        expected.add("never stored fox", &refused(), None);
        let sure = expected.sure();
        assert_eq!(sure.get("fox"), 3);
        assert_eq!(sure.get("the"), 2);
        assert_eq!(sure.get("dont"), 1);
        assert_eq!(sure.get("and"), 1);
        assert_eq!(sure.get("a"), 0, "shorter than MIN_WORD_LENGTH");
        assert_eq!(sure.get("never"), 0, "refused texts are not expected");
        assert_eq!(sure.total(), 9);
    }

    #[test]
    fn expected_counts_follow_the_min_word_length_and_stopwords() {
        let tokenizer = Tokenizer::new(4).with_stopwords(["Jumps"]);
        let mut expected = Expected::new(tokenizer);
        expected.add("the quick fox jumps over", &stored(), None);
        let words: HashMap<String, u64> = expected
            .sure()
            .iter()
            .map(|(word, count)| (word.to_owned(), count))
            .collect();
        assert_eq!(words, counts(&[("quick", 1), ("over", 1)]));
    }

    #[test]
    fn a_text_without_a_clear_answer_is_allowed_but_not_required() {
        let mut expected = Expected::new(Tokenizer::default());
        expected.add("kafka stream", &stored(), None);
        expected.add("kafka timeout", &unknown(), None);
        let baseline = counts(&[("kafka", 5)]);
        let without = counts(&[("kafka", 6), ("stream", 1)]);
        let with = counts(&[("kafka", 7), ("stream", 1), ("timeout", 1)]);
        assert!(compare(&baseline, &without, &expected).is_empty());
        assert!(compare(&baseline, &with, &expected).is_empty());
    }

    #[test]
    fn an_uncertain_text_with_a_marker_is_expected_exactly_when_its_marker_was_counted() {
        let mut expected = Expected::new(Tokenizer::default());
        let now = Instant::now();
        expected.add("kafka stream mkone", &stored(), Some(("mkone", now)));
        expected.add("kafka timeout mktwo", &unknown(), Some(("mktwo", now)));
        expected.add("kafka lost mkthree", &unknown(), Some(("mkthree", now)));
        let baseline = counts(&[]);
        // The second was stored after all, the third was not.
        let grown = counts(&[
            ("kafka", 2),
            ("stream", 1),
            ("mkone", 1),
            ("timeout", 1),
            ("mktwo", 1),
        ]);
        let resolved = expected.resolve(&baseline, &grown);
        assert_eq!(resolved.uncertain_stored, 1);
        assert_eq!(resolved.sure.get("kafka"), 2);
        assert!(resolved.maybe.is_empty());
        assert!(compare(&baseline, &grown, &expected).is_empty());
        // Its marker without its words is a mismatch, and so are the words of one not stored.
        let partial = counts(&[("kafka", 2), ("stream", 1), ("mkone", 1), ("mktwo", 1)]);
        assert_eq!(compare(&baseline, &partial, &expected)[0].word, "timeout");
        let mut phantom = grown;
        phantom.insert("lost".into(), 1);
        assert!(compare(&baseline, &phantom, &expected)[0].is_final());
    }

    #[test]
    fn only_stored_texts_markers_are_timed() {
        let mut expected = Expected::new(Tokenizer::default());
        let now = Instant::now();
        expected.add("text mkone", &stored(), Some(("mkone", now)));
        expected.add("text mktwo", &unknown(), Some(("mktwo", now)));
        expected.add("text mkthree", &refused(), Some(("mkthree", now)));
        assert_eq!(expected.markers, vec![("mkone".to_owned(), now)]);
    }

    #[test]
    fn growth_by_exactly_what_was_sent_matches() {
        let mut expected = Expected::new(Tokenizer::default());
        expected.add("fox fox dog", &stored(), None);
        let baseline = counts(&[("fox", 10), ("cat", 4)]);
        let now = counts(&[("fox", 12), ("cat", 4), ("dog", 1)]);
        assert_eq!(compare(&baseline, &now, &expected), Vec::new());
    }

    #[test]
    fn a_word_short_of_its_count_is_missing_and_worth_waiting_for() {
        let mut expected = Expected::new(Tokenizer::default());
        expected.add("fox fox dog", &stored(), None);
        let mismatches = compare(&counts(&[]), &counts(&[("fox", 1), ("dog", 1)]), &expected);
        assert_eq!(mismatches.len(), 1);
        assert!(!mismatches[0].is_final());
        assert_eq!(
            mismatches[0].to_string(),
            "fox: expected +2, grew +1 (missing 1)"
        );
    }

    #[test]
    fn a_word_over_its_count_is_counted_twice_and_final() {
        let mut expected = Expected::new(Tokenizer::default());
        expected.add("fox dog", &stored(), None);
        let mismatches = compare(
            &counts(&[("fox", 3)]),
            &counts(&[("fox", 5), ("dog", 1), ("cat", 2)]),
            &expected,
        );
        assert!(mismatches.iter().all(Mismatch::is_final));
        let lines: Vec<String> = mismatches.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            vec![
                "cat: not sent by this run, grew +2 (another client?)",
                "fox: expected +1, grew +2 (counted twice?)",
            ]
        );
    }

    #[test]
    fn definite_mismatches_come_first() {
        let mut expected = Expected::new(Tokenizer::default());
        expected.add("aaa bbb", &stored(), None);
        let mismatches = compare(&counts(&[]), &counts(&[("bbb", 2)]), &expected);
        assert_eq!(mismatches.len(), 2);
        assert_eq!(mismatches[0].word, "bbb");
        assert!(mismatches[0].is_final());
        assert_eq!(mismatches[1].word, "aaa");
    }

    #[test]
    fn a_count_that_went_down_is_reported() {
        let expected = Expected::new(Tokenizer::default());
        let mismatches = compare(&counts(&[("fox", 3)]), &counts(&[]), &expected);
        assert_eq!(
            mismatches[0].to_string(),
            "fox: went down by 3 (store reset?)"
        );
        assert!(mismatches[0].is_final());
    }
}
