//! Who may submit: optional API keys (`X-API-Key` or a bearer token) and an optional per-client
//! rate limit. Only the submission routes pass through here; health, docs and metrics stay open.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// Forget clients idle long enough to have a full quota again once this many are tracked.
const TRACKED_CLIENTS_BEFORE_CLEANUP: usize = 10_000;

/// The API keys and the rate limiter of one app.
pub struct Access {
    api_keys: Vec<Vec<u8>>,
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl Access {
    pub fn new(api_keys: &[String], rate_limit_per_sec: u32) -> Self {
        Self {
            api_keys: api_keys
                .iter()
                .filter(|key| !key.is_empty())
                .map(|key| key.as_bytes().to_vec())
                .collect(),
            limiter: NonZeroU32::new(rate_limit_per_sec)
                .map(|rate| RateLimiter::keyed(Quota::per_second(rate))),
        }
    }

    /// Which configured key `presented` is, compared in constant time so timing tells nothing.
    fn key_index(&self, presented: &str) -> Option<usize> {
        self.api_keys
            .iter()
            .position(|key| bool::from(key.as_slice().ct_eq(presented.as_bytes())))
    }
}

/// The key a request presents, from `X-API-Key` or `Authorization: Bearer`.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-api-key")
        .and_then(|value| value.to_str().ok())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token)
        })
        .map(str::trim)
}

/// The rate-limited identity of a request, left by [`guard_submissions`] for routes that charge
/// more than one submission (bulk).
#[derive(Debug, Clone)]
pub struct Client(String);

impl Access {
    /// Charges `extra` more submissions to `client`, beyond the one the guard charged.
    pub fn charge(&self, client: Option<&Client>, extra: usize) -> Result<(), ApiError> {
        let (Some(limiter), Some(Client(client)), Some(extra)) = (
            &self.limiter,
            client,
            u32::try_from(extra).ok().and_then(NonZeroU32::new),
        ) else {
            return Ok(());
        };
        match limiter.check_key_n(client, extra) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(rate_limited(
                not_until.wait_time_from(limiter.clock().now()),
            )),
            // More texts than the quota allows in any second: this request can never pass.
            Err(_) => Err(ApiError::RateLimited {
                retry_after_secs: 1,
            }),
        }
    }
}

fn rate_limited(wait: std::time::Duration) -> ApiError {
    ApiError::RateLimited {
        retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    }
}

/// Refuses a submission without a valid key (when keys are configured) with 401, and one over
/// its client's rate with 429 and `Retry-After`.
pub async fn guard_submissions(
    State(access): State<Arc<Access>>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let key_index = presented_key(request.headers()).and_then(|key| access.key_index(key));
    if !access.api_keys.is_empty() && key_index.is_none() {
        return Err(ApiError::Unauthorized);
    }
    if let Some(limiter) = &access.limiter {
        // A client is its API key when keys are in use, else its address.
        let client = match key_index {
            Some(index) => format!("key:{index}"),
            None => request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(
                    || "unknown".to_owned(),
                    |ConnectInfo(addr)| addr.ip().to_string(),
                ),
        };
        if let Err(not_until) = limiter.check_key(&client) {
            return Err(rate_limited(
                not_until.wait_time_from(limiter.clock().now()),
            ));
        }
        if limiter.len() > TRACKED_CLIENTS_BEFORE_CLEANUP {
            limiter.retain_recent();
        }
        request.extensions_mut().insert(Client(client));
    }
    Ok(next.run(request).await)
}
