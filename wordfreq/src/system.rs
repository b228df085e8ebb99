//! Runs the whole system in one process: the producer API, the stream job and the dashboard, on
//! the in-process log and store by default (nothing else to install), or on Kafka and Redis when
//! given (then it is the same code as the three separate binaries).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use stream_job::{JobMetrics, StreamJob};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use wordfreq::launch::SystemArgs;
use wordfreq_bus::{KafkaPublisher, KafkaSubscriber, MemoryBus, Publisher, Retention, Subscriber};
use wordfreq_domain::names::{DEAD_LETTER_TOPIC, INPUT_PARTITIONS, RESULTS_TOPIC};
use wordfreq_store::{MemoryStore, RedisStore, Store};

/// The in-process topics nobody in the process reads keep this many records per partition.
const KEPT_SIDE_RECORDS: usize = 10_000;
/// How often the in-process store is saved to `--data-dir` while running.
const SAVE_INTERVAL: Duration = Duration::from_secs(5);
/// At shutdown, how long the stream job may take to count what the API accepted last.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long Kafka may take to answer at start before the launcher gives up with an error.
const STARTUP_CHECK: Duration = Duration::from_secs(5);

/// The bus the services share, and what the launcher must do with it at the end.
struct Bus {
    /// The API's producer.
    api: Arc<dyn Publisher>,
    /// The job's producer (dead letters, window results).
    job: Arc<dyn Publisher>,
    subscriber: Box<dyn Subscriber>,
    /// The in-process log, whose records are gone when the process ends.
    memory: Option<Arc<MemoryBus>>,
}

/// Runs until Ctrl-C or SIGTERM, then stops the API, lets the job count what it accepted, and
/// stops the rest.
pub async fn run(mut args: SystemArgs) -> anyhow::Result<()> {
    wordfreq_runtime::init_tracing(
        &args.log,
        "wordfreq=info,producer_api=info,stream_job=info,dashboard=info,wordfreq_bus=info,wordfreq_store=info",
    );
    let started = Instant::now();
    // Settings first: refusing them costs nothing and names the variable to fix.
    if let Err(why) = args.check() {
        bail!("{why}");
    }
    // Ports next: a busy one is the likeliest mistake, and the cheapest to report.
    let api_listener = bind(args.api_addr, "the producer API").await?;
    let dashboard_listener = bind(args.dashboard_addr, "the dashboard").await?;
    let api_port = api_listener.local_addr()?.port();
    let dashboard_port = dashboard_listener.local_addr()?.port();

    let (store, memory_store) = open_store(&args).await?;
    let bus = open_bus(&args, store.as_ref()).await?;
    let data_file = match (&args.data_dir, &memory_store) {
        (Some(dir), Some(_)) => Some(dir.join("store.json")),
        (Some(_), None) => {
            tracing::warn!(
                "--data-dir applies to the in-process store only; Redis keeps its own data"
            );
            None
        }
        _ => None,
    };

    let stop_api = CancellationToken::new();
    let stop_rest = CancellationToken::new();
    let api_state = producer_api::AppState::new(bus.api.clone(), &args.topic, args.api.clone());
    let api = tokio::spawn(producer_api::serve(
        api_listener,
        api_state,
        stop_api.clone().cancelled_owned(),
    ));

    let metrics = Arc::new(JobMetrics::default());
    if let Some(addr) = args.metrics_addr {
        let listener = bind(addr, "the stream job's metrics").await?;
        let router = stream_job::metrics::router(metrics.clone(), store.clone());
        let stop = stop_rest.clone();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        });
    }
    let job = StreamJob::new(
        bus.subscriber,
        store.clone(),
        bus.job.clone(),
        &args.topic,
        args.job.clone(),
        metrics,
        stop_rest.clone(),
    )
    .context("starting the stream job")?;
    let job = tokio::spawn(job.run());

    args.dashboard.window_size = args.job.window_size;
    args.dashboard.producer_api_url = format!("http://127.0.0.1:{api_port}");
    let dashboard_state = dashboard::AppState::new(store.clone(), args.dashboard.clone())?;
    let dashboard = tokio::spawn(dashboard::serve(
        dashboard_listener,
        dashboard_state,
        stop_rest.clone().cancelled_owned(),
    ));

    if let (Some(path), Some(memory)) = (data_file.clone(), memory_store.clone()) {
        tokio::spawn(save_periodically(memory, path, stop_rest.clone()));
    }

    println!(
        "wordfreq is running ({} ms to start):",
        started.elapsed().as_millis()
    );
    println!("  dashboard     http://localhost:{dashboard_port}");
    println!(
        "  producer API  http://localhost:{api_port}  (docs: http://localhost:{api_port}/docs)"
    );
    println!(
        "  on {} and {}; Ctrl-C stops it",
        if bus.memory.is_some() {
            "the in-process log"
        } else {
            "Kafka"
        },
        match (&memory_store, &data_file) {
            (None, _) => "Redis".to_owned(),
            (Some(_), Some(path)) => format!("the in-process store, saved to {}", path.display()),
            (Some(_), None) => "the in-process store (not saved: see --data-dir)".to_owned(),
        }
    );

    wordfreq_runtime::shutdown_signal().await;
    tracing::info!("stopping: the API first, then the job once it has counted what the API took");
    stop_api.cancel();
    api.await
        .context("producer API task")?
        .context("producer API")?;
    if let Some(log) = &bus.memory {
        drain(log, store.as_ref(), &args.topic).await;
    }
    stop_rest.cancel();
    job.await
        .context("stream job task")?
        .context("stream job")?;
    dashboard
        .await
        .context("dashboard task")?
        .context("dashboard")?;
    if let (Some(path), Some(memory)) = (data_file, memory_store) {
        memory
            .save(&path)
            .with_context(|| format!("saving the counts to {}", path.display()))?;
        tracing::info!(path = %path.display(), "counts saved");
    }
    tracing::info!("stopped");
    Ok(())
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} for {what}: is another process (another wordfreq?) using the port? Choose another with --api-addr / --dashboard-addr")
    })
}

