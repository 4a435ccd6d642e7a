//! Saving a selection or a random sample as a Plex playlist.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody, JsonBody};
use crate::model::{Filter, FilterParams, MAX_SAMPLE};
use crate::sync::client_for;

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
    let requested = requested_keys(&state, body).await?;
    let known = {
        let keys = requested.clone();
        state.blocking(move |store| store.known_keys(&keys)).await?
    };
    if known.is_empty() {
        return Err(
            ApiError::bad_request("no_tracks", "none of the tracks are in the library")
                .with_field("rating_keys"),
        );
    }
    let skipped_keys: Vec<String> = requested
        .iter()
        .filter(|k| !known.contains(k))
        .cloned()
        .collect();
    let settings = state.settings();
    let client = client_for(&settings)?;
    let machine = match state.sync_state().machine_identifier {
        Some(machine) => machine,
        None => client.server_info().await?.machine_identifier,
    };
    let result = client.create_playlist(&machine, &title, &known).await?;
    let added = if result.item_count > 0 {
        result.item_count
    } else {
        known.len() as u64
    };
    tracing::info!(title = %result.title, added, skipped = skipped_keys.len(), "playlist created");
    Ok((
        StatusCode::CREATED,
        Json(PlaylistCreated {
            playlist: PlaylistRef {
                rating_key: result.rating_key,
                title: result.title,
            },
            added,
            skipped: skipped_keys.len() as u64,
            skipped_keys,
        }),
    ))
}

async fn requested_keys(state: &AppState, body: NewPlaylist) -> Result<Vec<String>, ApiError> {
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
            Ok(unique)
        }
        (None, Some(n)) if (1..=MAX_SAMPLE).contains(&n) => {
            let filter = match body.filter {
                Some(f) => Filter::try_from(f)?,
                None => Filter::default(),
            };
            let (_, tracks) = state
                .blocking(move |store| store.sample(&filter, n))
                .await?;
            Ok(tracks.into_iter().map(|t| t.rating_key).collect())
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
