//! The page and its fragments. `GET /` renders it whole. `#live` holds the counts and says how
//! they refresh (pushed, polled or on demand); it stays in place while `/fragments/words` swaps
//! its content (`#words`), so a refresh asked for while another is in flight is queued on an
//! element that is still there. The controls replace `#live` itself through `/fragments/main`,
//! which also puts the view in the address bar. `POST /submit` answers with the outcome.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::api_client::SubmitError;
use crate::charts::{self, Bar, Slice};
use crate::error::DashboardError;
use crate::health::Health;
use crate::params::{
    PAGE_INTERVALS, PAGE_LIMITS, PAGE_MIN_COUNTS, PageParams, RefreshMode, WindowChoice,
};
use crate::reader::{Read, data_age};
use crate::routes::{assets, parse_query};
use crate::state::AppState;
use wordfreq_store::{EvictionPolicy, MemoryStatus};

/// The hint of the original's empty state.
const EMPTY_HINT: &str = "The quick brown fox jumps over the lazy dog";

#[derive(Template)]
#[template(path = "page.html")]
struct PageTemplate<'a> {
    params: &'a PageParams,
    windows: &'static [WindowChoice],
    limits: (usize, usize),
    min_counts: (u64, u64),
    intervals: (u64, u64),
    asset_version: &'a str,
    /// The refresh generation the page was rendered at.
    generation: u64,
    /// Why the URL's view was not used, if it was not.
    url_notice: Option<String>,
    health_html: String,
    live_html: String,
}

#[derive(Template)]
#[template(path = "health.html")]
struct HealthTemplate<'a> {
    producer_api: &'a Result<(), String>,
    store: &'a Result<(), String>,
    memory: Option<MemoryLine>,
}

/// The store's memory as the health panel says it.
struct MemoryLine {
    /// "12.3 MiB of 100.0 MiB (12%)", or "12.3 MiB (no maxmemory)".
    usage: String,
    policy: String,
    /// Near the limit (90% or more), or a policy that evicts: shown as a warning.
    warn: bool,
}

impl MemoryLine {
    fn of(status: &MemoryStatus) -> Self {
        let mib = |bytes: u64| format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0));
        let used = status
            .used_bytes
            .map_or_else(|| "in process".to_owned(), mib);
        let (usage, near_limit) = match (status.used_bytes, status.max_bytes) {
            (Some(used_bytes), Some(max)) => {
                let share = used_bytes as f64 / max as f64;
                (
                    format!("{used} of {} ({:.0}%)", mib(max), share * 100.0),
                    share >= 0.9,
                )
            }
            _ => (format!("{used} (no maxmemory)"), false),
        };
        Self {
            usage,
            policy: status.policy.to_string(),
            warn: near_limit || status.policy != EvictionPolicy::NoEviction,
        }
    }
}

#[derive(Template)]
#[template(path = "live.html")]
struct LiveTemplate {
    /// `hx-trigger` of `#live`: how it refreshes itself.
    trigger: String,
    words_html: String,
}

#[derive(Template)]
#[template(path = "words.html")]
struct WordsTemplate<'a> {
    params: &'a PageParams,
    error: Option<String>,
    stale_notice: Option<String>,
    metric_cards: Option<MetricCards>,
    bars: Vec<Bar>,
    slices: Vec<Slice>,
    table: Vec<Bar>,
    trends: Vec<TrendRow>,
    empty_hint: &'static str,
    rendered_at: String,
}

/// The metric cards above the charts (a view model of the counts and the stats), formatted.
struct MetricCards {
    unique_words: u64,
    total_words: u64,
    records_processed: u64,
    late_records: u64,
    invalid_records: u64,
    /// RFC 3339, for the data-age clock; `None` before the first batch.
    last_updated: Option<String>,
    last_updated_label: String,
    data_age_label: String,
}

struct TrendRow {
    word: String,
    count: u64,
    expected: String,
    ratio: String,
}

#[derive(Template)]
#[template(path = "submit_result.html")]
struct SubmitTemplate<'a> {
    outcome: Result<String, String>,
    user_id: &'a str,
}

