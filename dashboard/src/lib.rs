//! The dashboard: live top words over HTMX and server-sent events on :8501, reading the store and submitting through the producer API.
//!
//! Skeleton: the service is built in issue 5.
