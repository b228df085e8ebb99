//! How a verification ended, with its figures, and the lines it prints under the results table.

use std::fmt;
use std::time::Duration;

use super::expected::{Mismatch, Resolved};
use crate::report::{Latencies, millis};

/// How many differing words a failed verification lists.
const SHOWN_MISMATCHES: usize = 20;

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