/// `GET /`: the whole page, for the view in the URL.
#[tracing::instrument(skip_all, fields(window = tracing::field::Empty, limit = tracing::field::Empty))]
pub async fn page(
    State(state): State<AppState>,
    uri: axum::http::Uri,
) -> Result<Html<String>, DashboardError> {
    let (params, url_notice) = match parse_query::<PageParams>(uri.query().unwrap_or_default()) {
        Ok(params) => (params.within_controls(), None),
        Err(err) => (
            PageParams::default(),
            Some(format!(
                "The view in the address could not be read ({err}); showing the default view."
            )),
        ),
    };
    note_view(&params);
    let generation = state.live().generation();
    let live_html = render_live(&state, &params).await?;
    let page = PageTemplate {
        generation,
        params: &params,
        windows: &WindowChoice::ALL,
        limits: PAGE_LIMITS,
        min_counts: PAGE_MIN_COUNTS,
        intervals: PAGE_INTERVALS,
        asset_version: &assets::VERSION,
        url_notice,
        health_html: render_health(&state.live().health())?,
        live_html,
    };
    Ok(Html(page.render()?))
}

/// `GET /fragments/main`: `#live` for a view the controls changed; the address bar follows.
#[tracing::instrument(skip_all, fields(window = tracing::field::Empty, limit = tracing::field::Empty))]
pub async fn main_fragment(
    State(state): State<AppState>,
    uri: axum::http::Uri,
) -> Result<Response, DashboardError> {
    let params = parse_query::<PageParams>(uri.query().unwrap_or_default())?.within_controls();
    note_view(&params);
    let html = render_live(&state, &params).await?;
    let mut response = Html(html).into_response();
    if let Ok(url) = HeaderValue::from_str(&format!("/?{}", params.to_query())) {
        response.headers_mut().insert("hx-push-url", url);
    }
    Ok(response)
}

/// `GET /fragments/words`: `#words`, refreshed (the content of `#live`).
#[tracing::instrument(skip_all, fields(window = tracing::field::Empty, limit = tracing::field::Empty))]
pub async fn words_fragment(
    State(state): State<AppState>,
    uri: axum::http::Uri,
) -> Result<Html<String>, DashboardError> {
    let params = parse_query::<PageParams>(uri.query().unwrap_or_default())?.within_controls();
    note_view(&params);
    Ok(Html(render_words(&state, &params).await?))
}

/// Puts the view a page handler read from its URL on the handler's span: the window and the limit,
/// not the searches, which are the user's text and up to 100 characters each.
fn note_view(params: &PageParams) {
    let span = tracing::Span::current();
    span.record("window", params.window.code());
    span.record("limit", params.limit);
}

/// `GET /fragments/health`: the health panel.
pub async fn health_fragment(
    State(state): State<AppState>,
) -> Result<Html<String>, DashboardError> {
    Ok(Html(render_health(&state.live().health())?))
}

pub fn render_health(health: &Health) -> Result<String, askama::Error> {
    HealthTemplate {
        producer_api: &health.producer_api,
        store: &health.store,
        memory: health.store_memory.as_ref().map(MemoryLine::of),
    }
    .render()
}

/// `#live` for `params`: `#words` inside the element that refreshes it as `params` say.
async fn render_live(state: &AppState, params: &PageParams) -> Result<String, DashboardError> {
    let trigger = match params.refresh {
        RefreshMode::Live => "sse:refresh, refresh-words from:body".to_owned(),
        RefreshMode::Poll => format!("every {}s, refresh-words from:body", params.interval),
        RefreshMode::Off => "refresh-words from:body".to_owned(),
    };
    let words_html = render_words(state, params).await?;
    Ok(LiveTemplate {
        trigger,
        words_html,
    }
    .render()?)
}

