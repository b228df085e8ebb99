//! The two HTTP clients: the producer API (health, submissions) and the dashboard's JSON API (word
//! counts). Every call is bounded: connecting by at most 2 s, the whole call by `--http-timeout`, so
//! a down service fails fast and a hung one cannot hold the tool.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::outcome::Error;

/// Longest wait for a TCP connection: a refused one fails at once, an unroutable host within this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest wait for `/health`, which asks the broker and answers within about 2 s.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

fn client(timeout: Duration) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .build()
        .map_err(Error::Client)
}

fn base(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// Why a call got no answer, in a few words: the root cause, not reqwest's wrapping.
pub fn describe(err: &reqwest::Error, timeout: Duration) -> String {
    if err.is_timeout() {
        return format!("no answer within {}", humantime::format_duration(timeout));
    }
    let mut cause: &dyn std::error::Error = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    if err.is_connect() {
        format!("cannot connect ({cause})")
    } else {
        cause.to_string()
    }
}

/// The producer API.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    api_key: Option<String>,
    timeout: Duration,
}

/// Where the broker stored a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct KafkaMetadata {
    pub partition: i32,
    pub offset: i64,
}

/// What became of a submission, as far as this client can know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 200: the broker has it.
    Stored(Option<KafkaMetadata>),
    /// Not stored: a 4xx answer, a connection that was never made, or a send that was never made.
    Refused { status: Option<u16>, detail: String },
    /// Perhaps stored: a 5xx (a produce timeout may still be delivered) or an answer that never
    /// came after the request went out.
    Unknown { status: Option<u16>, detail: String },
}

impl Outcome {
    pub fn is_stored(&self) -> bool {
        matches!(self, Self::Stored(_))
    }

    /// The API's `detail` or the transport's reason, prefixed by the status when there was one.
    pub fn reason(&self) -> Option<String> {
        let (status, detail) = match self {
            Self::Stored(_) => return None,
            Self::Refused { status, detail } | Self::Unknown { status, detail } => (status, detail),
        };
        Some(match status {
            Some(status) => format!("{status}: {detail}"),
            None => detail.clone(),
        })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stored(Some(meta)) => {
                write!(f, "partition {}, offset {}", meta.partition, meta.offset)
            }
            Self::Stored(None) => f.write_str("stored"),
            _ => f.write_str(&self.reason().unwrap_or_default()),
        }
    }
}

/// A submission's outcome and how long its answer took.
#[derive(Debug, Clone)]
pub struct Answer {
    pub outcome: Outcome,
    pub latency: Duration,
}

#[derive(Deserialize)]
struct SubmitBody {
    kafka_metadata: Option<KafkaMetadata>,
}

impl ApiClient {
    pub fn new(url: &str, api_key: Option<String>, timeout: Duration) -> Result<Self, Error> {
        Ok(Self {
            http: client(timeout)?,
            base: base(url),
            api_key: api_key.filter(|key| !key.is_empty()),
            timeout,
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// `GET /health`: Ok only on 200, that is when the API and its broker answer.
    pub async fn check_health(&self) -> Result<(), Error> {
        let url = format!("{}/health", self.base);
        let timeout = HEALTH_TIMEOUT.min(self.timeout);
        let response = self
            .http
            .get(&url)
            .timeout(timeout)
            .send()
            .await
            .map_err(|err| Error::ApiUnreachable {
                url: self.base.clone(),
                reason: describe(&err, timeout),
            })?;
        let status = response.status();
        if status == StatusCode::OK {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(Error::ApiUnhealthy {
            url: self.base.clone(),
            status: status.as_u16(),
            detail: detail_of(&body),
        })
    }

    /// `POST /submit_text` with `{"text", "user_id"}`; never fails, the outcome says what happened.
    pub async fn submit(&self, text: &str, user_id: &str) -> Answer {
        let started = Instant::now();
        let mut request = self
            .http
            .post(format!("{}/submit_text", self.base))
            .json(&json!({"text": text, "user_id": user_id}));
        if let Some(key) = &self.api_key {
            request = request.header("X-API-Key", key);
        }
        let outcome = match request.send().await {
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                if status == StatusCode::OK {
                    let meta = serde_json::from_str::<SubmitBody>(&body)
                        .ok()
                        .and_then(|body| body.kafka_metadata);
                    Outcome::Stored(meta)
                } else if status.is_client_error() {
                    Outcome::Refused {
                        status: Some(status.as_u16()),
                        detail: detail_of(&body),
                    }
                } else {
                    Outcome::Unknown {
                        status: Some(status.as_u16()),
                        detail: detail_of(&body),
                    }
                }
            }
            // Not connected means not sent; any later failure may have reached the API.
            Err(err) if err.is_connect() => Outcome::Refused {
                status: None,
                detail: describe(&err, self.timeout),
            },
            Err(err) => Outcome::Unknown {
                status: None,
                detail: describe(&err, self.timeout),
            },
        };
        Answer {
            outcome,
            latency: started.elapsed(),
        }
    }
}

/// FastAPI's `detail`: a message, or a list of field issues whose messages are joined; any other
/// body as text, cut short.
pub fn detail_of(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(object)) => match object.get("detail") {
            Some(Value::String(message)) => message.clone(),
            Some(Value::Array(issues)) => issues
                .iter()
                .map(|issue| match issue.get("msg") {
                    Some(Value::String(message)) => message.clone(),
                    _ => issue.to_string(),
                })
                .collect::<Vec<_>>()
                .join("; "),
            Some(other) => other.to_string(),
            None => Value::Object(object).to_string(),
        },
        _ => {
            let text = body.trim();
            match text.char_indices().nth(200) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None if text.is_empty() => "(empty body)".into(),
                None => text.to_owned(),
            }
        }
    }
}

