//! The numbers a run ends with: percentiles, the results table of `load`, and the per-submission
//! line of `simulate`. Pure, so the formatting and the statistics are unit-tested.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use crate::http::{Answer, Outcome};

/// The `p`th percentile (0–100) of `sorted` by the nearest-rank method: the smallest value with at
/// least `p`% of the values at or below it, so it is always one of the values measured.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Mean and percentiles of some durations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latencies {
    pub count: usize,
    pub mean: Duration,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
}

impl Latencies {
    /// `None` when there is nothing to summarise.
    pub fn of(mut durations: Vec<Duration>) -> Option<Self> {
        durations.sort_unstable();
        let sum: Duration = durations.iter().sum();
        let at = |p| percentile(&durations, p);
        Some(Self {
            count: durations.len(),
            mean: sum / u32::try_from(durations.len()).ok().filter(|&n| n > 0)?,
            p50: at(50.0)?,
            p95: at(95.0)?,
            p99: at(99.0)?,
        })
    }
}

/// Milliseconds with one decimal.
pub fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// How many distinct failure reasons the table lists.
const FAILURE_REASONS: usize = 5;

/// The results table of a load run.
#[derive(Debug, Clone)]
pub struct Report {
    /// From the first send to the last answer.
    pub duration: Duration,
    pub total: usize,
    pub successful: usize,
    /// Of the successful submissions: a failure's time says little (a refused connection is
    /// instant, a timeout is the timeout).
    pub latencies: Option<Latencies>,
    /// Why submissions failed, most frequent first.
    pub failures: Vec<(String, usize)>,
    /// The open loop's target, texts per second.
    pub target_rate: Option<f64>,
}

impl Report {
    pub fn new<'a>(
        answers: impl IntoIterator<Item = &'a Answer>,
        duration: Duration,
        target_rate: Option<f64>,
    ) -> Self {
        let mut total = 0;
        let mut latencies = Vec::new();
        let mut reasons: HashMap<String, usize> = HashMap::new();
        for answer in answers {
            total += 1;
            match answer.outcome.reason() {
                None => latencies.push(answer.latency),
                Some(reason) => *reasons.entry(reason).or_default() += 1,
            }
        }
        let mut failures: Vec<(String, usize)> = reasons.into_iter().collect();
        failures.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Self {
            duration,
            total,
            successful: latencies.len(),
            latencies: Latencies::of(latencies),
            failures,
            target_rate,
        }
    }

    pub fn failed(&self) -> usize {
        self.total - self.successful
    }

    /// Percentage of submissions stored; 0 when none was sent.
    pub fn success_rate(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            100.0 * self.successful as f64 / self.total as f64
        }
    }

    /// Submissions answered per second.
    pub fn throughput(&self) -> f64 {
        let seconds = self.duration.as_secs_f64();
        if seconds > 0.0 {
            self.total as f64 / seconds
        } else {
            0.0
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row = |f: &mut fmt::Formatter<'_>, name: &str, value: String| {
            writeln!(f, "  {name:<16}{value}")
        };
        writeln!(f, "Results")?;
        row(
            f,
            "duration",
            format!("{:.2} s", self.duration.as_secs_f64()),
        )?;
        row(f, "total", self.total.to_string())?;
        row(f, "successful", self.successful.to_string())?;
        row(f, "failed", self.failed().to_string())?;
        row(f, "success rate", format!("{:.1}%", self.success_rate()))?;
        match &self.latencies {
            Some(latency) => {
                row(f, "latency mean", millis(latency.mean))?;
                row(f, "latency p50", millis(latency.p50))?;
                row(f, "latency p95", millis(latency.p95))?;
                row(f, "latency p99", millis(latency.p99))?;
            }
            None => row(f, "latency", "none succeeded".into())?,
        }
        let throughput = format!("{:.1} req/s", self.throughput());
        match self.target_rate {
            Some(rate) => row(
                f,
                "throughput",
                format!("{throughput} (target {rate} req/s)"),
            )?,
            None => row(f, "throughput", throughput)?,
        }
        for (reason, count) in self.failures.iter().take(FAILURE_REASONS) {
            row(f, "failure", format!("{count} × {reason}"))?;
        }
        if self.failures.len() > FAILURE_REASONS {
            row(
                f,
                "failure",
                format!(
                    "… and {} other reasons",
                    self.failures.len() - FAILURE_REASONS
                ),
            )?;
        }
        Ok(())
    }
}

