//! The `wordfreq` launcher: its command line, the flags of the whole system in one process, and the
//! text tools. Running the system is the binary's (`src/system.rs`).

pub mod cli;
pub mod launch;
pub mod text_tools;
