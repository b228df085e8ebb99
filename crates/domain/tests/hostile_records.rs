//! Hostile input for the stream job's pure path: whatever bytes land on the topic, decoding a
//! record, checking its event time, finding its window and tokenizing its text never panics, and
//! the decoder's verdict agrees with an independent reading of the JSON. The same targets run
//! under libFuzzer in `fuzz/` (nightly, not in CI); this is the bounded version CI runs.

use proptest::prelude::*;
use wordfreq_domain::{Tokenizer, Windows, decode_record};

/// Cases per property: a few thousand, a couple of seconds each in a debug build.
const CASES: u32 = 4_000;

/// A valid record to mutate.
const VALID: &str =
    r#"{"text":"Hello wörld, café!","user_id":"u1","timestamp":"2026-11-24T10:00:00.123Z"}"#;

/// Pieces that JSON (and broken JSON) is made of, weighted towards what parsers trip on: deep
/// brackets, escapes, lone surrogates, huge numbers, the record's own field names.
fn json_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(vec![
            "{", "}", "[", "]", ":", ",", "\"", "\\", "\"text\"", "\"timestamp\"", "\"user_id\"",
            "null", "true", "false", "0", "-0", "1e999", "-1e-999", "123456789012345678901234567890",
            "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"\\u0000\"", "\"\\uFFFF\"", "\"\\x41\"", " ",
            "\n", "\t", "\u{feff}", "NaN", "Infinity", "\"2026-11-24T10:00:00Z\"",
            "\"+262143-12-31T23:59:59Z\"", "\"-262144-01-01T00:00:00Z\"",
            "\"2026-02-30T10:00:00Z\"", "\"2026-11-24T23:59:60.999Z\"",
            "\"2026-11-24T10:00:00+99:99\"", "\"1969-12-31T23:59:59.999Z\"",
            "\"2026-11-24T10:00:00.1234567891234Z\"", "\"2026-11-24T10:00:00\"",
        ]).prop_map(str::to_owned),
        1 => "\\PC{0,12}".prop_map(|text| format!("\"{text}\"")),
        1 => any::<f64>().prop_map(|number| number.to_string()),
    ]
}

fn near_json() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(json_piece(), 0..60).prop_map(|pieces| pieces.concat().into_bytes())
}

/// A valid record with bytes flipped, cut, inserted or removed.
fn mutated_record() -> impl Strategy<Value = Vec<u8>> {
    let edit = (any::<prop::sample::Index>(), any::<u8>(), 0u8..4);
    proptest::collection::vec(edit, 1..8).prop_map(|edits| {
        let mut bytes = VALID.as_bytes().to_vec();
        for (at, byte, kind) in edits {
            if bytes.is_empty() {
                bytes.push(byte);
                continue;
            }
            let at = at.index(bytes.len());
            match kind {
                0 => bytes[at] = byte,
                1 => bytes.truncate(at),
                2 => bytes.insert(at, byte),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        bytes
    })
}

/// An object with the record's fields holding any JSON value, so every branch of the field
/// checks is reached.
fn record_shaped() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "\\PC{0,40}".prop_map(serde_json::Value::from),
        "[0-9]{1,6}-[0-9]{1,2}-[0-9]{1,2}T[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\\.[0-9]{0,12})?(Z|[+-][0-9]{2}:[0-9]{2})?"
            .prop_map(serde_json::Value::from),
    ];
    let value = leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map("\\PC{0,6}", inner, 0..4)
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    });
    (
        proptest::option::of(value.clone()),
        proptest::option::of(value.clone()),
        proptest::option::of(value),
    )
        .prop_map(|(text, user_id, timestamp)| {
            let mut object = serde_json::Map::new();
            for (name, field) in [
                ("text", text),
                ("user_id", user_id),
                ("timestamp", timestamp),
            ] {
                if let Some(field) = field {
                    object.insert(name.to_owned(), field);
                }
            }
            serde_json::to_vec(&object).unwrap()
        })
}

