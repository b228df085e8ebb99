//! The whole system in one process, started by one call: [`System::start`] wires the producer
//! API, the stream job and the dashboard onto the in-process log and store by default (nothing
//! else to install), or onto Kafka and Redis when given (then it is the same code as the three
//! separate binaries), and hands back their addresses and the handle that stops them. The
//! `wordfreq` binary and the test stacks that need the real services all start it here.

mod args;
mod backends;
mod error;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use stream_job::{JobError, JobMetrics, StreamJob};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};
use wordfreq_bus::{MemoryBus, Retention};
use wordfreq_store::{MemoryStore, Store};

pub use args::SystemArgs;
pub use error::SystemError;

/// What a test stack changes about the system; the launcher runs [`Wiring::default`].
#[derive(Debug, Clone)]
pub struct Wiring {
    /// Run the stream job (off: a system in which nothing is ever counted).
    pub stream_job: bool,
    /// Let the producer API listen at start (off: it listens at [`System::start_api`], after the
    /// dashboard, on `--api-addr`, which must then name a port).
    pub api_at_start: bool,
    /// How long the in-process log keeps the input topic's records: until counted by default,
    /// which bounds its memory (they are in the store by then).
    pub input_retention: Retention,
}

impl Default for Wiring {
    fn default() -> Self {
        Self {
            stream_job: true,
            api_at_start: true,
            input_retention: Retention::UntilCommitted,
        }
    }
}

/// The running system: where each service listens, and the stop handle ([`System::stop`]).
/// Dropping it stops the services without the orderly drain.
pub struct System {
    pub api_addr: SocketAddr,
    pub dashboard_addr: SocketAddr,
    /// The stream job's `/metrics` and `/health`, when `--metrics-addr` is set.
    pub metrics_addr: Option<SocketAddr>,
    topic: String,
    store: Arc<dyn Store>,
    memory_store: Option<Arc<MemoryStore>>,
    data_file: Option<PathBuf>,
    memory_bus: Option<Arc<MemoryBus>>,
    api: Api,
    job: Option<JoinHandle<Result<(), JobError>>>,
    dashboard: JoinHandle<io::Result<()>>,
    stop_api: CancellationToken,
    stop_rest: CancellationToken,
    _stop_on_drop: [DropGuard; 2],
}

/// The producer API: serving, or ready to listen at [`System::start_api`].
enum Api {
    Serving(JoinHandle<io::Result<()>>),
    Pending(producer_api::AppState),
    Stopped,
}

impl System {
    /// Checks the settings, binds the ports, opens the log and the store (each must answer now)
    /// and starts the services; errors name what to fix.
    pub async fn start(mut args: SystemArgs, wiring: Wiring) -> Result<Self, SystemError> {
        // Settings first: refusing them costs nothing and names the variable to fix.
        args.check().map_err(SystemError::Settings)?;
        // Ports next: a busy one is the likeliest mistake, and the cheapest to report.
        let api_listener = match wiring.api_at_start {
            true => Some(bind(args.api_addr, "the producer API").await?),
            false if args.api_addr.port() == 0 => {
                return Err(SystemError::Settings(
                    "a producer API started later needs a port in --api-addr".into(),
                ));
            }
            false => None,
        };
        let api_addr = match &api_listener {
            Some(listener) => local_addr(listener, "producer API")?,
            None => args.api_addr,
        };
        let dashboard_listener = bind(args.dashboard_addr, "the dashboard").await?;
        let dashboard_addr = local_addr(&dashboard_listener, "dashboard")?;

        let stores = backends::open_store(&args).await?;
        let bus = backends::open_bus(&args, stores.shared.as_ref(), wiring.input_retention).await?;
        let stop_api = CancellationToken::new();
        let stop_rest = CancellationToken::new();
        let api_state =
            producer_api::AppState::new(bus.api.clone(), args.topic(), args.api.clone());
        let api = match api_listener {
            Some(listener) => Api::Serving(tokio::spawn(producer_api::serve(
                listener,
                api_state,
                stop_api.clone().cancelled_owned(),
            ))),
            None => Api::Pending(api_state),
        };

        let metrics = Arc::new(JobMetrics::default());
        let metrics_addr = match args.metrics_addr {
            Some(addr) => {
                let listener = bind(addr, "the stream job's metrics").await?;
                let bound = local_addr(&listener, "stream job's metrics")?;
                tokio::spawn(stream_job::serve_metrics(
                    listener,
                    metrics.clone(),
                    stores.shared.clone(),
                    stop_rest.clone().cancelled_owned(),
                ));
                Some(bound)
            }
            None => None,
        };
        let job = if wiring.stream_job {
            let job = StreamJob::new(
                bus.subscriber,
                stores.shared.clone(),
                bus.job.clone(),
                args.topic(),
                args.job.clone(),
                metrics,
                stop_rest.clone(),
            )
            .map_err(SystemError::JobStart)?;
            Some(tokio::spawn(job.run()))
        } else {
            None
        };

        let topic = args.topic().to_owned();
        args.dashboard.window_size = args.job.window_size;
        args.dashboard.producer_api_url = format!("http://127.0.0.1:{}", api_addr.port());
        let dashboard_state = dashboard::AppState::new(stores.shared.clone(), args.dashboard)
            .map_err(|err| SystemError::Settings(format!("{err:#}")))?;
        let dashboard = tokio::spawn(dashboard::serve(
            dashboard_listener,
            dashboard_state,
            stop_rest.clone().cancelled_owned(),
        ));

        if let (Some(path), Some(memory)) = (&stores.data_file, &stores.memory) {
            tokio::spawn(backends::save_periodically(
                memory.clone(),
                path.clone(),
                stop_rest.clone(),
            ));
        }

        Ok(Self {
            api_addr,
            dashboard_addr,
            metrics_addr,
            topic,
            store: stores.shared,
            memory_store: stores.memory,
            data_file: stores.data_file,
            memory_bus: bus.memory,
            api,
            job,
            dashboard,
            _stop_on_drop: [
                stop_api.clone().drop_guard(),
                stop_rest.clone().drop_guard(),
            ],
            stop_api,
            stop_rest,
        })
    }

