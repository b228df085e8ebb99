//! Why the system in one process could not start or stop cleanly: each case names what to fix
//! (a port, a variable, a server that does not answer), and keeps its cause as the source.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use stream_job::JobError;
use wordfreq_bus::BusError;
use wordfreq_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SystemError {
    /// Settings that cannot work, or would be ignored; the message names the variable.
    #[error("{0}")]
    Settings(String),
    #[error(
        "cannot listen on {addr} for {what}: is another process (another wordfreq?) using the port? Choose another with --api-addr / --dashboard-addr"
    )]
    Bind {
        addr: SocketAddr,
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("Redis at {url} does not answer")]
    RedisSilent {
        url: String,
        #[source]
        source: StoreError,
    },
    #[error("Kafka at {servers} does not answer (checked for {waited:?})")]
    KafkaSilent { servers: String, waited: Duration },
    #[error("creating the Kafka {what}")]
    KafkaClient {
        what: &'static str,
        #[source]
        source: BusError,
    },
    /// The in-process store's file: creating its directory, loading or saving it.
    #[error("{doing} {}", path.display())]
    DataFile {
        doing: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the in-process log")]
    Log(#[from] BusError),
    #[error("reading the store")]
    Store(#[from] StoreError),
    #[error("starting the stream job")]
    JobStart(#[source] JobError),
    #[error("the stream job")]
    Job(#[source] JobError),
    /// A service's server stopped with an error.
    #[error("the {service}")]
    Serve {
        service: &'static str,
        #[source]
        source: io::Error,
    },
    /// A service's task panicked.
    #[error("the {service} task")]
    Task {
        service: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
}
