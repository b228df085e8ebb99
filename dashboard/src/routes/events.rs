//! `GET /events`: server-sent events for one browser. `refresh` when the counts changed (the page
//! then fetches its view; reads are shared per update), `health` with the rendered health panel
//! on connecting and whenever a dependency comes or goes. Each connection follows the process's
//! one store subscription.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt, stream};
use serde::{Deserialize, Deserializer};
use tokio_stream::wrappers::WatchStream;

use crate::params::parse_value;
use crate::routes::ParsedQuery;
use crate::routes::pages::render_health;
use crate::state::AppState;

/// `GET /events?seen=N`: `seen` is the refresh generation the page was rendered at.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    #[serde(default, deserialize_with = "seen")]
    seen: Option<u64>,
}

fn seen<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    parse_value(deserializer, "seen", || {
        format!(
            "a whole number from 0 to {} (the refresh the page was rendered at)",
            u64::MAX
        )
    })
    .map(Some)
}

/// A malformed `seen` is refused as every other query string is (a 422 with a `detail`), not
/// with axum's plain-text 400.
pub async fn events(
    State(state): State<AppState>,
    ParsedQuery(query): ParsedQuery<EventsQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let live = state.live();
    // A page rendered before a refresh it has not seen gets that refresh at once; otherwise only
    // what changes from now on. Compared on the subscription itself, so a refresh pushed between
    // the comparison and the subscription cannot fall between them.
    let subscription = live.refreshes();
    let missed = query
        .seen
        .is_some_and(|seen| seen < subscription.borrow().generation);
    let refreshes = if missed {
        WatchStream::new(subscription)
    } else {
        WatchStream::from_changes(subscription)
    };
    let refreshes = refreshes.map(|refresh| {
        Event::default()
            .event("refresh")
            .json_data(&refresh)
            .expect("a refresh serializes")
    });
    // Each stream starts with the current panel: a page rendered before a health change (a
    // submission's evidence, a probe) that came before its stream connected would otherwise show
    // the old health until the next change, which may be never.
    let health = WatchStream::new(live.health_changes()).map(|health| {
        let html = render_health(&health).unwrap_or_default();
        // One data line per line of HTML, as the protocol wants.
        Event::default().event("health").data(html)
    });
    let events = stream::select(refreshes, health)
        .map(Ok)
        .take_until(state.stopping().clone().cancelled_owned());
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
