//! `stream-job`: parse flags, start logging, connect Kafka and Redis, count until SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use stream_job::{JobArgs, JobMetrics, StreamJob};
use tokio_util::sync::CancellationToken;
use wordfreq_bus::{KafkaPublisher, KafkaSubscriber};
use wordfreq_store::RedisStore;

/// How long a shutdown may take: the open batch's flush is bounded at 5 s, closing the Kafka
/// clients takes the rest. Under Docker's default 10 s stop grace.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = JobArgs::parse();
    wordfreq_service_kit::init_tracing(
        &args.log,
        "stream_job=info,wordfreq_bus=info,wordfreq_store=info",
    );
    let stop = CancellationToken::new();
    tokio::spawn({
        let stop = stop.clone();
        async move {
            wordfreq_service_kit::shutdown_signal().await;
            stop.cancel();
        }
    });
    wordfreq_service_kit::exit_if_still_running_after(
        stop.clone().cancelled_owned(),
        SHUTDOWN_GRACE,
    );

    // Redis may come up after us: wait for it rather than fail, as for any outage later.
    let redis_url = args.redis.url();
    let store = loop {
        match RedisStore::connect(&redis_url, &args.redis.prefix).await {
            Ok(store) => break store,
            Err(err) => {
                tracing::warn!(redis = %args.redis.redacted_url(), error = %err, "Redis does not answer yet; retrying");
                tokio::select! {
                    () = stop.cancelled() => return Ok(()),
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    };
    let publisher = KafkaPublisher::new(&args.kafka, "wordfreq-stream-job", args.produce_timeout)
        .context("creating the Kafka producer")?;
    let store: Arc<dyn wordfreq_store::Store> = Arc::new(store);
    let metrics = Arc::new(JobMetrics::default());
    let listener = tokio::net::TcpListener::bind(args.metrics_addr)
        .await
        .with_context(|| {
            format!(
                "binding {} for metrics (is another process using the port?)",
                args.metrics_addr
            )
        })?;
    let instance_id = args.instance_id(listener.local_addr()?.port());
    let subscriber = KafkaSubscriber::new_member(
        &args.kafka,
        &args.consumer_group,
        instance_id.as_deref(),
        "wordfreq-stream-job",
    )
    .context("creating the Kafka consumer")?;
    let server = tokio::spawn(stream_job::serve_metrics(
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
    )
    .context("starting the stream job")?;
    job.run().await.context("stream job")?;
    server
        .await
        .context("metrics server task")?
        .context("metrics server")?;
    tracing::info!("stream job stopped");
    Ok(())
}
