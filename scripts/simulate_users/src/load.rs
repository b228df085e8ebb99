//! `load`: the original `load_test.py` (N users × M messages at once, each user pausing between its
//! messages: a closed loop, where a slow API slows the senders down) and an open loop (`--rate`:
//! sends fall due on a fixed schedule whatever the answers, so a slow API shows as latency and
//! failures, not as a lower offered load). Then the results table, and `--verify`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use wordfreq_domain::Tokenizer;

use crate::cli::{DelayRange, LoadArgs};
use crate::http::{Answer, ApiClient, DashboardClient, Outcome};
use crate::outcome::{Conclusion, Error};
use crate::report::Report;
use crate::sent::Sent;
use crate::summary::Summary;
use crate::texts::{MARKER_CHARS, Markers, SENTENCES, TextPicker, user_id, with_marker};
use crate::verify::{Expected, Timing, Verdict, Verifier};

/// The progress bar, with running counts of answers. Drawn only on a terminal.
struct Progress {
    bar: ProgressBar,
    ok: AtomicU64,
    failed: AtomicU64,
}

impl Progress {
    fn new(total: u64) -> Self {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} {per_sec} {msg}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        Self {
            bar,
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    fn record(&self, outcome: &Outcome) {
        let counter = if outcome.is_stored() {
            &self.ok
        } else {
            &self.failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.bar.set_message(format!(
            "ok {} · failed {}",
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed)
        ));
        self.bar.inc(1);
    }
}

/// What every send shares.
#[derive(Clone)]
struct Sender {
    api: ApiClient,
    markers: Option<Arc<Markers>>,
    progress: Arc<Progress>,
}

impl Sender {
    /// Sends `sentence` as `user`, with the next marker when verifying. `due` is when it should
    /// have gone: latency counts from then, so a late send is not flattered.
    async fn send(&self, user: &str, sentence: &str, due: Instant) -> Sent {
        let marker = self.markers.as_deref().map(Markers::next);
        let text = with_marker(sentence, marker.as_deref());
        let mut answer = self.api.submit(&text, user).await;
        answer.latency = due.elapsed();
        self.progress.record(&answer.outcome);
        Sent {
            text,
            marker,
            at: due,
            answer,
        }
    }
}

/// Runs `load`: health check, the baseline read when verifying, the sends, the table, the check.
pub async fn run(args: LoadArgs, stop: CancellationToken) -> Result<Conclusion, Error> {
    let seed = args.api.seed.unwrap_or_else(rand::random);
    let api = ApiClient::new(
        &args.api.api_url,
        args.api.api_key.clone(),
        args.api.http_timeout,
    )?;
    api.check_health().await?;

    let tokenizer = args.verify.tokenizer.tokenizer();
    let (verifier, markers) = if args.verify.verify {
        let markers = (!args.verify.no_markers).then(|| Arc::new(Markers::new()));
        if let Some(markers) = &markers {
            check_marker_survives(&tokenizer, markers)?;
        }
        let dashboard = DashboardClient::new(&args.verify.dashboard_url, args.api.http_timeout)?;
        let timing = Timing {
            timeout: args.verify.verify_timeout,
            settle: args.verify.verify_settle,
            poll: args.verify.poll_interval,
        };
        let prefix = markers.as_deref().map(Markers::prefix);
        let verifier = Verifier::start(dashboard, prefix, timing).await?;
        (Some(verifier), markers)
    } else {
        (None, None)
    };

    let total = match args.rate {
        Some(rate) => planned_sends(rate, args.duration),
        None => u64::from(args.users) * u64::from(args.messages),
    };
    match args.rate {
        Some(rate) => println!(
            "load: {rate} texts/s for {} ({total} texts) as {} users, seed {seed}, API {}",
            humantime::format_duration(args.duration),
            args.users,
            api.url()
        ),
        None => println!(
            "load: {} users × {} messages, pauses {} ms, seed {seed}, API {}",
            args.users,
            args.messages,
            args.delay_ms,
            api.url()
        ),
    }
    if let Some(verifier) = &verifier {
        match markers.as_deref() {
            Some(markers) => println!(
                "verify: against the dashboard at {}, markers {}…",
                verifier.dashboard_url(),
                markers.prefix()
            ),
            None => println!(
                "verify: against the dashboard at {}, without markers",
                verifier.dashboard_url()
            ),
        }
    }

    let watch = verifier.as_ref().map(Verifier::watch);
    let sender = Sender {
        api,
        markers,
        progress: Arc::new(Progress::new(total)),
    };
    let started = Instant::now();
    let sent = match args.rate {
        Some(rate) => open_loop(&sender, rate, total, &args, seed, &stop).await,
        None => closed_loop(&sender, &args, seed, &stop).await,
    };
    let duration = started.elapsed();
    sender.progress.bar.finish_and_clear();

    let report = Report::new(sent.iter().map(|sent| &sent.answer), duration, args.rate);
    println!("{report}");
    let mut failures = Vec::new();
    if report.success_rate() < args.min_success_rate {
        failures.push(format!(
            "success rate {:.1}% is below {}%",
            report.success_rate(),
            args.min_success_rate
        ));
    }
    let mut verification = None;
    if stop.is_cancelled() {
        failures.push("interrupted: not every text was sent, counts were not verified".into());
    } else if let (Some(verifier), Some(watch)) = (verifier, watch) {
        let expected = expected_counts(tokenizer, &sent);
        let verified = verifier.finish(watch, &expected, &stop).await;
        println!("{verified}");
        match verified.verdict {
            Verdict::Matched { .. } => {}
            Verdict::Interrupted => failures.push("interrupted while verifying".into()),
            Verdict::Mismatched(_) | Verdict::TimedOut { .. } => {
                failures.push("the dashboard's counts are not what was sent".into());
            }
        }
        verification = Some(verified);
    }
    if let Some(path) = &args.report {
        let summary = Summary {
            seed,
            rate: args.rate,
            sent: &sent,
            report: &report,
            verification: verification.as_ref(),
            failures: &failures,
        };
        summary.write(path)?;
    }
    Ok(if failures.is_empty() {
        Conclusion::Passed
    } else {
        Conclusion::Failed(failures)
    })
}

/// What the counts should grow by, from every text and what became of it.
pub fn expected_counts(tokenizer: Tokenizer, sent: &[Sent]) -> Expected {
    let mut expected = Expected::new(tokenizer);
    for sent in sent {
        let marker = sent.marker.as_deref().map(|marker| (marker, sent.at));
        expected.add(&sent.text, &sent.answer.outcome, marker);
    }
    expected
}

/// A tokenizer that drops the markers (MIN_WORD_LENGTH above their length, a stopword) would
/// make every verification time out for a reason that has nothing to do with the pipeline.
fn check_marker_survives(tokenizer: &Tokenizer, markers: &Markers) -> Result<(), Error> {
    let sample = format!("{}{}", markers.prefix(), "a".repeat(MARKER_CHARS));
    let sample = &sample[..MARKER_CHARS];
    if tokenizer.tokens(sample) == [sample] {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "--verify needs marker words of {MARKER_CHARS} letters, which this tokenizer drops \
             (MIN_WORD_LENGTH {})",
            tokenizer.min_word_chars()
        )))
    }
}

