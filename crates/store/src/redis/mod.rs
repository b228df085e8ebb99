//! The Redis adapter. Key layout (DESIGN.md, "Redis"), all under one prefix with a hash tag so the
//! script may touch every key, also on Redis Cluster: `all` and `win:<start>` sorted sets, the
//! `stats` and `offsets` hashes, and the `updates` channel.

mod args;
mod error;
mod memory_status;
mod store;

pub use args::{RedisArgs, redact};
pub use store::RedisStore;
