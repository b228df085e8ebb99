//! What the benchmark binaries share: their size, full under `cargo bench`, a smoke run otherwise.

/// A setting from the environment. `cargo bench` passes `--bench`; without it (`cargo test
/// --all-targets`), the defaults shrink to a smoke run so a benchmark cannot rot unseen.
pub fn bench_setting(name: &str, bench_default: u64, smoke_default: u64) -> u64 {
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(if benchmarking {
            bench_default
        } else {
            smoke_default
        })
}
