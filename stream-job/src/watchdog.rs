//! Whether partitions of the topic go unread: records wait in them and nobody counts them. The
//! job asks this of what it can see itself (each partition's end offset and the offset the store
//! has counted up to, which every instance of the group moves on), so it works whatever the
//! broker's group coordinator does; see docs/ARCHITECTURE.md ("Consumer group membership").

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long a partition's records may wait with the store's offset standing still before the
/// partition counts as unread. Longer than a rebalance takes (about 3 s on tansu, a few on Kafka)
/// and than a slow flush, so a healthy group is never suspected.
pub const UNREAD_AFTER: Duration = Duration::from_secs(6);

/// What one look at a partition found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionProgress {
    /// The offset the store has counted up to (the partition's earliest, if never counted).
    pub counted: i64,
    /// The offset the partition's next record will get.
    pub end: i64,
}

/// Remembers since when each partition's counted offset stands still with records waiting.
#[derive(Debug, Default)]
pub struct UnreadWatch {
    /// Partition → (counted offset last seen, since when it has stood there with records waiting).
    waiting: BTreeMap<i32, (i64, Instant)>,
}

impl UnreadWatch {
    /// Takes one look at every partition of the topic; returns the partitions unread for at least
    /// [`UNREAD_AFTER`], with the records waiting in each.
    pub fn look(
        &mut self,
        now: Instant,
        partitions: &BTreeMap<i32, PartitionProgress>,
    ) -> Vec<(i32, i64)> {
        self.waiting
            .retain(|partition, _| partitions.contains_key(partition));
        let mut unread = Vec::new();
        for (&partition, progress) in partitions {
            if progress.counted >= progress.end {
                self.waiting.remove(&partition);
                continue;
            }
            let (counted, since) = self
                .waiting
                .entry(partition)
                .or_insert((progress.counted, now));
            if *counted != progress.counted {
                // Someone counted more of it since the last look: it is being read.
                *counted = progress.counted;
                *since = now;
            }
            if now.duration_since(*since) >= UNREAD_AFTER {
                unread.push((partition, progress.end - progress.counted));
            }
        }
        unread
    }

    /// Forgets what was seen: after a rebalance a partition may have a new owner, who gets the
    /// whole [`UNREAD_AFTER`] to show it reads it.
    pub fn reset(&mut self) {
        self.waiting.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(entries: &[(i32, i64, i64)]) -> BTreeMap<i32, PartitionProgress> {
        entries
            .iter()
            .map(|&(partition, counted, end)| (partition, PartitionProgress { counted, end }))
            .collect()
    }

    #[test]
    fn a_partition_is_unread_once_its_records_wait_with_the_counted_offset_still() {
        let mut watch = UnreadWatch::default();
        let start = Instant::now();
        assert!(
            watch
                .look(start, &progress(&[(0, 10, 50), (1, 5, 5)]))
                .is_empty()
        );
        assert!(
            watch
                .look(
                    start + Duration::from_secs(3),
                    &progress(&[(0, 10, 60), (1, 5, 5)])
                )
                .is_empty()
        );
        assert_eq!(
            watch.look(start + UNREAD_AFTER, &progress(&[(0, 10, 70), (1, 5, 5)])),
            vec![(0, 60)]
        );
    }

    #[test]
    fn progress_or_catching_up_clears_the_suspicion() {
        let mut watch = UnreadWatch::default();
        let start = Instant::now();
        watch.look(start, &progress(&[(0, 10, 50)]));
        // Counted on by another instance: not unread, and the clock starts again.
        assert!(
            watch
                .look(start + UNREAD_AFTER, &progress(&[(0, 20, 60)]))
                .is_empty()
        );
        assert!(
            watch
                .look(
                    start + UNREAD_AFTER * 2 - Duration::from_millis(1),
                    &progress(&[(0, 20, 60)])
                )
                .is_empty()
        );
        assert_eq!(
            watch.look(start + UNREAD_AFTER * 2, &progress(&[(0, 20, 60)])),
            vec![(0, 40)]
        );
        // Caught up: nothing waits.
        assert!(
            watch
                .look(start + UNREAD_AFTER * 3, &progress(&[(0, 60, 60)]))
                .is_empty()
        );
        watch.reset();
        assert!(
            watch
                .look(start + UNREAD_AFTER * 4, &progress(&[(0, 60, 70)]))
                .is_empty()
        );
    }
}
