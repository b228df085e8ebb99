//! Every malformed body a client (or a fuzzer reading `/openapi.json`) can send, generated: bytes
//! that are not UTF-8, JSON of every wrong type, missing and extra fields, huge strings, deep
//! nesting, wrong or missing content types, on both submission routes and with both API-key
//! schemes. Each request goes through the in-process router (`app(state)`) under a time bound: the
//! answer is never a 5xx and never late, every refusal carries FastAPI's `{"detail": …}`, and a
//! 200 means the record is on the log.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use producer_api::{ApiSettings, AppState, app};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{Value, json};
use tower::ServiceExt;
use wordfreq_bus::MemoryBus;

/// Generated requests per property.
const CASES: u32 = 3_000;
/// Bound on each answer: the in-process log answers at once, so anything near this is a hang.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// Small limits, so huge bodies and texts reach them without megabytes per case.
const MAX_BODY_BYTES: usize = 16 * 1024;
const MAX_TEXT_CHARS: usize = 2_000;
const API_KEY: &str = "hostile-test-key";

/// One request as generated.
#[derive(Debug, Clone)]
struct Hostile {
    path: &'static str,
    content_type: Option<Vec<u8>>,
    body: Vec<u8>,
    authorization: Authorization,
}

#[derive(Debug, Clone)]
enum Authorization {
    ApiKeyHeader(Vec<u8>),
    Bearer(Vec<u8>),
    Right,
    Missing,
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,30}".prop_map(Value::from),
        Just(Value::from("   \t\n ")),
        Just(Value::from("a".repeat(MAX_TEXT_CHARS + 1))),
        Just(Value::from("\u{0}\u{7}\u{1b}[31m<script>")),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("\\PC{0,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// `{"text", "user_id"}` with each field absent or of any type, plus extra fields.
fn submission_shaped() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        3 => "\\PC{0,80}".prop_map(Value::from),
        1 => "[ \t\n\r\u{a0}\u{3000}]{0,5}".prop_map(Value::from),
        2 => json_value(),
    ];
    let user_id = prop_oneof![
        2 => "[a-z0-9_-]{0,20}".prop_map(Value::from),
        1 => "\\PC{0,200}".prop_map(Value::from),
        1 => json_value(),
    ];
    (
        proptest::option::of(text),
        proptest::option::of(user_id),
        proptest::collection::btree_map("[a-z_]{1,10}", json_value(), 0..3),
    )
        .prop_map(|(text, user_id, extra)| {
            let mut object: serde_json::Map<String, Value> = extra.into_iter().collect();
            if let Some(text) = text {
                object.insert("text".into(), text);
            }
            if let Some(user_id) = user_id {
                object.insert("user_id".into(), user_id);
            }
            Value::Object(object)
        })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let serialized = |value: Value| serde_json::to_vec(&value).unwrap();
    prop_oneof![
        4 => submission_shaped().prop_map(serialized),
        2 => proptest::collection::vec(submission_shaped(), 0..6)
            .prop_map(move |items| serialized(json!({ "items": items }))),
        1 => json_value().prop_map(move |items| serialized(json!({ "items": items }))),
        2 => json_value().prop_map(serialized),
        2 => proptest::collection::vec(any::<u8>(), 0..256),
        1 => (1usize..3_000, any::<bool>()).prop_map(|(depth, arrays)| {
            let (open, close) = if arrays { ("[", "]") } else { ("{\"text\":", "}") };
            format!("{}\"x\"{}", open.repeat(depth), close.repeat(depth)).into_bytes()
        }),
        1 => Just(Vec::new()),
        1 => Just(br#"{"text": "lone \ud800 surrogate"}"#.to_vec()),
        1 => Just(b"{\"text\": \"not utf-8 \xff\xfe\"}".to_vec()),
        1 => Just(br#"{"text": "truncated"#.to_vec()),
        1 => Just(br#"{"text": "dup", "text": 5}"#.to_vec()),
        1 => Just(format!(r#"{{"text": "{}"}}"#, "a".repeat(MAX_BODY_BYTES)).into_bytes()),
        1 => Just(format!(r#"{{"items": [{}]}}"#, vec![r#"{"text":"x"}"#; 1_001].join(",")).into_bytes()),
    ]
}

fn content_type() -> impl Strategy<Value = Option<Vec<u8>>> {
    let known = [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "json",
        "",
    ];
    prop_oneof![
        6 => Just(Some(b"application/json".to_vec())),
        3 => proptest::sample::select(known.to_vec()).prop_map(|value| Some(value.as_bytes().to_vec())),
        1 => Just(None),
        // Header values may hold any visible byte, also non-ASCII (obs-text).
        1 => proptest::collection::vec(prop_oneof![0x20u8..0x7F, 0x80u8..=0xFF], 0..40).prop_map(Some),
    ]
}

fn authorization() -> impl Strategy<Value = Authorization> {
    let header_bytes = proptest::collection::vec(prop_oneof![0x20u8..0x7F, 0x80u8..=0xFF], 0..40);
    prop_oneof![
        6 => Just(Authorization::Right),
        1 => Just(Authorization::Missing),
        1 => header_bytes.clone().prop_map(Authorization::ApiKeyHeader),
        1 => header_bytes.prop_map(Authorization::Bearer),
    ]
}

fn hostile() -> impl Strategy<Value = Hostile> {
    (
        proptest::sample::select(vec!["/submit_text", "/submit_texts"]),
        content_type(),
        body(),
        authorization(),
    )
        .prop_map(|(path, content_type, body, authorization)| Hostile {
            path,
            content_type,
            body,
            authorization,
        })
}

fn request(hostile: &Hostile) -> Request<Body> {
    let mut builder = Request::post(hostile.path);
    if let Some(content_type) = &hostile.content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type.as_slice());
    }
    builder = match &hostile.authorization {
        Authorization::Right => builder.header("x-api-key", API_KEY),
        Authorization::Missing => builder,
        Authorization::ApiKeyHeader(value) => builder.header("x-api-key", value.as_slice()),
        Authorization::Bearer(value) => {
            let mut bearer = b"Bearer ".to_vec();
            bearer.extend_from_slice(value);
            builder.header(header::AUTHORIZATION, bearer)
        }
    };
    builder.body(Body::from(hostile.body.clone())).unwrap()
}

struct Subject {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    bus: Arc<MemoryBus>,
}

impl Subject {
    fn new() -> Self {
        let bus = Arc::new(MemoryBus::new());
        bus.create_topic("user_text", 3);
        let settings = ApiSettings {
            max_body_bytes: MAX_BODY_BYTES,
            max_text_chars: MAX_TEXT_CHARS,
            api_keys: vec![API_KEY.into()],
            ..ApiSettings::default()
        };
        let router = app(AppState::new(bus.clone(), "user_text", settings));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Self {
            runtime,
            router,
            bus,
        }
    }

    fn stored(&self) -> i64 {
        (0..3).map(|p| self.bus.end_offset("user_text", p)).sum()
    }

    /// Sends one request; the status and the JSON body, or why the answer broke the contract.
    fn send(&self, hostile: &Hostile) -> Result<(StatusCode, Value), TestCaseError> {
        let request = request(hostile);
        let router = self.router.clone();
        self.runtime.block_on(async move {
            let response = tokio::time::timeout(ANSWER_WITHIN, router.oneshot(request))
                .await
                .map_err(|_| TestCaseError::fail(format!("no answer within {ANSWER_WITHIN:?}")))?
                .unwrap();
            let status = response.status();
            let bytes = tokio::time::timeout(
                ANSWER_WITHIN,
                axum::body::to_bytes(response.into_body(), usize::MAX),
            )
            .await
            .map_err(|_| TestCaseError::fail("body not finished in time"))?
            .unwrap();
            let body: Value = serde_json::from_slice(&bytes).map_err(|_| {
                TestCaseError::fail(format!(
                    "{status}: not JSON: {}",
                    String::from_utf8_lossy(&bytes)
                ))
            })?;
            Ok((status, body))
        })
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn hostile_bodies_get_a_4xx_with_a_detail_or_a_200_that_stored_the_text(hostile in hostile()) {
        thread_local!(static SUBJECT: Subject = Subject::new());
        SUBJECT.with(|subject| {
            let before = subject.stored();
            let (status, body) = subject.send(&hostile)?;
            prop_assert!(!status.is_server_error(), "{status} for {hostile:?}: {body}");
            let stored = subject.stored() - before;
            if status == StatusCode::OK {
                if hostile.path == "/submit_text" {
                    prop_assert_eq!(&body["status"], "success", "{}", body);
                    prop_assert_eq!(stored, 1);
                } else {
                    let succeeded = body["succeeded"].as_i64().unwrap_or(-1);
                    prop_assert_eq!(stored, succeeded, "{}", body);
                }
            } else {
                prop_assert!(status.is_client_error(), "{status}");
                prop_assert!(body.get("detail").is_some(), "{status} without detail: {body}");
                prop_assert_eq!(stored, 0, "a refused request stored a record");
                if status == StatusCode::UNPROCESSABLE_ENTITY {
                    let issues = body["detail"].as_array();
                    prop_assert!(
                        issues.is_some_and(|issues| !issues.is_empty()
                            && issues.iter().all(|issue| issue["type"].is_string()
                                && issue["loc"].is_array()
                                && issue["msg"].is_string())),
                        "422 detail not pydantic-shaped: {body}"
                    );
                }
            }
            Ok(())
        })?;
    }
}

#[test]
fn the_generators_reach_every_answer_the_contract_names() {
    // A property that never meets a 413 or a 415 would prove nothing about them.
    let subject = Subject::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..600 {
        let hostile = hostile().new_tree(&mut runner).unwrap().current();
        seen.insert(subject.send(&hostile).unwrap().0.as_u16());
    }
    for status in [200, 400, 401, 413, 415, 422] {
        assert!(seen.contains(&status), "no {status} among {seen:?}");
    }
}
