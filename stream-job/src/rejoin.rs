//! When this instance leaves its consumer group and joins again: when partitions of its topic go
//! unread and none of them is its own, whatever the broker's group coordinator got wrong (see
//! docs/ARCHITECTURE.md, "Consumer group membership"). The wait before it does lets a rebalance
//! settle, is staggered so the group's instances do not all leave at once, and grows only after
//! several rejoins that did not help.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use crate::health::{JobHealth, Problem};
use crate::watchdog::{PartitionProgress, UNREAD_AFTER, UnreadWatch};

/// The least time between joining the group (at start, by a rejoin, or by a rebalance) and
/// rejoining because partitions go unread.
const MIN_REJOIN_WAIT: Duration = Duration::from_secs(4);
/// Rejoins that wait only [`MIN_REJOIN_WAIT`]: a job restarted at once must hold its partitions
/// within 30 s, and tansu 0.6.0 sometimes assigns nothing after the first two or three rejoins
/// (docs/RELIABILITY.md). Each rejoin after these doubles the wait, up to [`MAX_REJOIN_WAIT`], so
/// a group that rejoining does not mend is not kept rebalancing.
const QUICK_REJOINS: u32 = 4;
const MAX_REJOIN_WAIT: Duration = Duration::from_secs(60);
/// The least wait after a rejoin the group has not answered: twice the session timeout the
/// consumer sets (10 s), in which Kafka evicts a dead member and answers the joins it held.
const UNANSWERED_REJOIN_WAIT: Duration = Duration::from_secs(20);
/// How long a membership must hold without a rejoin before the waits start over.
const SETTLED_AFTER: Duration = Duration::from_secs(60);

/// Unread partitions none of which this instance holds, at a moment it should rejoin.
#[derive(Debug)]
pub(crate) struct Orphans {
    pub partitions: Vec<i32>,
    /// Records waiting in them.
    pub waiting: i64,
}

/// The group membership as the rejoin rule sees it.
pub(crate) struct Rejoin {
    /// Which of the topic's partitions go unread.
    unread: UnreadWatch,
    /// When this instance last joined the group, and how long to wait from then before rejoining.
    joined_at: Instant,
    wait: Duration,
    /// Rejoins since the membership last settled.
    rejoins: u32,
    /// This instance rejoined and the group has not answered yet (no assignment since). A join
    /// the coordinator holds while it waits for the other members (Kafka waits for a dead
    /// member's session to time out) has not failed: leaving again would only start it over.
    unanswered: bool,
    /// Added to the wait, set at each join (see [`Rejoin::joined`]).
    stagger: Duration,
}

