//! Names private to one test, so tests share servers' namespaces without touching each other.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A topic, consumer group and Redis key prefix that no other test (in this or another process)
/// uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestNames {
    pub topic: String,
    pub group: String,
    /// With a hash tag, like the production prefix, so Lua scripts may touch all its keys.
    pub redis_prefix: String,
}

impl TestNames {
    /// Names for a test; `label` makes them readable in server logs.
    pub fn new(label: &str) -> Self {
        let id = unique_id();
        Self {
            topic: format!("{label}-{id}"),
            group: format!("{label}-group-{id}"),
            redis_prefix: format!("{{{label}-{id}}}:"),
        }
    }
}

fn unique_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    format!(
        "{}-{}-{nanos:x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_differ_between_calls_and_the_prefix_is_a_hash_tag() {
        let (first, second) = (TestNames::new("t"), TestNames::new("t"));
        assert_ne!(first, second);
        assert!(first.redis_prefix.starts_with("{t-") && first.redis_prefix.ends_with("}:"));
    }
}
