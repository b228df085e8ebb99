//! How a run ends: the error when it could not be made, its conclusion when it could.

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the producer API at {url} is not reachable: {reason}")]
    ApiUnreachable { url: String, reason: String },
    #[error("the producer API at {url} is not healthy (HTTP {status}): {detail}")]
    ApiUnhealthy {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("the dashboard at {url} cannot be read: {reason}")]
    DashboardUnreadable { url: String, reason: String },
    #[error("cannot set up the HTTP client")]
    Client(#[source] reqwest::Error),
    #[error("{0}")]
    Config(String),
    #[error("cannot write the report to {path}")]
    Report {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// How a run that could be made ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conclusion {
    Passed,
    /// Each reason in a sentence.
    Failed(Vec<String>),
}
