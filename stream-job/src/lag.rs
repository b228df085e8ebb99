//! Records waiting to be counted, as the broker's watermarks show them: the lag of each partition
//! this instance holds (for `/metrics`), and the progress of every partition of the topic (for the
//! unread-partitions watch, [`crate::watchdog`]).

use std::collections::BTreeMap;

use wordfreq_bus::Subscriber;
use wordfreq_store::Store;

use crate::health::{JobHealth, Problem};
use crate::metrics::JobMetrics;
use crate::positions::Positions;
use crate::watchdog::PartitionProgress;

/// Sets each positioned partition's lag: records in it not yet counted. A failed query skips a
/// partition until the next measurement.
pub(crate) async fn measure_lag(
    subscriber: &mut dyn Subscriber,
    positions: &Positions,
    metrics: &JobMetrics,
) {
    let positioned: Vec<(i32, i64)> = positions
        .partitions()
        .filter_map(|partition| Some((partition, positions.next(partition)?)))
        .collect();
    for (partition, next) in positioned {
        if let Ok((_, high)) = subscriber.watermarks(partition).await {
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
    let mut progress = BTreeMap::new();
    for partition in partitions {
        if let Ok((low, end)) = subscriber.watermarks(partition).await {
            let counted = stored.get(&partition).copied().unwrap_or(low).max(low);
            progress.insert(partition, PartitionProgress { counted, end });
        }
    }
    Some(progress)
}
