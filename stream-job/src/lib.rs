//! The stream job: consumes `user_text` as a member of a consumer group, tokenizes with the domain
//! tokenizer, counts per event-time tumbling window and all-time, and applies each batch to the
//! store exactly once (see [`job`] for the guarantee). Bad records go to `user_text.dlq`; the final
//! top words of each closed window go to `word_counts`.

mod batch;
pub mod config;
mod error;
pub mod eviction;
pub mod health;
pub mod job;
mod lag;
pub mod metrics;
mod outputs;
pub mod positions;
mod rejoin;
mod retry;
pub mod service;
pub mod watchdog;

pub use config::{JobArgs, JobSettings};
pub use error::JobError;
pub use job::StreamJob;
pub use metrics::{JobMetrics, serve_metrics};
