//! When this instance leaves its consumer group and joins again: when partitions of its topic go
//! unread and none of them is its own, whatever the broker's group coordinator got wrong (see
//! docs/ARCHITECTURE.md, "Consumer group membership"). The wait before it does lets a rebalance
//! settle, is staggered so the group's instances do not all leave at once, and doubles after each
//! rejoin that did not help.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::health::{JobHealth, Problem};
use crate::watchdog::{PartitionProgress, UNREAD_AFTER, UnreadWatch};

/// The least time between joining the group (at start or by a rejoin) and rejoining because
/// partitions go unread; doubled after each rejoin that did not help, up to [`MAX_REJOIN_WAIT`].
const MIN_REJOIN_WAIT: Duration = Duration::from_secs(4);
const MAX_REJOIN_WAIT: Duration = Duration::from_secs(60);

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
    /// Added to the wait, set at each join (see [`Rejoin::joined`]).
    stagger: Duration,
}

impl Rejoin {
    pub(crate) fn new() -> Self {
        Self {
            unread: UnreadWatch::default(),
            joined_at: Instant::now(),
            wait: MIN_REJOIN_WAIT,
            stagger: Duration::ZERO,
        }
    }

    /// Notes that the group assigned or revoked partitions of this instance at `now` (or that it
    /// joined), leaving it `held` partitions, and how much longer than the rejoin wait it will wait
    /// from then, so the instances of a group do not all leave at once (one LeaveGroup makes the
    /// coordinator rebalance everyone; several in a row keep it rebalancing): 2 s per partition
    /// held, so an instance holding none goes first, and up to 2 s at random between equals.
    pub(crate) fn joined(&mut self, now: Instant, held: usize) {
        self.joined_at = now;
        let held = u32::try_from(held).unwrap_or(u32::MAX);
        let random_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.subsec_nanos() % 2_000);
        self.stagger = Duration::from_secs(2).saturating_mul(held)
            + Duration::from_millis(u64::from(random_ms));
    }

    /// Takes one look at the topic's partitions while this instance holds `assigned`. While it
    /// holds none and partitions go unread, that makes it unhealthy (the reason names `topic`).
    /// Returns the orphaned partitions once the rejoin wait has passed: time to rejoin.
    pub(crate) fn look(
        &mut self,
        progress: &BTreeMap<i32, PartitionProgress>,
        assigned: &BTreeSet<i32>,
        topic: &str,
        health: &JobHealth,
    ) -> Option<Orphans> {
        let orphans: Vec<(i32, i64)> = self
            .unread
            .look(Instant::now(), progress)
            .into_iter()
            .filter(|(partition, _)| !assigned.contains(partition))
            .collect();
        if orphans.is_empty() {
            health.clear(Problem::NoPartitions);
            if self.joined_at.elapsed() >= MAX_REJOIN_WAIT {
                self.wait = MIN_REJOIN_WAIT;
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
        if self.joined_at.elapsed() < self.wait + self.stagger {
            return None;
        }
        Some(Orphans {
            partitions: orphaned,
            waiting,
        })
    }

    /// This instance left the group and joined again at `now`, holding nothing: what it saw go
    /// unread is forgotten, the group gets time to settle, and the next rejoin waits longer.
    pub(crate) fn rejoined(&mut self, now: Instant) {
        self.unread.reset();
        self.joined(now, 0);
        self.wait = (self.wait * 2).min(MAX_REJOIN_WAIT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rejoin_stagger_is_two_seconds_per_partition_held_plus_under_two_at_random() {
        let mut rejoin = Rejoin::new();
        rejoin.joined(Instant::now(), 3);
        assert!(
            (Duration::from_secs(6)..Duration::from_secs(8)).contains(&rejoin.stagger),
            "{:?}",
            rejoin.stagger
        );
        rejoin.joined(Instant::now(), 0);
        assert!(
            rejoin.stagger < Duration::from_secs(2),
            "{:?}",
            rejoin.stagger
        );
    }

    #[test]
    fn each_rejoin_doubles_the_wait_up_to_a_minute() {
        let mut rejoin = Rejoin::new();
        let waits: Vec<u64> = (0..6)
            .map(|_| {
                rejoin.rejoined(Instant::now());
                rejoin.wait.as_secs()
            })
            .collect();
        assert_eq!(waits, [8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn partitions_that_go_unread_are_orphans_only_when_not_held() {
        let mut rejoin = Rejoin::new();
        let health = JobHealth::default();
        let progress = BTreeMap::from([(0, PartitionProgress { counted: 0, end: 5 })]);
        // Well past any wait: joined long ago, as far as the rule can tell.
        rejoin.joined_at = Instant::now() - MAX_REJOIN_WAIT;
        rejoin.unread.look(Instant::now() - UNREAD_AFTER, &progress);
        let held = BTreeSet::from([0]);
        assert!(rejoin.look(&progress, &held, "t", &health).is_none());
        assert!(!health.has(Problem::NoPartitions));
        let orphans = rejoin
            .look(&progress, &BTreeSet::new(), "t", &health)
            .expect("time to rejoin");
        assert_eq!((orphans.partitions, orphans.waiting), (vec![0], 5));
        assert!(health.reasons()[0].contains("holds no partitions"));
    }
}
