//! The stream job as a service on Kafka and Redis: it waits for Redis (which may come up after
//! it), binds the metrics port, joins the consumer group as the member `GROUP_INSTANCE_ID` names,
//! serves `/metrics` and `/health`, and counts until `stop`. `main.rs` parses flags, starts
//! logging and hands over.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use wordfreq_bus::{KafkaPublisher, KafkaSubscriber};
use wordfreq_store::{RedisStore, Store};

use crate::{JobArgs, JobError, JobMetrics, StreamJob, serve_metrics};

/// How long to wait between attempts to reach Redis at start.
const REDIS_RETRY: Duration = Duration::from_secs(1);

/// Runs the stream job with `args` until `stop` is cancelled (or it fails).
pub async fn run(args: JobArgs, stop: CancellationToken) -> Result<(), JobError> {
    let Some(store) = wait_for_redis(&args, &stop).await else {
        return Ok(());
    };
    let publisher = KafkaPublisher::new(&args.kafka, "wordfreq-stream-job", args.produce_timeout)
        .map_err(|source| JobError::Kafka {
        what: "producer",
        source,
    })?;
    let metrics = Arc::new(JobMetrics::default());
    let listener = tokio::net::TcpListener::bind(args.metrics_addr)
        .await
        .map_err(|source| JobError::Bind {
            addr: args.metrics_addr,
            source,
        })?;
    let port = listener.local_addr().map_err(JobError::Serve)?.port();
    let instance_id = args.instance_id(port);
    let subscriber = KafkaSubscriber::new_member(
        &args.kafka,
        &args.consumer_group,
        instance_id.as_deref(),
        "wordfreq-stream-job",
    )
    .map_err(|source| JobError::Kafka {
        what: "consumer",
        source,
    })?;
    let server = tokio::spawn(serve_metrics(
        listener,
        metrics.clone(),
        store.clone(),
        stop.clone().cancelled_owned(),
    ));
    tracing::info!(topic = %args.kafka.topic, group = %args.consumer_group, instance = instance_id.as_deref().unwrap_or("(dynamic)"), metrics = %args.metrics_addr, "stream job starting");
    let job = StreamJob::new(
        Box::new(subscriber),
        store,
        Arc::new(publisher),
        args.kafka.topic,
        args.settings,
        metrics,
        stop,
    )?;
    job.run().await?;
    server
        .await
        .map_err(|err| JobError::Serve(std::io::Error::other(err)))?
        .map_err(JobError::Serve)?;
    tracing::info!("stream job stopped");
    Ok(())
}

/// Redis may come up after the job: it waits for it rather than fail, as for any outage later.
/// `None` when stopped first.
async fn wait_for_redis(args: &JobArgs, stop: &CancellationToken) -> Option<Arc<dyn Store>> {
    let redis_url = args.redis.url();
    loop {
        match RedisStore::connect(&redis_url, &args.redis.prefix).await {
            Ok(store) => return Some(Arc::new(store)),
            Err(err) => {
                tracing::warn!(redis = %args.redis.redacted_url(), error = %err, "Redis does not answer yet; retrying");
                tokio::select! {
                    () = stop.cancelled() => return None,
                    () = tokio::time::sleep(REDIS_RETRY) => {}
                }
            }
        }
    }
}
