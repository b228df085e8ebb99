//! What a submission is, how it is checked, and how a checked one is published: the original's
//! model (`text`, `user_id` defaulting to `"anonymous"`) with the limits the original lacked. The
//! rules are pure, so every rule is tested without a server; `publish`, the service's one business
//! operation, is the only step that talks to the broker.

use std::time::Instant;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use wordfreq_bus::{BusError, Delivery, OutgoingRecord};
use wordfreq_domain::TextRecord;
use wordfreq_domain::record::ANONYMOUS_USER;

use crate::error::FieldIssue;
use crate::state::AppState;

/// The longest user id, in characters.
pub const MAX_USER_ID_CHARS: usize = 128;

/// A text to count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubmitRequest {
    /// The text; surrounding whitespace is stripped, and it must not be empty.
    #[schema(example = "The quick brown fox jumps over the lazy dog")]
    pub text: String,
    /// Who sent it (at most 128 characters, no control characters).
    #[serde(default = "anonymous")]
    #[schema(default = "anonymous", example = "user_1")]
    pub user_id: String,
}

fn anonymous() -> String {
    ANONYMOUS_USER.to_owned()
}

/// Why a submission was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The original's 400: the text is empty once stripped.
    EmptyText,
    /// A 422: fields missing, of the wrong type or beyond a limit.
    Invalid(Vec<FieldIssue>),
}

/// Checks one submission (`value`, found at `loc` in the body) and returns it with its text
/// stripped.
pub fn check_submission(
    value: &Value,
    loc: &[Value],
    max_text_chars: usize,
) -> Result<SubmitRequest, Refusal> {
    let at = |field: &str| {
        let mut path = loc.to_vec();
        path.push(field.into());
        path
    };
    let Value::Object(fields) = value else {
        return Err(Refusal::Invalid(vec![FieldIssue::new(
            "model_attributes_type",
            loc.to_vec(),
            "Input should be a valid dictionary or object",
        )]));
    };
    let mut issues = Vec::new();
    let text = string_field(
        fields.get("text"),
        None,
        max_text_chars,
        at("text"),
        &mut issues,
    );
    let user_id = string_field(
        fields.get("user_id"),
        Some(ANONYMOUS_USER),
        MAX_USER_ID_CHARS,
        at("user_id"),
        &mut issues,
    )
    .filter(|user_id| {
        let clean = !user_id.chars().any(char::is_control);
        if !clean {
            issues.push(FieldIssue::new(
                "string_pattern_mismatch",
                at("user_id"),
                "user_id must not contain control characters",
            ));
        }
        clean
    });
    match (text, user_id) {
        (Some(text), Some(user_id)) if issues.is_empty() => {
            let text = text.trim();
            if text.is_empty() {
                return Err(Refusal::EmptyText);
            }
            Ok(SubmitRequest {
                text: text.to_owned(),
                user_id: user_id.to_owned(),
            })
        }
        _ => Err(Refusal::Invalid(issues)),
    }
}

/// A string field at `loc`: its value, or `default` when absent; records an issue and gives `None`
/// when it is missing without a default, not a string, or longer than `max_chars` characters.
fn string_field<'a>(
    value: Option<&'a Value>,
    default: Option<&'a str>,
    max_chars: usize,
    loc: Vec<Value>,
    issues: &mut Vec<FieldIssue>,
) -> Option<&'a str> {
    let issue = match (value, default) {
        (None, Some(default)) => return Some(default),
        (None, None) => FieldIssue::new("missing", loc, "Field required"),
        (Some(Value::String(text)), _) if text.chars().count() <= max_chars => return Some(text),
        (Some(Value::String(_)), _) => FieldIssue::new(
            "string_too_long",
            loc,
            format!("String should have at most {max_chars} characters"),
        ),
        (Some(_), _) => FieldIssue::new("string_type", loc, "Input should be a valid string"),
    };
    issues.push(issue);
    None
}