    /// Lets the producer API listen on `--api-addr`, when [`Wiring::api_at_start`] was off.
    pub async fn start_api(&mut self) -> Result<(), SystemError> {
        let Api::Pending(state) = std::mem::replace(&mut self.api, Api::Stopped) else {
            return Ok(());
        };
        let listener = bind(self.api_addr, "the producer API").await?;
        self.api = Api::Serving(tokio::spawn(producer_api::serve(
            listener,
            state,
            self.stop_api.clone().cancelled_owned(),
        )));
        Ok(())
    }

    /// The in-process log, when the system runs on it (not on Kafka).
    pub fn memory_bus(&self) -> Option<&Arc<MemoryBus>> {
        self.memory_bus.as_ref()
    }

    /// Where the records and the counts are, in words: "the in-process log and Redis", ….
    pub fn backends(&self) -> String {
        let log = match self.memory_bus {
            Some(_) => "the in-process log",
            None => "Kafka",
        };
        let store = match (&self.memory_store, &self.data_file) {
            (None, _) => "Redis".to_owned(),
            (Some(_), Some(path)) => format!("the in-process store, saved to {}", path.display()),
            (Some(_), None) => "the in-process store (not saved: see --data-dir)".to_owned(),
        };
        format!("{log} and {store}")
    }

    /// Stops the API first, lets the job count what it accepted (the in-process log's records
    /// exist nowhere else), stops the rest, and saves the in-process store.
    pub async fn stop(mut self) -> Result<(), SystemError> {
        tracing::info!(
            "stopping: the API first, then the job once it has counted what the API took"
        );
        self.stop_api.cancel();
        if let Api::Serving(api) = std::mem::replace(&mut self.api, Api::Stopped) {
            finished("producer API", api).await?;
        }
        if let (Some(log), Some(_)) = (&self.memory_bus, &self.job) {
            backends::drain(log, self.store.as_ref(), &self.topic).await;
        }
        self.stop_rest.cancel();
        if let Some(job) = self.job.take() {
            job.await
                .map_err(|source| SystemError::Task {
                    service: "stream job",
                    source,
                })?
                .map_err(SystemError::Job)?;
        }
        finished("dashboard", self.dashboard).await?;
        if let (Some(path), Some(memory)) = (&self.data_file, &self.memory_store) {
            backends::save(memory, path)?;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Waits for a service's server to end, naming it if it failed.
async fn finished(
    service: &'static str,
    task: JoinHandle<io::Result<()>>,
) -> Result<(), SystemError> {
    task.await
        .map_err(|source| SystemError::Task { service, source })?
        .map_err(|source| SystemError::Serve { service, source })
}

async fn bind(addr: SocketAddr, what: &'static str) -> Result<TcpListener, SystemError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SystemError::Bind { addr, what, source })
}

fn local_addr(listener: &TcpListener, service: &'static str) -> Result<SocketAddr, SystemError> {
    listener
        .local_addr()
        .map_err(|source| SystemError::Serve { service, source })
}
