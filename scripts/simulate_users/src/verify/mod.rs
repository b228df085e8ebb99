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

mod expected;
mod verdict;
mod watch;

pub use self::expected::{Expected, Mismatch, Resolved, compare};
pub use self::verdict::{Verdict, Verification};
pub use self::watch::{MarkerWatch, Timing, Verifier};
