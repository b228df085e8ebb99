//! Every error the dashboard's JSON API and exports answer with, mapped to HTTP in one place, in
//! the producer API's (FastAPI's) `{"detail": …}` shape so one client reads both.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use wordfreq_store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The query string names no view (an unknown window, a number that is not one, …).
    #[error("{0}")]
    BadQuery(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("rendering failed: {0}")]
    Render(#[from] askama::Error),
    /// A setting no dashboard can run with (at start, never in answer to a request).
    #[error("invalid setting {0}")]
    Settings(String),
}

impl DashboardError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadQuery(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Render(_) | Self::Settings(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for DashboardError {
    fn into_response(self) -> Response {
        if matches!(self, Self::Render(_)) {
            tracing::error!(error = %self, "a template failed to render");
        }
        (self.status(), Json(json!({"detail": self.to_string()}))).into_response()
    }
}