/// The dashboard's `GET /api/words`.
#[derive(Debug, Clone)]
pub struct DashboardClient {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
}

/// A read of the all-time counts: the words asked for, and the whole view's total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WordsRead {
    pub counts: HashMap<String, u64>,
    pub total_words: u64,
}

#[derive(Deserialize)]
struct WordsBody {
    words: Vec<WordCount>,
    total_words: u64,
}

#[derive(Deserialize)]
struct WordCount {
    word: String,
    count: u64,
}

impl DashboardClient {
    pub fn new(url: &str, timeout: Duration) -> Result<Self, Error> {
        Ok(Self {
            http: client(timeout)?,
            base: base(url),
            timeout,
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// Every all-time count (`limit=0`), or only the words containing `search`.
    pub async fn words(&self, search: Option<&str>) -> Result<WordsRead, Error> {
        let unreadable = |reason: String| Error::DashboardUnreadable {
            url: self.base.clone(),
            reason,
        };
        let mut query = vec![("window", "all"), ("limit", "0")];
        if let Some(search) = search {
            query.push(("q", search));
        }
        let response = self
            .http
            .get(format!("{}/api/words", self.base))
            .query(&query)
            .send()
            .await
            .map_err(|err| unreadable(describe(&err, self.timeout)))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|err| unreadable(describe(&err, self.timeout)))?;
        if status != StatusCode::OK {
            return Err(unreadable(format!(
                "{}: {}",
                status.as_u16(),
                detail_of(&body)
            )));
        }
        let body: WordsBody = serde_json::from_str(&body)
            .map_err(|err| unreadable(format!("not the /api/words shape: {err}")))?;
        Ok(WordsRead {
            counts: body
                .words
                .into_iter()
                .map(|entry| (entry.word, entry.count))
                .collect(),
            total_words: body.total_words,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detail_of_an_error_is_fastapis_message_or_its_field_messages() {
        assert_eq!(
            detail_of(r#"{"detail":"Text cannot be empty"}"#),
            "Text cannot be empty"
        );
        assert_eq!(
            detail_of(
                r#"{"detail":[{"type":"missing","loc":["body","text"],"msg":"Field required"},{"msg":"too long"}]}"#
            ),
            "Field required; too long"
        );
        assert_eq!(detail_of("Bad Gateway"), "Bad Gateway");
        assert_eq!(detail_of(""), "(empty body)");
        assert_eq!(detail_of(&"x".repeat(300)).chars().count(), 201);
    }

    #[test]
    fn an_outcome_reads_as_where_it_was_stored_or_why_not() {
        let stored = Outcome::Stored(Some(KafkaMetadata {
            partition: 2,
            offset: 41,
        }));
        assert_eq!(stored.to_string(), "partition 2, offset 41");
        let refused = Outcome::Refused {
            status: Some(401),
            detail: "API key missing or not valid".into(),
        };
        assert_eq!(refused.to_string(), "401: API key missing or not valid");
        let unknown = Outcome::Unknown {
            status: None,
            detail: "no answer within 10s".into(),
        };
        assert_eq!(unknown.to_string(), "no answer within 10s");
    }
}