/// How many texts `rate` per second for `duration` makes (at least one).
pub fn planned_sends(rate: f64, duration: Duration) -> u64 {
    ((rate * duration.as_secs_f64()).round() as u64).max(1)
}

/// Each user sends its messages one after another, pausing between them; the users run at once.
async fn closed_loop(
    sender: &Sender,
    args: &LoadArgs,
    seed: u64,
    stop: &CancellationToken,
) -> Vec<Sent> {
    let mut users = JoinSet::new();
    for user in 1..=args.users {
        // Each user has its own stream of the seed: what it sends does not depend on scheduling.
        let mut picker = TextPicker::new(seed, u64::from(user), &SENTENCES);
        let (sender, stop, messages, delay) =
            (sender.clone(), stop.clone(), args.messages, args.delay_ms);
        users.spawn(async move {
            let user = user_id(user);
            let mut sent = Vec::new();
            for message in 0..messages {
                if message > 0 && !pause(&mut picker, delay, &stop).await {
                    break;
                }
                let sentence = picker.sentence();
                sent.push(sender.send(&user, sentence, Instant::now()).await);
            }
            sent
        });
    }
    users.join_all().await.into_iter().flatten().collect()
}

/// Sleeps a random pause; false when interrupted.
async fn pause(picker: &mut TextPicker, delay: DelayRange, stop: &CancellationToken) -> bool {
    let pause = picker.delay(delay);
    tokio::select! {
        () = tokio::time::sleep(pause) => !stop.is_cancelled(),
        () = stop.cancelled() => false,
    }
}

