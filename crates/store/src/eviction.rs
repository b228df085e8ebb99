//! What the store's server does when it runs out of memory, and how full it is: read by the
//! stream job (which refuses a store that would drop its keys) and shown by the dashboard.

use std::fmt;

use serde::Serialize;

/// The server's `maxmemory-policy`, sorted by what it means for exactly-once counting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "policy", rename_all = "snake_case")]
pub enum EvictionPolicy {
    /// `noeviction`: a full server refuses writes and keeps every key; nothing is lost, the
    /// writer retries.
    NoEviction,
    /// `volatile-*`: a full server drops keys that have a TTL, so windows may vanish before their
    /// retention; the offsets and all-time counts (no TTL) stay.
    Volatile(String),
    /// `allkeys-*`: a full server drops any key, the offsets hash (after which replays count
    /// twice) and the rankings among them.
    AllKeys(String),
    /// The server would not say (CONFIG GET and INFO refused, as some hosted offerings do).
    Unknown(String),
}

impl EvictionPolicy {
    /// Reads a `maxmemory-policy` value.
    pub fn parse(name: &str) -> Self {
        let name = name.trim().to_ascii_lowercase();
        if name == "noeviction" {
            Self::NoEviction
        } else if name.starts_with("allkeys-") {
            Self::AllKeys(name)
        } else if name.starts_with("volatile-") {
            Self::Volatile(name)
        } else {
            Self::Unknown(format!("unrecognised maxmemory-policy {name:?}"))
        }
    }
}

impl fmt::Display for EvictionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoEviction => f.write_str("noeviction"),
            Self::Volatile(name) | Self::AllKeys(name) => f.write_str(name),
            Self::Unknown(why) => write!(f, "unknown ({why})"),
        }
    }
}

/// How full the store is and what it does when full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryStatus {
    /// Bytes in use (Redis's `used_memory`); `None` where the store cannot say.
    pub used_bytes: Option<u64>,
    /// The limit (`maxmemory`); `None` when there is none.
    pub max_bytes: Option<u64>,
    pub policy: EvictionPolicy,
}

impl MemoryStatus {
    /// A store that never evicts and has no limit of its own (the in-process store).
    pub fn unlimited() -> Self {
        Self {
            used_bytes: None,
            max_bytes: None,
            policy: EvictionPolicy::NoEviction,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_sorted_by_what_they_drop() {
        assert_eq!(
            EvictionPolicy::parse("noeviction"),
            EvictionPolicy::NoEviction
        );
        assert_eq!(
            EvictionPolicy::parse("allkeys-lru"),
            EvictionPolicy::AllKeys("allkeys-lru".into())
        );
        assert_eq!(
            EvictionPolicy::parse("ALLKEYS-RANDOM"),
            EvictionPolicy::AllKeys("allkeys-random".into())
        );
        assert_eq!(
            EvictionPolicy::parse("volatile-ttl"),
            EvictionPolicy::Volatile("volatile-ttl".into())
        );
        assert!(matches!(
            EvictionPolicy::parse("lfu"),
            EvictionPolicy::Unknown(_)
        ));
    }
}
