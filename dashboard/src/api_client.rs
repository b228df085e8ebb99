//! The dashboard's HTTP client of the producer API: its health, and submissions proxied from the
//! page.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

/// How long the API may take to say whether it is healthy (it asks the broker, bounded at 1.5 s).
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a submission may take: the API answers within its produce timeout (default 5 s).
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Where a submission landed, as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Accepted {
    pub message: String,
    pub kafka_metadata: KafkaMetadata,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct KafkaMetadata {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// Why a submission was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The API answered with an error; `detail` is its message, for the person who submitted.
    #[error("{detail}")]
    Refused { status: u16, detail: String },
    /// The API could not be reached or did not answer in time.
    #[error("the producer API at {url} is not reachable: {reason}")]
    Unreachable { url: String, reason: String },
}

/// A client of one producer API.
#[derive(Clone)]
pub struct ProducerApiClient {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
}

impl ProducerApiClient {
    pub fn new(base_url: &str, api_key: Option<String>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .expect("an HTTP client with default TLS-free settings builds");
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Whether the API says it is healthy (its `/health` answers 200: the broker answers too).
    pub async fn check_health(&self) -> Result<(), String> {
        let response = self
            .http
            .get(format!("{}/health", self.base_url))
            .timeout(HEALTH_TIMEOUT)
            .send()
            .await
            .map_err(|err| describe(&err))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("/health answered {}", response.status()))
        }
    }

    /// Submits `text` as `user_id`, as the original's page did.
    pub async fn submit(&self, text: &str, user_id: &str) -> Result<Accepted, SubmitError> {
        let url = format!("{}/submit_text", self.base_url);
        let mut request = self
            .http
            .post(&url)
            .timeout(SUBMIT_TIMEOUT)
            .json(&json!({"text": text, "user_id": user_id}));
        if let Some(key) = &self.api_key {
            request = request.header("x-api-key", key);
        }
        let unreachable = |err: reqwest::Error| SubmitError::Unreachable {
            url: self.base_url.clone(),
            reason: describe(&err),
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unreachable)?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|err| SubmitError::Refused {
                status: 502,
                detail: format!("the producer API answered something unexpected: {err}"),
            });
        }
        Err(SubmitError::Refused {
            status: status.as_u16(),
            detail: detail_of(&body)
                .unwrap_or_else(|| format!("the producer API answered {status}")),
        })
    }
}

/// The message of a FastAPI-shaped error body: `detail` as text, or its field issues' messages.
fn detail_of(body: &[u8]) -> Option<String> {
    let body: serde_json::Value = serde_json::from_slice(body).ok()?;
    match body.get("detail")? {
        serde_json::Value::String(message) => Some(message.clone()),
        serde_json::Value::Array(issues) => Some(
            issues
                .iter()
                .map(|issue| {
                    let field = issue["loc"]
                        .as_array()
                        .and_then(|loc| loc.last())
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("request");
                    format!("{field}: {}", issue["msg"].as_str().unwrap_or("not valid"))
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => Some(other.to_string()),
    }
}

fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "no answer in time".into()
    } else if err.is_connect() {
        "connection refused or unreachable".into()
    } else {
        err.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fastapi_detail_is_read_as_text_or_as_its_field_messages() {
        assert_eq!(
            detail_of(br#"{"detail":"Text cannot be empty"}"#).as_deref(),
            Some("Text cannot be empty")
        );
        let issues = br#"{"detail":[{"type":"string_type","loc":["body","text"],"msg":"Input should be a valid string"}]}"#;
        assert_eq!(
            detail_of(issues).as_deref(),
            Some("text: Input should be a valid string")
        );
        assert_eq!(detail_of(b"<html>"), None);
    }
}
