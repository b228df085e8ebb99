//! Every error the API answers with, mapped to HTTP in one place, in FastAPI's `{"detail": …}` shape
//! so the original's clients read them unchanged.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use wordfreq_bus::BusError;

/// One problem with one field, as FastAPI (pydantic) reports it in a 422.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldIssue {
    /// Machine-readable kind: `missing`, `string_type`, `string_too_long`, `json_invalid`, …
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where: `["body", "text"]`.
    #[schema(value_type = Vec<Object>)]
    pub loc: Vec<serde_json::Value>,
    pub msg: String,
}

impl FieldIssue {
    pub fn new(kind: &'static str, loc: Vec<serde_json::Value>, msg: impl Into<String>) -> Self {
        Self {
            kind,
            loc,
            msg: msg.into(),
        }
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("API key missing or not valid")]
    Unauthorized,
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("request validation failed")]
    Validation(Vec<FieldIssue>),
    #[error("rate limit exceeded")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// FastAPI's error body: a message, or a list of field issues for a 422.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Detail {
    Message(String),
    Issues(Vec<FieldIssue>),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub detail: Detail,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            // The broker refusing a record we validated is the server's upstream failing.
            Self::Bus(BusError::Rejected(_)) => StatusCode::BAD_GATEWAY,
            Self::Bus(BusError::Unavailable(_) | BusError::Timeout(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// The `detail` the client sees.
    pub fn detail(&self) -> Detail {
        match self {
            Self::Validation(issues) => Detail::Issues(issues.clone()),
            // The cause is logged; the client learns what it can act on.
            Self::Bus(BusError::Unavailable(_)) => Detail::Message(
                "Kafka is unavailable: the text was not stored; try again later".into(),
            ),
            Self::Bus(BusError::Timeout(bound)) => Detail::Message(format!(
                "Kafka did not acknowledge the text within {bound:?}: it may not have been stored; try again later"
            )),
            Self::Bus(BusError::Rejected(_)) => Detail::Message("Kafka rejected the text".into()),
            other => Detail::Message(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, status = status.as_u16(), "request failed");
        }
        let mut response = (
            status,
            Json(ErrorBody {
                detail: self.detail(),
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        match self {
            Self::RateLimited { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            Self::Bus(BusError::Unavailable(_) | BusError::Timeout(_)) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Self::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}
