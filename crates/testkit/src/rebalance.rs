//! The stream job's rebalances as its JSON log lines tell them, for tests and benches that watch
//! which instance of a group holds which partitions.

use std::collections::BTreeSet;

use serde_json::Value;

/// What one log line of the stream job says about its partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rebalance {
    Assigned(Vec<i32>),
    Revoked(Vec<i32>),
}

impl Rebalance {
    /// The rebalance a log line tells of (`partitions assigned` / `partitions revoked`, with the
    /// partitions listed as `"[0, 2]"`), if it tells of one.
    pub fn of(line: &Value) -> Option<Self> {
        let listed = || {
            line["partitions"]
                .as_str()
                .unwrap_or_default()
                .trim_matches(['[', ']'])
                .split(',')
                .filter_map(|item| item.trim().parse().ok())
                .collect()
        };
        match line["message"].as_str()? {
            "partitions assigned" => Some(Self::Assigned(listed())),
            "partitions revoked" => Some(Self::Revoked(listed())),
            _ => None,
        }
    }

    /// Applies it to the partitions an instance holds.
    pub fn apply_to(&self, held: &mut BTreeSet<i32>) {
        match self {
            Self::Assigned(partitions) => held.extend(partitions),
            Self::Revoked(partitions) => {
                for partition in partitions {
                    held.remove(partition);
                }
            }
        }
    }
}
