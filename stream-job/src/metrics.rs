//! The stream job's `/metrics` and `/health` (on `METRICS_ADDR`): records, invalid and late
//! records, batches by outcome, batch size, flush latency, per-partition lag, and the end-to-end
//! latency from a record's event time to the flush that made it visible; the store's memory and
//! refused writes; the partitions held and the group rejoins. [`serve_metrics`] serves both.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde_json::json;
use tokio::net::TcpListener;
use wordfreq_store::{MemoryStatus, Store};

use crate::health::{JobHealth, Problem};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionLabels {
    partition: i64,
}

/// The job's metrics and health. Shared between the job loop and the metrics server.
pub struct JobMetrics {
    /// Rendered by `/metrics`; public so tools and benchmarks can read what a scrape would.
    pub registry: Registry,
    /// What `/health` reports besides the store's answer.
    pub health: JobHealth,
    records: Counter,
    invalid_records: Counter,
    late_records: Counter,
    batches: Family<OutcomeLabels, Counter>,
    batch_records: Histogram,
    flush_seconds: Histogram,
    end_to_end_seconds: Histogram,
    lag: Family<PartitionLabels, Gauge>,
    store_used_memory: Gauge,
    store_max_memory: Gauge,
    store_full: Gauge,
    store_refused_writes: Counter,
    assigned_partitions: Gauge,
    rejoins: Counter,
}

impl Default for JobMetrics {
    fn default() -> Self {
        let records = Counter::default();
        let invalid_records = Counter::default();
        let late_records = Counter::default();
        let batches = Family::default();
        // 1 to about 260,000 records.
        let batch_records = Histogram::new(exponential_buckets(1.0, 4.0, 10));
        // 0.5 ms to about 16 s.
        let flush_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        // 1 ms to about 90 s in steps of 25%, fine enough to read a p99 against a 250 ms target.
        let end_to_end_seconds = Histogram::new(exponential_buckets(0.001, 1.25, 52));
        let lag = Family::default();
        let store_used_memory = Gauge::default();
        let store_max_memory = Gauge::default();
        let store_full = Gauge::default();
        let store_refused_writes = Counter::default();
        let assigned_partitions = Gauge::default();
        let rejoins = Counter::default();
        let mut registry = Registry::with_prefix("wordfreq");
        registry.register("records", "Good records counted", records.clone());
        registry.register(
            "invalid_records",
            "Records sent to the dead-letter topic",
            invalid_records.clone(),
        );
        registry.register(
            "late_records",
            "Records whose window had closed",
            late_records.clone(),
        );
        registry.register(
            "batches",
            "Batches by outcome (applied, rejected)",
            batches.clone(),
        );
        registry.register(
            "batch_records",
            "Records per applied batch",
            batch_records.clone(),
        );
        registry.register(
            "flush_duration_seconds",
            "Time to apply a batch to the store",
            flush_seconds.clone(),
        );
        registry.register(
            "end_to_end_seconds",
            "From a record's event time to the flush that made it visible",
            end_to_end_seconds.clone(),
        );
        registry.register(
            "consumer_lag",
            "Records not yet counted, per partition",
            lag.clone(),
        );
        registry.register(
            "store_used_memory_bytes",
            "Memory the store reports in use (Redis used_memory)",
            store_used_memory.clone(),
        );
        registry.register(
            "store_max_memory_bytes",
            "The store's memory limit (Redis maxmemory; 0: none)",
            store_max_memory.clone(),
        );
        registry.register(
            "store_full",
            "1 while the store refuses writes because it is full",
            store_full.clone(),
        );
        registry.register(
            "store_refused_writes",
            "Batch writes the store refused because it was full (each retried)",
            store_refused_writes.clone(),
        );
        registry.register(
            "assigned_partitions",
            "Partitions of the input topic this instance holds",
            assigned_partitions.clone(),
        );
        registry.register(
            "group_rejoins",
            "Times this instance left and rejoined its group because partitions went unread",
            rejoins.clone(),
        );
        Self {
            registry,
            health: JobHealth::default(),
            store_used_memory,
            store_max_memory,
            store_full,
            store_refused_writes,
            assigned_partitions,
            rejoins,
            records,
            invalid_records,
            late_records,
            batches,
            batch_records,
            flush_seconds,
            end_to_end_seconds,
            lag,
        }
    }
}

