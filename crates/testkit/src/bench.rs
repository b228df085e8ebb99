//! What the benchmark binaries share: their size (full under `cargo bench`, a smoke run otherwise),
//! percentiles, and where their reports go.

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

/// The `q` quantile (nearest rank) of `sorted` durations, in milliseconds.
pub fn percentile_ms(sorted: &[std::time::Duration], q: f64) -> f64 {
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// Writes a benchmark's figures to `target/bench/<name>.json` in the workspace (`cargo bench` runs
/// each bench in its own crate's directory).
pub fn write_bench_report(name: &str, report: &serde_json::Value) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&dir).expect("creating target/bench");
    let json = serde_json::to_vec_pretty(report).expect("a report serializes");
    std::fs::write(dir.join(format!("{name}.json")), json).expect("writing the bench report");
}
