//! The dashboard's handlers, one module per surface, and the query-string extractor they share.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::DashboardError;

pub mod api;
pub mod assets;
pub mod events;
pub mod pages;

/// A query string read into `T`; a malformed one is a 422 naming the parameter and what it takes,
/// in the API's shape (the parameters' parsers, in `params`, word the message).
pub struct ParsedQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ParsedQuery<T> {
    type Rejection = DashboardError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Self)
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, DashboardError> {
    serde_urlencoded::from_str(query).map_err(|err| DashboardError::BadQuery(explain(&err)))
}

/// The refusal as the caller should read it. A parameter given twice is refused by serde itself,
/// in its own words (``duplicate field `limit` ``), which are reworded in the same form as the
/// parameters' own refusals.
fn explain(err: &serde_urlencoded::de::Error) -> String {
    let message = err.to_string();
    match message
        .strip_prefix("duplicate field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        Some(name) => format!("{name}: must be given once, got it more than once"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{PageParams, WordsParams};

    fn refusal<T: DeserializeOwned + std::fmt::Debug>(query: &str) -> String {
        match parse_query::<T>(query) {
            Err(DashboardError::BadQuery(message)) => message,
            other => panic!("{query}: {other:?}"),
        }
    }

    #[test]
    fn a_refused_value_names_its_parameter_what_it_takes_and_what_it_got() {
        assert_eq!(
            refusal::<WordsParams>("limit=-1"),
            format!(
                "limit: must be a whole number from 0 (all words) to {}, got -1",
                usize::MAX
            )
        );
        assert_eq!(
            refusal::<WordsParams>("window=5M"),
            "window: must be one of all, 1m, 5m, 15m, 60m, got 5M"
        );
        assert_eq!(
            refusal::<PageParams>("refresh=never"),
            "refresh: must be one of live, poll, off, got never"
        );
        assert!(refusal::<PageParams>("interval=").ends_with("got nothing"));
        let long = refusal::<WordsParams>(&format!("min_count={}", "9".repeat(500)));
        assert!(
            long.starts_with("min_count: must be a whole number"),
            "{long}"
        );
        assert!(
            long.chars().count() < 150,
            "a hostile value is not echoed whole: {long}"
        );
    }

    #[test]
    fn a_repeated_parameter_is_named() {
        assert_eq!(
            refusal::<WordsParams>("limit=1&limit=2"),
            "limit: must be given once, got it more than once"
        );
        assert!(parse_query::<WordsParams>("other=1&other=2").is_ok());
    }
}
