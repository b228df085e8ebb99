//! `--verify`: did the dashboard count exactly what was sent, and how long did it take to show?
//!
//! Before sending, one full read of the all-time counts is the baseline. What should be added is
//! computed here with the stream job's own tokenizer from every text the API stored (a 200), and
//! from each text whose fate the client cannot know (a 5xx or a lost answer: a produce timeout may
//! still have been stored) that the counts show was stored after all, told by its marker: so the
//! expectation is exact, and how many texts answered as failed were stored anyway is reported.
//! A text refused (4xx, never connected, never sent) must not be counted. Each text
//! carries a unique marker word; while the load runs, a watcher reads only this run's markers
//! (one search, `q=<run prefix>`, per poll) and notes when each became visible. After the last
//! answer the checker polls the same cheap search, and reads every count only once the markers
//! and the total say the work is done, so the dashboard is never asked for all words at the poll
//! rate. Counts only grow, so a word that grew more than expected fails at once.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use wordfreq_domain::{Tokenizer, WordCounts};

use crate::Error;
use crate::http::{DashboardClient, Outcome, WordsRead};
use crate::report::{Latencies, millis};

/// How many differing words a failed verification lists.
const SHOWN_MISMATCHES: usize = 20;
/// Reading every count is the expensive read; while waiting it is made at most this often.
const FULL_READ_EVERY: Duration = Duration::from_secs(1);

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
    /// Marker words of stored texts and when each text was sent.
    markers: Vec<(String, Instant)>,
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

fn compare_resolved(
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

/// How verification waits and polls.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Longest wait after the last answer.
    pub timeout: Duration,
    /// How long matching counts must stay matching.
    pub settle: Duration,
    pub poll: Duration,
}

/// Reads the dashboard before, during and after a run.
pub struct Verifier {
    dashboard: DashboardClient,
    baseline: WordsRead,
    prefix: Option<String>,
    timing: Timing,
    last_full_read: Option<Instant>,
    last_resolved: Option<Resolved>,
}

/// When each marker was first seen counted, by a task polling while the load runs.
pub struct MarkerWatch {
    stop: CancellationToken,
    task: JoinHandle<HashMap<String, Instant>>,
}

impl MarkerWatch {
    async fn finish(self) -> HashMap<String, Instant> {
        self.stop.cancel();
        self.task.await.unwrap_or_default()
    }
}

/// How a verification ended.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// The counts grew by exactly what was sent and stayed so for the settle time.
    Matched {
        words: usize,
        occurrences: u64,
        /// Texts without a clear answer that were stored all the same.
        uncertain_stored: usize,
    },
    /// Some word grew by something other than what was sent.
    Mismatched(Vec<Mismatch>),
    /// The counts did not match within the timeout; what still differed, if it could be read.
    TimedOut {
        mismatches: Vec<Mismatch>,
        error: Option<String>,
    },
    /// Ctrl-C.
    Interrupted,
}

/// The verdict, how long it took after the last answer, and the submit-to-visible latencies.
#[derive(Debug, Clone)]
pub struct Verification {
    pub verdict: Verdict,
    pub waited: Duration,
    pub visible: Option<Latencies>,
    pub markers_seen: usize,
    pub markers_expected: usize,
    pub uncertain_texts: usize,
    /// Whether texts carried markers, which tell whether each uncertain text was stored.
    pub marked: bool,
    /// The exact expectation as of the last full read (none when no full read was made).
    pub resolved: Option<Resolved>,
}

impl Verification {
    pub fn passed(&self) -> bool {
        matches!(self.verdict, Verdict::Matched { .. })
    }
}

impl Verifier {
    /// Reads the baseline: every all-time count as it is before anything is sent. `prefix` is what
    /// this run's markers start with; `None` when texts carry no marker.
    pub async fn start(
        dashboard: DashboardClient,
        prefix: Option<&str>,
        timing: Timing,
    ) -> Result<Self, Error> {
        let baseline = dashboard.words(None).await?;
        Ok(Self {
            dashboard,
            baseline,
            prefix: prefix.map(str::to_owned),
            timing,
            last_full_read: None,
            last_resolved: None,
        })
    }

    pub fn dashboard_url(&self) -> &str {
        self.dashboard.url()
    }