/// `total` sends at `rate` per second, user ids taken in turn.
async fn open_loop(
    sender: &Sender,
    rate: f64,
    total: u64,
    args: &LoadArgs,
    seed: u64,
    stop: &CancellationToken,
) -> Vec<Sent> {
    let mut picker = TextPicker::new(seed, 0, &SENTENCES);
    let in_flight = Arc::new(Semaphore::new(args.max_in_flight));
    let (users, max_in_flight) = (args.users, args.max_in_flight);
    let period = Duration::from_secs_f64(1.0 / rate);
    schedule(total, period, stop, |n, due| {
        let user = user_id((n % u64::from(users)) as u32 + 1);
        let sentence = picker.sentence();
        let permit = in_flight.clone().try_acquire_owned();
        let sender = sender.clone();
        async move {
            let Ok(_permit) = permit else {
                let outcome = Outcome::Refused {
                    status: None,
                    detail: format!("not sent: {max_in_flight} requests already in flight"),
                };
                sender.progress.record(&outcome);
                return Sent {
                    text: sentence.to_owned(),
                    marker: None,
                    at: due,
                    answer: Answer {
                        outcome,
                        latency: Duration::ZERO,
                    },
                };
            };
            sender.send(&user, sentence, due).await
        }
    })
    .await
}

/// Starts `make(n, due)` for n in 0..total at `start + n × period`, without waiting for earlier
/// ones to finish (a send that falls behind is started at once, keeping its due time), until
/// `stop`; then waits for all that were started.
pub async fn schedule<T, F, Fut>(
    total: u64,
    period: Duration,
    stop: &CancellationToken,
    mut make: F,
) -> Vec<T>
where
    F: FnMut(u64, Instant) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let start = Instant::now();
    let mut started = JoinSet::new();
    for n in 0..total {
        let due = start + period.mul_f64(n as f64);
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            () = tokio::time::sleep_until(due) => {}
        }
        started.spawn(make(n, due));
    }
    started.join_all().await
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn a_rate_for_a_duration_plans_rate_times_seconds_sends() {
        assert_eq!(planned_sends(500.0, Duration::from_secs(30)), 15_000);
        assert_eq!(planned_sends(2.5, Duration::from_secs(2)), 5);
        assert_eq!(planned_sends(0.1, Duration::from_secs(1)), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_open_loop_keeps_its_schedule_when_answers_are_slow() {
        let started_at = Arc::new(Mutex::new(Vec::new()));
        let begin = Instant::now();
        let log = started_at.clone();
        let answers = schedule(
            10,
            Duration::from_millis(100),
            &CancellationToken::new(),
            |n, due| {
                let log = log.clone();
                async move {
                    log.lock().unwrap().push(Instant::now() - begin);
                    // Every answer takes far longer than the period.
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    (n, due - begin)
                }
            },
        )
        .await;
        let mut started_at = started_at.lock().unwrap().clone();
        started_at.sort();
        let expected: Vec<Duration> = (0..10).map(|n| Duration::from_millis(100 * n)).collect();
        assert_eq!(started_at, expected);
        assert_eq!(answers.len(), 10);
        assert!(
            answers
                .iter()
                .all(|(n, due)| *due == Duration::from_millis(100 * n))
        );
        // All ten were in flight together: the run ends one answer after the last send.
        assert_eq!(Instant::now() - begin, Duration::from_millis(5900));
    }

    #[tokio::test(start_paused = true)]
    async fn the_open_loop_stops_sending_when_told_and_waits_for_what_it_sent() {
        let stop = CancellationToken::new();
        let stopper = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(250)).await;
            stopper.cancel();
        });
        let sent = schedule(100, Duration::from_millis(100), &stop, |n, _| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            n
        })
        .await;
        let mut sent = sent;
        sent.sort_unstable();
        assert_eq!(sent, vec![0, 1, 2]);
    }

    #[test]
    fn the_default_tokenizer_keeps_markers_and_a_long_minimum_refuses_verification() {
        let markers = Markers::new();
        assert!(check_marker_survives(&Tokenizer::default(), &markers).is_ok());
        let err = check_marker_survives(&Tokenizer::new(MARKER_CHARS + 1), &markers).unwrap_err();
        assert!(err.to_string().contains("MIN_WORD_LENGTH 18"), "{err}");
    }
}