impl JobMetrics {
    /// An applied batch: its tallies, how long applying took, and each record's event time.
    pub fn applied(
        &self,
        records: u64,
        invalid: u64,
        late: u64,
        flush: Duration,
        event_times_ms: &[i64],
        now_ms: i64,
    ) {
        self.records.inc_by(records);
        self.invalid_records.inc_by(invalid);
        self.late_records.inc_by(late);
        self.count_batch("applied");
        self.batch_records.observe((records + invalid) as f64);
        self.flush_seconds.observe(flush.as_secs_f64());
        for event_ms in event_times_ms {
            self.end_to_end_seconds
                .observe((now_ms - event_ms).max(0) as f64 / 1000.0);
        }
    }

    /// What the store said of its memory.
    pub fn store_memory(&self, status: &MemoryStatus) {
        let bytes = |value: Option<u64>| i64::try_from(value.unwrap_or(0)).unwrap_or(i64::MAX);
        self.store_used_memory.set(bytes(status.used_bytes));
        self.store_max_memory.set(bytes(status.max_bytes));
    }

    /// The store refused a write because it is full (`reason`), or, with `None`, took one again.
    pub fn store_full(&self, reason: Option<&str>) {
        match reason {
            Some(reason) => {
                self.store_full.set(1);
                self.store_refused_writes.inc();
                self.health.set(
                    Problem::StoreFull,
                    format!(
                        "the store is full and refuses writes ({reason}); the open batch is kept \
                         and retried: free memory or raise maxmemory"
                    ),
                );
            }
            None => {
                self.store_full.set(0);
                self.health.clear(Problem::StoreFull);
            }
        }
    }

    pub fn set_assigned_partitions(&self, count: usize) {
        self.assigned_partitions
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    pub fn rejoined(&self) {
        self.rejoins.inc();
    }

    pub fn rejected(&self) {
        self.count_batch("rejected");
    }

    pub fn set_lag(&self, partition: i32, lag: i64) {
        self.lag
            .get_or_create(&PartitionLabels {
                partition: partition.into(),
            })
            .set(lag);
    }

    pub fn forget_partition(&self, partition: i32) {
        self.lag.remove(&PartitionLabels {
            partition: partition.into(),
        });
    }

    fn count_batch(&self, outcome: &str) {
        self.batches
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }
}

#[derive(Clone)]
struct Shared {
    metrics: Arc<JobMetrics>,
    store: Arc<dyn Store>,
}

/// `/metrics`, and `/health`: 200 when the store answers and the job can count, 503 with the
/// reason otherwise (the store down or full, no partitions while partitions go unread).
pub fn router(metrics: Arc<JobMetrics>, store: Arc<dyn Store>) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .route("/health", get(health))
        .with_state(Shared { metrics, store })
}

/// Serves [`router`] on `listener` until `shutdown` resolves: the stream job's metrics server, as
/// its binary and the launcher run it. The caller binds, so it can read the port (a test binds
/// port 0) and name the address in its own error.
pub async fn serve_metrics(
    listener: TcpListener,
    metrics: Arc<JobMetrics>,
    store: Arc<dyn Store>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(metrics, store))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn render(State(shared): State<Shared>) -> Response {
    wordfreq_service_kit::metrics_response(&shared.metrics.registry)
}

async fn health(State(shared): State<Shared>) -> Response {
    let mut reasons = Vec::new();
    let store_connected = match shared.store.check_health().await {
        Ok(()) => true,
        Err(err) => {
            tracing::warn!(error = %err, "health check: store unavailable");
            reasons.push(format!("the store does not answer: {err}"));
            false
        }
    };
    reasons.extend(shared.metrics.health.reasons());
    if reasons.is_empty() {
        return (
            StatusCode::OK,
            axum::Json(json!({"status": "healthy", "store_connected": true})),
        )
            .into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(json!({
            "status": "unhealthy",
            "store_connected": store_connected,
            "reason": reasons.join("; "),
        })),
    )
        .into_response()
}