/// Deep nesting, past serde_json's recursion limit: refused, never a stack overflow.
fn deeply_nested() -> impl Strategy<Value = Vec<u8>> {
    (1usize..5_000, any::<bool>()).prop_map(|(depth, arrays)| {
        let (open, close) = if arrays {
            ("[", "]")
        } else {
            ("{\"text\":", "}")
        };
        format!("{}\"x\"{}", open.repeat(depth), close.repeat(depth)).into_bytes()
    })
}

/// Everything the stream job does with a record's value before it touches I/O; panics if
/// anything does, and checks the verdict against an independent reading.
fn run_the_job_path(value: &[u8], broker_ms: i64, tokenizer: &Tokenizer) {
    let decoded = decode_record(value);
    let independent = std::str::from_utf8(value)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok());
    match &decoded {
        Ok(record) => {
            let text = independent
                .as_ref()
                .and_then(|json| json.get("text"))
                .and_then(serde_json::Value::as_str);
            assert_eq!(Some(record.text.as_str()), text, "decoded text differs");
        }
        Err(invalid) => {
            // A reason from the documented set, for the dead-letter header.
            assert!(
                [
                    "not_utf8",
                    "not_json",
                    "not_an_object",
                    "missing_text",
                    "text_not_string",
                    "bad_timestamp",
                ]
                .contains(&invalid.reason()),
                "{invalid:?}"
            );
            if std::str::from_utf8(value).is_err() {
                assert_eq!(invalid.reason(), "not_utf8");
            }
        }
    }
    let Ok(record) = decoded else { return };
    if let Ok(event_ms) = record.event_time_ms(broker_ms) {
        let window = Windows::new(std::time::Duration::from_secs(60))
            .unwrap()
            .window_of(event_ms);
        assert!(window.start_ms <= event_ms && event_ms < window.end_ms);
    }
    let min = tokenizer.min_word_chars();
    tokenizer.for_each_token(&record.text, |token| {
        assert!(token.chars().count() >= min, "{token:?} is too short");
        assert!(!token.chars().any(char::is_whitespace), "{token:?}");
    });
}

fn broker_time() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => 0i64..4_000_000_000_000,
        1 => any::<i64>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn arbitrary_bytes_never_panic(value in proptest::collection::vec(any::<u8>(), 0..512), broker_ms in broker_time()) {
        run_the_job_path(&value, broker_ms, &Tokenizer::default());
    }

    #[test]
    fn near_json_never_panics(value in near_json(), broker_ms in broker_time()) {
        run_the_job_path(&value, broker_ms, &Tokenizer::default());
    }

    #[test]
    fn a_mutated_record_never_panics(value in mutated_record(), broker_ms in broker_time()) {
        run_the_job_path(&value, broker_ms, &Tokenizer::default());
    }

    #[test]
    fn record_shaped_objects_of_any_values_never_panic(value in record_shaped(), broker_ms in broker_time()) {
        run_the_job_path(&value, broker_ms, &Tokenizer::default());
    }

    #[test]
    fn deep_nesting_is_refused_or_read_never_overflows(value in deeply_nested()) {
        run_the_job_path(&value, 0, &Tokenizer::default());
    }

    #[test]
    fn any_text_tokenizes_under_any_settings(
        text in "\\PC{0,300}|[\\s\\S]{0,300}",
        min in 0usize..8,
        stopwords in proptest::collection::vec("\\PC{0,8}", 0..4),
    ) {
        let tokenizer = Tokenizer::new(min).with_stopwords(stopwords);
        let record = serde_json::json!({ "text": text }).to_string();
        run_the_job_path(record.as_bytes(), 0, &tokenizer);
    }
}

#[test]
fn a_huge_text_decodes_and_tokenizes() {
    // A megabyte of one word and of separators: the two extremes of the tokenizer's loop.
    for text in ["a".repeat(1 << 20), "- ".repeat(1 << 19)] {
        let record = serde_json::json!({ "text": text }).to_string();
        run_the_job_path(record.as_bytes(), 0, &Tokenizer::default());
    }
}
