//! Records waiting to be counted, as the broker's watermarks show them: the lag of each partition
//! this instance holds (for `/metrics`), and the progress of every partition of the topic (for the
//! unread-partitions watch, [`crate::watchdog`]). Both read the watermarks the same way.

use std::collections::BTreeMap;

use wordfreq_bus::Subscriber;
use wordfreq_store::Store;

use crate::health::{JobHealth, Problem};
use crate::metrics::JobMetrics;
use crate::positions::Positions;
use crate::watchdog::PartitionProgress;

/// Each partition's (earliest offset, next offset), one broker round trip each. A partition whose
/// query failed is left out: the next look asks again.
async fn watermarks(
    subscriber: &mut dyn Subscriber,
    partitions: &[i32],
) -> BTreeMap<i32, (i64, i64)> {
    let mut marks = BTreeMap::new();
    for &partition in partitions {
        if let Ok(found) = subscriber.watermarks(partition).await {
            marks.insert(partition, found);
        }
    }
    marks
}

/// Sets each positioned partition's lag: records in it not yet counted.
pub(crate) async fn measure_lag(
    subscriber: &mut dyn Subscriber,
    positions: &Positions,
    metrics: &JobMetrics,
) {
    let partitions: Vec<i32> = positions.partitions().collect();
    for (partition, (_, high)) in watermarks(subscriber, &partitions).await {
        if let Some(next) = positions.next(partition) {
            metrics.set_lag(partition, (high - next).max(0));
        }
    }
}

/// How far each partition of `topic` is counted (by any instance: the store's offset) and how far
/// it is written; `None` when there is nothing to judge by. A store that is full stops every
/// instance alike, so no look is taken while it is.
pub(crate) async fn partition_progress(
    subscriber: &mut dyn Subscriber,
    store: &dyn Store,
    topic: &str,
    health: &JobHealth,
) -> Option<BTreeMap<i32, PartitionProgress>> {
    let partitions = subscriber.topic_partitions().await.ok()?;
    if partitions.is_empty() || health.has(Problem::StoreFull) {
        return None;
    }
    let stored = store.offsets(topic).await.ok()?;
    let progress = watermarks(subscriber, &partitions)
        .await
        .into_iter()
        .map(|(partition, (low, end))| {
            let counted = stored.get(&partition).copied().unwrap_or(low).max(low);
            (partition, PartitionProgress { counted, end })
        })
        .collect();
    Some(progress)
}
