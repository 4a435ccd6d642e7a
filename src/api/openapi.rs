//! The OpenAPI document of the API, generated from the handlers' annotations
//! and kept true by a test that checks every route and real responses.

use axum::Json;
use utoipa::OpenApi;

use super::error::ErrorBody;
use super::{events, library, playlists, settings, tracks};

#[derive(OpenApi)]
#[openapi(
    info(title = "plexcache", description = "A fast local cache of a Plex music library."),
    paths(
        library::health, library::status, events::events, library::start_sync, tracks::history, tracks::tracks,
        tracks::stats, tracks::sample, tracks::preview, playlists::create, settings::show,
        settings::update, document,
    ),
    components(schemas(ErrorBody, events::LibraryChanged, events::Connection)),
    tags(
        (name = "library", description = "The cached library and its syncs"),
        (name = "playlists", description = "Writing playlists to Plex"),
        (name = "settings", description = "Plex connection and refresh settings"),
    )
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "library",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