impl AppState {
    /// Writes a checked submission as the original's record, stamped now (its event time), keyed
    /// by user id so one user's texts stay in order.
    ///
    /// Its span is at debug: a bulk request publishes up to 1,000 texts at once, so the story is
    /// told at info by the handler's span (`submit_text`, `submit_texts`), the detail here.
    #[tracing::instrument(level = "debug", skip_all, fields(
        text_bytes = submission.text.len(),
        partition = tracing::field::Empty,
        offset = tracing::field::Empty,
    ))]
    pub(crate) async fn publish(&self, submission: SubmitRequest) -> Result<Delivery, BusError> {
        let record = TextRecord {
            text: submission.text,
            user_id: submission.user_id,
            timestamp: Utc::now(),
        };
        let outgoing =
            OutgoingRecord::new(self.topic(), record.user_id.as_bytes(), record.to_json());
        let started = Instant::now();
        let delivered = self.publisher().publish(outgoing).await;
        match &delivered {
            Ok(delivery) => {
                self.metrics().observe_produce(started.elapsed());
                let span = tracing::Span::current();
                span.record("partition", delivery.partition);
                span.record("offset", delivery.offset);
            }
            Err(err) => {
                let reason = match err {
                    BusError::Unavailable(_) => "unavailable",
                    BusError::Timeout(_) => "timeout",
                    BusError::Rejected(_) => "rejected",
                };
                self.metrics().count_produce_failure(reason);
                tracing::warn!(error = %err, "produce failed");
            }
        }
        delivered
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(value: &Value) -> Result<SubmitRequest, Refusal> {
        check_submission(value, &["body".into()], 20)
    }

    fn issue_kinds(result: Result<SubmitRequest, Refusal>) -> Vec<(&'static str, Vec<Value>)> {
        match result {
            Err(Refusal::Invalid(issues)) => issues
                .into_iter()
                .map(|issue| (issue.kind, issue.loc))
                .collect(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn a_submission_has_its_text_stripped_and_keeps_its_user() {
        let submission = check(&json!({"text": "  hello world \n", "user_id": "user_1"})).unwrap();
        assert_eq!(
            (submission.text.as_str(), submission.user_id.as_str()),
            ("hello world", "user_1")
        );
    }

    #[test]
    fn a_missing_user_id_means_anonymous_as_in_the_original() {
        assert_eq!(
            check(&json!({"text": "hello"})).unwrap().user_id,
            "anonymous"
        );
    }

    #[test]
    fn empty_or_whitespace_only_text_is_the_originals_400() {
        assert_eq!(check(&json!({"text": ""})), Err(Refusal::EmptyText));
        assert_eq!(
            check(&json!({"text": " \t\n\u{3000}"})),
            Err(Refusal::EmptyText)
        );
    }

    #[test]
    fn missing_or_mistyped_fields_are_422_with_their_location() {
        assert_eq!(
            issue_kinds(check(&json!({}))),
            [("missing", vec![json!("body"), json!("text")])]
        );
        assert_eq!(
            issue_kinds(check(&json!({"text": 5, "user_id": null}))),
            [
                ("string_type", vec![json!("body"), json!("text")]),
                ("string_type", vec![json!("body"), json!("user_id")])
            ]
        );
        assert_eq!(
            issue_kinds(check(&json!(["text"]))),
            [("model_attributes_type", vec![json!("body")])]
        );
    }

    #[test]
    fn text_longer_than_the_limit_in_characters_is_422() {
        assert!(check(&json!({"text": "é".repeat(20)})).is_ok());
        assert_eq!(
            issue_kinds(check(&json!({"text": "é".repeat(21)})))[0].0,
            "string_too_long"
        );
    }

    #[test]
    fn a_user_id_too_long_or_with_control_characters_is_422() {
        assert!(check(&json!({"text": "hi", "user_id": "u".repeat(128)})).is_ok());
        assert_eq!(
            issue_kinds(check(&json!({"text": "hi", "user_id": "u".repeat(129)})))[0].0,
            "string_too_long"
        );
        assert_eq!(
            issue_kinds(check(&json!({"text": "hi", "user_id": "a\nb"})))[0].0,
            "string_pattern_mismatch"
        );
    }

    #[test]
    fn unknown_fields_are_ignored_as_pydantic_does() {
        assert!(check(&json!({"text": "hello", "lang": "en"})).is_ok());
    }
}
