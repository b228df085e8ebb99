//! `simulate` (the default): the original `simulate_users.py`. One text at a time from a random
//! user, a line per submission, a random pause, until Ctrl-C (or `--count`), then a summary.

use tokio_util::sync::CancellationToken;

use crate::cli::SimulateArgs;
use crate::http::ApiClient;
use crate::outcome::{Conclusion, Error};
use crate::report::{Latencies, millis, submission_line};
use crate::texts::{SENTENCES, SIMULATE_SENTENCES, TextPicker};

/// How many users take turns, as the original's `user_1` … `user_10`.
const USERS: u32 = 10;

pub async fn run(args: SimulateArgs, stop: CancellationToken) -> Result<Conclusion, Error> {
    let seed = args.api.seed.unwrap_or_else(rand::random);
    let api = ApiClient::new(&args.api.api_url, args.api.api_key, args.api.http_timeout)?;
    api.check_health().await?;
    println!(
        "simulating {USERS} users against {} (seed {seed}); Ctrl-C stops",
        api.url()
    );

    let mut picker = TextPicker::new(seed, 0, &SENTENCES[..SIMULATE_SENTENCES]);
    let (mut sent, mut failed) = (0_u64, 0_u64);
    let mut latencies = Vec::new();
    while args.count == 0 || sent < args.count {
        let user = picker.user(USERS);
        let sentence = picker.sentence();
        // Ctrl-C abandons a submission in flight: its fate is the API's to tell, not ours.
        let answer = tokio::select! {
            answer = api.submit(sentence, &user) => answer,
            () = stop.cancelled() => break,
        };
        sent += 1;
        if answer.outcome.is_stored() {
            latencies.push(answer.latency);
        } else {
            failed += 1;
        }
        println!("{}", submission_line(sent, &user, &answer));
        if args.count != 0 && sent >= args.count {
            break;
        }
        let pause = picker.delay(args.delay_ms);
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = stop.cancelled() => break,
        }
    }

    let mut summary = format!(
        "stopped after {sent} submissions: {} ok, {failed} failed",
        sent - failed
    );
    if let Some(latency) = Latencies::of(latencies) {
        summary += &format!(
            ", latency mean {}, p50 {}, p99 {}",
            millis(latency.mean),
            millis(latency.p50),
            millis(latency.p99)
        );
    }
    println!("{summary}");
    Ok(Conclusion::Passed)
}
