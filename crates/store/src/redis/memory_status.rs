//! How full Redis is and what it drops when full, for [`Store::memory`](crate::Store::memory).

use std::collections::HashMap;

use redis::aio::ConnectionManager;

use super::error::unavailable;
use crate::contract::StoreError;
use crate::eviction::{EvictionPolicy, MemoryStatus};

/// Whether Redis refused a command to this client (renamed or disabled `CONFIG`, an ACL without
/// it) rather than failed to answer.
fn is_refusal(err: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    matches!(
        err.kind(),
        ErrorKind::Server(ServerErrorKind::ResponseError | ServerErrorKind::NoPerm)
            | ErrorKind::Extension
    )
}

/// A reply, `None` when Redis refused the command to this client (see [`is_refusal`]).
fn refused_as_none<T>(reply: redis::RedisResult<T>) -> Result<Option<T>, StoreError> {
    match reply {
        Ok(value) => Ok(Some(value)),
        Err(err) if is_refusal(&err) => Ok(None),
        Err(err) => Err(unavailable(err)),
    }
}

/// A field of an `INFO` section's `name:value` lines.
fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key == name).then(|| value.trim())
    })
}

/// `CONFIG GET maxmemory-policy` and `maxmemory`, falling back to `INFO memory` (which some
/// hosted offerings allow where they disable CONFIG); `used_memory` from `INFO memory`.
pub(super) async fn read(mut connection: ConnectionManager) -> Result<MemoryStatus, StoreError> {
    let config: Result<HashMap<String, String>, _> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory*")
        .query_async(&mut connection)
        .await;
    let config = refused_as_none(config)?;
    let info: Result<String, _> = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut connection)
        .await;
    let info = refused_as_none(info)?;
    let policy = config
        .as_ref()
        .and_then(|config| config.get("maxmemory-policy").map(String::as_str))
        .or_else(|| {
            info.as_deref()
                .and_then(|info| info_field(info, "maxmemory_policy"))
        });
    let max = config
        .as_ref()
        .and_then(|config| config.get("maxmemory").cloned())
        .or_else(|| {
            info.as_deref()
                .and_then(|info| info_field(info, "maxmemory").map(str::to_owned))
        });
    Ok(MemoryStatus {
        used_bytes: info
            .as_deref()
            .and_then(|info| info_field(info, "used_memory")?.parse().ok()),
        max_bytes: max
            .and_then(|max| max.parse().ok())
            .filter(|&max: &u64| max > 0),
        policy: policy.map_or_else(
            || {
                EvictionPolicy::Unknown(
                    "the server refused CONFIG GET and INFO memory to this user".into(),
                )
            },
            EvictionPolicy::parse,
        ),
    })
}