/// Redis when given (it must answer now), else the in-process store, loaded from `--data-dir`.
async fn open_store(
    args: &SystemArgs,
) -> anyhow::Result<(Arc<dyn Store>, Option<Arc<MemoryStore>>)> {
    if let Some(redis) = args.redis_args() {
        let store = RedisStore::connect(&redis.url(), &redis.prefix)
            .await
            .with_context(|| format!("Redis at {} does not answer", redis.redacted_url()))?;
        return Ok((Arc::new(store), None));
    }
    let store = match &args.data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the data directory {}", dir.display()))?;
            MemoryStore::load(&dir.join("store.json"))
                .with_context(|| format!("loading the counts from {}", dir.display()))?
        }
        None => MemoryStore::new(),
    };
    let store = Arc::new(store);
    Ok((store.clone(), Some(store)))
}

/// Kafka when given (it must answer now), else the in-process log, numbering each input
/// partition on from where the (restored) store says it stands.
async fn open_bus(args: &SystemArgs, store: &dyn Store) -> anyhow::Result<Bus> {
    if let Some(kafka) = args.kafka_args() {
        let servers = &kafka.bootstrap_servers;
        let api = KafkaPublisher::new(&kafka, "wordfreq-producer-api", args.api.produce_timeout)
            .context("creating the Kafka producer")?;
        if tokio::time::timeout(STARTUP_CHECK, api.check_health())
            .await
            .map_err(|_| ())
            .and_then(|answer| answer.map_err(|_| ()))
            .is_err()
        {
            bail!("Kafka at {servers} does not answer (checked for {STARTUP_CHECK:?})");
        }
        let job = KafkaPublisher::new(&kafka, "wordfreq-stream-job", args.api.produce_timeout)
            .context("creating the Kafka producer")?;
        let subscriber = KafkaSubscriber::new(&kafka, &args.consumer_group, "wordfreq-stream-job")
            .context("creating the Kafka consumer")?;
        return Ok(Bus {
            api: Arc::new(api),
            job: Arc::new(job),
            subscriber: Box::new(subscriber),
            memory: None,
        });
    }
    let log = Arc::new(MemoryBus::new());
    let first_offsets: HashMap<i32, i64> = store.offsets(&args.topic).await?;
    let partitions = usize::try_from(INPUT_PARTITIONS).expect("a small positive number");
    log.create_topic_with(
        &args.topic,
        partitions,
        &first_offsets,
        Retention::UntilCommitted,
    );
    for side in [DEAD_LETTER_TOPIC, RESULTS_TOPIC] {
        log.create_topic_with(
            side,
            1,
            &HashMap::new(),
            Retention::Latest(KEPT_SIDE_RECORDS),
        );
    }
    let subscriber = log.subscribe(&args.topic)?;
    Ok(Bus {
        api: log.clone(),
        job: log.clone(),
        subscriber: Box::new(subscriber),
        memory: Some(log),
    })
}

/// Waits (bounded) until the store has counted every record of the in-process log: they exist
/// nowhere else, so stopping earlier would lose them.
async fn drain(log: &MemoryBus, store: &dyn Store, topic: &str) {
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    let partitions = INPUT_PARTITIONS;
    loop {
        let counted = store.offsets(topic).await.unwrap_or_default();
        let behind: i64 = (0..partitions)
            .map(|partition| {
                let end = log.end_offset(topic, partition);
                (end - counted.get(&partition).copied().unwrap_or(0)).max(0)
            })
            .sum();
        if behind == 0 {
            return;
        }
        if Instant::now() >= deadline {
            tracing::error!(records = behind, "stopping with records not yet counted");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn save_periodically(store: Arc<MemoryStore>, path: PathBuf, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(SAVE_INTERVAL);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.cancelled() => return,
        }
        let (store, path) = (store.clone(), path.clone());
        // Writing a large store takes a moment: off the async workers.
        let saved = tokio::task::spawn_blocking(move || store.save(&path)).await;
        if let Ok(Err(err)) = saved {
            tracing::error!(error = %err, "saving the counts failed");
        }
    }
}
