//! A server binary run as a child process on a free loopback port, with stop, kill and restart on
//! the same port and data directory, so clients can reconnect to it as to a real server that
//! bounced.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::BorrowedFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;

/// How long a server may take to answer after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to exit after SIGTERM or SIGKILL before the kit gives up on it.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Between two checks of a condition that cannot be awaited any other way (a port opening, a
/// process exiting).
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// How to launch one server: the program and its arguments for a given port.
#[derive(Clone, Copy)]
pub(crate) struct Launch {
    pub program: &'static str,
    /// What to tell the user when the program is not installed.
    pub install_hint: &'static str,
    pub args: fn(port: u16) -> Vec<String>,
    /// Returns once the server answers requests, or an error saying why not yet.
    pub ready: fn(addr: SocketAddr) -> Result<(), String>,
    /// How long a graceful stop (SIGTERM) may take before the server is killed.
    pub stop_grace: Duration,
}

/// A running (or deliberately stopped) server process. Killed when dropped.
pub(crate) struct ServerProcess {
    launch: Launch,
    port: u16,
    data_dir: TempDir,
    child: Option<Child>,
}

impl ServerProcess {
    /// Starts the server on a free port and waits until it answers. Panics, saying why and with the
    /// end of the server's log, when it cannot be started: a test never passes without its server.
    pub fn start(launch: Launch) -> Self {
        let data_dir = tempfile::Builder::new()
            .prefix(&format!("wordfreq-{}-", launch.program))
            .tempdir()
            .expect("creating a data directory for a test server");
        let mut server = Self {
            launch,
            port: 0,
            data_dir,
            child: None,
        };
        // Another process may take the port between our probe and the server's bind; try again on
        // a new one when that happens.
        let mut last_error = String::new();
        for _ in 0..5 {
            server.port = free_port();
            match server.spawn_and_wait() {
                Ok(()) => return server,
                Err(err) => {
                    server.kill();
                    last_error = err;
                }
            }
        }
        panic!(
            "{} could not be started: {last_error}",
            server.launch.program
        );
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Stops the server gracefully (SIGTERM), as an orchestrator would; kills it if it hangs.
    pub fn stop(&mut self) {
        self.signal_and_reap(Signal::SIGTERM, self.launch.stop_grace);
    }

    /// Kills the server (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        self.signal_and_reap(Signal::SIGKILL, STOP_TIMEOUT);
    }

    /// Freezes the server (SIGSTOP), as a paused container or a cut network does: its connections
    /// stay open and nothing answers them. [`ServerProcess::resume`], a stop or a kill ends it.
    pub fn pause(&mut self) {
        self.signal(Signal::SIGSTOP);
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&mut self) {
        self.signal(Signal::SIGCONT);
    }

    fn signal(&self, signal: Signal) {
        if let Some(child) = &self.child {
            let pid = pid(child);
            kill(pid, signal).unwrap_or_else(|err| panic!("{signal} to {pid}: {err}"));
        }
    }

    /// Starts the server again on the same port with the same data directory. Panics if it does
    /// not come back.
    pub fn restart(&mut self) {
        self.stop();
        if let Err(err) = self.spawn_and_wait() {
            panic!(
                "{} did not come back on port {}: {err}",
                self.launch.program, self.port
            );
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let log_path = self.log_path();
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|err| format!("opening {}: {err}", log_path.display()))?;
        let log_err = log.try_clone().map_err(|err| err.to_string())?;
        let mut command = Command::new(self.launch.program);
        command
            .args((self.launch.args)(self.port))
            .current_dir(self.data_dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        die_with_parent(&mut command);
        inherit_only_stdio(&mut command);
        let child = command.spawn().map_err(|err| {
            if err.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "`{}` is not installed: {}",
                    self.launch.program, self.launch.install_hint
                )
            } else {
                format!("spawning `{}`: {err}", self.launch.program)
            }
        })?;
        self.child = Some(child);
        self.wait_until_ready()
    }

    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let addr = self.addr();
        let mut why = String::from("no answer yet");
        while Instant::now() < deadline {
            if !self.is_running() {
                return Err(format!(
                    "it exited early; its log ends:\n{}",
                    self.log_tail()
                ));
            }
            if TcpStream::connect_timeout(&addr, POLL_INTERVAL).is_ok() {
                match (self.launch.ready)(addr) {
                    // Another test's server may have taken the port meanwhile: ours must be alive.
                    Ok(()) if self.is_running() => return Ok(()),
                    Ok(()) => why = "another process answers on the port".into(),
                    Err(err) => why = err,
                }
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        Err(format!(
            "not ready after {START_TIMEOUT:?} ({why}); its log ends:\n{}",
            self.log_tail()
        ))
    }

    fn signal_and_reap(&mut self, signal: Signal, timeout: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = pid(&child);
        // The process may already be gone; reaping below tells the truth either way. A paused
        // one acts on the signal only once it goes on.
        let _ = kill(pid, signal);
        let _ = kill(pid, Signal::SIGCONT);
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if !matches!(child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// The server's stdout and stderr, across restarts.
    pub fn log_path(&self) -> PathBuf {
        self.data_dir.path().join("server.log")
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The process id signals are sent to.
fn pid(child: &Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id()).expect("pids fit in i32"))
}

/// A loopback port that was free a moment ago: for a server a test starts, or for an address
/// where nothing listens.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("binding a free loopback port")
}

/// Makes the kernel kill the server if the test process dies without running destructors (a test
/// harness timeout, a SIGKILL), so no orphan keeps a port or the CPU.
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    // SAFETY: the closure runs between fork and exec and only makes one async-signal-safe
    // system call (prctl).
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
        });
    }
}

/// Makes the process `command` starts inherit no file descriptor but its stdin, stdout and stderr.
///
/// librdkafka's mock cluster ([`crate::MockKafka`]) accepts connections without close-on-exec, so
/// every process the test starts afterwards (a job, another test's server) holds a copy of the
/// broker's end of each connection open at the time. When the mock then closes a connection (the
/// broker taken down), the copy keeps it open: the client never sees it close, and its requests
/// go unanswered until librdkafka's 60 s request timeout.
#[allow(unsafe_code)]
pub fn inherit_only_stdio(command: &mut Command) {
    // Descriptors are numbered lowest free first: beyond the highest one open now, a margin covers
    // those other threads open before the fork.
    let highest = std::fs::read_dir("/proc/self/fd")
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
                .max()
                .unwrap_or(2)
        })
        .unwrap_or(1024);
    let end = highest.saturating_add(1024);
    // SAFETY: the closure runs between fork and exec, allocates nothing and makes only fcntl
    // calls, which are async-signal-safe. A number that is not an open descriptor there is only
    // handed to fcntl, which answers EBADF.
    unsafe {
        command.pre_exec(move || {
            for raw in 3..end {
                let _ = fcntl(
                    BorrowedFd::borrow_raw(raw),
                    FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC),
                );
            }
            Ok(())
        });
    }
}
