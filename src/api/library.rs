//! Library endpoints: health, status and starting a sync (the library's
//! read endpoints are in `tracks`).

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use crate::clock::rfc3339;
use crate::service::{self, ProgressReport, SyncError, SyncMode};

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
    /// Changes on Plex reach the cache as they happen: the notification
    /// stream is connected and caught up.
    pub live: bool,
    /// When the last change reached the cache (RFC 3339): a live update,
    /// a refresh or a sync; null before the first sync.
    pub last_change_at: Option<String>,
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
            live: s.live,
            last_change_at: s.last_change_at.and_then(rfc3339),
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

/// Starts a background sync (200, as the seed's contract says): a refresh
/// fetching only what changed when the cache allows one, else a full sync;
/// `?full=true` asks for a full sync. When no sync can run (Plex not
/// configured, the cache cannot be written) the answer is 200 with
/// `started: false` and the reason; 409 when one runs.
#[utoipa::path(post, path = "/api/library/sync", tag = "library",
    params(("full" = Option<bool>, Query, description = "Re-read everything instead of refreshing what changed")),
    responses(
        (status = 200, description = "Sync started, or why it could not", body = SyncStarted),
        (status = 400, description = "`invalid_query`: `full` is not true or false, or another parameter was sent", body = ErrorBody),
        (status = 409, description = "A sync is already running", body = ErrorBody),
    ))]
pub async fn start_sync(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<(StatusCode, Json<SyncStarted>), ApiError> {
    let mode = sync_mode(&query)?;
    let answer = match state.library().start_sync_mode(mode).await {
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

/// `full=true` (or `1`) asks for a full sync; anything else in the query is
/// a mistake worth saying.
fn sync_mode(query: &Option<String>) -> Result<SyncMode, ApiError> {
    let mut mode = SyncMode::Auto;
    for (key, value) in super::tracks::pairs(query)? {
        match (key.as_str(), value.as_str()) {
            ("full", "true" | "1") => mode = SyncMode::Full,
            ("full", "false" | "0") => mode = SyncMode::Auto,
            ("full", other) => {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    format!("full is true or false, not {other:?}"),
                ));
            }
            (other, _) => {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    format!("unknown parameter {other:?}; the only one is full"),
                ));
            }
        }
    }
    Ok(mode)
}