impl Rejoin {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            unread: UnreadWatch::default(),
            joined_at: now,
            wait: MIN_REJOIN_WAIT,
            rejoins: 0,
            unanswered: false,
            stagger: Duration::ZERO,
        }
    }

    /// Notes that the group assigned or revoked partitions of this instance at `now` (or that it
    /// joined), leaving it `held` partitions, and how much longer than the rejoin wait it will wait
    /// from then, so the instances of a group do not all leave at once (one LeaveGroup makes the
    /// coordinator rebalance everyone; several in a row keep it rebalancing): 2 s per partition
    /// held, so an instance holding none goes first, and up to 1 s at random between equals.
    /// What went unread is forgotten: a partition may have a new owner now, who gets the whole
    /// [`UNREAD_AFTER`] to show it reads it (not doing so made a loaded chaos run's instances take
    /// partitions mid-move for orphans and rejoin again and again).
    pub(crate) fn joined(&mut self, now: Instant, held: usize) {
        self.joined_at = now;
        self.unanswered = false;
        self.unread.reset();
        let held = u32::try_from(held).unwrap_or(u32::MAX);
        // Not the clock: instances the same rebalance answered read it within microseconds of
        // each other, and two of a chaos run left the group 15 ms apart. `RandomState` is seeded
        // at random in each process.
        let random_ms = RandomState::new().build_hasher().finish() % 1_000;
        self.stagger =
            Duration::from_secs(2).saturating_mul(held) + Duration::from_millis(random_ms);
    }

    /// Takes one look at the topic's partitions at `now`, while this instance holds `assigned`.
    /// While it holds none and partitions go unread, that makes it unhealthy (the reason names
    /// `topic`).
    /// Returns the orphaned partitions once the rejoin wait has passed: time to rejoin.
    pub(crate) fn look(
        &mut self,
        now: Instant,
        progress: &BTreeMap<i32, PartitionProgress>,
        assigned: &BTreeSet<i32>,
        topic: &str,
        health: &JobHealth,
    ) -> Option<Orphans> {
        let orphans: Vec<(i32, i64)> = self
            .unread
            .look(now, progress)
            .into_iter()
            .filter(|(partition, _)| !assigned.contains(partition))
            .collect();
        if orphans.is_empty() {
            health.clear(Problem::NoPartitions);
            if now.duration_since(self.joined_at) >= SETTLED_AFTER {
                self.wait = MIN_REJOIN_WAIT;
                self.rejoins = 0;
            }
            return None;
        }
        let waiting: i64 = orphans.iter().map(|(_, records)| records).sum();
        let orphaned: Vec<i32> = orphans.iter().map(|(partition, _)| *partition).collect();
        if assigned.is_empty() {
            health.set(
                Problem::NoPartitions,
                format!(
                    "this instance holds no partitions while partitions {orphaned:?} of {topic} go \
                     unread ({waiting} records waiting, none counted for {} s); rejoining the \
                     consumer group",
                    UNREAD_AFTER.as_secs()
                ),
            );
        }
        let mut wait = self.wait + self.stagger;
        if self.unanswered {
            wait = wait.max(UNANSWERED_REJOIN_WAIT);
        }
        if now.duration_since(self.joined_at) < wait {
            return None;
        }
        Some(Orphans {
            partitions: orphaned,
            waiting,
        })
    }

    /// This instance left the group and joined again at `now`, holding nothing: the group gets
    /// time to settle (no rejoin before it answers, or 20 s have passed), and past the quick
    /// rejoins the next one waits longer.
    pub(crate) fn rejoined(&mut self, now: Instant) {
        self.joined(now, 0);
        self.unanswered = true;
        self.rejoins += 1;
        if self.rejoins >= QUICK_REJOINS {
            self.wait = (self.wait * 2).min(MAX_REJOIN_WAIT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rejoin_stagger_is_two_seconds_per_partition_held_plus_under_one_at_random() {
        let mut rejoin = Rejoin::new(Instant::now());
        rejoin.joined(Instant::now(), 3);
        assert!(
            (Duration::from_secs(6)..Duration::from_secs(7)).contains(&rejoin.stagger),
            "{:?}",
            rejoin.stagger
        );
        rejoin.joined(Instant::now(), 0);
        assert!(
            rejoin.stagger < Duration::from_secs(1),
            "{:?}",
            rejoin.stagger
        );
    }

    #[test]
    fn the_first_four_rejoins_wait_the_least_then_each_doubles_the_wait_up_to_a_minute() {
        let mut rejoin = Rejoin::new(Instant::now());
        let waits: Vec<u64> = (0..8)
            .map(|_| {
                rejoin.rejoined(Instant::now());
                rejoin.wait.as_secs()
            })
            .collect();
        assert_eq!(waits, [4, 4, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn partitions_that_go_unread_are_orphans_only_when_not_held() {
        let now = Instant::now();
        let mut rejoin = Rejoin::new(now - SETTLED_AFTER);
        let health = JobHealth::default();
        let progress = BTreeMap::from([(0, PartitionProgress { counted: 0, end: 5 })]);
        rejoin.unread.look(now - UNREAD_AFTER, &progress);
        let held = BTreeSet::from([0]);
        assert!(rejoin.look(now, &progress, &held, "t", &health).is_none());
        assert!(!health.has(Problem::NoPartitions));
        let orphans = rejoin
            .look(now, &progress, &BTreeSet::new(), "t", &health)
            .expect("time to rejoin");
        assert_eq!((orphans.partitions, orphans.waiting), (vec![0], 5));
        assert!(health.reasons()[0].contains("holds no partitions"));
    }

    /// A job restarted at once, alone with one partition that goes unread, under a coordinator
    /// that assigns it nothing until it has rejoined `helps_from` times (tansu 0.6.0 after a
    /// restart, at worst).
    /// The job looks every second, as `StreamJob` does; each join is answered 3 s later, as tansu
    /// does. Returns when the job held the partition (seconds after its start, if ever within
    /// `horizon` s) and how many times it rejoined.
    fn restarted_alone(helps_from: u32, horizon: u64) -> (Option<u64>, u32) {
        restarted_alone_answered_after(3, helps_from, horizon)
    }

    /// As [`restarted_alone`], each join answered `answer_after` s after it is made.
    fn restarted_alone_answered_after(
        answer_after: u64,
        helps_from: u32,
        horizon: u64,
    ) -> (Option<u64>, u32) {
        let start = Instant::now();
        let at = |second: u64| start + Duration::from_secs(second);
        let health = JobHealth::default();
        let progress = BTreeMap::from([(
            0,
            PartitionProgress {
                counted: 0,
                end: 100,
            },
        )]);
        let mut rejoin = Rejoin::new(start);
        let mut answer_at = Some(answer_after);
        let mut rejoins = 0;
        for second in 0..=horizon {
            if answer_at == Some(second) {
                answer_at = None;
                if rejoins >= helps_from {
                    return (Some(second), rejoins);
                }
                rejoin.joined(at(second), 0);
            }
            if rejoin
                .look(at(second), &progress, &BTreeSet::new(), "t", &health)
                .is_some()
            {
                rejoins += 1;
                rejoin.rejoined(at(second));
                answer_at = Some(second + answer_after);
            }
        }
        (None, rejoins)
    }

    #[test]
    fn a_restarted_job_that_only_its_third_rejoin_helps_holds_its_partition_within_30_s() {
        let (held_after, rejoins) = restarted_alone(3, 60);
        assert!(
            held_after.is_some_and(|seconds| seconds <= 30),
            "held after {held_after:?} s, {rejoins} rejoins"
        );
    }

    #[test]
    fn a_group_that_rejoining_does_not_mend_is_rejoined_ever_more_rarely() {
        let (held_after, rejoins) = restarted_alone(u32::MAX, 600);
        assert_eq!(held_after, None);
        // Four quick ones, then waits of 8, 16, 32 and 60 s (plus 3 s answers and 1 s looks).
        assert!(
            (8..=14).contains(&rejoins),
            "{rejoins} rejoins in 10 minutes"
        );
    }

    #[test]
    fn a_rejoin_the_group_has_not_answered_waits_twice_the_session_timeout() {
        // A coordinator that holds each join 15 s (Kafka waiting for a dead member's session to
        // time out): the job waits for the answer instead of starting its join over every few
        // seconds, which would never let it complete.
        let (held_after, rejoins) = restarted_alone_answered_after(15, 1, 120);
        assert_eq!((held_after, rejoins), (Some(21), 1));
        // One that never answers: every 20 s, then backing off (at 6, 26, 46, 66, 86, 106, 138
        // and 198 s).
        let (held_after, rejoins) = restarted_alone_answered_after(1_000, 1, 200);
        assert_eq!((held_after, rejoins), (None, 8));
    }
}
