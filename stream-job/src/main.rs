//! `stream-job`: thin entry point; everything lives in the library.

fn main() -> std::process::ExitCode {
    // Not built yet: say so instead of pretending to run.
    eprintln!("stream-job: not implemented yet");
    std::process::ExitCode::from(2)
}
