//! The `wordfreq` launcher: its command line and the text tools. The all-in-one embedded mode
//! (producer API, stream job and dashboard in one process) is built here too.

pub mod cli;
pub mod text_tools;
