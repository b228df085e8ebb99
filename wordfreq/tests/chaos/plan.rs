//! What the chaos test does and when: the faults in a seeded random order with seeded random
//! pauses, and the journal that prints each step with its time.

use std::fmt;
use std::time::{Duration, Instant};

/// A small seeded generator (SplitMix64): the same seed gives the same faults, moments and
/// victims, so a failed run can be replayed with `CHAOS_SEED`.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high` (the bias of a modulo is irrelevant at these sizes).
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low + 1)
    }

    /// A pause of `low..=high` milliseconds.
    pub fn pause(&mut self, low_ms: u64, high_ms: u64) -> Duration {
        Duration::from_millis(self.between(low_ms, high_ms))
    }

    /// A random ordering of `items`.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.between(0, i as u64) as usize;
            items.swap(i, j);
        }
    }
}

/// One fault the test injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Every stream-job instance SIGKILLed, then restarted.
    KillJob,
    /// The broker crashed (SIGKILL) and restarted on the same port and storage.
    RestartBroker,
    /// Redis SIGKILLed and restarted from its append-only file.
    RestartRedis,
    /// One of the two stream-job instances SIGKILLed while the other runs on; restarted once
    /// the survivor has seen it leave.
    KillOneOfTwoJobs,
}

impl Fault {
    pub const ALL: [Fault; 4] = [
        Fault::KillJob,
        Fault::RestartBroker,
        Fault::RestartRedis,
        Fault::KillOneOfTwoJobs,
    ];

    /// The name `CHAOS_FAULTS` uses for it.
    pub fn name(self) -> &'static str {
        match self {
            Fault::KillJob => "job",
            Fault::RestartBroker => "broker",
            Fault::RestartRedis => "redis",
            Fault::KillOneOfTwoJobs => "one-job",
        }
    }

    /// The faults `CHAOS_FAULTS` names (comma-separated, in any order), or all of them: to look
    /// at one fault alone.
    pub fn chosen() -> Vec<Fault> {
        match std::env::var("CHAOS_FAULTS") {
            Err(_) => Fault::ALL.to_vec(),
            Ok(names) => names
                .split(',')
                .map(|name| {
                    *Fault::ALL
                        .iter()
                        .find(|fault| fault.name() == name.trim())
                        .unwrap_or_else(|| {
                            panic!("CHAOS_FAULTS: no fault `{name}` (job, broker, redis, one-job)")
                        })
                })
                .collect(),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fault::KillJob => "kill the stream job (both instances, SIGKILL) and restart it",
            Fault::RestartBroker => "crash the broker (SIGKILL) and restart it",
            Fault::RestartRedis => "kill Redis (SIGKILL) and restart it from its AOF",
            Fault::KillOneOfTwoJobs => "kill one of the two stream-job instances (SIGKILL)",
        })
    }
}

/// Each step of the run with its time since the start, printed as it happens and kept for the
/// closing summary.
pub struct Journal {
    started: Instant,
    entries: Vec<String>,
}

impl Journal {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            entries: Vec::new(),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn note(&mut self, what: impl fmt::Display) {
        let entry = format!("{:>7.1} s  {what}", self.started.elapsed().as_secs_f64());
        println!("chaos: {entry}");
        self.entries.push(entry);
    }

    pub fn entries(&self) -> &[String] {
        &self.entries
    }
}

#[test]
fn the_same_seed_gives_the_same_plan() {
    let plan = |seed| {
        let mut rng = Rng::new(seed);
        let mut faults = Fault::ALL;
        rng.shuffle(&mut faults);
        (faults, rng.pause(1_000, 9_000))
    };
    assert_eq!(plan(7), plan(7));
    let mut rng = Rng::new(1);
    assert!((0..1000).all(|_| (3..=5).contains(&rng.between(3, 5))));
}