/// `simulate`'s line for submission number `counter`.
pub fn submission_line(counter: u64, user: &str, answer: &Answer) -> String {
    let status = match answer.outcome {
        Outcome::Stored(_) => "ok",
        _ => "failed",
    };
    format!(
        "#{counter:<5} {user:<8} {status:<6} {:>9}  {}",
        millis(answer.latency),
        answer.outcome
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::KafkaMetadata;

    fn ms(values: impl IntoIterator<Item = u64>) -> Vec<Duration> {
        values.into_iter().map(Duration::from_millis).collect()
    }

    #[test]
    fn percentiles_of_one_to_a_hundred_are_their_ranks() {
        let values = ms(1..=100);
        assert_eq!(percentile(&values, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&values, 95.0), Some(Duration::from_millis(95)));
        assert_eq!(percentile(&values, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&values, 100.0), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&values, 0.0), Some(Duration::from_millis(1)));
    }

    #[test]
    fn a_percentile_is_always_a_measured_value() {
        let values = ms([10, 20, 30, 40]);
        assert_eq!(percentile(&values, 50.0), Some(Duration::from_millis(20)));
        assert_eq!(percentile(&values, 51.0), Some(Duration::from_millis(30)));
        assert_eq!(percentile(&values, 99.0), Some(Duration::from_millis(40)));
        let one = ms([7]);
        for p in [0.0, 50.0, 99.0, 100.0] {
            assert_eq!(percentile(&one, p), Some(Duration::from_millis(7)));
        }
    }

    #[test]
    fn nothing_measured_has_no_percentile_and_no_summary() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(Latencies::of(Vec::new()), None);
    }

    #[test]
    fn the_summary_sorts_before_ranking() {
        let latency = Latencies::of(ms([30, 10, 20, 40])).unwrap();
        assert_eq!(latency.count, 4);
        assert_eq!(latency.mean, Duration::from_millis(25));
        assert_eq!(latency.p50, Duration::from_millis(20));
        assert_eq!(latency.p99, Duration::from_millis(40));
    }

    fn answer(outcome: Outcome, millis: u64) -> Answer {
        Answer {
            outcome,
            latency: Duration::from_millis(millis),
        }
    }

    #[test]
    fn the_report_counts_failures_by_reason_and_times_only_successes() {
        let stored = Outcome::Stored(None);
        let unavailable = Outcome::Unknown {
            status: Some(503),
            detail: "Kafka unavailable".into(),
        };
        let answers = [
            answer(stored.clone(), 10),
            answer(stored, 30),
            answer(unavailable.clone(), 5000),
            answer(unavailable, 5000),
            answer(
                Outcome::Refused {
                    status: Some(401),
                    detail: "API key missing or not valid".into(),
                },
                1,
            ),
        ];
        let report = Report::new(&answers, Duration::from_secs(2), None);
        assert_eq!(
            (report.total, report.successful, report.failed()),
            (5, 2, 3)
        );
        assert_eq!(report.success_rate(), 40.0);
        assert_eq!(report.throughput(), 2.5);
        assert_eq!(report.latencies.unwrap().mean, Duration::from_millis(20));
        assert_eq!(
            report.failures,
            vec![
                ("503: Kafka unavailable".to_owned(), 2),
                ("401: API key missing or not valid".to_owned(), 1)
            ]
        );
        let table = report.to_string();
        assert!(table.contains("success rate    40.0%"), "{table}");
        assert!(table.contains("2 × 503: Kafka unavailable"), "{table}");
    }

    #[test]
    fn no_submission_is_a_zero_success_rate() {
        let report = Report::new(&[], Duration::ZERO, Some(10.0));
        assert_eq!(report.success_rate(), 0.0);
        assert_eq!(report.throughput(), 0.0);
        assert!(report.to_string().contains("none succeeded"));
    }

    #[test]
    fn a_submission_line_names_counter_user_status_latency_and_where() {
        let stored = answer(
            Outcome::Stored(Some(KafkaMetadata {
                partition: 1,
                offset: 57,
            })),
            12,
        );
        assert_eq!(
            submission_line(3, "user_7", &stored),
            "#3     user_7   ok       12.0 ms  partition 1, offset 57"
        );
        let refused = answer(
            Outcome::Refused {
                status: Some(400),
                detail: "Text cannot be empty".into(),
            },
            2,
        );
        assert!(
            submission_line(4, "user_1", &refused)
                .ends_with("failed    2.0 ms  400: Text cannot be empty")
        );
    }
}
