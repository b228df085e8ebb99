//! `simulate_users` as a process against the real services in this process: the default mode, the
//! load test and its open loop, `--verify` passing and failing, and a service that is not there.

mod helpers;
mod load;
mod simulate;
mod verify;