    /// Starts noting when markers become visible, until the verification takes over.
    pub fn watch(&self) -> MarkerWatch {
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let dashboard = self.dashboard.clone();
        let prefix = self.prefix.clone();
        let baseline = self.baseline.counts.clone();
        let poll = self.timing.poll;
        let task = tokio::spawn(async move {
            let mut seen = HashMap::new();
            let Some(prefix) = prefix else {
                stopped.cancelled().await;
                return seen;
            };
            let mut ticker = tokio::time::interval(poll);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    () = stopped.cancelled() => return seen,
                }
                // A failed read is retried at the next tick; the checker reports lasting failures.
                if let Ok(read) = dashboard.words(Some(&prefix)).await {
                    note_markers(&mut seen, &baseline, &read, Instant::now());
                }
            }
        });
        MarkerWatch { stop, task }
    }

    /// Waits (bounded by the timeout, or Ctrl-C) until the counts have grown by `expected`.
    pub async fn finish(
        mut self,
        watch: MarkerWatch,
        expected: &Expected,
        stop: &CancellationToken,
    ) -> Verification {
        let started = Instant::now();
        let deadline = started + self.timing.timeout;
        let mut seen = watch.finish().await;
        let mut last_error = None;
        let verdict = loop {
            match self.check(expected, &mut seen).await {
                Ok(Some(verdict)) => break verdict,
                Ok(None) => {}
                Err(err) => last_error = Some(err.to_string()),
            }
            if Instant::now() >= deadline {
                break match self.full_read(expected).await {
                    Ok(mismatches) if mismatches.is_empty() => {
                        // Matched at the last moment: too late to watch it settle, still true.
                        self.matched()
                    }
                    Ok(mismatches) => Verdict::TimedOut {
                        mismatches,
                        error: last_error,
                    },
                    Err(err) => Verdict::TimedOut {
                        mismatches: Vec::new(),
                        error: Some(err.to_string()),
                    },
                };
            }
            let next = (Instant::now() + self.timing.poll).min(deadline);
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = stop.cancelled() => break Verdict::Interrupted,
            }
        };
        let latencies: Vec<Duration> = expected
            .markers
            .iter()
            .filter_map(|(marker, sent_at)| Some(seen.get(marker)?.duration_since(*sent_at)))
            .collect();
        Verification {
            verdict,
            waited: started.elapsed(),
            markers_seen: latencies.len(),
            markers_expected: expected.markers.len(),
            visible: Latencies::of(latencies),
            uncertain_texts: expected.uncertain_texts,
            marked: self.prefix.is_some(),
            resolved: self.last_resolved,
        }
    }

    /// One poll: the cheap marker search, and the full read only when that says the work may be
    /// done. `None` while still waiting.
    async fn check(
        &mut self,
        expected: &Expected,
        seen: &mut HashMap<String, Instant>,
    ) -> Result<Option<Verdict>, Error> {
        // Without markers there is no cheap read that says the work may be done: the full read
        // (of only the sentences' words, then) is made at its own pace.
        if let Some(prefix) = &self.prefix {
            let markers = self.dashboard.words(Some(prefix)).await?;
            note_markers(seen, &self.baseline.counts, &markers, Instant::now());
            let all_markers_seen = expected
                .markers
                .iter()
                .all(|(marker, _)| seen.contains_key(marker));
            let grown = markers
                .total_words
                .saturating_sub(self.baseline.total_words);
            if !all_markers_seen || grown < expected.sure.total() {
                return Ok(None);
            }
        }
        // Every marker counted means every stored text counted (a record's words are applied
        // together), so a word still short here is rare: no need to read everything every poll.
        if self
            .last_full_read
            .is_some_and(|at| at.elapsed() < FULL_READ_EVERY)
        {
            return Ok(None);
        }
        self.last_full_read = Some(Instant::now());
        let mismatches = self.full_read(expected).await?;
        if mismatches.first().is_some_and(Mismatch::is_final) {
            return Ok(Some(Verdict::Mismatched(mismatches)));
        }
        if !mismatches.is_empty() {
            return Ok(None);
        }
        // A duplicate applied just after the match (a replay, a second consumer) shows up here,
        // and so does an uncertain text stored late (then it is expected, and still matches).
        tokio::time::sleep(self.timing.settle).await;
        let mismatches = self.full_read(expected).await?;
        Ok(Some(if mismatches.is_empty() {
            self.matched()
        } else {
            Verdict::Mismatched(mismatches)
        }))
    }

    /// Reads every count and compares it with the expectation, resolved by this read.
    async fn full_read(&mut self, expected: &Expected) -> Result<Vec<Mismatch>, Error> {
        let now = self.dashboard.words(None).await?;
        let resolved = expected.resolve(&self.baseline.counts, &now.counts);
        let mismatches = compare_resolved(&self.baseline.counts, &now.counts, &resolved);
        self.last_resolved = Some(resolved);
        Ok(mismatches)
    }

    fn matched(&self) -> Verdict {
        let resolved = self
            .last_resolved
            .as_ref()
            .expect("a match follows a full read");
        Verdict::Matched {
            words: resolved.sure.unique(),
            occurrences: resolved.sure.total(),
            uncertain_stored: resolved.uncertain_stored,
        }
    }
}

