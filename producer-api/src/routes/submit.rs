//! `POST /submit_text` (the original's contract) and `POST /submit_texts` (bulk: up to 1,000 texts,
//! one result each).

use axum::extract::State;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use wordfreq_bus::Delivery;

use crate::access::Client;
use crate::error::{ApiError, Detail, ErrorBody, FieldIssue};
use crate::extract::JsonBody;
use crate::state::AppState;
use crate::submission::{Refusal, SubmitRequest, check_submission};

/// The most texts one bulk request may carry.
pub const MAX_BULK_ITEMS: usize = 1_000;

/// Where the broker stored the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KafkaMetadata {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl From<Delivery> for KafkaMetadata {
    fn from(delivery: Delivery) -> Self {
        Self {
            topic: delivery.topic,
            partition: delivery.partition,
            offset: delivery.offset,
        }
    }
}

/// The original's success body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubmitResponse {
    #[schema(example = "success")]
    pub status: String,
    #[schema(example = "Text submitted successfully")]
    pub message: String,
    pub kafka_metadata: KafkaMetadata,
}

/// Submits one text. Answers 200 only once the broker acknowledged it (`acks=all`).
#[utoipa::path(post, path = "/submit_text", tag = "submit", request_body = SubmitRequest,
    security((), ("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Stored by the broker", body = SubmitResponse),
        (status = 400, description = "Empty text", body = ErrorBody),
        (status = 401, description = "API key missing or not valid", body = ErrorBody),
        (status = 413, description = "Body over MAX_BODY_BYTES", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Malformed JSON, wrong types, limits", body = ErrorBody),
        (status = 429, description = "Over RATE_LIMIT_PER_SEC", body = ErrorBody),
        (status = 503, description = "Kafka unavailable: not stored", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(
    text_bytes = tracing::field::Empty,
    partition = tracing::field::Empty,
    offset = tracing::field::Empty,
))]
pub async fn submit_text(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Json<SubmitResponse>, ApiError> {
    let span = tracing::Span::current();
    let submission = check_submission(&body, &["body".into()], state.settings().max_text_chars)
        .map_err(refusal_error)?;
    span.record("text_bytes", submission.text.len());
    let delivery = state.publish(submission).await?;
    span.record("partition", delivery.partition);
    span.record("offset", delivery.offset);
    Ok(Json(SubmitResponse {
        status: "success".into(),
        message: "Text submitted successfully".into(),
        kafka_metadata: delivery.into(),
    }))
}

/// Up to 1,000 texts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BulkRequest {
    pub items: Vec<SubmitRequest>,
}

/// The outcome for one text of a bulk request.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    /// Position of the text in `items`.
    pub index: usize,
    /// `success` or `error`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kafka_metadata: Option<KafkaMetadata>,
    /// The status `/submit_text` would have answered for this text alone, on error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Detail>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResponse {
    pub results: Vec<BulkResult>,
    pub succeeded: usize,
    pub failed: usize,
}

/// Submits many texts at once. The request is answered 200 once every text has its own outcome,
/// which may be a failure; the envelope itself being wrong is a 422.
#[utoipa::path(post, path = "/submit_texts", tag = "submit", request_body = BulkRequest,
    security((), ("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "One result per text, in order", body = BulkResponse),
        (status = 401, description = "API key missing or not valid", body = ErrorBody),
        (status = 413, description = "Body over MAX_BODY_BYTES", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "No `items` list, or more than 1,000", body = ErrorBody),
        (status = 429, description = "Over RATE_LIMIT_PER_SEC", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(
    items = tracing::field::Empty,
    succeeded = tracing::field::Empty,
    failed = tracing::field::Empty,
))]
pub async fn submit_texts(
    State(state): State<AppState>,
    client: Option<Extension<Client>>,
    JsonBody(body): JsonBody,
) -> Result<Json<BulkResponse>, ApiError> {
    let items_loc = || vec![Value::from("body"), Value::from("items")];
    let items = match body.get("items") {
        Some(Value::Array(items)) if items.len() > MAX_BULK_ITEMS => {
            return Err(ApiError::Validation(vec![FieldIssue::new(
                "too_long",
                items_loc(),
                format!("List should have at most {MAX_BULK_ITEMS} items"),
            )]));
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::Validation(vec![FieldIssue::new(
                "list_type",
                items_loc(),
                "Input should be a valid list",
            )]));
        }
        None => {
            return Err(ApiError::Validation(vec![FieldIssue::new(
                "missing",
                items_loc(),
                "Field required",
            )]));
        }
    };
    let span = tracing::Span::current();
    span.record("items", items.len());
    // The rate limit counts texts, not requests: the guard charged one, the rest are charged here.
    state.access().charge(
        client.as_ref().map(|Extension(client)| client),
        items.len().saturating_sub(1),
    )?;
    let max_text_chars = state.settings().max_text_chars;
    // All at once: the producer batches them into a few requests to the broker.
    let outcomes = futures::future::join_all(items.iter().enumerate().map(|(index, item)| {
        let state = &state;
        async move {
            let mut loc = items_loc();
            loc.push(index.into());
            let submission = check_submission(item, &loc, max_text_chars).map_err(refusal_error)?;
            state.publish(submission).await.map_err(ApiError::from)
        }
    }))
    .await;
    let results: Vec<BulkResult> = outcomes
        .into_iter()
        .enumerate()
        .map(|(index, outcome)| match outcome {
            Ok(delivery) => BulkResult {
                index,
                status: "success",
                kafka_metadata: Some(delivery.into()),
                status_code: None,
                detail: None,
            },
            Err(err) => BulkResult {
                index,
                status: "error",
                kafka_metadata: None,
                status_code: Some(err.status().as_u16()),
                detail: Some(err.detail()),
            },
        })
        .collect();
    let succeeded = results
        .iter()
        .filter(|result| result.kafka_metadata.is_some())
        .count();
    span.record("succeeded", succeeded);
    span.record("failed", results.len() - succeeded);
    Ok(Json(BulkResponse {
        failed: results.len() - succeeded,
        succeeded,
        results,
    }))
}

fn refusal_error(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::EmptyText => ApiError::BadRequest("Text cannot be empty".into()),
        Refusal::Invalid(issues) => ApiError::Validation(issues),
    }
}
