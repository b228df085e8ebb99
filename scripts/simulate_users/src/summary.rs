//! `load --report FILE`: the run's figures as JSON, for tools that drive `simulate_users` and judge
//! its run (the chaos test, `scripts/soak.sh`) without parsing the table.
//!
//! Every text sent is in exactly one of `accepted` (200: the broker has it), `refused` (a 4xx, a
//! connection never made or a send never made: not stored) and `uncertain` (a 5xx or an answer
//! that never came: the client was told it failed, but it may have been stored). With markers,
//! verification tells which uncertain texts were stored (`uncertain_stored`), and `expected` is
//! then exactly what the counts must have grown by.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::http::Outcome;
use crate::outcome::Error;
use crate::report::Report;
use crate::sent::Sent;
use crate::verify::{Verdict, Verification};

/// What one run did and found.
pub struct Summary<'a> {
    pub seed: u64,
    pub rate: Option<f64>,
    pub sent: &'a [Sent],
    pub report: &'a Report,
    pub verification: Option<&'a Verification>,
    /// Why the run failed; empty when it passed.
    pub failures: &'a [String],
}

impl Summary<'_> {
    pub fn to_json(&self) -> Value {
        let count = |kind: fn(&Outcome) -> bool| {
            self.sent
                .iter()
                .filter(|sent| kind(&sent.answer.outcome))
                .count()
        };
        let latency_ms = self.report.latencies.map(|latency| {
            let ms = |duration: std::time::Duration| duration.as_secs_f64() * 1000.0;
            json!({
                "mean": ms(latency.mean),
                "p50": ms(latency.p50),
                "p95": ms(latency.p95),
                "p99": ms(latency.p99),
            })
        });
        json!({
            "passed": self.failures.is_empty(),
            "failures": self.failures,
            "seed": self.seed,
            "rate": self.rate,
            "duration_s": self.report.duration.as_secs_f64(),
            "sent": self.report.total,
            "accepted": self.report.successful,
            "refused": count(|outcome| matches!(outcome, Outcome::Refused { .. })),
            "uncertain": count(|outcome| matches!(outcome, Outcome::Unknown { .. })),
            "failure_reasons": self.report.failures.iter()
                .map(|(reason, count)| json!({"reason": reason, "count": count}))
                .collect::<Vec<_>>(),
            "latency_ms": latency_ms,
            "verification": self.verification.map(verification_json),
        })
    }

    /// Writes the JSON to `path`.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let json = serde_json::to_vec_pretty(&self.to_json()).expect("JSON values serialize");
        std::fs::write(path, json).map_err(|source| Error::Report {
            path: path.display().to_string(),
            source,
        })
    }
}

fn verification_json(verification: &Verification) -> Value {
    let (verdict, mismatches) = match &verification.verdict {
        Verdict::Matched { .. } => ("matched", &[][..]),
        Verdict::Mismatched(mismatches) => ("mismatched", &mismatches[..]),
        Verdict::TimedOut { mismatches, .. } => ("timed_out", &mismatches[..]),
        Verdict::Interrupted => ("interrupted", &[][..]),
    };
    let expected = verification.resolved.as_ref().map(|resolved| {
        let mut words: Vec<(&str, u64)> = resolved.sure.iter().collect();
        words.sort_unstable();
        words
            .into_iter()
            .map(|(word, count)| (word.to_owned(), Value::from(count)))
            .collect::<Map<String, Value>>()
    });
    json!({
        "verdict": verdict,
        "waited_s": verification.waited.as_secs_f64(),
        "marked": verification.marked,
        "markers_seen": verification.markers_seen,
        "markers_expected": verification.markers_expected,
        "uncertain_stored": verification
            .marked
            .then(|| verification.resolved.as_ref().map(|resolved| resolved.uncertain_stored))
            .flatten(),
        "visible_p99_ms": verification.visible.map(|visible| visible.p99.as_secs_f64() * 1000.0),
        "mismatches": mismatches.iter().take(100).map(ToString::to_string).collect::<Vec<_>>(),
        "expected_words": expected.as_ref().map(Map::len),
        "expected_occurrences": verification.resolved.as_ref().map(|resolved| resolved.sure.total()),
        "expected": expected,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;
    use crate::http::Answer;

    fn sent(outcome: Outcome) -> Sent {
        Sent {
            text: "the fox".into(),
            marker: None,
            at: Instant::now(),
            answer: Answer {
                outcome,
                latency: Duration::from_millis(2),
            },
        }
    }

    #[test]
    fn every_text_is_accepted_refused_or_uncertain_and_failures_carry_their_reasons() {
        let sent = vec![
            sent(Outcome::Stored(None)),
            sent(Outcome::Stored(None)),
            sent(Outcome::Refused {
                status: None,
                detail: "cannot connect".into(),
            }),
            sent(Outcome::Unknown {
                status: Some(503),
                detail: "Kafka unavailable".into(),
            }),
        ];
        let report = Report::new(
            sent.iter().map(|sent| &sent.answer),
            Duration::from_secs(1),
            None,
        );
        let json = Summary {
            seed: 3,
            rate: None,
            sent: &sent,
            report: &report,
            verification: None,
            failures: &[],
        }
        .to_json();
        assert_eq!(json["passed"], true);
        assert_eq!(
            (
                &json["sent"],
                &json["accepted"],
                &json["refused"],
                &json["uncertain"]
            ),
            (&json!(4), &json!(2), &json!(1), &json!(1))
        );
        assert_eq!(json["failure_reasons"].as_array().unwrap().len(), 2);
        assert_eq!(json["verification"], Value::Null);
    }
}
