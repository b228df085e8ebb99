//! One text sent and what became of it: what a load run keeps of each send, from which the
//! expectation and the JSON summary are made. Its own module so that `load` (which makes the
//! summary) and `summary` need not import each other.

use tokio::time::Instant;

use crate::http::Answer;

/// One text sent, and what became of it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub text: String,
    pub marker: Option<String>,
    /// When it was sent (closed loop) or fell due (open loop).
    pub at: Instant,
    pub answer: Answer,
}
