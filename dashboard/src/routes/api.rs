//! The JSON API (`/api/words`, `/api/stats`, `/api/health`) and the exports (`/export.csv`,
//! `/export.json`): what the page shows, for tools and downloads. The exports take the same query
//! as `/api/words` and are named `word_frequencies_<YYYYmmdd_HHMMSS>` as the original's.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use wordfreq_store::Stats;

use crate::error::DashboardError;
use crate::health::Health;
use crate::params::{WindowChoice, WordsParams};
use crate::reader::data_age;
use crate::routes::ParsedQuery;
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct WordCount {
    pub word: String,
    pub count: u64,
}

/// `GET /api/words`: the words of a view and the view's totals.
#[derive(Debug, Serialize)]
pub struct WordsBody {
    pub window: WindowChoice,
    pub words: Vec<WordCount>,
    /// Of the whole view, before the limit, minimum count and search.
    pub total_words: u64,
    pub unique_words: u64,
}

async fn read_words(state: &AppState, params: &WordsParams) -> Result<WordsBody, DashboardError> {
    params.check().map_err(DashboardError::BadQuery)?;
    let read = state
        .reader()
        .read(params, state.live().data_version())
        .await?;
    // Tools get the truth or an error, never stale data without saying so.
    if let Some(err) = read.stale {
        return Err(err.into());
    }
    let top = &read.snapshot.words;
    Ok(WordsBody {
        window: params.window,
        words: top
            .words
            .iter()
            .map(|(word, count)| WordCount {
                word: word.clone(),
                count: *count,
            })
            .collect(),
        total_words: top.total_words,
        unique_words: top.unique_words,
    })
}

// The handlers' spans name the view by its window and limit, not by `q`: that is the user's text.
#[tracing::instrument(skip_all, fields(window = params.window.code(), limit = params.limit))]
pub async fn words(
    State(state): State<AppState>,
    ParsedQuery(params): ParsedQuery<WordsParams>,
) -> Result<Json<WordsBody>, DashboardError> {
    Ok(Json(read_words(&state, &params).await?))
}

/// `GET /api/stats`: the stats hash, and how old the newest data is.
#[derive(Debug, Serialize)]
pub struct StatsBody {
    #[serde(flatten)]
    pub stats: Stats,
    pub data_age_seconds: Option<f64>,
}

#[tracing::instrument(skip_all)]
pub async fn stats(State(state): State<AppState>) -> Result<Json<StatsBody>, DashboardError> {
    let stats = state.reader().store().stats().await?;
    let data_age_seconds =
        data_age(stats.last_updated.as_deref(), Utc::now()).map(|age| age.as_secs_f64());
    Ok(Json(StatsBody {
        stats,
        data_age_seconds,
    }))
}

/// `GET /api/health`: the dashboard answers, and says how its dependencies are (as last checked;
/// checks run every `HEALTH_INTERVAL`, sooner after a failure, and every proxied submission
/// counts as one for the producer API), with the store's memory and eviction policy. 200 when
/// both are up, 503 when either is down.
pub async fn health(State(state): State<AppState>) -> Response {
    let Health {
        producer_api,
        store,
        store_memory,
    } = state.live().health();
    let status = |check: &Result<(), String>, up: &str, down: &str| match check {
        Ok(()) => json!({"status": up}),
        Err(detail) => json!({"status": down, "detail": detail}),
    };
    let healthy = producer_api.is_ok() && store.is_ok();
    let body = json!({
        "status": if healthy { "healthy" } else { "degraded" },
        "producer_api": status(&producer_api, "online", "offline"),
        "redis": status(&store, "connected", "disconnected"),
        "redis_memory": store_memory,
    });
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

/// The export's file name, stamped now.
fn export_name(extension: &str) -> String {
    format!(
        "attachment; filename=\"word_frequencies_{}.{extension}\"",
        Utc::now().format("%Y%m%d_%H%M%S")
    )
}

#[tracing::instrument(skip_all, fields(window = params.window.code(), limit = params.limit))]
pub async fn export_csv(
    State(state): State<AppState>,
    ParsedQuery(params): ParsedQuery<WordsParams>,
) -> Result<Response, DashboardError> {
    let body = read_words(&state, &params).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(["word", "count"])
        .and_then(|()| {
            body.words.iter().try_for_each(|entry| {
                writer.write_record([defuse_formula(&entry.word), entry.count.to_string()])
            })
        })
        .expect("writing CSV to memory cannot fail");
    let csv = writer
        .into_inner()
        .expect("writing CSV to memory cannot fail");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, export_name("csv")),
        ],
        csv,
    )
        .into_response())
}

/// A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula; a word never
/// should, so such a word is written with a leading apostrophe, which spreadsheets hide.
fn defuse_formula(word: &str) -> String {
    if word.starts_with(['=', '+', '-', '@']) {
        format!("'{word}")
    } else {
        word.to_owned()
    }
}

#[tracing::instrument(skip_all, fields(window = params.window.code(), limit = params.limit))]
pub async fn export_json(
    State(state): State<AppState>,
    ParsedQuery(params): ParsedQuery<WordsParams>,
) -> Result<Response, DashboardError> {
    let body = read_words(&state, &params).await?;
    let mut export = serde_json::to_value(&body).expect("a view serializes");
    export["exported_at"] = json!(Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    Ok((
        [(header::CONTENT_DISPOSITION, export_name("json"))],
        Json(export),
    )
        .into_response())
}

/// Unknown paths, in the API's shape.
pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"detail": "Not Found"}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_a_spreadsheet_would_run_is_written_as_text() {
        assert_eq!(defuse_formula("=cmd"), "'=cmd");
        assert_eq!(defuse_formula("plain"), "plain");
    }
}
