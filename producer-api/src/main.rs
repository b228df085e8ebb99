//! `producer-api`: parse flags, start logging, connect the Kafka producer, serve.

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use producer_api::{ApiArgs, AppState, serve};
use wordfreq_bus::{KafkaPublisher, Publisher};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = ApiArgs::parse();
    wordfreq_service_kit::init_tracing(
        &args.log,
        "producer_api=info,wordfreq_bus=info,tower_http=info",
    );
    let publisher = KafkaPublisher::new(
        &args.kafka,
        "wordfreq-producer-api",
        args.settings.produce_timeout,
    )
    .context("creating the Kafka producer")?;
    // The API starts with the broker down and says so; it recovers by itself when it returns.
    match publisher.check_health().await {
        Ok(()) => {
            tracing::info!(bootstrap_servers = %args.kafka.bootstrap_servers, "Kafka answers");
        }
        Err(err) => {
            tracing::warn!(bootstrap_servers = %args.kafka.bootstrap_servers, error = %err, "Kafka does not answer yet");
        }
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {} (is another process using the port?)", args.addr))?;
    tracing::info!(addr = %args.addr, topic = %args.kafka.topic, "producer API listening");
    let state = AppState::new(Arc::new(publisher), args.kafka.topic, args.settings);
    serve(listener, state, wordfreq_service_kit::shutdown_signal())
        .await
        .context("serving")?;
    Ok(())
}
