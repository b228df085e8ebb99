//! Event-time tumbling windows and the watermark that closes them, as plain functions over data.
//!
//! Times are milliseconds since the Unix epoch (`i64`), event time unless said otherwise. Windows
//! are aligned to the epoch and half-open: `[start, start + size)`. A window closes when the
//! watermark reaches its end; a record for a closed window is late (DESIGN.md, "Windows").

use std::collections::BTreeMap;
use std::time::Duration;

use crate::Error;

/// Tumbling windows of one size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    size_ms: i64,
}

/// One tumbling window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Window {
    /// The window's name in Redis keys (`win:<start>`) and on `word_counts`: its start in whole
    /// Unix seconds.
    pub fn start_secs(&self) -> i64 {
        self.start_ms.div_euclid(1000)
    }

    /// Whether a watermark has passed this window's end, which makes it final.
    pub fn is_closed_by(&self, watermark_ms: i64) -> bool {
        watermark_ms >= self.end_ms
    }
}

impl Windows {
    /// Windows of `size`, which must be a whole, positive number of seconds so that every window
    /// has its own key in Unix seconds.
    pub fn new(size: Duration) -> Result<Self, Error> {
        let size_ms = i64::try_from(size.as_millis()).unwrap_or(i64::MAX);
        if size_ms <= 0 || size_ms % 1000 != 0 {
            return Err(Error::WindowSize(size));
        }
        Ok(Self { size_ms })
    }

    /// The size of each window.
    pub fn size(&self) -> Duration {
        Duration::from_millis(self.size_ms.unsigned_abs())
    }

    /// The window an event time falls in (times before 1970 included: floor, not truncation).
    pub fn window_of(&self, event_ms: i64) -> Window {
        let start_ms = event_ms - event_ms.rem_euclid(self.size_ms);
        Window {
            start_ms,
            end_ms: start_ms.saturating_add(self.size_ms),
        }
    }

    /// The windows that make up the sliding view "the last `span`" at `now_ms`: the window holding
    /// `now_ms` and the ones before it, as many as `span` covers (at least one), newest first.
    pub fn recent(&self, now_ms: i64, span: Duration) -> impl Iterator<Item = Window> + use<> {
        let span_ms = i64::try_from(span.as_millis()).unwrap_or(i64::MAX);
        let count = span_ms
            .saturating_add(self.size_ms - 1)
            .div_euclid(self.size_ms)
            .max(1);
        let newest = self.window_of(now_ms);
        let size_ms = self.size_ms;
        (0..count).map(move |back| {
            let start_ms = newest.start_ms - back * size_ms;
            Window {
                start_ms,
                end_ms: start_ms + size_ms,
            }
        })
    }
}

/// A topic partition, as the watermark tracks it.
pub type PartitionId = i32;

/// The event-time frontier of a consumer: the least, over its active partitions, of the largest
/// event time seen, minus the allowed lateness. It never goes back.
///
/// A partition that has seen nothing for `idle_timeout` (processing time) stops holding the
/// watermark back. When every partition is idle, the stream has caught up with the present, so the
/// watermark moves on with processing time (now minus `idle_timeout`): event time is stamped at
/// ingestion, so a record that has not arrived by then will be late anyway. Without this the last
/// window before a quiet spell would never close.
#[derive(Debug, Clone)]
pub struct Watermark {
    allowed_lateness_ms: i64,
    idle_timeout_ms: i64,
    partitions: BTreeMap<PartitionId, PartitionProgress>,
    current_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
struct PartitionProgress {
    /// `None` until the partition's first record: an assigned partition that may still hold old
    /// records holds the watermark back until it shows them or goes idle.
    max_event_ms: Option<i64>,
    last_active_ms: i64,
}

impl Watermark {
    pub fn new(allowed_lateness: Duration, idle_timeout: Duration) -> Self {
        Self {
            allowed_lateness_ms: duration_ms(allowed_lateness),
            idle_timeout_ms: duration_ms(idle_timeout),
            partitions: BTreeMap::new(),
            current_ms: None,
        }
    }

    /// A partition was assigned to this consumer at processing time `now_ms`.
    pub fn assign(&mut self, partition: PartitionId, now_ms: i64) {
        self.partitions
            .entry(partition)
            .or_insert(PartitionProgress {
                max_event_ms: None,
                last_active_ms: now_ms,
            });
    }

    /// A partition was taken away: it no longer holds the watermark back.
    pub fn revoke(&mut self, partition: PartitionId) {
        self.partitions.remove(&partition);
    }

    /// A record with event time `event_ms` was read from `partition` at processing time `now_ms`.
    pub fn observe(&mut self, partition: PartitionId, event_ms: i64, now_ms: i64) {
        let progress = self
            .partitions
            .entry(partition)
            .or_insert(PartitionProgress {
                max_event_ms: None,
                last_active_ms: now_ms,
            });
        progress.max_event_ms = Some(
            progress
                .max_event_ms
                .map_or(event_ms, |max| max.max(event_ms)),
        );
        progress.last_active_ms = progress.last_active_ms.max(now_ms);
    }

    /// The watermark as of the last [`Watermark::advance`], if there is one yet.
    pub fn current(&self) -> Option<i64> {
        self.current_ms
    }