/// `#words` for `params`: metric cards, charts, trending and table, or the last good data with the
/// store's error, or only the error when there never was data.
async fn render_words(state: &AppState, params: &PageParams) -> Result<String, DashboardError> {
    let mut template = WordsTemplate {
        params,
        error: None,
        stale_notice: None,
        metric_cards: None,
        bars: Vec::new(),
        slices: Vec::new(),
        table: Vec::new(),
        trends: Vec::new(),
        empty_hint: EMPTY_HINT,
        rendered_at: clock(Utc::now()),
    };
    match state
        .reader()
        .read(&params.words(), state.live().data_version())
        .await
    {
        Ok(read) => fill(&mut template, &read),
        Err(err) => template.error = Some(format!("The word counts cannot be read: {err}.")),
    }
    Ok(template.render()?)
}

fn fill(template: &mut WordsTemplate<'_>, read: &Read) {
    let snapshot = &read.snapshot;
    let now = Utc::now();
    if let Some(err) = &read.stale {
        let age = (now - snapshot.read_at).num_seconds();
        template.stale_notice = Some(format!(
            "The word counts cannot be read now ({err}). Showing the data read at {} ({age} s ago); this page recovers by itself.",
            clock(snapshot.read_at)
        ));
    }
    let stats = &snapshot.stats;
    let age = data_age(stats.last_updated.as_deref(), now);
    template.metric_cards = Some(MetricCards {
        unique_words: snapshot.words.unique_words,
        total_words: snapshot.words.total_words,
        records_processed: stats.records_processed,
        late_records: stats.late_records,
        invalid_records: stats.invalid_records,
        last_updated: stats.last_updated.clone(),
        last_updated_label: stats
            .last_updated
            .as_deref()
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map_or_else(|| "never".to_owned(), |at| clock(at.with_timezone(&Utc))),
        data_age_label: age.map_or_else(|| "–".to_owned(), |age| format!("{} s", age.as_secs())),
    });
    let words = &snapshot.words.words;
    template.bars = charts::bars(words);
    template.slices = charts::pie(words);
    template.table = template
        .bars
        .iter()
        .filter(|bar| template.params.table_shows(&bar.word))
        .cloned()
        .collect();
    template.trends = snapshot
        .trending
        .iter()
        .map(|trend| TrendRow {
            word: trend.word.clone(),
            count: trend.count,
            expected: format!("{:.1}", trend.expected),
            ratio: trend
                .ratio
                .map_or_else(|| "new".to_owned(), |ratio| format!("×{ratio:.1}")),
        })
        .collect();
}

fn clock(at: DateTime<Utc>) -> String {
    at.format("%H:%M:%S UTC").to_string()
}

/// The submit form.
#[derive(Debug, Deserialize)]
pub struct SubmitForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    user_id: String,
}

/// `POST /submit`: the form, proxied to the producer API. The answer is the outcome to show under
/// the form, with the API's status (htmx is configured to show error answers too); on success it
/// also clears the text area and asks `#words` to refresh.
// The text is the user's and may be large: only its length goes on the span.
#[tracing::instrument(skip_all, fields(text_bytes = form.text.len()))]
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SubmitForm>,
) -> Result<Response, DashboardError> {
    let user_id = match form.user_id.trim() {
        "" => "anonymous",
        user_id => user_id,
    };
    // When it was sent orders this evidence against the probes' (see `Live::record`).
    let sent_at = tokio::time::Instant::now();
    let outcome = state.producer_api().submit(&form.text, user_id).await;
    state.live().record_submission(sent_at, &outcome);
    let (status, outcome) = match outcome {
        Ok(accepted) => (
            StatusCode::OK,
            Ok(format!(
                "{} (topic {}, partition {}, offset {})",
                accepted.message,
                accepted.kafka_metadata.topic,
                accepted.kafka_metadata.partition,
                accepted.kafka_metadata.offset
            )),
        ),
        Err(err) => {
            let status = match &err {
                SubmitError::Refused { status, .. } => {
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
                }
                SubmitError::Unreachable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            };
            tracing::info!(error = %err, "a submission was not accepted");
            (status, Err(err.to_string()))
        }
    };
    let succeeded = outcome.is_ok();
    let html = SubmitTemplate { outcome, user_id }.render()?;
    let mut response = (status, Html(html)).into_response();
    if succeeded && headers.contains_key("hx-request") {
        response
            .headers_mut()
            .insert("hx-trigger", HeaderValue::from_static("refresh-words"));
    }
    Ok(response)
}
