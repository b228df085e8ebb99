//! Where the counts live, as a small trait, [`Store`], with two adapters that behave the same (one//! conformance suite, `tests/conformance`, runs against both):
//!
//! - [`redis::RedisStore`]: production; each batch is one Lua script, loaded once and called by
//!   SHA, that checks every partition's offset before it changes anything;
//! - [`memory::MemoryStore`]: the embedded mode's in-process store, under one lock.
//!
//! Exactly-once: a [`FencedBatch`] says, per partition, which offsets it covers. It is applied only
//! if each range starts exactly where the stored offset says the last applied batch ended (or the
//! store has never seen the partition); then every increment and the new offsets land together. A
//! replay after a crash, or a batch from an instance that lost the partition, is
//! [`Applied::Rejected`] and changes nothing; its sender re-reads the offsets and seeks.

mod contract;
pub mod eviction;
pub mod keys;
pub mod memory;
pub mod redis;

pub use contract::{Applied, FencedBatch, OffsetRange, Stats, Store, StoreError, Update, View};
pub use eviction::{EvictionPolicy, MemoryStatus};
pub use memory::MemoryStore;
pub use redis::{RedisArgs, RedisStore};
