//! The stream job end to end: counts exact against `wordfreq count`, bad records to the
//! dead-letter topic, restarts without loss or doubling.

mod exactness;
mod faults;
mod helpers;
mod lateness;
mod observability;
