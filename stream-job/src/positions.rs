//! Where each assigned partition stands: the next offset to count. The store's offsets are the
//! truth; this mirrors them for the records in flight, so the job counts each offset once whatever
//! the consumer delivers (a record already counted is skipped; one past a gap sends the consumer
//! back).

use std::collections::HashMap;

/// What to do with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Count it.
    Count,
    /// Already counted (its offset is below the position): drop it.
    Skip,
    /// Records are missing before it: seek the partition back to `resume_at` and drop it.
    SeekBack { resume_at: i64 },
    /// The partition has no position yet: load one, then ask again.
    Unpositioned,
}

#[derive(Debug, Clone, Copy)]
struct Position {
    next: i64,
    /// A seek back to `next` was asked for. librdkafka discards what it fetched before a seek, so
    /// a record still past `next` afterwards means the records in between are gone (retention):
    /// counting resumes from it.
    sought: bool,
}

/// Positions of the assigned partitions.
#[derive(Debug, Default)]
pub struct Positions {
    partitions: HashMap<i32, Position>,
}

impl Positions {
    /// Sets where a partition resumes.
    pub fn set(&mut self, partition: i32, next: i64) {
        self.partitions.insert(
            partition,
            Position {
                next,
                sought: false,
            },
        );
    }

    pub fn remove(&mut self, partition: i32) {
        self.partitions.remove(&partition);
    }

    pub fn next(&self, partition: i32) -> Option<i64> {
        self.partitions
            .get(&partition)
            .map(|position| position.next)
    }

    pub fn partitions(&self) -> impl Iterator<Item = i32> + '_ {
        self.partitions.keys().copied()
    }

    /// Decides about the record at `offset`, and moves the position past it when it counts.
    pub fn admit(&mut self, partition: i32, offset: i64) -> Admit {
        let Some(position) = self.partitions.get_mut(&partition) else {
            return Admit::Unpositioned;
        };
        if offset < position.next {
            Admit::Skip
        } else if offset == position.next || position.sought {
            position.next = offset + 1;
            position.sought = false;
            Admit::Count
        } else {
            position.sought = true;
            Admit::SeekBack {
                resume_at: position.next,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_at_the_position_counts_and_moves_it_on() {
        let mut positions = Positions::default();
        positions.set(0, 10);
        assert_eq!(positions.admit(0, 10), Admit::Count);
        assert_eq!(positions.admit(0, 11), Admit::Count);
        assert_eq!(positions.next(0), Some(12));
    }

    #[test]
    fn a_record_below_the_position_was_counted_already_and_is_skipped() {
        let mut positions = Positions::default();
        positions.set(0, 10);
        assert_eq!(positions.admit(0, 3), Admit::Skip);
        assert_eq!(positions.next(0), Some(10));
    }

    #[test]
    fn a_record_past_a_gap_sends_the_consumer_back_once() {
        let mut positions = Positions::default();
        positions.set(0, 10);
        assert_eq!(positions.admit(0, 15), Admit::SeekBack { resume_at: 10 });
        assert_eq!(positions.admit(0, 10), Admit::Count);
        assert_eq!(positions.admit(0, 11), Admit::Count);
    }

    #[test]
    fn after_a_seek_back_a_record_still_past_the_gap_counts_because_the_rest_is_gone() {
        let mut positions = Positions::default();
        positions.set(0, 0);
        assert_eq!(positions.admit(0, 500), Admit::SeekBack { resume_at: 0 });
        assert_eq!(positions.admit(0, 500), Admit::Count);
        assert_eq!(positions.next(0), Some(501));
    }

    #[test]
    fn a_partition_without_position_must_be_positioned_first() {
        let mut positions = Positions::default();
        assert_eq!(positions.admit(4, 0), Admit::Unpositioned);
        positions.set(4, 0);
        positions.remove(4);
        assert_eq!(positions.admit(4, 0), Admit::Unpositioned);
    }
}
