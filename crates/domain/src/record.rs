//! The record on the `user_text` topic: the original's JSON `{"text","user_id","timestamp"}`.
//!
//! Producing is strict (the API always writes all three fields, the timestamp as RFC 3339 UTC with
//! milliseconds). Reading is tolerant where the original's own records differ: the original wrote a
//! local time without an offset, which is read as UTC, and a record without a timestamp takes the
//! broker's. Anything that cannot be counted is an [`InvalidRecord`] naming why, for the dead-letter
//! topic's headers.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// The user id the original assumed when a submission gave none.
pub const ANONYMOUS_USER: &str = "anonymous";

/// One submission, as the producer API writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextRecord {
    pub text: String,
    pub user_id: String,
    /// Ingestion time: the event time that windows are cut on.
    #[serde(with = "rfc3339_millis")]
    pub timestamp: DateTime<Utc>,
}

impl TextRecord {
    /// The record's value on the topic.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a record of strings always serializes")
    }
}

/// What the stream job needs from a record: its text and, if it carries one, its event time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedRecord {
    pub text: String,
    pub timestamp: Option<DateTime<Utc>>,
}

impl DecodedRecord {
    /// The event time windows are cut on, in Unix milliseconds: the record's own timestamp, else
    /// the broker's (`broker_ms`), refused by [`check_event_time`] when implausible next to the
    /// broker's. One rule, so the job, the proptests and the fuzz target cannot drift apart.
    pub fn event_time_ms(&self, broker_ms: i64) -> Result<i64, InvalidRecord> {
        let event_ms = self
            .timestamp
            .map_or(broker_ms, |time| time.timestamp_millis());
        check_event_time(event_ms, broker_ms)?;
        Ok(event_ms)
    }
}

/// Why a record on the topic cannot be counted. [`InvalidRecord::reason`] is the stable name that
/// goes into the dead-letter header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRecord {
    #[error("value is not valid UTF-8")]
    NotUtf8,
    #[error("value is not JSON: {0}")]
    NotJson(String),
    #[error("value is not a JSON object")]
    NotAnObject,
    #[error("field `text` is missing")]
    MissingText,
    #[error("field `text` is not a string")]
    TextNotString,
    #[error("field `timestamp` is not an RFC 3339 time: {0}")]
    BadTimestamp(String),
    #[error("event time {event_ms} ms is implausible next to the broker's time {reference_ms} ms")]
    AbsurdTimestamp { event_ms: i64, reference_ms: i64 },
}

impl InvalidRecord {
    /// A short, stable, machine-readable name for the reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotUtf8 => "not_utf8",
            Self::NotJson(_) => "not_json",
            Self::NotAnObject => "not_an_object",
            Self::MissingText => "missing_text",
            Self::TextNotString => "text_not_string",
            Self::BadTimestamp(_) => "bad_timestamp",
            Self::AbsurdTimestamp { .. } => "absurd_timestamp",
        }
    }
}

/// Reads a record's value off the topic.
pub fn decode_record(value: &[u8]) -> Result<DecodedRecord, InvalidRecord> {
    let value = std::str::from_utf8(value).map_err(|_| InvalidRecord::NotUtf8)?;
    let json: serde_json::Value =
        serde_json::from_str(value).map_err(|err| InvalidRecord::NotJson(err.to_string()))?;
    let serde_json::Value::Object(mut fields) = json else {
        return Err(InvalidRecord::NotAnObject);
    };
    let text = match fields.remove("text") {
        None => return Err(InvalidRecord::MissingText),
        Some(serde_json::Value::String(text)) => text,
        Some(_) => return Err(InvalidRecord::TextNotString),
    };
    let timestamp = match fields.get("timestamp") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(raw)) => Some(parse_timestamp(raw)?),
        Some(other) => return Err(InvalidRecord::BadTimestamp(other.to_string())),
    };
    Ok(DecodedRecord { text, timestamp })
}

/// How far an event time may lie ahead of the broker's time: a day covers any time zone mix-up of
/// the original's offset-less local timestamps.
pub const MAX_EVENT_TIME_AHEAD_MS: i64 = 24 * 3600 * 1000;

/// Refuses an event time before 1970 or more than a day after `reference_ms` (the broker's time):
/// such a record would open or revive a window nobody will ever see close.
pub fn check_event_time(event_ms: i64, reference_ms: i64) -> Result<(), InvalidRecord> {
    if event_ms < 0 || event_ms > reference_ms.saturating_add(MAX_EVENT_TIME_AHEAD_MS) {
        return Err(InvalidRecord::AbsurdTimestamp {
            event_ms,
            reference_ms,
        });
    }
    Ok(())
}

/// RFC 3339 with any offset, or the original's ISO local time without one (read as UTC).
fn parse_timestamp(raw: &str) -> Result<DateTime<Utc>, InvalidRecord> {
    DateTime::parse_from_rfc3339(raw)
        .map(|time| time.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
        })
        .map_err(|_| InvalidRecord::BadTimestamp(raw.to_owned()))
}

