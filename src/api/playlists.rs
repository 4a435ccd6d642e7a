//! Saving a selection or a random sample as a Plex playlist: the request
//! is checked here, the playlist made by the library service.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody, JsonBody};
use crate::model::{Filter, FilterParams, MAX_SAMPLE};
use crate::service::{PlaylistError, PlaylistTracks};

/// Most tracks one playlist request may name.
const MAX_KEYS: usize = 10_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlaylist {
    /// 1–200 characters, no control characters.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// Tracks to add, in order. Either this or `filter` with `sample_size`.
    #[serde(default)]
    pub rating_keys: Option<Vec<String>>,
    #[serde(default)]
    pub filter: Option<FilterParams>,
    /// Random matching tracks to add (1–5000).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 5000)]
    pub sample_size: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaylistRef {
    pub rating_key: String,
    pub title: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaylistCreated {
    pub playlist: PlaylistRef,
    pub added: u64,
    pub skipped: u64,
    /// Keys not in the cache (unknown or deleted tracks).
    pub skipped_keys: Vec<String>,
}

/// Creates a Plex playlist from rating keys or a random sample.
#[utoipa::path(post, path = "/api/playlists", tag = "playlists",
    request_body = NewPlaylist,
    responses(
        (status = 201, description = "Playlist created", body = PlaylistCreated),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 502, description = "Plex refused", body = ErrorBody),
        (status = 503, description = "Plex offline or not configured", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewPlaylist>,
) -> Result<(StatusCode, Json<PlaylistCreated>), ApiError> {
    let title = body.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > 200 || title.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_title",
            "the title must be 1–200 characters without control characters",
        )
        .with_field("title"));
    }
    let tracks = requested_tracks(body)?;
    let created = state
        .library()
        .create_playlist(&title, tracks)
        .await
        .map_err(playlist_error)?;
    Ok((
        StatusCode::CREATED,
        Json(PlaylistCreated {
            playlist: PlaylistRef {
                rating_key: created.rating_key,
                title: created.title,
            },
            added: created.added,
            skipped: created.skipped_keys.len() as u64,
            skipped_keys: created.skipped_keys,
        }),
    ))
}

fn playlist_error(error: PlaylistError) -> ApiError {
    match error {
        PlaylistError::NoTracks => {
            ApiError::bad_request("no_tracks", "none of the tracks are in the library")
                .with_field("rating_keys")
        }
        PlaylistError::Store(e) => e.into(),
        PlaylistError::Sync(e) => e.into(),
        PlaylistError::Worker(e) => e.into(),
    }
}

fn requested_tracks(body: NewPlaylist) -> Result<PlaylistTracks, ApiError> {
    match (body.rating_keys, body.sample_size) {
        (Some(keys), None) => {
            if keys.is_empty() || keys.len() > MAX_KEYS {
                return Err(ApiError::bad_request(
                    "invalid_rating_keys",
                    format!("give 1–{MAX_KEYS} rating keys"),
                )
                .with_field("rating_keys"));
            }
            if keys.iter().any(|k| {
                k.is_empty() || k.len() > 64 || !k.chars().all(|c| c.is_ascii_alphanumeric())
            }) {
                return Err(ApiError::bad_request(
                    "invalid_rating_keys",
                    "rating keys are short strings of letters and digits",
                )
                .with_field("rating_keys"));
            }
            let mut unique = Vec::with_capacity(keys.len());
            for key in keys {
                if !unique.contains(&key) {
                    unique.push(key);
                }
            }
            Ok(PlaylistTracks::Keys(unique))
        }
        (None, Some(n)) if (1..=MAX_SAMPLE).contains(&n) => {
            let filter = match body.filter {
                Some(f) => Filter::try_from(f)?,
                None => Filter::default(),
            };
            Ok(PlaylistTracks::Sample { filter, n })
        }
        (None, Some(_)) => Err(ApiError::bad_request(
            "invalid_sample_size",
            format!("sample_size must be 1–{MAX_SAMPLE}"),
        )
        .with_field("sample_size")),
        _ => Err(ApiError::bad_request(
            "invalid_playlist",
            "give either rating_keys, or sample_size with an optional filter",
        )),
    }
}
