//! What the launcher's process-level tests share: the repository root, and the workspace's other
//! binaries, which `cargo test --workspace` builds beside `wordfreq`.

use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A binary of this workspace, built beside `wordfreq`.
pub fn binary(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_wordfreq")).with_file_name(name);
    assert!(
        path.exists(),
        "{} is not built: run the tests with `cargo test --workspace` (scripts/test.sh does)",
        path.display()
    );
    path
}
