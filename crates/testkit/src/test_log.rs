//! The in-process services' logs in a test: written (through the test harness, so a passing
//! test's lines stay captured) only when `TEST_LOG` is set, so a test run is quiet unless asked.

use tracing_subscriber::EnvFilter;

/// Installs the test log once per test binary when `TEST_LOG` is set; `RUST_LOG` filters it, else
/// `default_filter` does. Without `TEST_LOG` no subscriber is installed and nothing is written.
pub fn init_test_log(default_filter: &str) {
    if std::env::var_os("TEST_LOG").is_none() {
        return;
    }
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // Every test of the binary calls it; the first installs the subscriber, the rest are no-ops.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
