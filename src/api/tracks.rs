//! Library read endpoints: tracks, samples, statistics, filter previews
//! and the sync history, with their JSON shapes. The filter parameters come
//! from [`FilterParams`] (query string and JSON body alike); the JSON types
//! here are the wire form of the model's, times as RFC 3339 text where the
//! API has always shown them so.

use axum::Json;
use axum::extract::{RawQuery, State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use super::AppState;
use super::error::{ApiError, ErrorBody, JsonBody};
use crate::clock::rfc3339;
use crate::model::filter::parse_count;
use crate::model::{self, Filter, FilterParams, MAX_LIMIT, MAX_SAMPLE, Sort, SortField};

/// A cached track as the API and CLI show it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrackRow {
    pub rating_key: String,
    pub title: String,
    /// Track artist: `originalTitle` when Plex has one, else the album artist.
    pub artist: String,
    pub album_artist: String,
    pub album: String,
    pub album_key: Option<String>,
    pub artist_key: Option<String>,
    pub disc: Option<i64>,
    pub track: Option<i64>,
    pub duration_ms: Option<i64>,
    pub year: Option<i64>,
    pub genres: Vec<String>,
    /// User rating 0–10 (10 = five stars).
    pub rating: Option<f64>,
    pub play_count: i64,
    /// RFC 3339.
    pub last_played_at: Option<String>,
    pub added_at: Option<String>,
    pub updated_at: Option<String>,
    pub is_live: bool,
    pub section: String,
}

impl From<model::Track> for TrackRow {
    fn from(t: model::Track) -> Self {
        TrackRow {
            rating_key: t.rating_key,
            title: t.title,
            artist: t.artist,
            album_artist: t.album_artist,
            album: t.album,
            album_key: t.album_key,
            artist_key: t.artist_key,
            disc: t.disc,
            track: t.track,
            duration_ms: t.duration_ms,
            year: t.year,
            genres: t.genres,
            rating: t.rating,
            play_count: t.play_count,
            last_played_at: t.last_played_at.and_then(rfc3339),
            added_at: t.added_at.and_then(rfc3339),
            updated_at: t.updated_at.and_then(rfc3339),
            is_live: t.is_live,
            section: t.section,
        }
    }
}

/// Tracks in their JSON form.
pub fn track_rows(tracks: Vec<model::Track>) -> Vec<TrackRow> {
    tracks.into_iter().map(TrackRow::from).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrackPage {
    /// Tracks matching the filter, over all pages.
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    pub tracks: Vec<TrackRow>,
}

impl From<model::TrackPage> for TrackPage {
    fn from(page: model::TrackPage) -> Self {
        TrackPage {
            total: page.total,
            offset: page.offset,
            limit: page.limit,
            tracks: track_rows(page.tracks),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GenreCount {
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DecadeCount {
    /// Like `1990s`.
    pub decade: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Stats {
    pub track_count: u64,
    pub genres: Vec<GenreCount>,
    pub decades: Vec<DecadeCount>,
}

impl From<model::Stats> for Stats {
    fn from(stats: model::Stats) -> Self {
        Stats {
            track_count: stats.track_count,
            genres: stats
                .genres
                .into_iter()
                .map(|g| GenreCount {
                    name: g.name,
                    count: g.count,
                })
                .collect(),
            decades: stats
                .decades
                .into_iter()
                .map(|d| DecadeCount {
                    decade: d.decade,
                    count: d.count,
                })
                .collect(),
        }
    }
}

/// A past sync. Times are Unix seconds, as the API has always shown them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub id: i64,
    /// Unix time.
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// `running`, `success`, `failed`, `cancelled` or `interrupted`.
    pub outcome: String,
    /// `full` (everything read again) or `delta` (only what changed).
    pub kind: String,
    pub track_count: Option<i64>,
    pub added: Option<i64>,
    pub removed: Option<i64>,
    pub error: Option<String>,
    pub server_name: Option<String>,
}

impl From<model::HistoryEntry> for HistoryEntry {
    fn from(h: model::HistoryEntry) -> Self {
        HistoryEntry {
            id: h.id,
            started_at: h.started_at,
            finished_at: h.finished_at,
            outcome: h.outcome.name().to_owned(),
            kind: h.kind.name().to_owned(),
            track_count: h.track_count,
            added: h.added,
            removed: h.removed,
            error: h.error,
            server_name: h.server_name,
        }
    }
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
    let syncs = state.library().history(limit).await?;
    Ok(Json(History {
        syncs: syncs.into_iter().map(HistoryEntry::from).collect(),
    }))
}

/// A sort field's name in the OpenAPI document: one of `SortField::ALL`.
pub struct SortName;

impl utoipa::PartialSchema for SortName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(SortField::names()))
            .into()
    }
}

impl ToSchema for SortName {}

/// Filtered, sorted, paged tracks.
#[utoipa::path(get, path = "/api/library/tracks", tag = "library",
    params(
        FilterParams,
        ("sort" = inline(Option<SortName>), Query, description = "The field to sort by (default artist)"),
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
    let mut params = FilterParams::default();
    let (mut sort, mut order, mut offset, mut limit) = (None, None, 0, 100);
    for (key, value) in pairs(&query)? {
        match key.as_str() {
            "sort" => sort = Some(value),
            "order" => order = Some(value),
            "offset" => offset = parse_count("offset", &value, i64::MAX as u64)?,
            "limit" => limit = parse_count("limit", &value, MAX_LIMIT)?,
            _ => set_filter(&mut params, &key, &value)?,
        }
    }
    let filter = Filter::try_from(params)?;
    let sort = Sort::parse(sort.as_deref(), order.as_deref())?;
    let page = state.library().tracks(filter, sort, offset, limit).await?;
    Ok(Json(page.into()))
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
    let mut params = FilterParams::default();
    let mut n = 50;
    for (key, value) in pairs(&query)? {
        match key.as_str() {
            "n" => n = parse_count("n", &value, MAX_SAMPLE)?.max(1),
            _ => set_filter(&mut params, &key, &value)?,
        }
    }
    let filter = Filter::try_from(params)?;
    let (total, tracks) = state.library().sample(filter, n).await?;
    Ok(Json(Sample {
        total,
        tracks: track_rows(tracks),
    }))
}

/// Genre and decade counts over the whole library.
#[utoipa::path(get, path = "/api/library/stats", tag = "library",
    responses((status = 200, description = "Genres and decades with counts", body = Stats)))]
pub async fn stats(State(state): State<AppState>) -> Result<Json<Stats>, ApiError> {
    Ok(Json(state.library().stats().await?.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    pub count: u64,
}

/// How many tracks a filter set matches.
#[utoipa::path(post, path = "/api/filter/preview", tag = "library",
    request_body = FilterParams,
    responses(
        (status = 200, description = "Matching tracks", body = Preview),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
    ))]
pub async fn preview(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<FilterParams>,
) -> Result<Json<Preview>, ApiError> {
    let filter = Filter::try_from(body)?;
    let count = state.library().count(filter).await?;
    Ok(Json(Preview { count }))
}

/// Query pairs, percent-decoded; invalid UTF-8 is a client error.
pub(super) fn pairs(query: &Option<String>) -> Result<Vec<(String, String)>, ApiError> {
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

fn set_filter(params: &mut FilterParams, key: &str, value: &str) -> Result<(), ApiError> {
    if params.set(key, value)? {
        Ok(())
    } else {
        Err(unknown_parameter(key))
    }
}

fn unknown_parameter(key: &str) -> ApiError {
    ApiError::bad_request("unknown_parameter", format!("unknown parameter {key:?}"))
}
