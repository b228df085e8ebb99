//! The `wordfreq` launcher: its command line, the whole system in one process ([`system::System`],
//! which the binary and the test stacks start), and the text tools.

pub mod cli;
pub mod system;
pub mod text_tools;