    /// Recomputes the watermark at processing time `now_ms` and returns it (`None` while an active
    /// partition has shown no record yet, or nothing was ever assigned or seen).
    pub fn advance(&mut self, now_ms: i64) -> Option<i64> {
        let is_active =
            |progress: &PartitionProgress| now_ms - progress.last_active_ms < self.idle_timeout_ms;
        let mut active = self.partitions.values().filter(|p| is_active(p)).peekable();
        let frontier = if active.peek().is_some() {
            active
                .map(|progress| progress.max_event_ms)
                .try_fold(i64::MAX, |least, max| max.map(|max| least.min(max)))
        } else if self.partitions.is_empty() {
            None
        } else {
            let newest_seen = self
                .partitions
                .values()
                .filter_map(|p| p.max_event_ms)
                .max();
            Some(
                newest_seen
                    .unwrap_or(i64::MIN)
                    .max(now_ms - self.idle_timeout_ms),
            )
        };
        if let Some(frontier) = frontier {
            let candidate = frontier.saturating_sub(self.allowed_lateness_ms);
            self.current_ms = Some(
                self.current_ms
                    .map_or(candidate, |current| current.max(candidate)),
            );
        }
        self.current_ms
    }

    /// Whether a record with this event time falls in a window the watermark has already closed.
    pub fn is_late(&self, windows: &Windows, event_ms: i64) -> bool {
        self.current_ms
            .is_some_and(|watermark| windows.window_of(event_ms).is_closed_by(watermark))
    }
}

fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn minutes() -> Windows {
        Windows::new(MINUTE).unwrap()
    }

    #[test]
    fn windows_are_aligned_to_the_epoch_and_half_open() {
        let window = minutes().window_of(125_000);
        assert_eq!(
            window,
            Window {
                start_ms: 120_000,
                end_ms: 180_000
            }
        );
        assert_eq!(minutes().window_of(180_000).start_ms, 180_000);
        assert_eq!(minutes().window_of(179_999).start_ms, 120_000);
        assert_eq!(window.start_secs(), 120);
    }

    #[test]
    fn times_before_the_epoch_fall_in_the_window_below_them() {
        assert_eq!(minutes().window_of(-1).start_ms, -60_000);
        assert_eq!(minutes().window_of(-60_000).start_ms, -60_000);
    }

    #[test]
    fn a_window_size_must_be_whole_positive_seconds() {
        assert!(Windows::new(Duration::ZERO).is_err());
        assert!(Windows::new(Duration::from_millis(1500)).is_err());
        assert_eq!(
            Windows::new(Duration::from_secs(5)).unwrap().size(),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn a_window_closes_when_the_watermark_reaches_its_end() {
        let window = minutes().window_of(0);
        assert!(!window.is_closed_by(59_999));
        assert!(window.is_closed_by(60_000));
    }

    #[test]
    fn the_last_five_minutes_are_the_current_window_and_the_four_before_it() {
        let starts: Vec<i64> = minutes()
            .recent(300_500, 5 * MINUTE)
            .map(|w| w.start_ms / 1000)
            .collect();
        assert_eq!(starts, [300, 240, 180, 120, 60]);
        assert_eq!(minutes().recent(300_500, Duration::from_secs(1)).count(), 1);
        assert_eq!(
            minutes().recent(300_500, Duration::from_secs(61)).count(),
            2
        );
    }

    fn tracker() -> Watermark {
        Watermark::new(Duration::from_secs(30), Duration::from_secs(10))
    }

    #[test]
    fn the_watermark_is_the_slowest_active_partition_minus_the_allowed_lateness() {
        let mut watermark = tracker();
        watermark.observe(0, 100_000, 0);
        watermark.observe(1, 80_000, 0);
        assert_eq!(watermark.advance(1_000), Some(50_000));
        watermark.observe(1, 120_000, 2_000);
        assert_eq!(watermark.advance(2_000), Some(70_000));
    }

    #[test]
    fn an_assigned_partition_without_records_holds_the_watermark_until_it_goes_idle() {
        let mut watermark = tracker();
        watermark.assign(1, 0);
        watermark.observe(0, 100_000, 0);
        assert_eq!(watermark.advance(5_000), None);
        watermark.observe(0, 100_000, 10_000);
        assert_eq!(watermark.advance(10_000), Some(70_000));
    }

    #[test]
    fn an_idle_partition_stops_holding_the_watermark_back() {
        let mut watermark = tracker();
        watermark.observe(0, 50_000, 0);
        watermark.observe(1, 200_000, 0);
        assert_eq!(watermark.advance(0), Some(20_000));
        watermark.observe(1, 210_000, 15_000);
        assert_eq!(watermark.advance(15_000), Some(180_000));
    }

    #[test]
    fn when_every_partition_is_idle_the_watermark_follows_processing_time() {
        let mut watermark = tracker();
        watermark.observe(0, 100_000, 100_000);
        assert_eq!(watermark.advance(100_000), Some(70_000));
        assert_eq!(watermark.advance(200_000), Some(160_000));
    }

    #[test]
    fn the_watermark_never_goes_back() {
        let mut watermark = tracker();
        watermark.observe(0, 100_000, 0);
        assert_eq!(watermark.advance(0), Some(70_000));
        watermark.assign(1, 1_000);
        watermark.observe(1, 10_000, 1_000);
        assert_eq!(watermark.advance(1_000), Some(70_000));
        watermark.revoke(0);
        watermark.revoke(1);
        assert_eq!(watermark.advance(2_000), Some(70_000));
    }

    #[test]
    fn a_record_is_late_only_once_its_window_has_closed() {
        let mut watermark = tracker();
        assert!(!watermark.is_late(&minutes(), 0));
        watermark.observe(0, 120_000, 0);
        watermark.advance(0);
        assert!(watermark.is_late(&minutes(), 59_999));
        assert!(!watermark.is_late(&minutes(), 60_000));
    }
}
