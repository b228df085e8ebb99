//! Fuzzes what the stream job does with a record's bytes before any I/O: decode, check the event
//! time against a broker time taken from the input, find the window, tokenize. Nothing may panic,
//! and a decoded record's text must be what an independent JSON reading finds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wordfreq_domain::{Tokenizer, Windows, decode_record};

fuzz_target!(|data: &[u8]| {
    // The first eight bytes, when there are that many, are the broker's timestamp.
    let (broker_ms, value) = match data.split_first_chunk::<8>() {
        Some((head, rest)) => (i64::from_le_bytes(*head), rest),
        None => (0, data),
    };
    let Ok(record) = decode_record(value) else {
        return;
    };
    let independent = std::str::from_utf8(value)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok());
    let text = independent
        .as_ref()
        .and_then(|json| json.get("text"))
        .and_then(serde_json::Value::as_str);
    assert_eq!(Some(record.text.as_str()), text);
    if let Ok(event_ms) = record.event_time_ms(broker_ms) {
        let window = Windows::new(std::time::Duration::from_secs(60))
            .unwrap()
            .window_of(event_ms);
        assert!(window.start_ms <= event_ms && event_ms < window.end_ms);
    }
    Tokenizer::default().for_each_token(&record.text, |token| {
        assert!(token.chars().count() >= 3);
    });
});
