//! Library endpoints: health, status, starting a sync, history, tracks,
//! statistics, samples and filter previews.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody, JsonBody};
use crate::service::{self, ProgressReport, SyncError};
use crate::store::filter::{FilterBody, MAX_LIMIT, MAX_SAMPLE, parse_count};
use crate::store::query::rfc3339;
use crate::store::{Filter, HistoryEntry, Sort, Stats, TrackPage, TrackRow};

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

/// Liveness and version.
#[utoipa::path(get, path = "/api/health", tag = "library",
    responses((status = 200, description = "The server is up", body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServerSummary {
    pub name: String,
    pub machine_identifier: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LibraryStatus {
    /// Tracks served right now.
    pub track_count: i64,
    /// Last good sync (RFC 3339), or null.
    pub synced_at: Option<String>,
    /// Seconds since the last good sync.
    pub age_s: Option<i64>,
    pub is_syncing: bool,
    /// A sync runs and there is nothing to show until it ends.
    pub blocking: bool,
    pub sync_progress: Option<ProgressReport>,
    /// The last sync's error, when it failed.
    pub error: Option<String>,
    pub error_kind: Option<String>,
    /// From the periodic probe (the first runs before serving); false
    /// until Plex answered, and when Plex is not configured.
    pub plex_connected: bool,
    pub plex_error: Option<String>,
    /// The configured server is not the one the cache came from.
    pub server_changed: bool,
    /// Never synced, or the last good sync is older than the refresh age.
    pub stale: bool,
    /// A Plex URL and token are set.
    pub configured: bool,
    pub server: Option<ServerSummary>,
}

/// The cache's state, the running sync's progress and Plex's reachability.
/// Never waits on Plex. The sync state is read afresh (one small row), so
/// status shows the library queries are answered from, whoever committed it
/// (another process's sync included).
#[utoipa::path(get, path = "/api/library/status", tag = "library",
    responses((status = 200, description = "Current status", body = LibraryStatus)))]
pub async fn status(State(state): State<AppState>) -> Json<LibraryStatus> {
    Json(state.library().status().await.into())
}

impl From<service::Status> for LibraryStatus {
    fn from(s: service::Status) -> Self {
        LibraryStatus {
            track_count: s.track_count,
            synced_at: s.synced_at.and_then(rfc3339),
            age_s: s.age_s,
            is_syncing: s.is_syncing,
            blocking: s.blocking,
            sync_progress: s.sync_progress,
            error: s.error,
            error_kind: s.error_kind,
            plex_connected: s.plex_connected,
            plex_error: s.plex_error,
            server_changed: s.server_changed,
            stale: s.stale,
            configured: s.configured,
            server: s.server.map(|server| ServerSummary {
                name: server.name,
                machine_identifier: server.machine_identifier,
            }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncStarted {
    /// Whether a sync started; false when one cannot run now (see `reason`).
    pub started: bool,
    /// Nothing to show until it ends (first sync or new server).
    pub blocking: bool,
    /// Why no sync started: `not_configured`, `read_only`, `disk_full`, ….
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why no sync started, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Starts a background sync (200, as the seed's contract says). When no
/// sync can run (Plex not configured, the cache cannot be written) the
/// answer is 200 with `started: false` and the reason; 409 when one runs.
#[utoipa::path(post, path = "/api/library/sync", tag = "library",
    responses(
        (status = 200, description = "Sync started, or why it could not", body = SyncStarted),
        (status = 409, description = "A sync is already running", body = ErrorBody),
    ))]
pub async fn start_sync(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<SyncStarted>), ApiError> {
    let answer = match state.library().start_sync().await {
        Ok(blocking) => SyncStarted {
            started: true,
            blocking,
            reason: None,
            detail: None,
        },
        Err(SyncError::AlreadyRunning) => return Err(SyncError::AlreadyRunning.into()),
        Err(e) => SyncStarted {
            started: false,
            blocking: false,
            reason: Some(e.kind().to_owned()),
            detail: Some(service::error_message(&e)),
        },
    };
    Ok((StatusCode::OK, Json(answer)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub syncs: Vec<HistoryEntry>,
}

/// Past syncs, newest first.
#[utoipa::path(get, path = "/api/library/sync/history", tag = "library",
    params(("limit" = Option<u32>, Query, maximum = 500, description = "How many (1–500, default 20; 0 counts as 1)")),
    responses(
        (status = 200, description = "Past syncs", body = History),
        (status = 400, description = "Bad parameter", body = ErrorBody),
    ))]
pub async fn history(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<History>, ApiError> {
    let mut limit = 20;
    for (key, value) in pairs(&query)? {
        match key.as_str() {
            "limit" => limit = parse_count("limit", &value, 500)?.max(1) as u32,
            _ => return Err(unknown_parameter(&key)),
        }
    }
    let syncs = state.blocking(move |store| store.history(limit)).await?;
    Ok(Json(History { syncs }))
}

/// Filtered, sorted, paged tracks.
#[utoipa::path(get, path = "/api/library/tracks", tag = "library",
    params(
        FilterParams,
        ("sort" = Option<String>, Query, description = "title, artist, album, year, rating, duration, added, plays, last_played"),
        ("order" = Option<String>, Query, description = "asc or desc"),
        ("offset" = Option<u64>, Query, maximum = 9223372036854775807_u64, description = "Rows to skip"),
        ("limit" = Option<u64>, Query, maximum = 1000, description = "Rows to return (0–1000, default 100)"),
    ),
    responses(
        (status = 200, description = "A page of tracks and the total", body = TrackPage),
        (status = 400, description = "Bad filter or parameter", body = ErrorBody),
    ))]
pub async fn tracks(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<TrackPage>, ApiError> {
    let mut filter = Filter::default();
    let (mut sort, mut order, mut offset, mut limit) = (None, None, 0, 100);
    for (key, value) in pairs(&query)? {
        match key.as_str() {
            "sort" => sort = Some(value),
            "order" => order = Some(value),
            "offset" => offset = parse_count("offset", &value, i64::MAX as u64)?,
            "limit" => limit = parse_count("limit", &value, MAX_LIMIT)?,
            _ => set_filter(&mut filter, &key, &value)?,
        }
    }
    filter.validate()?;
    let sort = Sort::parse(sort.as_deref(), order.as_deref())?;
    let page = state
        .blocking(move |store| store.tracks(&filter, sort, offset, limit))
        .await?;
    Ok(Json(page))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Sample {
    /// Tracks matching the filter.
    pub total: u64,
    pub tracks: Vec<TrackRow>,
}

/// N random tracks matching the filters.
#[utoipa::path(get, path = "/api/library/sample", tag = "library",
    params(FilterParams, ("n" = Option<u64>, Query, maximum = 5000, description = "How many (1–5000, default 50; 0 counts as 1)")),
    responses(
        (status = 200, description = "Random matching tracks", body = Sample),
        (status = 400, description = "Bad filter or parameter", body = ErrorBody),
    ))]
pub async fn sample(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Sample>, ApiError> {
    let mut filter = Filter::default();
    let mut n = 50;
    for (key, value) in pairs(&query)? {
        match key.as_str() {
            "n" => n = parse_count("n", &value, MAX_SAMPLE)?.max(1),
            _ => set_filter(&mut filter, &key, &value)?,
        }
    }
    filter.validate()?;
    let (total, tracks) = state
        .blocking(move |store| store.sample(&filter, n))
        .await?;
    Ok(Json(Sample { total, tracks }))
}

/// Genre and decade counts over the whole library.
#[utoipa::path(get, path = "/api/library/stats", tag = "library",
    responses((status = 200, description = "Genres and decades with counts", body = Stats)))]
pub async fn stats(State(state): State<AppState>) -> Result<Json<Stats>, ApiError> {
    Ok(Json(state.blocking(|store| store.stats()).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    pub count: u64,
}

/// How many tracks a filter set matches.
#[utoipa::path(post, path = "/api/filter/preview", tag = "library",
    request_body = FilterBody,
    responses(
        (status = 200, description = "Matching tracks", body = Preview),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
    ))]
pub async fn preview(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<FilterBody>,
) -> Result<Json<Preview>, ApiError> {
    let filter = Filter::try_from(body)?;
    let count = state.blocking(move |store| store.count(&filter)).await?;
    Ok(Json(Preview { count }))
}

/// Filter parameters shared by `/tracks` and `/sample` (for the OpenAPI document).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct FilterParams {
    /// Genres, any of, comma-separated, case-insensitive.
    genres: Option<String>,
    /// Decades like `1990s`, comma-separated.
    decades: Option<String>,
    /// Minimum user rating, 0–10; 0 means any rating (unrated tracks too).
    #[param(minimum = 0.0, maximum = 10.0)]
    min_rating: Option<f64>,
    /// true: rated tracks only; false: unrated tracks only.
    rated: Option<bool>,
    /// Leave out live recordings (default true).
    exclude_live: Option<bool>,
    /// Words matched as prefixes in title, artist or album; a word without
    /// letters or digits (`!!!`, `&`) matches as literal text.
    #[param(max_length = 500)]
    q: Option<String>,
    /// Track or album artist, exact, case-insensitive.
    #[param(max_length = 1000)]
    artist: Option<String>,
    #[param(minimum = 1000, maximum = 2100)]
    year_from: Option<i64>,
    /// At least `year_from`.
    #[param(minimum = 1000, maximum = 2100)]
    year_to: Option<i64>,
    /// true: played at least once; false: never.
    played: Option<bool>,
    /// `YYYY-MM-DD` or RFC 3339.
    added_since: Option<String>,
}

/// Query pairs, percent-decoded; invalid UTF-8 is a client error.
fn pairs(query: &Option<String>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(query) = query.as_deref() else {
        return Ok(Vec::new());
    };
    let decode = |part: &str| {
        let spaced = part.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| {
                ApiError::bad_request("invalid_query", "the query string is not valid UTF-8")
            })
    };
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            Ok((decode(key)?, decode(value)?))
        })
        .collect()
}

fn set_filter(filter: &mut Filter, key: &str, value: &str) -> Result<(), ApiError> {
    if filter.set(key, value)? {
        Ok(())
    } else {
        Err(unknown_parameter(key))
    }
}

fn unknown_parameter(key: &str) -> ApiError {
    ApiError::bad_request("unknown_parameter", format!("unknown parameter {key:?}"))
}
