//! The stream job's rule for the store's eviction policy: a store that may drop any key would
//! silently lose or double counts, so the job refuses it; one that may drop keys with a TTL keeps
//! the counts exact but may lose windows early, so the job warns.

use std::time::Duration;

use wordfreq_store::EvictionPolicy;

/// What the job does with a store of a given policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Run,
    /// Runs, and logs this once.
    Warn(String),
    /// Stops with this message.
    Refuse(String),
}

/// The verdict on `policy`, for windows kept `window_retention`.
pub fn judge(policy: &EvictionPolicy, window_retention: Duration) -> Verdict {
    match policy {
        EvictionPolicy::NoEviction => Verdict::Run,
        EvictionPolicy::AllKeys(name) => Verdict::Refuse(format!(
            "Redis's maxmemory-policy is {name}: when Redis is full it evicts any key, the stored \
             Kafka offsets among them (after which records are counted twice) and the rankings \
             (whose counts are then lost), without telling anyone. Set maxmemory-policy to \
             noeviction (`CONFIG SET maxmemory-policy noeviction`, and in redis.conf): a full \
             Redis then refuses writes, and the stream job keeps its batch and retries until \
             there is room"
        )),
        EvictionPolicy::Volatile(name) => Verdict::Warn(format!(
            "Redis's maxmemory-policy is {name}: when Redis is full it evicts keys with a TTL, so \
             per-window counts may vanish before WINDOW_RETENTION ({}); the all-time counts and \
             the offsets have no TTL and stay exact. Set maxmemory-policy to noeviction to keep \
             every window",
            humantime::format_duration(window_retention)
        )),
        EvictionPolicy::Unknown(why) => Verdict::Warn(format!(
            "could not check Redis's maxmemory-policy ({why}); running. It must not be \
             allkeys-* (which evicts the stored offsets and rankings): noeviction keeps every count"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn allkeys_is_refused_naming_the_setting_the_loss_and_the_fix() {
        let Verdict::Refuse(message) = judge(&EvictionPolicy::parse("allkeys-lru"), DAY) else {
            panic!("allkeys-lru must be refused");
        };
        for needed in [
            "maxmemory-policy",
            "allkeys-lru",
            "offsets",
            "counted twice",
            "noeviction",
        ] {
            assert!(
                message.contains(needed),
                "{needed:?} missing from: {message}"
            );
        }
    }

    #[test]
    fn volatile_warns_about_windows_and_noeviction_runs() {
        let Verdict::Warn(message) = judge(&EvictionPolicy::parse("volatile-lru"), DAY) else {
            panic!("volatile-lru must warn");
        };
        assert!(message.contains("WINDOW_RETENTION (1day)"), "{message}");
        assert_eq!(judge(&EvictionPolicy::NoEviction, DAY), Verdict::Run);
        assert!(matches!(
            judge(&EvictionPolicy::Unknown("CONFIG refused".into()), DAY),
            Verdict::Warn(message) if message.contains("could not check")
        ));
    }
}