/// Formats a time as the topic and the stats hash store it: RFC 3339, UTC, milliseconds.
pub fn format_timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

mod rfc3339_millis {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        time: &DateTime<Utc>,
        out: S,
    ) -> Result<S::Ok, S::Error> {
        out.serialize_str(&super::format_timestamp(*time))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        input: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let raw = String::deserialize(input)?;
        super::parse_timestamp(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at_millis(millis: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(millis).single().unwrap()
    }

    #[test]
    fn a_record_serializes_to_exactly_the_original_fields_with_a_millisecond_utc_timestamp() {
        let record = TextRecord {
            text: "hello world".into(),
            user_id: "user_1".into(),
            timestamp: at_millis(1_700_000_000_123),
        };
        assert_eq!(
            String::from_utf8(record.to_json()).unwrap(),
            r#"{"text":"hello world","user_id":"user_1","timestamp":"2023-11-14T22:13:20.123Z"}"#
        );
        assert_eq!(
            serde_json::from_slice::<TextRecord>(&record.to_json()).unwrap(),
            record
        );
    }

    #[test]
    fn decoding_reads_the_text_and_the_timestamp() {
        let decoded = decode_record(
            br#"{"text":"hi there","user_id":"u","timestamp":"2023-11-14T22:13:20.123Z"}"#,
        )
        .unwrap();
        assert_eq!(decoded.text, "hi there");
        assert_eq!(decoded.timestamp, Some(at_millis(1_700_000_000_123)));
    }

    #[test]
    fn the_originals_local_timestamp_without_offset_is_read_as_utc() {
        let decoded =
            decode_record(br#"{"text":"x","timestamp":"2023-11-14T22:13:20.123456"}"#).unwrap();
        let expected = DateTime::parse_from_rfc3339("2023-11-14T22:13:20.123456Z").unwrap();
        assert_eq!(decoded.timestamp, Some(expected.with_timezone(&Utc)));
    }

    #[test]
    fn a_record_without_timestamp_decodes_with_none_so_the_broker_time_is_used() {
        assert_eq!(decode_record(br#"{"text":"x"}"#).unwrap().timestamp, None);
        assert_eq!(
            decode_record(br#"{"text":"x","timestamp":null}"#)
                .unwrap()
                .timestamp,
            None
        );
    }

    #[test]
    fn an_event_time_before_1970_or_over_a_day_ahead_of_the_broker_is_absurd() {
        let now = 1_700_000_000_000;
        assert!(
            check_event_time(now - 30 * 24 * 3600 * 1000, now).is_ok(),
            "old is late, not absurd"
        );
        assert!(check_event_time(now + MAX_EVENT_TIME_AHEAD_MS, now).is_ok());
        assert_eq!(
            check_event_time(now + MAX_EVENT_TIME_AHEAD_MS + 1, now)
                .unwrap_err()
                .reason(),
            "absurd_timestamp"
        );
        assert_eq!(
            check_event_time(-1, now).unwrap_err().reason(),
            "absurd_timestamp"
        );
    }

    #[test]
    fn the_event_time_is_the_records_own_timestamp_else_the_brokers_and_never_an_absurd_one() {
        let broker_ms = 1_700_000_000_000;
        let own = decode_record(br#"{"text":"x","timestamp":"2023-11-14T22:13:20.123Z"}"#).unwrap();
        assert_eq!(own.event_time_ms(broker_ms), Ok(1_700_000_000_123));
        let without = decode_record(br#"{"text":"x"}"#).unwrap();
        assert_eq!(without.event_time_ms(broker_ms), Ok(broker_ms));
        let future = decode_record(br#"{"text":"x","timestamp":"2999-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(
            future.event_time_ms(broker_ms).unwrap_err().reason(),
            "absurd_timestamp"
        );
        // A broker time before 1970 is refused too, when the record has none of its own.
        assert_eq!(
            without.event_time_ms(-1).unwrap_err().reason(),
            "absurd_timestamp"
        );
    }

    #[test]
    fn every_kind_of_bad_record_is_named() {
        let cases: [(&[u8], &str); 7] = [
            (b"\xff\xfe", "not_utf8"),
            (b"{not json", "not_json"),
            (b"[1,2]", "not_an_object"),
            (br#"{"user_id":"u"}"#, "missing_text"),
            (br#"{"text":42}"#, "text_not_string"),
            (br#"{"text":"x","timestamp":"yesterday"}"#, "bad_timestamp"),
            (br#"{"text":"x","timestamp":17}"#, "bad_timestamp"),
        ];
        for (value, reason) in cases {
            let err = decode_record(value).unwrap_err();
            assert_eq!(err.reason(), reason, "{}", String::from_utf8_lossy(value));
        }
    }
}
