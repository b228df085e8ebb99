//! The log and the store the three services share: Kafka and Redis when given (each must answer
//! at start), else the in-process log and store, the store saved to `--data-dir` while running.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use wordfreq_bus::{KafkaPublisher, KafkaSubscriber, MemoryBus, Publisher, Retention, Subscriber};
use wordfreq_domain::names::{DEAD_LETTER_TOPIC, INPUT_PARTITIONS, RESULTS_TOPIC};
use wordfreq_store::{MemoryStore, RedisStore, Store};

use super::{SystemArgs, SystemError};

/// The in-process topics nobody in the process reads keep this many records per partition.
const KEPT_SIDE_RECORDS: usize = 10_000;
/// The in-process store's file in `--data-dir`.
const DATA_FILE: &str = "store.json";
/// How often the in-process store is saved to `--data-dir` while running.
const SAVE_INTERVAL: Duration = Duration::from_secs(5);
/// At shutdown, how long the stream job may take to count what the API accepted last.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long Kafka may take to answer at start before the launcher gives up with an error.
const STARTUP_CHECK: Duration = Duration::from_secs(5);

/// The store, and the in-process one again when it is that (to save it), with the file it is
/// saved to when `--data-dir` is given.
pub(super) struct Stores {
    pub shared: Arc<dyn Store>,
    pub memory: Option<Arc<MemoryStore>>,
    pub data_file: Option<PathBuf>,
}

/// The bus the services share.
pub(super) struct Bus {
    /// The API's producer.
    pub api: Arc<dyn Publisher>,
    /// The job's producer (dead letters, window results).
    pub job: Arc<dyn Publisher>,
    pub subscriber: Box<dyn Subscriber>,
    /// The in-process log, whose records are gone when the process ends.
    pub memory: Option<Arc<MemoryBus>>,
}

/// Redis when given (it must answer now), else the in-process store, loaded from `--data-dir`.
pub(super) async fn open_store(args: &SystemArgs) -> Result<Stores, SystemError> {
    if let Some(redis) = args.redis_args() {
        let store = RedisStore::connect(&redis.url(), &redis.prefix)
            .await
            .map_err(|source| SystemError::RedisSilent {
                url: redis.redacted_url(),
                source,
            })?;
        if args.data_dir.is_some() {
            tracing::warn!(
                "--data-dir applies to the in-process store only; Redis keeps its own data"
            );
        }
        return Ok(Stores {
            shared: Arc::new(store),
            memory: None,
            data_file: None,
        });
    }
    let store = match &args.data_dir {
        Some(dir) => {
            let failed = |doing| {
                move |source| SystemError::DataFile {
                    doing,
                    path: dir.clone(),
                    source,
                }
            };
            std::fs::create_dir_all(dir).map_err(failed("creating the data directory"))?;
            MemoryStore::load(&dir.join(DATA_FILE)).map_err(failed("loading the counts from"))?
        }
        None => MemoryStore::new(),
    };
    let store = Arc::new(store);
    Ok(Stores {
        shared: store.clone(),
        memory: Some(store),
        data_file: args.data_dir.as_ref().map(|dir| dir.join(DATA_FILE)),
    })
}

/// Kafka when given (it must answer now), else the in-process log, numbering each input
/// partition on from where the (restored) store says it stands; its input topic keeps records
/// for `input_retention`.
pub(super) async fn open_bus(
    args: &SystemArgs,
    store: &dyn Store,
    input_retention: Retention,
) -> Result<Bus, SystemError> {
    if let Some(kafka) = args.kafka_args() {
        let producer = |client_id| {
            KafkaPublisher::new(kafka, client_id, args.api.produce_timeout).map_err(|source| {
                SystemError::KafkaClient {
                    what: "producer",
                    source,
                }
            })
        };
        let api = producer("wordfreq-producer-api")?;
        let answered = tokio::time::timeout(STARTUP_CHECK, api.check_health()).await;
        if !matches!(answered, Ok(Ok(_))) {
            return Err(SystemError::KafkaSilent {
                servers: kafka.bootstrap_servers.clone(),
                waited: STARTUP_CHECK,
            });
        }
        let job = producer("wordfreq-stream-job")?;
        let subscriber = KafkaSubscriber::new(kafka, &args.consumer_group, "wordfreq-stream-job")
            .map_err(|source| SystemError::KafkaClient {
            what: "consumer",
            source,
        })?;
        return Ok(Bus {
            api: Arc::new(api),
            job: Arc::new(job),
            subscriber: Box::new(subscriber),
            memory: None,
        });
    }
    let log = Arc::new(MemoryBus::new());
    let first_offsets: HashMap<i32, i64> = store.offsets(args.topic()).await?;
    let partitions = usize::try_from(INPUT_PARTITIONS).expect("a small positive number");
    log.create_topic_with(args.topic(), partitions, &first_offsets, input_retention);
    for side in [DEAD_LETTER_TOPIC, RESULTS_TOPIC] {
        log.create_topic_with(
            side,
            1,
            &HashMap::new(),
            Retention::Latest(KEPT_SIDE_RECORDS),
        );
    }
    let subscriber = log.subscribe(args.topic())?;
    Ok(Bus {
        api: log.clone(),
        job: log.clone(),
        subscriber: Box::new(subscriber),
        memory: Some(log),
    })
}

/// Waits (bounded) until the store has counted every record of the in-process log: they exist
/// nowhere else, so stopping earlier would lose them.
pub(super) async fn drain(log: &MemoryBus, store: &dyn Store, topic: &str) {
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

/// Saves the in-process store to `path` every [`SAVE_INTERVAL`] until `stop`.
pub(super) async fn save_periodically(
    store: Arc<MemoryStore>,
    path: PathBuf,
    stop: CancellationToken,
) {
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

/// Saves the in-process store to `path` once more, at the end.
pub(super) fn save(store: &MemoryStore, path: &Path) -> Result<(), SystemError> {
    store.save(path).map_err(|source| SystemError::DataFile {
        doing: "saving the counts to",
        path: path.to_owned(),
        source,
    })?;
    tracing::info!(path = %path.display(), "counts saved");
    Ok(())
}
