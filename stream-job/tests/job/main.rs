//! The stream job end to end: counts exact against `wordfreq count`, bad records to the
//! dead-letter topic, restarts without loss or doubling, instances sharing a consumer group.

mod exactness;
mod faults;
mod group;
mod helpers;
mod lateness;
mod observability;
mod store_memory;
mod stuck_member;
