//! The dashboard's handlers, one module per surface, and the query-string extractor they share.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::DashboardError;

pub mod api;
pub mod assets;
pub mod events;
pub mod pages;

/// A query string read into `T`; a malformed one is a 422 with the field named, in the API's shape.
pub struct ParsedQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ParsedQuery<T> {
    type Rejection = DashboardError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Self)
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, DashboardError> {
    serde_urlencoded::from_str(query)
        .map_err(|err| DashboardError::BadQuery(format!("query string: {err}")))
}