/// Notes `at` as the time each marker in `read` that has grown since `baseline` was first seen.
fn note_markers(
    seen: &mut HashMap<String, Instant>,
    baseline: &HashMap<String, u64>,
    read: &WordsRead,
    at: Instant,
) {
    for (word, &count) in &read.counts {
        if count > baseline.get(word).copied().unwrap_or(0) {
            seen.entry(word.clone()).or_insert(at);
        }
    }
}

fn write_mismatches(f: &mut fmt::Formatter<'_>, mismatches: &[Mismatch]) -> fmt::Result {
    for mismatch in mismatches.iter().take(SHOWN_MISMATCHES) {
        writeln!(f, "    {mismatch}")?;
    }
    if mismatches.len() > SHOWN_MISMATCHES {
        writeln!(
            f,
            "    … and {} more words",
            mismatches.len() - SHOWN_MISMATCHES
        )?;
    }
    Ok(())
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Verification")?;
        let waited = format!("{:.2} s", self.waited.as_secs_f64());
        match &self.verdict {
            Verdict::Matched {
                words,
                occurrences,
                uncertain_stored,
            } => {
                writeln!(
                    f,
                    "  counts          match: {words} words, {occurrences} occurrences (confirmed {waited} after the last answer)"
                )?;
                if self.uncertain_texts > 0 && self.marked {
                    writeln!(
                        f,
                        "  uncertain       {uncertain_stored} of {} texts without a clear answer were stored (told by their markers) and are counted once",
                        self.uncertain_texts
                    )?;
                }
            }
            Verdict::Mismatched(mismatches) => {
                writeln!(
                    f,
                    "  counts          MISMATCH in {} words:",
                    mismatches.len()
                )?;
                write_mismatches(f, mismatches)?;
            }
            Verdict::TimedOut { mismatches, error } => {
                if mismatches.is_empty() {
                    writeln!(
                        f,
                        "  counts          TIMED OUT after {waited}: the counts could not be read"
                    )?;
                } else {
                    writeln!(
                        f,
                        "  counts          TIMED OUT after {waited}: {} words still differ",
                        mismatches.len()
                    )?;
                }
                write_mismatches(f, mismatches)?;
                if let Some(error) = error {
                    writeln!(f, "    last error: {error}")?;
                }
            }
            Verdict::Interrupted => writeln!(f, "  counts          interrupted")?,
        }
        if self.marked {
            writeln!(
                f,
                "  markers seen    {} of {}",
                self.markers_seen, self.markers_expected
            )?;
        }
        if let Some(visible) = &self.visible {
            writeln!(f, "  visible p50     {}", millis(visible.p50))?;
            writeln!(f, "  visible p99     {}", millis(visible.p99))?;
        }
        let resolved_by_markers = self.marked && matches!(self.verdict, Verdict::Matched { .. });
        if self.uncertain_texts > 0 && !resolved_by_markers {
            writeln!(
                f,
                "  uncertain       {} texts got no clear answer; their words were allowed, not required",
                self.uncertain_texts
            )?;
        }
        Ok(())
    }
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

    #[test]
    fn a_marker_is_seen_once_its_count_grows_and_keeps_its_first_time() {
        let mut seen = HashMap::new();
        let baseline = counts(&[("mkold", 1)]);
        let first = Instant::now();
        let read = WordsRead {
            counts: counts(&[("mkold", 1), ("mknew", 1)]),
            total_words: 2,
        };
        note_markers(&mut seen, &baseline, &read, first);
        note_markers(&mut seen, &baseline, &read, first + Duration::from_secs(1));
        assert_eq!(seen, HashMap::from([("mknew".to_owned(), first)]));
    }
}
