//! Why the stream job stops: the one error its loop, each part the loop calls, and its start-up as
//! a service return.

use std::io;
use std::net::SocketAddr;

use wordfreq_bus::BusError;

/// Why the job stopped.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("invalid setting: {0}")]
    Settings(String),
    /// The store may evict the keys exactly-once depends on.
    #[error("refusing to count into this store: {0}")]
    EvictingStore(String),
    #[error("shutting down")]
    ShuttingDown,
    #[error("creating the Kafka {what}")]
    Kafka {
        what: &'static str,
        #[source]
        source: BusError,
    },
    #[error("binding {addr} for metrics (is another process using the port?)")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("serving /metrics and /health")]
    Serve(#[source] io::Error),
}
