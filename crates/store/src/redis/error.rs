//! What a failed Redis call, or a reply this code cannot read, means for the store's callers.

use crate::contract::StoreError;

/// What a failed Redis call means for the caller: full (`OOM`: the server refused a write under
/// `maxmemory`, changing nothing) or unavailable.
pub(super) fn unavailable(err: redis::RedisError) -> StoreError {
    if err.code() == Some("OOM") {
        StoreError::Full(err.to_string())
    } else {
        StoreError::Unavailable(err.to_string())
    }
}

pub(super) fn protocol(err: redis::ParsingError) -> StoreError {
    StoreError::Protocol(err.to_string())
}
