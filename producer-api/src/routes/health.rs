//! `GET /` (the original's banner) and `GET /health`, which, unlike the original's, asks the broker.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wordfreq_domain::record::format_timestamp;

use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Banner {
    #[schema(example = "Word Count Producer API is running")]
    pub message: String,
}

/// The original's banner.
#[utoipa::path(get, path = "/", tag = "health", responses((status = 200, body = Banner)))]
pub async fn root() -> Json<Banner> {
    Json(Banner {
        message: "Word Count Producer API is running".into(),
    })
}

/// The original's health body, now telling the truth.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `healthy` or `unhealthy`.
    pub status: String,
    /// Whether the broker answered a metadata request just now.
    pub kafka_connected: bool,
    /// RFC 3339, UTC.
    pub timestamp: String,
    /// Why it is unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// 200 only when the broker answers a metadata request (within about 2 s); 503 otherwise.
#[utoipa::path(get, path = "/health", tag = "health", responses(
    (status = 200, description = "The broker answers", body = Health),
    (status = 503, description = "The broker does not answer", body = Health),
))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let checked = state.publisher().check_health().await;
    let timestamp = format_timestamp(Utc::now());
    match checked {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "healthy".into(),
                kafka_connected: true,
                timestamp,
                detail: None,
            }),
        ),
        Err(err) => {
            tracing::warn!(error = %err, "health check: broker unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unhealthy".into(),
                    kafka_connected: false,
                    timestamp,
                    detail: Some("Kafka does not answer".into()),
                }),
            )
        }
    }
}
