//! A real `redis-server` for a test, or the one named by `WORDFREQ_TEST_REDIS`.

use std::net::SocketAddr;
use std::time::Duration;

use crate::process::{Launch, ServerProcess};

/// Environment variable naming an already-running Redis (`redis://host:port/`) to use instead.
pub const EXTERNAL_REDIS: &str = "WORDFREQ_TEST_REDIS";

/// How Redis keeps its data across a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Nothing survives a restart.
    None,
    /// Append-only file, fsync on every write: what survives a crash in production.
    AppendOnly,
}

/// A Redis server for one test. Stopped when dropped.
pub struct RedisServer {
    url: String,
    process: Option<ServerProcess>,
}

impl RedisServer {
    /// Starts a fresh `redis-server` without persistence, or uses `WORDFREQ_TEST_REDIS`.
    pub fn start() -> Self {
        Self::start_with(Persistence::None)
    }

    /// Starts a fresh `redis-server` with the given persistence, or uses `WORDFREQ_TEST_REDIS`.
    pub fn start_with(persistence: Persistence) -> Self {
        if let Ok(url) = std::env::var(EXTERNAL_REDIS) {
            return Self { url, process: None };
        }
        let launch = Launch {
            program: "redis-server",
            install_hint: "run scripts/test.sh (it installs Debian's redis-server) or set WORDFREQ_TEST_REDIS",
            args: match persistence {
                Persistence::None => args_without_persistence,
                Persistence::AppendOnly => args_with_append_only_file,
            },
            ready: answers_ping,
            stop_grace: Duration::from_secs(10),
        };
        let process = ServerProcess::start(launch);
        Self {
            url: format!("redis://{}/", process.addr()),
            process: Some(process),
        }
    }

    /// The server's URL, `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops the server (SIGTERM). Panics for an external server, which the kit does not own.
    pub fn stop(&mut self) {
        self.owned("stop").stop();
    }

    /// Kills the server (SIGKILL).
    pub fn kill(&mut self) {
        self.owned("kill").kill();
    }

    /// Restarts the server on the same port and data directory and waits until it answers.
    pub fn restart(&mut self) {
        self.owned("restart").restart();
    }

    /// The server's log (across restarts), for a test to keep; `None` for an external server. It
    /// lives in the server's temporary directory, gone when this is dropped.
    pub fn log_path(&self) -> Option<std::path::PathBuf> {
        self.process.as_ref().map(ServerProcess::log_path)
    }

    fn owned(&mut self, action: &str) -> &mut ServerProcess {
        self.process
            .as_mut()
            .unwrap_or_else(|| panic!("cannot {action} the external Redis at {}", self.url))
    }
}

fn common_args(port: u16) -> Vec<String> {
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--dir",
        ".",
        "--protected-mode",
        "no",
    ]
    .map(String::from)
    .to_vec()
}

fn args_without_persistence(port: u16) -> Vec<String> {
    let mut args = common_args(port);
    args.extend(["--appendonly", "no"].map(String::from));
    args
}

fn args_with_append_only_file(port: u16) -> Vec<String> {
    let mut args = common_args(port);
    args.extend(["--appendonly", "yes", "--appendfsync", "always"].map(String::from));
    args
}

fn answers_ping(addr: SocketAddr) -> Result<(), String> {
    let client = redis::Client::open(format!("redis://{addr}/")).map_err(|err| err.to_string())?;
    let mut connection = client
        .get_connection_with_timeout(Duration::from_secs(1))
        .map_err(|err| err.to_string())?;
    // A server still loading its append-only file answers LOADING, which is not ready.
    redis::cmd("PING")
        .query::<String>(&mut connection)
        .map_err(|err| err.to_string())
        .and_then(|pong| if pong == "PONG" { Ok(()) } else { Err(pong) })
}
