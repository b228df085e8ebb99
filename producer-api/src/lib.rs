//! The producer API: accepts submitted text over HTTP (the original's FastAPI contract) and puts each submission on the `user_text` topic, answering only after the broker acknowledged it.
//!
//! Skeleton: the service is built in issue 3.
