//! `dashboard`: parse flags, start logging, connect the store, serve.

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use dashboard::{AppState, DashboardArgs, serve};
use wordfreq_store::RedisStore;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = DashboardArgs::parse();
    args.settings.window_size = args.window_size;
    wordfreq_service_kit::init_tracing(&args.log, "dashboard=info,wordfreq_store=info");
    let redis_url = args.redis.url();
    let store = RedisStore::connect(&redis_url, &args.redis.prefix)
        .await
        .with_context(|| format!("connecting to Redis at {}", args.redis.redacted_url()))?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {} (is another process using the port?)", args.addr))?;
    tracing::info!(addr = %args.addr, producer_api = %args.settings.producer_api_url, "dashboard listening");
    let state = AppState::new(Arc::new(store), args.settings)?;
    serve(listener, state, wordfreq_service_kit::shutdown_signal())
        .await
        .context("serving")?;
    Ok(())
}
