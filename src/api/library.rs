//! Library endpoints: health, status and starting a sync (the library's
//! read endpoints are in `tracks`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::lifecycle::spawn_sync;
use crate::clock::{now_unix, rfc3339};
use crate::sync::{ProgressReport, SyncError};

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
    let settings = state.settings();
    // Progress first: a sync ending between the two reads then shows as
    // still running rather than as done with the old state.
    let progress = state.engine.progress().clone();
    let is_syncing = progress.is_running();
    let sync_progress = progress.report();
    let blocking = progress.is_blocking();
    let sync_state = state.current_sync_state().await;
    let probe = state.probe();
    let age_s = sync_state.synced_at.map(|t| (now_unix() - t).max(0));
    let probe_changed = probe
        .server
        .as_ref()
        .zip(sync_state.machine_identifier.as_ref())
        .is_some_and(|(server, cached)| &server.machine_identifier != cached);
    let server_changed = (is_syncing && progress.server_changed()) || probe_changed;
    let failed = sync_state.last_error.is_some() && !is_syncing;
    Json(LibraryStatus {
        track_count: sync_state.track_count,
        synced_at: sync_state.synced_at.and_then(rfc3339),
        age_s,
        is_syncing,
        blocking,
        sync_progress,
        error: sync_state.last_error.clone().filter(|_| failed),
        error_kind: sync_state.last_error_kind.clone().filter(|_| failed),
        plex_connected: probe.connected.unwrap_or(false),
        plex_error: probe.error.clone(),
        server_changed,
        stale: age_s.is_none_or(|a| a as f64 >= settings.refresh_age.as_secs_f64()),
        configured: settings.plex_configured(),
        server: shown_server(
            server_changed,
            probe.server,
            sync_state.machine_identifier,
            sync_state.server_name,
        ),
    })
}

/// The cache's server, except during a server change: then the new one.
fn shown_server(
    changed: bool,
    probed: Option<crate::plex::ServerInfo>,
    cached_id: Option<String>,
    cached_name: Option<String>,
) -> Option<ServerSummary> {
    match probed {
        Some(new) if changed => Some(ServerSummary {
            name: new.name,
            machine_identifier: new.machine_identifier,
        }),
        _ => cached_id
            .zip(cached_name)
            .map(|(machine_identifier, name)| ServerSummary {
                name,
                machine_identifier,
            }),
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
    let answer = match spawn_sync(&state) {
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
            detail: Some(crate::sync::error_message(&e)),
        },
    };
    Ok((StatusCode::OK, Json(answer)))
}
