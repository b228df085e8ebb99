//! The stream job: consumes `user_text`, counts words per event-time window and all-time, and applies each batch to Redis exactly once.
//!
//! Skeleton: the service is built in issue 4.
